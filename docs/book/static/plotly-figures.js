// Draw every lesson figure of the page: a div.lstmlab-plotly holds the figure's JSON as the lesson
// stored it; plotly.js comes from the site's own _static/plotly.min.js (pages without a figure skip it).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("div.lstmlab-plotly").forEach(function (div) {
    var figure = JSON.parse(div.querySelector("script[type='application/json']").textContent);
    var layout = Object.assign({}, figure.layout || {});
    Plotly.newPlot(div, figure.data || [], layout, {displaylogo: false, responsive: true});
  });
});

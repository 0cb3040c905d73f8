"""What every lstmlab app is: controls, and figures that redraw in place when a control moves."""

import ipywidgets as widgets
import plotly.graph_objects as go
from IPython.display import clear_output, display

from ..progress import in_notebook


class App(widgets.VBox):
    """Controls above one or more plotly figures.

    Attributes:
        controls: {name: control widget}; set `.value` on one to move it, as a reader would.
        figures: {name: plotly figure}, each kept up to date in place.
        figure: the first figure.
    """

    def __init__(self, controls, draw, before_draw=None):
        self.controls = dict(controls)
        self._draw = draw  # draw(**values) -> {name: figure}
        self._before_draw = before_draw  # before_draw(changed control name): update dependent controls
        self.status = widgets.HTML()
        self.figures, self.outputs = {}, {}
        self._busy = False
        self._redraw()
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._changed(name), names="value")
        bar = widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([bar, self.status, *self.outputs.values()])

    def __repr__(self):
        """What a notebook stores for the app (its text): the controls, and how to bring it to life."""
        return f"lstmlab app (run this cell in JupyterLab to use it): {', '.join(self.controls)}"

    @property
    def figure(self):
        return next(iter(self.figures.values()))

    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def _changed(self, name):
        if self._busy:  # a dependent control moved while we set it: one redraw is enough
            return
        self._busy = True
        try:
            if self._before_draw is not None:
                self._before_draw(name)
        finally:
            self._busy = False
        self._redraw()

    def _redraw(self):
        self.status.value = "<i>drawing…</i>"
        for name, new in self._draw(**self.values()).items():
            figure = self.figures.setdefault(name, go.Figure())
            figure.data = []
            figure.add_traces(list(new.data))
            figure.layout = new.layout
            output = self.outputs.setdefault(name, widgets.Output())
            if in_notebook():  # outside a kernel there is nowhere to show it
                with output:
                    clear_output(wait=True)
                    display(figure)
        self.status.value = ""

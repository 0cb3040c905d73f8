"""How training went: loss (and metrics) per iteration, training and validation."""

import plotly.graph_objects as go
from plotly.subplots import make_subplots

TRAINING, VALIDATION = "#1f77b4", "#d62728"


def training_progress(history, title="Training progress"):
    """Loss and each metric against the iteration, from `net.training_history_`.

    Training values are a thin line, validation values markers joined by a dashed line.
    """
    metrics = [c for c in history.columns if c not in ("epoch", "iteration", "learn_rate", "seconds") and not c.startswith("validation_")]
    fig = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=[m.replace("_", " ") for m in metrics])
    for row, metric in enumerate(metrics, start=1):
        hover = f"iteration %{{x}}<br>epoch %{{customdata}}<br>{metric} %{{y:.4f}}<extra>%{{fullData.name}}</extra>"
        fig.add_trace(
            go.Scatter(x=history["iteration"], y=history[metric], customdata=history["epoch"], mode="lines", name="training",
                       line={"color": TRAINING, "width": 1.5}, legendgroup="training", showlegend=row == 1, hovertemplate=hover),
            row=row, col=1,
        )
        column = f"validation_{metric}"
        if column in history:
            seen = history[history[column].notna()]
            fig.add_trace(
                go.Scatter(x=seen["iteration"], y=seen[column], customdata=seen["epoch"], mode="lines+markers", name="validation",
                           line={"color": VALIDATION, "dash": "dash"}, legendgroup="validation", showlegend=row == 1, hovertemplate=hover),
                row=row, col=1,
            )
        fig.update_yaxes(title_text=metric.replace("_", " "), row=row, col=1)
    fig.update_xaxes(title_text="iteration", row=len(metrics), col=1)
    fig.update_layout(title=title, template="plotly_white", height=260 * len(metrics) + 80, font={"size": 14}, hovermode="x unified")
    return fig

import IPython.display
import numpy as np
import pytest

import lstmlab as ll
from lstmlab import progress

from helpers import naming


class Handle:
    """Stands in for a notebook's display handle: keeps what it was asked to show."""

    def __init__(self):
        self.shown = []

    def update(self, figure):
        self.shown.append(figure)


def train(plots="training-progress"):
    X = [np.ones((3, 1)), -np.ones((3, 1))]
    net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(2, output_mode="last"), ll.fully_connected_layer(1)])
    return ll.trainnet(X, np.array([1.0, -1.0]), net, "mse", ll.training_options(max_epochs=2, verbose=False, plots=plots))


@pytest.fixture
def notebook(monkeypatch):
    handle = Handle()
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda display_id: handle)
    return handle


def test_importing_lstmlab_hands_progress_its_training_figure():
    import lstmlab

    assert progress._draw is lstmlab.viz.training_progress  # import lstmlab imports viz when plotly is there


def test_the_live_figure_draws_the_history_with_the_function_handed_in(notebook, monkeypatch):
    drawn = []
    monkeypatch.setattr(progress, "_draw", lambda history: drawn.append(history.copy()) or f"figure {len(history)}")
    train()
    assert notebook.shown[0] == "figure 1" and notebook.shown[-1] == "figure 2"  # the first iteration ... the whole history
    assert list(drawn[-1]["iteration"]) == [1, 2]


def test_without_a_drawing_function_training_warns_and_goes_on(notebook, monkeypatch):
    monkeypatch.setattr(progress, "_draw", None)
    with pytest.warns(UserWarning, match=naming("plots='training-progress'", "plotly", "pip install 'lstmlab[lab]'")):
        net = train()
    assert len(net.training_history_) == 2 and notebook.shown == []


def test_outside_a_notebook_there_is_no_live_figure(monkeypatch):
    monkeypatch.setattr(progress, "_draw", lambda history: pytest.fail("drew outside a notebook"))
    assert len(train().training_history_) == 2

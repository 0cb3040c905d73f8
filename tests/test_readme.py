"""The README's tour runs as written."""

import pathlib
import re

import plotly.graph_objects as go

README = pathlib.Path(__file__).parents[1] / "README.md"


def test_the_tour_runs(monkeypatch, capsys):
    tour = re.search(r"## A tour in 20 lines.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    code = [line for line in tour.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(code) <= 20, "the README promises a tour in 20 lines"
    shown = []
    monkeypatch.setattr(go.Figure, "show", lambda fig: shown.append(fig))
    exec(compile(tour, "README tour", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert float(printed[0].split(":")[1]) >= 0.9  # test accuracy
    assert printed[1].startswith("(370, 29, 100) max error:") and float(printed[1].split(":")[1]) < 1e-5
    assert shown[0].layout.title.text.startswith("forget gate f of layer 'lstm', sequence 0")

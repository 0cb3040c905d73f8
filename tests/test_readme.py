"""The README's tour runs as written."""

import pathlib
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch

import lstmlab as ll

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


def test_training_on_your_own_data_runs(monkeypatch, tmp_path):
    block = re.search(r"## Train on your own data.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    rng = np.random.default_rng(0)
    rows = []
    for n in range(40):
        activity = ["walk", "walk", "walk", "run"][n % 4]  # a rarer class
        for t in range(int(rng.integers(8, 15))):
            ax, ay, az = rng.normal(size=3) + (activity == "run")
            rows.append((f"r{n}", t, np.nan if rng.random() < 0.05 else ax, ay, az, activity))
    table = pd.DataFrame(rows, columns=["recording", "t", "ax", "ay", "az", "activity"]).sample(frac=1, random_state=0)
    monkeypatch.setattr(pd, "read_csv", lambda path: table if path == "recordings.csv" else None)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(block, "README: train on your own data", "exec"), scope)
    net, options = scope["net"], scope["options"]
    assert len(scope["X_val"]) == 10 and pd.Series(scope["y_val"]).value_counts().to_dict() == {"run": 3, "walk": 7}  # 2.5 and 7.5 of 10 run, 30 walk; a tie rounds the first class up
    assert ll.load_network(tmp_path / "activity.npz").class_names == ["run", "walk"]
    [last] = [p for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith("checkpoint_epoch30_")]
    again = ll.trainnet(scope["X_train"], scope["y_train"], ll.load_checkpoint(last.parent / "checkpoint_epoch12_iteration12.npz"), "crossentropy", options)
    assert torch.equal(again["lstm"].input_weights, net["lstm"].input_weights)  # goes on from epoch 12 as the unbroken run did

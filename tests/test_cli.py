import re

import pytest

from lstmlab.cli import main


def test_demo_writes_an_offline_report(tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["demo", "--out", str(out), "--epochs", "1"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"test accuracy \d+\.\d\d%; report written to .*report.html", printed)
    page = out.read_text()
    assert "<title>lstmlab demo: Japanese Vowels</title>" in page
    assert not re.search(r"<script[^>]+src=", page), "plotly.js is inside the page, not fetched"
    for title in ("Japanese Vowels test set: accuracy", "Training progress", "Forget gate f while speaker", "Cell state c of the same utterance"):
        assert title in page


def test_help_and_a_missing_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([])


def test_demo_checks_its_arguments_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--out", str(tmp_path / "missing" / "r.html")])
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "0"])
    assert "must be a positive integer; got '0'" in capsys.readouterr().err

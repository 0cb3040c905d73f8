"""`lstmlab demo`: train the Japanese Vowels network and write an offline HTML report."""

import html
import time
from pathlib import Path

import numpy as np
import torch

from . import datasets
from .layers import fully_connected_layer, lstm_layer, sequence_input_layer, softmax_layer
from .network import Network
from .options import training_options
from .prediction import classify
from .trace import trace
from .training import trainnet


def run_demo(out="lstmlab-demo.html", epochs=70, seed=0, verbose=True):
    """Train MATLAB's Japanese Vowels recipe and write a self-contained report to `out`.

    The recipe is the example of MATLAB's sequenceInputLayer reference page: 100 hidden units, Adam,
    mini-batch 27, gradient threshold 1, 70 epochs; MATLAB reports a test accuracy of 0.9514.
    """
    try:
        from .viz import confusion_chart, gate_heatmap, training_progress
    except ImportError:
        raise SystemExit("lstmlab demo draws with plotly: pip install 'lstmlab[lab]'") from None
    X_train, y_train, X_test, y_test = datasets.japanese_vowels()
    torch.manual_seed(seed)
    net = Network([sequence_input_layer(12), lstm_layer(100, output_mode="last"), fully_connected_layer(9), softmax_layer()])
    options = training_options("adam", max_epochs=epochs, mini_batch_size=27, gradient_threshold=1.0, metrics="accuracy", seed=seed, verbose=verbose)
    start = time.perf_counter()
    net = trainnet(X_train, y_train, net, "crossentropy", options)
    seconds = time.perf_counter() - start
    predicted = classify(net, X_test, mini_batch_size=27)
    accuracy = float(np.mean(np.asarray(predicted) == np.asarray(y_test)))
    recorded = trace(net, [X_test[0]])
    figures = [
        confusion_chart(y_test, predicted, net.class_names, title="Japanese Vowels test set"),
        training_progress(net.training_history_),
        gate_heatmap(recorded, "lstm", "f", 0, title=f"Forget gate f while speaker {y_test[0]} says 'ae' (test utterance 0)"),
        gate_heatmap(recorded, "lstm", "c", 0, title="Cell state c of the same utterance"),
    ]
    summary = (
        f"An LSTM with 100 hidden units, trained for {epochs} epochs (Adam, mini-batch 27, gradient threshold 1, "
        f"seed {seed}) on 270 utterances, reaches a test accuracy of <b>{accuracy:.2%}</b> on 370 utterances "
        f"(MATLAB's example reports 95.14%). Training took {seconds:.1f} s on {'a GPU' if torch.cuda.is_available() else 'the CPU'}."
    )
    path = Path(out)
    path.write_text(report_html("lstmlab demo: Japanese Vowels", summary, figures), encoding="utf-8")
    return path, accuracy


def report_html(title, summary, figures):
    """One HTML page holding plotly.js once and every figure: it needs no network to open."""
    parts = [fig.to_html(full_html=False, include_plotlyjs=(k == 0), config={"displaylogo": False}) for k, fig in enumerate(figures)]
    body = "\n".join(f'<section style="margin: 2em 0">{part}</section>' for part in parts)
    return (
        f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>\n"
        f"<body style=\"font-family: sans-serif; max-width: 1000px; margin: auto\">\n<h1>{html.escape(title)}</h1>\n"
        f"<p>{summary}</p>\n{body}\n</body></html>\n"
    )

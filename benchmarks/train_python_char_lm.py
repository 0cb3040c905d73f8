"""Train the character language model that `ll.datasets.python_char_lm()` ships, from scratch.

Run it from the repository root (in the background on a shared machine):

    nice -n 10 .venv/bin/python benchmarks/train_python_char_lm.py > /tmp/char_lm.log 2>&1 &
    .venv/bin/python benchmarks/train_python_char_lm.py --resume   # go on from the last saved epoch
    .venv/bin/python benchmarks/train_python_char_lm.py --quick    # a smoke test, about a minute

The model: sequence input (1) -> word embedding (32 per character) -> LSTM (256 hidden units) ->
fully connected (96) -> softmax, reading `ll.datasets.python_source()` one character at a time.
The training text is cut into 64 streams read side by side (`ll.text.next_character_data`), in
chunks of 100 characters with the state carried from chunk to chunk (truncated
back-propagation through time, trainnet's `sequence_length=100`). Adam, gradient threshold 1,
seed 0; one `ll.trainnet` call per epoch (so the learn rate can drop and the network is saved
after each one), 24 epochs, learn rate 2e-3 for the first 22 and 5e-4 for the last two. Each
epoch starts afresh from the weights alone (a new Adam), so `--resume`, which reads the saved
network and its history and trains the epochs still missing, follows the schedule of an unbroken
run. Validation loss and bits per character on the first 100,000 characters of the validation
text, every 100 iterations. The network is written with `net.save` after every epoch, so an
interrupted run still leaves the last finished epoch.

At the end it prints the held-out bits per character (the test text, in 64 streams read to
their ends with the state carried) next to what general-purpose compressors need for the same
text: gzip, bzip2 and xz at their highest level (Python's gzip, bz2 and lzma modules, the same
formats and settings as `gzip -9`, `bzip2 -9`, `xz -9`). Results: benchmarks/README.md.
"""

import argparse
import bz2
import gzip
import lzma
import platform
import time

import numpy as np
import pandas as pd
import torch

import lstmlab as ll
from lstmlab import text

STREAMS, CHUNK = 64, 100  # streams read side by side, characters per chunk of truncated BPTT


def layers(vocabulary, hidden):
    return [
        ll.sequence_input_layer(1, name="input"),
        ll.word_embedding_layer(32, len(vocabulary), name="embedding"),
        ll.lstm_layer(hidden, name="lstm"),
        ll.fully_connected_layer(len(vocabulary), name="fc"),
        ll.softmax_layer(name="softmax"),
    ]


def held_out_bits(net, test, vocabulary):
    """Bits per character of the network on `test`, read in STREAMS streams with the state carried."""
    X, Y = text.next_character_data(test, vocabulary, num_streams=STREAMS)
    probabilities = ll.predict(net, X, mini_batch_size=STREAMS, sequence_length=1000)  # B arrays (S, V)
    codes = np.concatenate([y.codes for y in Y])  # (B*S,) class codes of the next characters
    return text.bits_per_character(np.concatenate(probabilities), codes)


def compressor_bits(test):
    data = test.encode("ascii")
    packed = {
        "gzip -9": gzip.compress(data, compresslevel=9, mtime=0),
        "bzip2 -9": bz2.compress(data, compresslevel=9),
        "xz -9": lzma.compress(data, format=lzma.FORMAT_XZ, preset=9),
    }
    return {name: 8 * len(p) / len(data) for name, p in packed.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--out", default="datasets/python_char_lm.npz")
    parser.add_argument("--resume", action="store_true", help="go on from the network saved in --out")
    parser.add_argument("--quick", action="store_true", help="100,000 training characters, 1 epoch, 32 units; writes /tmp/char_lm_quick.npz")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, validation, test = ll.datasets.python_source()
    vocabulary = text.Vocabulary(train)  # all 96 characters of the corpus occur in its training text
    if args.quick:
        train, args.epochs, args.hidden, args.out = train[:100_000], 1, 32, "/tmp/char_lm_quick.npz"
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread, torch {torch.__version__}")
    print(f"{len(train):,} training characters, {len(vocabulary)} distinct; {STREAMS} streams, chunks of {CHUNK}")
    X, Y = text.next_character_data(train, vocabulary, num_streams=STREAMS)
    validation_data = text.next_character_data(validation[:100_000], vocabulary, num_streams=STREAMS)
    net, histories, start = ll.Network(layers(vocabulary, args.hidden)), [], time.perf_counter()
    if args.resume:
        net = ll.load_network(args.out)
        done = net.training_history_
        histories = [done[done.epoch == e] for e in sorted(set(done.epoch))]
        start -= done.seconds.iloc[-1]  # the minutes so far count the earlier run's
        print(f"resuming after epoch {len(histories)} of {args.out}")
    for epoch in range(len(histories), args.epochs):
        options = ll.training_options(
            "adam",
            max_epochs=1,
            mini_batch_size=STREAMS,
            sequence_length=CHUNK,
            initial_learn_rate=2e-3 if epoch < args.epochs - 2 else 5e-4,
            gradient_threshold=1.0,
            shuffle="never",
            validation_data=validation_data,
            validation_frequency=100,
            metrics=[text.bits_per_character],
            verbose=True,
            verbose_frequency=100,
            seed=0 if epoch == 0 else None,
        )
        before = time.perf_counter() - start
        net = ll.trainnet(X, Y, net, "crossentropy", options)
        history = net.training_history_.assign(epoch=epoch + 1)
        history["iteration"] += sum(len(h) for h in histories)  # counted over the whole run
        history["seconds"] += before
        histories.append(history)
        net.training_history_ = pd.concat(histories, ignore_index=True)
        net.save(args.out)
        last = history.dropna(subset=["validation_loss"]).iloc[-1]
        print(
            f"epoch {epoch + 1}: validation {last.validation_bits_per_character:.3f} bits per character, "
            f"{(time.perf_counter() - start) / 60:.1f} minutes so far; saved {args.out}",
            flush=True,
        )
    minutes = (time.perf_counter() - start) / 60
    print(f"trained in {minutes:.1f} minutes ({args.epochs} epochs, {args.epochs * len(train) / 1e6:.1f} M characters)")
    print(f"held-out test text ({len(test):,} characters), bits per character:")
    print(f"  LSTM {args.hidden}: {held_out_bits(net, test, vocabulary):.3f}")
    for name, bits in compressor_bits(test).items():
        print(f"  {name}: {bits:.3f}")


if __name__ == "__main__":
    main()

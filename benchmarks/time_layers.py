"""What do masked convolution and pooling over time cost, next to plain PyTorch?

Run it from the repository root:

    .venv/bin/python benchmarks/time_layers.py            # about 30 s on 2 CPU cores
    .venv/bin/python benchmarks/time_layers.py --quick    # a smoke test
    .venv/bin/python benchmarks/time_layers.py --device cuda

The network: convolution1d_layer(3, 32, padding="same") -> relu -> max_pooling1d_layer(2, stride=2)
-> lstm_layer(64, output_mode="last"), forward and backward on right-padded mini-batches of
sequences of varied lengths. lstmlab carries the mask through the time layers (each sequence is
convolved and pooled as if it were alone); the plain PyTorch version (nn.Conv1d with padding 1,
nn.MaxPool1d, nn.LSTM, the same weights) convolves the padded batch as it is. Both run
interleaved in this process; the ratio of their medians is printed. Timings never fail CI.
"""

import argparse
import statistics
import time

import numpy as np
import torch

import lstmlab as ll


def networks(C, device):
    torch.manual_seed(0)
    net = ll.Network([
        ll.sequence_input_layer(C),
        ll.convolution1d_layer(3, 32, padding="same"),
        ll.relu_layer(),
        ll.max_pooling1d_layer(2, stride=2, padding="same"),
        ll.lstm_layer(64, output_mode="last"),
    ]).to(device)
    conv = torch.nn.Conv1d(C, 32, 3, padding=1).to(device)
    with torch.no_grad():
        conv.weight.copy_(net["conv1d"].weights.permute(2, 1, 0))  # lstmlab keeps (k, C, K), torch (K, C, k)
        conv.bias.copy_(net["conv1d"].bias)
    lstm = net["lstm"].to_torch()  # an nn.LSTM with the same weights, on the same device

    def plain(x):
        z = torch.relu(conv(x.transpose(1, 2)))  # (B, 32, T)
        z = torch.nn.functional.max_pool1d(z, 2, 2, ceil_mode=True).transpose(1, 2)  # (B, ceil(T/2), 32)
        return lstm(z)[0][:, -1]

    return net, plain


def seconds(step, repeats):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def compare(B, T_max, C, device, rounds, repeats):
    rng = np.random.default_rng(0)
    lengths = rng.integers(T_max // 2, T_max + 1, size=B)
    lengths[0] = T_max
    X = [rng.normal(size=(T, C)).astype(np.float32) for T in lengths]
    padded, mask = ll.pad_sequences(X)
    x, mask = torch.as_tensor(padded, device=device), torch.as_tensor(mask, device=device)
    net, plain = networks(C, device)

    def ours():
        net.run(x, mask)[0].sum().backward()

    def theirs():
        plain(x).sum().backward()

    ours(), theirs()  # warm up
    ratios = []
    for _ in range(rounds):
        ratios.append(seconds(ours, repeats) / seconds(theirs, repeats))
    return statistics.median(ratios), min(ratios), max(ratios)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    rounds, repeats = (2, 2) if args.quick else (7, 5)
    print(f"masked conv1d + max pooling + LSTM against plain PyTorch, forward and backward ({device})")
    print("   batch  steps  channels   lstmlab / torch (median, range)")
    for B, T, C in [(27, 29, 12), (64, 200, 12), (32, 1000, 3)]:
        median, low, high = compare(B, T, C, device, rounds, repeats)
        print(f"   {B:5d}  {T:5d}  {C:8d}   {median:5.2f}x  ({low:.2f}-{high:.2f})")


if __name__ == "__main__":
    main()

"""Batch normalization: each channel centred and scaled by its statistics over the mini-batch.

    y = scale * (x - mu) / sqrt(sigma^2 + epsilon) + offset

While training, mu and sigma^2 are the mean and (biased) variance of each channel over the
mini-batch's real values (every axis but the channels; padded steps left out), and the layer keeps
running estimates, trained_mean <- (1 - mean_decay) trained_mean + mean_decay mu (the variance
likewise, with the unbiased batch variance, as torch does). In prediction it uses the running
estimates, so that one sequence gives the same output in any mini-batch.
"""

import torch

from .._checks import as_tensor, check_fraction, check_positive_int
from .base import Layer, check_dtype


class BatchNormalizationLayer(Layer):
    """Normalizes each channel over the mini-batch (see the module docstring).

    Args:
        epsilon: added to the variance (default 1e-5).
        mean_decay, variance_decay: the weight of each mini-batch in the running estimates
            (default 0.1).
        offset, scale: given beta and gamma (C,); default zeros and ones.
        trained_mean, trained_variance: given running estimates (C,); default zeros and ones.
        num_channels: C, or "auto" to take it from the first input.
        name: the layer's name.

    >>> import torch, lstmlab as ll
    >>> bn = ll.batch_normalization_layer()
    >>> y = bn(torch.randn(4, 10, 3) * 5 + 2)
    >>> bool(y.mean((0, 1)).abs().max() < 1e-5), bool((y.std((0, 1), correction=0) - 1).abs().max() < 1e-4)
    (True, True)
    """

    kind = "batchnorm"
    reads_mask = True  # statistics over real steps only

    def __init__(
        self,
        *,
        epsilon=1e-5,
        mean_decay=0.1,
        variance_decay=0.1,
        offset=None,
        scale=None,
        trained_mean=None,
        trained_variance=None,
        num_channels="auto",
        name="",
    ):
        super().__init__(name)
        where = "batch_normalization_layer"
        if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or not 0 < epsilon < 1:
            raise ValueError(f"{where}: epsilon must be a small positive number such as 1e-5; got {epsilon!r}.")
        self.epsilon = float(epsilon)
        self.mean_decay = check_fraction(mean_decay, "mean_decay", where)
        self.variance_decay = check_fraction(variance_decay, "variance_decay", where)
        self._given = {"offset": offset, "scale": scale, "trained_mean": trained_mean, "trained_variance": trained_variance}
        self.num_channels = "auto"
        self.offset = self.scale = None
        self.register_buffer("trained_mean", None)
        self.register_buffer("trained_variance", None)
        if num_channels != "auto":
            self.build(check_positive_int(num_channels, "num_channels", where))

    def build(self, input_size):
        channels = input_size[-1] if isinstance(input_size, tuple) else input_size
        if self.offset is None:
            starts = {"offset": torch.zeros, "scale": torch.ones, "trained_mean": torch.zeros, "trained_variance": torch.ones}
            for name, start in starts.items():
                given = self._given.pop(name)
                value = start(channels) if given is None else as_tensor(given, name, (channels,), "batch_normalization_layer", " (one per channel)")
                if name in ("offset", "scale"):
                    setattr(self, name, self.make_parameter(value))
                else:
                    setattr(self, name, value.to(device=self.like.device, dtype=self.like.dtype))
            self.num_channels = channels
        elif channels != self.num_channels:
            raise ValueError(
                f"{self.name or self.kind}: the input has {channels} channels but the layer was built for num_channels={self.num_channels}."
            )
        return input_size

    def forward(self, x, mask=None):
        who = self.name or self.kind
        if not torch.is_tensor(x):
            raise TypeError(f"{who}: expects a torch tensor; got {type(x).__name__}.")
        self.build(x.shape[-1])
        check_dtype(x, self.scale, who)
        if self.training:
            values = (x if mask is None else x[mask]).reshape(-1, x.shape[-1])  # (M, C): every real value, per channel
            n = len(values)
            if n < 2:
                raise ValueError(f"{who}: batch normalization needs at least 2 values per channel while training; got {n}.")
            mu = values.mean(0)  # (C,)
            sigma2 = values.var(0, unbiased=False)  # (C,)
            with torch.no_grad():
                self.trained_mean.lerp_(mu.detach(), self.mean_decay)
                self.trained_variance.lerp_(sigma2.detach() * n / (n - 1), self.variance_decay)
        else:
            mu, sigma2 = self.trained_mean, self.trained_variance
        return self.scale * (x - mu) / torch.sqrt(sigma2 + self.epsilon) + self.offset

    def config(self):
        return {
            "epsilon": self.epsilon,
            "mean_decay": self.mean_decay,
            "variance_decay": self.variance_decay,
            "num_channels": self.num_channels,
            "name": self.name,
        }

    def describe(self):
        return f"{self.num_channels} channels, epsilon {self.epsilon:g}"

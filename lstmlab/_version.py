"""The version of lstmlab, which network files record (`lstmlab.saving`)."""

__version__ = "0.1.0"

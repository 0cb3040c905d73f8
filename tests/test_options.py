import math

import pytest

import lstmlab as ll


def test_matlab_defaults():
    o = ll.training_options()
    assert (o.solver, o.max_epochs, o.mini_batch_size, o.initial_learn_rate) == ("adam", 30, 128, 0.001)
    assert (o.learn_rate_schedule, o.learn_rate_drop_factor, o.learn_rate_drop_period) == ("none", 0.1, 10)
    assert (o.momentum, o.l2_regularization, o.gradient_threshold, o.gradient_threshold_method) == (0.9, 1e-4, math.inf, "l2norm")
    assert (o.shuffle, o.sequence_length, o.sequence_padding_direction, o.sequence_padding_value) == ("once", "longest", "right", 0)
    assert (o.validation_frequency, o.validation_patience, o.verbose_frequency) == (50, math.inf, 50)
    assert (o.plots, o.execution_environment, o.reset_input_normalization) == ("none", "auto", True)
    assert ll.training_options("sgdm").initial_learn_rate == 0.01
    assert ll.training_options("rmsprop").initial_learn_rate == 0.001
    assert (o.output_network, o.class_weights, o.learn_rate_warmup_period) == ("last-iteration", None, 5)
    assert (o.checkpoint_path, o.checkpoint_frequency, o.checkpoint_frequency_unit) == (None, 1, "epoch")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"max_epoch": 3}, TypeError, r"unknown option 'max_epoch'; did you mean 'max_epochs'\?"),
        ({"solver": "sgd"}, ValueError, r"solver must be one of 'adam', 'sgdm', 'rmsprop'; got 'sgd'"),
        ({"max_epochs": 0}, ValueError, r"max_epochs must be a positive integer; got 0"),
        ({"initial_learn_rate": -0.1}, ValueError, r"initial_learn_rate must be a finite non-negative number"),
        ({"gradient_threshold": 0}, ValueError, r"gradient_threshold must be a positive number or inf; got 0"),
        ({"gradient_threshold_method": "l1norm"}, ValueError, r"gradient_threshold_method must be one of 'l2norm', 'global-l2norm', 'absolute-value'"),
        ({"shuffle": "always"}, ValueError, r"shuffle must be one of 'once', 'every-epoch', 'never'"),
        ({"sequence_length": -1}, ValueError, r"sequence_length must be 'longest', 'shortest' or a positive integer; got -1"),
        ({"execution_environment": "tpu"}, ValueError, r"execution_environment must be one of 'auto', 'cpu', 'gpu'"),
        ({"plots": "yes"}, ValueError, r"plots must be one of 'none', 'training-progress'"),
        ({"validation_data": [1, 2, 3]}, ValueError, r"validation_data must be a tuple \(X, Y\) of two items; got list"),
        ({"validation_data": ([1],)}, ValueError, r"validation_data must be a tuple \(X, Y\) of two items; got a tuple of 1"),
        ({"epsilon": 0}, ValueError, r"epsilon must be positive; got 0"),
        ({"learn_rate_drop_factor": 2}, ValueError, r"learn_rate_drop_factor must be at most 1"),
        ({"sequence_padding_value": float("nan")}, ValueError, r"sequence_padding_value must be a finite number; got nan"),
        ({"seed": -1}, ValueError, r"seed must be a non-negative integer or None; got -1"),
        ({"momentum": 1.5}, ValueError, r"momentum must be a number in \[0, 1\); got 1.5"),
        ({"learn_rate_warmup_period": 0}, ValueError, r"learn_rate_warmup_period must be a positive integer; got 0"),
        ({"learn_rate_schedule": "step"}, ValueError, r"learn_rate_schedule must be one of 'none', 'piecewise', 'exponential', 'cosine', 'warmup' or a callable; got 'step'"),
        ({"output_network": "best"}, ValueError, r"output_network must be one of 'last-iteration', 'best-validation-loss'; got 'best'"),
        ({"checkpoint_frequency_unit": "batch"}, ValueError, r"checkpoint_frequency_unit must be one of 'epoch', 'iteration'; got 'batch'"),
    ],
)
def test_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        ll.training_options(**kwargs)

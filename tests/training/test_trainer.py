"""Training length by epochs, not by the clock: same seed, same weights, on any machine."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from mrfrecon.training import RetrainConfig, retrain
from mrfrecon.training import trainer as trainer_module
from mrfrecon.training.trainer import TrainTensors, fit

CLOCKS = ("monotonic", "perf_counter", "time", "process_time", "monotonic_ns", "perf_counter_ns",
          "time_ns")


def _no_clock(*_args, **_kwargs):
    raise AssertionError("a clock was read inside the training loop")


@pytest.fixture
def clockless_fit(monkeypatch):
    """``fit`` with every clock of :mod:`time` raising while it runs (and only then)."""
    real_fit = trainer_module.fit

    def guarded(*args, **kwargs):
        with pytest.MonkeyPatch.context() as patch:
            if kwargs.get("seconds") is None:
                for name in CLOCKS:
                    patch.setattr(time, name, _no_clock)
            return real_fit(*args, **kwargs)

    monkeypatch.setattr("mrfrecon.training.pipeline.fit", guarded)
    return guarded


def _toy_data(n: int = 512, k: int = 4) -> tuple[TrainTensors, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    coef_re, coef_im = torch.randn(n, k, generator=g), torch.randn(n, k, generator=g)
    targets = torch.stack([coef_re[:, 0].sigmoid(), coef_im[:, 1].sigmoid()], 1)
    data = TrainTensors(coef_re, coef_im, targets, torch.tensor([0.0, 0.01]),
                        torch.zeros(2 * k), torch.ones(2 * k))  # fmt: skip
    return data, torch.randn(64, 2 * k, generator=g), torch.rand(64, 2, generator=g)


def test_fit_reads_no_clock_without_a_cap(monkeypatch):
    data, val_x, val_y = _toy_data()
    net = torch.nn.Linear(8, 2)
    for name in CLOCKS:
        monkeypatch.setattr(time, name, _no_clock)
    result = fit(net, data, val_x, val_y, max_epochs=3, batch_size=128, learning_rate=1e-2,
                 patience=10, generator=torch.Generator().manual_seed(1))  # fmt: skip
    assert result.epochs == 3 and result.samples == 3 * 512 and not result.capped


def test_a_wall_clock_cap_cuts_training_short_and_says_so():
    data, val_x, val_y = _toy_data()
    result = fit(torch.nn.Linear(8, 2), data, val_x, val_y, max_epochs=500, batch_size=128,
                 learning_rate=1e-2, patience=1000, generator=torch.Generator().manual_seed(1),
                 seconds=1e-6)  # fmt: skip
    assert result.capped and result.epochs < 500


def _weights(model):
    return ([layer.weight for layer in model.int_net.layers]
            + [layer.bias for layer in model.int_net.layers]
            + list(model.float_net.weights) + list(model.float_net.biases))  # fmt: skip


def test_same_seed_same_weights_whatever_the_machine_threads(short_fisp, clockless_fit):
    """Two runs, the second with another global thread count (a 'different machine') and no
    clock readable while training (both paths inline, so the guard covers the magnitude one
    too): bit-identical float and integer weights."""
    config = RetrainConfig(n_train=2000, n_val=500, max_epochs=(2, 2, 1), patience=100, seed=3,
                           quant_widths=(8, 8), parallel_paths=False)  # fmt: skip
    before = torch.get_num_threads()
    first = retrain(short_fisp, config)
    torch.set_num_threads(2 if before == 1 else 1)
    try:
        second = retrain(short_fisp, config)
    finally:
        torch.set_num_threads(before)
    assert torch.get_num_threads() == before  # retrain restores the caller's setting
    np.testing.assert_array_equal(first.model.features.basis, second.model.features.basis)
    for a, b in zip(_weights(first.model), _weights(second.model), strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.summary["capped_by_seconds"] == []
    assert set(first.summary["timing"]) >= {"simulation", "float", "float_small", "qat",
                                            "validation"}  # fmt: skip
    other = retrain(short_fisp, RetrainConfig(**{**vars(config), "seed": 4})).model
    assert not np.array_equal(other.int_net.layers[0].weight, first.model.int_net.layers[0].weight)


def _fit_small(data, val_x, val_y, hidden: int, epochs: int, **options):
    """A seeded 8-hidden-2 ReLU network trained by ``fit`` with ``options``: (net, result)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, 2))  # fmt: skip
    result = fit(net, data, val_x, val_y, max_epochs=epochs, batch_size=64, learning_rate=1e-2,
                 patience=100, generator=torch.Generator().manual_seed(1), **options)  # fmt: skip
    return net, result


def test_a_moving_average_of_the_weights_is_what_is_validated_and_kept():
    """With ``ema_decay`` the network is left at the average of its weights over the steps:
    decay 0 is the last weights themselves (the same network as without an average, bit for
    bit); decay 0.9 keeps a smoother network, which is the one validated; a decay far longer
    than the run still leaves a trained network (the ramp)."""
    data, val_x, val_y = _toy_data()

    def trained(ema_decay):
        return _fit_small(data, val_x, val_y, 16, 4, ema_decay=ema_decay)

    plain, plain_result = trained(None)
    zero, zero_result = trained(0.0)
    smooth, smooth_result = trained(0.9)
    # 32 steps at decay 0.999: the ramp keeps the average off the initial weights
    torch.manual_seed(0)
    initial = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    with torch.no_grad():
        initial_loss = float(torch.mean((initial(val_x) - val_y) ** 2))
    _, slow_result = trained(0.999)
    assert slow_result.best_val_loss < 0.5 * initial_loss, (slow_result, initial_loss)
    for a, b in zip(plain.parameters(), zero.parameters(), strict=True):
        assert torch.equal(a, b)
    assert zero_result.best_val_loss == plain_result.best_val_loss
    assert not torch.equal(plain[0].weight, smooth[0].weight)
    with torch.no_grad():
        kept_loss = float(torch.mean((smooth(val_x) - val_y) ** 2))
    assert kept_loss == pytest.approx(smooth_result.best_val_loss, rel=1e-6)


def test_loss_weights_move_accuracy_towards_the_weighted_output():
    """Per-output loss weights: equal ones are the plain loss bit for bit; weighting the second
    output 100x makes a small network fit it better, and the kept network's validation loss is
    the weighted one."""
    data, _, _ = _toy_data()
    clean = data.batch(torch.arange(512), torch.zeros(512), torch.Generator())
    # two targets the features determine, competing for a network too small for both
    data.targets = torch.stack([torch.sin(4 * clean[:, 0]), torch.sin(4 * clean[:, 5])], 1)
    val_x, val_y = clean[:256], data.targets[:256]

    def trained(loss_weights):
        net, result = _fit_small(data, val_x, val_y, 3, 30, loss_weights=loss_weights)
        with torch.no_grad():
            per_output = torch.mean((net(val_x) - val_y) ** 2, dim=0)
        return net, result, per_output

    plain, _, plain_error = trained(None)
    equal, _, _ = trained(torch.tensor([1.0, 1.0]))
    for a, b in zip(plain.parameters(), equal.parameters(), strict=True):
        assert torch.equal(a, b)
    weights = torch.tensor([1.0, 100.0])
    _, result, weighted_error = trained(weights)
    assert weighted_error[1] < 0.5 * plain_error[1], (weighted_error, plain_error)
    assert result.best_val_loss == pytest.approx(float(torch.mean(weights * weighted_error)),
                                                 rel=1e-5)

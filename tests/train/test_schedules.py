"""Training schedules: deficits by epoch, dropout and stochastic-depth rates by step, a learning-rate restart; and
the 1-D deficit transforms they apply."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
import neurones.functional as F
from neurones import nn, optim
from neurones.data import Blur1d, DataLoader, TensorDataset, TimeReversal
from neurones.errors import ShapeError
from neurones.train import (
    DeficitSchedule,
    DropoutSchedule,
    LambdaCallback,
    LearningRateRestart,
    StochasticDepthSchedule,
    drop_rates,
    fit,
)


def test_blur_keeps_block_averages_and_constants():
    x = np.arange(8.0)[None]
    np.testing.assert_allclose(Blur1d(4, "nearest")(x), [[1.5] * 4 + [5.5] * 4])
    np.testing.assert_allclose(Blur1d(2)(np.full((3, 6), 2.0)), 2.0)
    blurred = Blur1d(4)(np.random.default_rng(0).standard_normal((5, 40)))
    assert blurred.shape == (5, 40)
    assert np.linalg.matrix_rank(blurred.T @ blurred) <= 10  # only 10 degrees of freedom are left of 40
    assert isinstance(Blur1d(4)(nr.tensor(np.ones((2, 8)))), nr.Tensor)
    with pytest.raises(ShapeError, match="multiple of 4"):
        Blur1d(4)(np.ones(6))
    np.testing.assert_array_equal(TimeReversal()(np.arange(4.0)), [3.0, 2.0, 1.0, 0.0])


def test_drop_rates_follow_the_three_modes():
    np.testing.assert_allclose(drop_rates(0.3, 4), 0.3)
    np.testing.assert_allclose(drop_rates(0.3, 6, "early", cutoff=4), [0.3, 0.2, 0.1, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(drop_rates(0.3, 5, "late", cutoff=2), [0, 0, 0.3, 0.3, 0.3])
    with pytest.raises(ValueError, match="mode"):
        drop_rates(0.3, 5, "middle")


def _training(callbacks, epochs=3, model=None):
    rng = np.random.default_rng(0)
    data = TensorDataset(rng.standard_normal((12, 8)).astype(np.float32), rng.integers(0, 2, 12))
    model = model or nn.Sequential(nn.Linear(8, 6, rng=0), nn.Dropout(0.5, rng=1), nn.Linear(6, 2, rng=2))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(callbacks[0] if isinstance(callbacks[0], DeficitSchedule) else data, batch_size=4)
    fit(model, F.cross_entropy, optimizer, loader, epochs=epochs, callbacks=callbacks)
    return model, optimizer, data


def test_a_deficit_applies_in_its_window_only():
    rng = np.random.default_rng(0)
    data = TensorDataset(rng.standard_normal((12, 8)).astype(np.float32), rng.integers(0, 2, 12))
    deficit = DeficitSchedule(data, TimeReversal(), start=1, end=2)
    seen = []
    probe = LambdaCallback(on_epoch_begin=lambda state: seen.append((state.epoch, deficit.active)))
    model = nn.Sequential(nn.Linear(8, 2, rng=0))
    fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), DataLoader(deficit, batch_size=4), epochs=3,
        callbacks=[deficit, probe])
    assert seen == [(0, False), (1, True), (2, False)]
    deficit.active = True
    np.testing.assert_array_equal(deficit[0][0].data, data[0][0].data[::-1])
    np.testing.assert_array_equal(deficit.__getitems__([0, 1])[0].data, data.__getitems__([0, 1])[0].data[:, ::-1])
    with pytest.raises(ValueError, match="start ≤ end"):
        DeficitSchedule(data, TimeReversal(), 3, 1)


def test_rate_schedules_and_the_restart_set_the_model_and_optimizer():
    rates = []
    schedule = DropoutSchedule(0.4, steps=9, mode="early", cutoff=5)
    probe = LambdaCallback(on_step_end=lambda state: rates.append(state.model[1].p))
    restart = LearningRateRestart(epoch=2, lr=0.05)
    _, optimizer, _ = _training([schedule, probe, restart])
    np.testing.assert_allclose(rates, np.append(drop_rates(0.4, 9, "early", 5)[1:], 0.0))  # p of the next step
    assert optimizer.param_groups[0]["lr"] == 0.05
    blocks = nn.Sequential(nn.Linear(8, 6, rng=0), nn.StochasticDepth(nn.Linear(6, 6, rng=1), 1.0),
                           nn.Linear(6, 2, rng=2))
    _training([StochasticDepthSchedule(0.5, steps=9, mode="late", cutoff=3)], model=blocks)
    assert blocks[1].survival_prob == pytest.approx(0.5)

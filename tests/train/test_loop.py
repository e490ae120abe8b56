"""fit and evaluate: the loss decreases, the history holds the right rows, schedulers, clipping, metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurones as nr
from neurones import functional as F
from neurones import nn, optim
from neurones.data.dataset import TensorDataset
from neurones.data.loader import DataLoader
from neurones.train import History, LambdaCallback, evaluate, fit
from neurones.train.metrics import accuracy, resolve_metrics
from tests.train.problems import BATCH_SIZE, NUM_SAMPLES, make_data, make_model, make_run


def test_fit_decreases_the_loss_and_learns_the_problem():
    run = make_run(dropout=False)
    history = fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=8)
    losses = history.epochs["loss"]
    assert losses[0] > 0.3
    assert losses[-1] < 0.5 * losses[0]
    assert history.epochs["accuracy"][-1] >= 0.95
    x, y = make_data()
    predicted = run.model(nr.tensor(x)).data.argmax(axis=1)
    assert np.mean(predicted == y) >= 0.95


def test_fit_takes_exactly_the_steps_of_a_hand_written_loop():
    by_fit = make_run()
    fit(by_fit.model, F.cross_entropy, by_fit.optimizer, by_fit.loader, steps=10, scheduler=by_fit.scheduler,
        scheduler_interval="step")
    by_hand = make_run()
    done = 0
    while done < 10:
        for x, y in by_hand.loader:
            by_hand.optimizer.zero_grad()
            F.cross_entropy(by_hand.model(x), y).backward()
            by_hand.optimizer.step()
            by_hand.scheduler.step()
            done += 1
            if done == 10:
                break
    for a, b in zip(by_fit.model.parameters(), by_hand.model.parameters(), strict=True):
        assert np.array_equal(a.data, b.data)


def test_history_rows_per_step_and_per_epoch():
    run = make_run(dropout=False)
    x, y = make_data()
    val_loader = DataLoader(TensorDataset(x, y), batch_size=32)
    history = fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=3, val_loader=val_loader)
    batches = NUM_SAMPLES // BATCH_SIZE
    assert history.num_steps == 3 * batches and history.num_epochs == 3
    assert history.steps["step"] == list(range(1, 3 * batches + 1))
    assert history.steps["epoch"] == [e for e in range(3) for _ in range(batches)]
    assert set(history.steps) == {"step", "epoch", "loss", "lr"}
    assert history.epochs["epoch"] == [0, 1, 2]
    assert history.epochs["step"] == [batches, 2 * batches, 3 * batches]
    assert set(history.epochs) == {"epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy"}
    # The epoch loss is the mean of the step losses (equal batches), the validation numbers those of evaluate.
    for epoch in range(3):
        step_losses = history.steps["loss"][epoch * batches : (epoch + 1) * batches]
        assert history.epochs["loss"][epoch] == pytest.approx(np.mean(step_losses), rel=1e-12)
    final = evaluate(run.model, val_loader, loss_fn=F.cross_entropy)
    assert history.epochs["val_loss"][-1] == pytest.approx(final["loss"], rel=1e-12)
    assert history.epochs["val_accuracy"][-1] == final["accuracy"]
    assert history.last_epoch()["epoch"] == 2


def test_steps_mode_stops_mid_epoch_without_an_epoch_row():
    run = make_run(dropout=False)
    history = fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=6)
    assert history.num_steps == 6
    assert history.num_epochs == 1  # steps 1-4 complete epoch 0; steps 5-6 are an unfinished epoch 1
    assert history.steps["epoch"] == [0, 0, 0, 0, 1, 1]


def test_steps_mode_ending_on_the_last_batch_completes_the_epoch():
    run = make_run(dropout=False)
    seen_epochs = []
    history = fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=8, scheduler=run.scheduler,
                  callbacks=[LambdaCallback(on_epoch_end=lambda s: seen_epochs.append(s.epoch))])
    assert history.num_epochs == 2 and seen_epochs == [1, 2]
    assert run.scheduler.last_epoch == 2
    assert run.loader.epoch == 2  # the loader closed its second epoch


def test_scheduler_per_epoch_and_per_step():
    run = make_run(dropout=False)
    history = fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=4, scheduler=run.scheduler)
    # StepLR(step_size=3, gamma=0.5) stepped once per epoch: epochs 0-2 at 0.05, epoch 3 at 0.025.
    assert history.steps["lr"] == [0.05] * 12 + [0.025] * 4
    run = make_run(dropout=False)
    history = fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=7, scheduler=run.scheduler,
                  scheduler_interval="step")
    assert history.steps["lr"] == [0.05] * 3 + [0.025] * 3 + [0.0125]


def test_grad_clip_records_the_norm_and_clips():
    run = make_run(dropout=False)
    norms_after = []

    def after_clip(state):
        norms_after.append(state.history.steps["grad_norm"][-1])

    history = fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=5, grad_clip=1e-3,
                  callbacks=[LambdaCallback(on_step_end=after_clip)])
    assert len(history.steps["grad_norm"]) == 5
    assert all(norm > 1e-3 for norm in history.steps["grad_norm"])
    # After clipping, the gradients left on the parameters have the clipped norm.
    left = math.sqrt(sum(float(np.sum(p.grad.data.astype(np.float64) ** 2)) for p in run.model.parameters()))
    assert left == pytest.approx(1e-3, rel=1e-3)
    assert norms_after == history.steps["grad_norm"]


def test_evaluate_matches_a_direct_computation_and_restores_modes():
    x, y = make_data()
    model = make_model(dropout=True)
    model.train()
    model[2].eval()  # a module deliberately left in another mode must get it back
    loader = DataLoader(TensorDataset(x, y), batch_size=24)  # batches of 24, 24, 16
    result = evaluate(model, loader, loss_fn=F.cross_entropy)
    model.eval()
    scores = model(nr.tensor(x)).data.astype(np.float64)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    assert result["loss"] == pytest.approx(-np.mean(log_probs[np.arange(NUM_SAMPLES), y]), rel=1e-5)
    assert result["accuracy"] == np.mean(scores.argmax(axis=1) == y)
    model.train()
    model[2].eval()
    evaluate(model, loader)
    assert [m.training for m in model.modules()] == [True, True, True, False, True, True, True, True]


def test_evaluate_records_no_graph():
    x, y = make_data()
    model = make_model()
    seen = []

    def metric(output, target):
        seen.append(output.requires_grad)
        return 0.0

    assert evaluate(model, DataLoader(TensorDataset(x, y), batch_size=64), metrics=[metric]) == {"metric": 0.0}
    assert seen == [False]


def test_regression_gets_no_accuracy_and_custom_metrics_are_named():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], dtype=np.float32))[:, None]
    model = nn.Linear(3, 1, rng=0)

    def mean_abs_error(output, target):
        return float(np.mean(np.abs(output.data - target.data)))

    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    history = fit(model, F.mse_loss, optim.SGD(model.parameters(), lr=0.1), loader, epochs=20,
                  metrics=[mean_abs_error])
    assert set(history.epochs) == {"epoch", "step", "loss", "mean_abs_error"}
    assert history.epochs["loss"][-1] < 1e-3 < history.epochs["loss"][0]
    assert set(evaluate(model, loader, loss_fn=F.mse_loss)) == {"loss"}


def test_accuracy_and_metric_resolution():
    scores = nr.tensor(np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]], dtype=np.float32))
    labels = nr.tensor(np.array([1, 1, 0]))
    assert accuracy(scores, labels) == pytest.approx(2 / 3)
    assert list(resolve_metrics("auto", scores, labels)) == ["accuracy"]
    assert resolve_metrics("auto", scores, nr.tensor(np.zeros((3, 2), dtype=np.float32))) == {}
    assert resolve_metrics(None, scores, labels) == {}
    with pytest.raises(ValueError, match="unknown metric 'top5'"):
        resolve_metrics(["top5"], scores, labels)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "exactly one of epochs and steps"), ({"epochs": 1, "steps": 1}, "exactly one"),
     ({"epochs": -1}, "non-negative"), ({"steps": 2, "scheduler_interval": "batch"}, "scheduler_interval")],
)
def test_fit_rejects_bad_arguments(kwargs, message):
    run = make_run(dropout=False)
    with pytest.raises(ValueError, match=message):
        fit(run.model, F.cross_entropy, run.optimizer, run.loader, **kwargs)


def test_batches_must_be_inputs_and_target():
    model = make_model()
    with pytest.raises(TypeError, match="expect batches"):
        fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), [nr.zeros(2, 4)], epochs=1)


def test_fit_accepts_a_plain_list_of_batches():
    x, y = make_data()
    model = make_model()
    batches = [(nr.tensor(x[:32]), nr.tensor(y[:32])), (nr.tensor(x[32:]), nr.tensor(y[32:]))]
    history = fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), batches, epochs=2)
    assert history.epochs["step"] == [2, 4]


def test_history_fills_missing_columns_with_nan_and_round_trips():
    history = History()
    history.record_epoch(epoch=0, loss=1.0)
    history.record_epoch(epoch=1, loss=0.5, val_loss=0.7)
    history.record_epoch(epoch=2, val_loss=0.6)
    np.testing.assert_array_equal(history.epochs["loss"], [1.0, 0.5, np.nan])
    np.testing.assert_array_equal(history.epochs["val_loss"], [np.nan, 0.7, 0.6])
    assert history.num_epochs == 3 and history.num_steps == 0
    assert history.last_epoch()["epoch"] == 2
    copy = History()
    copy.load_state_dict(history.state_dict())
    history.record_epoch(epoch=3)
    assert copy.num_epochs == 3
    assert repr(copy).startswith("History(steps=0, epochs=3, last: epoch=2")

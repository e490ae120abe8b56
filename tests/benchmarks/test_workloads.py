"""The benchmark workloads compute the same thing in both libraries, and the runner renders honest tables.

Only mechanics and parity are tested here: timings are the job of ``neurones bench``, never of the test suite.
"""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.run import merge, render
from benchmarks.workloads import by_name, workloads

from tests.helpers import reference_library


def test_workload_names_are_unique_and_cover_the_targets():
    names = [w.name for w in workloads()]
    assert len(names) == len(set(names))
    groups = {w.group for w in workloads()}
    assert groups == {"per-op overhead", "MLP", "deep narrow ResNet", "CNN"}
    assert by_name("resnet 1000").target == 0.6
    with pytest.raises(KeyError):
        by_name("nope")


@pytest.mark.parametrize("name", ["mlp sgd step", "resnet 200", "small cnn step", "conv fwd+bwd", "sum (fwd+bwd)"])
def test_neurones_steps_run(name):
    step = by_name(name).build("neurones")
    step()
    step()


def _first_parameters(name: str):
    """Parameters after one step of each library, for the training workloads built from shared weights."""
    reference_library("torch")
    ours = by_name(name).build("neurones")
    theirs = by_name(name).build("torch")
    ours()
    theirs()
    return [p.data for p in ours.model.parameters()], [p.detach().numpy() for p in theirs.model.parameters()]


@pytest.mark.parametrize("name", ["mlp sgd step", "mlp adam step", "small cnn step"])
def test_both_libraries_take_the_same_step(name):
    ours, theirs = _first_parameters(name)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_jax_takes_the_same_mlp_step():
    reference_library("jax")
    ours, jax_step = by_name("mlp sgd step").build("neurones"), by_name("mlp sgd step").build("jax")
    ours()
    jax_step()
    theirs = jax_step.parameters()
    assert [a.shape for a in theirs] == [p.shape for p in ours.model.parameters()]
    for a, b in zip(ours.model.parameters(), theirs):
        np.testing.assert_allclose(a.data, b, rtol=2e-4, atol=2e-5)


def test_jax_computes_the_same_resnet_gradients():
    reference_library("jax")
    ours, jax_step = by_name("resnet 200").build("neurones"), by_name("resnet 200").build("jax")
    ours()
    dA, dB, dV, dW = (np.asarray(g) for g in jax_step())
    net = ours.model
    scale = np.abs(dV).max()
    np.testing.assert_allclose(dA, net.A.grad.data, rtol=1e-3, atol=1e-4 * np.abs(dA).max())
    np.testing.assert_allclose(dB, net.B.grad.data, rtol=1e-3, atol=1e-4 * np.abs(dB).max())
    np.testing.assert_allclose(dV, np.stack([b.V.grad.data for b in net.blocks]), rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(dW, np.stack([b.W.grad.data for b in net.blocks]), rtol=1e-3,
                               atol=1e-4 * np.abs(dW).max())


def test_jax_is_timed_at_its_default_threads_only_and_rendered_beside_both():
    from benchmarks.run import _libraries

    reference_library("jax")
    assert _libraries(by_name("resnet 200"), "default") == ["neurones", "torch", "jax"]
    assert _libraries(by_name("resnet 200"), "1 thread") == ["neurones", "torch"]
    assert _libraries(by_name("conv fwd+bwd"), "default") == ["neurones", "torch"]
    record = {
        "workload": "resnet 200", "group": "deep narrow ResNet", "target": 0.6, "neurones default": 0.015,
        "neurones 1 thread": 0.014, "torch default": 0.04, "torch 1 thread": 0.041, "jax default": 0.016,
        "neurones best": 0.014, "torch best": 0.04, "ratio": 0.35, "jax ratio": 0.875, "holds": True,
    }
    text = render([record], None)
    assert "jax.jit" in text and "| resnet 200 | 14.0 | 40.0 | 16.0 | 0.88 | 2.50 |" in text
    del record["jax default"], record["jax ratio"]
    assert "jax.jit" not in render([record], None)  # no JAX installed: no section


def test_render_marks_missed_targets_and_explains_memory():
    record = {
        "workload": "conv fwd+bwd", "group": "CNN", "target": 1.5, "neurones default": 0.02,
        "neurones 1 thread": 0.025, "torch default": 0.009, "torch 1 thread": 0.017, "ratio": 2.2, "holds": False,
        "neurones peak MiB": 80.0, "torch peak MiB": 290.0, "neurones baseline MiB": 60.0,
        "torch baseline MiB": 250.0, "memory ratio": 80 / 290,
    }
    text = render([record], None)
    assert "| conv fwd+bwd | 20.0 | 25.0 | 9.000 | 17.0 | 2.20 | ≤ 1.5 | **no** | — |" in text  # no canary stored
    record.update({"canary before": 201.4, "canary after": 96.2})
    assert "| 2.20 | ≤ 1.5 | **no** | 201 / 96 |" in render([record], None)
    assert "VmHWM" in text and "| conv fwd+bwd | 80 | 290 | 0.28 | 20 | 40 | yes |" in text


def test_update_merges_fresh_measurements_over_stored_ones():
    def record(name, ratio):
        return {"workload": name, "ratio": ratio}

    stored = {
        "records": [record("add (record)", 0.7), record("conv fwd+bwd", 3.0), record("resnet 200", 0.6)],
        "race": [{"seed": 0}],
        "profiles": {"conv": {"total": 1.0}, "cnn": {"total": 2.0}, "sums": None},
    }
    fresh = {"records": [record("conv fwd+bwd", 2.0), record("mul (record)", 0.6)], "race": None,
             "profiles": {"conv": {"total": 0.5}, "cnn": None, "sums": {"x": 1.0}}}
    merged = merge(stored, fresh)
    assert [(r["workload"], r["ratio"]) for r in merged["records"]] == [
        ("add (record)", 0.7), ("mul (record)", 0.6), ("resnet 200", 0.6), ("conv fwd+bwd", 2.0)
    ]
    assert merged["race"] == [{"seed": 0}]
    assert merged["profiles"] == {"conv": {"total": 0.5}, "cnn": {"total": 2.0}, "sums": {"x": 1.0}}


def test_blas_canary_measures_the_speed_of_a_matrix_product():
    from benchmarks.machine import blas_canary

    speed = blas_canary(repeats=2)
    assert np.isfinite(speed) and 1 < speed < 1e5  # GFLOP/s: between a slow laptop core and a large GPU


def test_render_shows_the_race_with_its_canary():
    race = [
        {"seed": 0, "library": "neurones", "seconds": 8.0, "accuracy": 0.94, "canary before": 205.2,
         "canary after": 171.0},
        {"seed": 0, "library": "torch", "seconds": 10.0, "accuracy": 0.93, "canary before": 205.2,
         "canary after": 171.0},
    ]
    text = render([], race)  # stored before the race ran at several thread settings: read as "default"
    header = "| seed | neurones default s | torch default s | neurones accuracy | torch accuracy | lowest canary |"
    assert header in text
    assert "| 0 | 8.0 | 10.0 | 0.940 | 0.930 | 171 |" in text
    assert "(neurones at default, PyTorch at default): **0.80**" in text


def test_the_race_compares_each_library_at_its_best_thread_setting():
    def run(seed, library, threads, seconds, accuracy):
        return {"seed": seed, "library": library, "threads": threads, "seconds": seconds, "accuracy": accuracy,
                "canary before": 200.0 + seed, "canary after": 190.0}

    race = [
        run(0, "neurones", "default", 9.0, 0.90), run(0, "torch", "default", 10.0, 0.91),
        run(0, "neurones", "1 thread", 8.0, 0.92), run(0, "torch", "1 thread", 12.0, 0.93),
        run(1, "neurones", "default", 11.0, 0.90), run(1, "torch", "default", 10.0, 0.91),
        run(1, "neurones", "1 thread", 8.0, 0.94), run(1, "torch", "1 thread", 12.0, 0.93),
    ]
    text = render([], race)
    assert ("| seed | neurones default s | neurones 1 thread s | torch default s | torch 1 thread s | "
            "neurones accuracy | torch accuracy | lowest canary |") in text
    assert "| 0 | 9.0 | 8.0 | 10.0 | 12.0 | 0.920 | 0.910 | 190 |" in text  # accuracies of the best settings
    assert "(neurones at 1 thread, PyTorch at default): **0.80** (target ≤ 1.0)" in text  # 8 / 10
    assert "mean accuracy 0.930 against 0.910 (difference +2.0 points" in text

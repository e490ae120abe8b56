"""The README's examples of the analysis instruments run as written."""

from __future__ import annotations

from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[2] / "README.md"


def _run_example(heading: str) -> dict:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    start = section.index("```python") + len("```python")
    namespace: dict = {}
    exec(compile(section[start:section.index("```", start)], str(README), "exec"), namespace)  # the project's own
    return namespace


def test_the_kernel_example_runs():
    namespace = _run_example("### The kernel regime")
    assert namespace["K"].shape == (8, 8)
    np.testing.assert_allclose(namespace["f_inf"], namespace["y"], atol=1e-9)  # interpolation at the training points


def test_the_one_hidden_layer_example_runs():
    namespace = _run_example("### One hidden layer")
    assert abs(namespace["value"][0, 0]) < 1e-12  # the interpolant's value between (−0.5, 1) and (1, −1)
    assert namespace["tree"].neurons <= 20 and abs(namespace["poly"] - 0.125) < 1e-9  # |x| by a quadratic: 1/8
    chain = namespace["chain"]
    assert chain["complexity"].mean() < chain["intermediate"].mean()


def test_the_training_example_runs():
    namespace = _run_example("### Along training")
    assert abs(sum(namespace["per_layer"].values()) - namespace["total"]) < 1e-9
    assert 0 <= namespace["spread"] <= 2 and namespace["slice_"].shape == (11,)
    model, x, y = namespace["model"], namespace["x"], namespace["y"]
    assert abs(namespace["slice_"][5] - float(namespace["F"].cross_entropy(model(x), y).data)) < 1e-12  # α = 0


def test_the_wide_networks_example_runs():
    namespace = _run_example("### Wide networks in training")
    records = namespace["records"]
    assert list(records["steps"]) == [0, 50, 100, 150, 200] and records["losses"][-1] < records["losses"][0]
    assert records["relative_displacement"][0] == 0 and records["pattern_stability"][0] == 1
    assert records["hessian_max_eigenvalue"].shape == (5,) and np.all(records["hessian_max_eigenvalue"] > 0)
    losses = np.asarray(namespace["runs"].losses)
    assert losses.shape == (101, 8) and np.all(losses[-1] < losses[0])
    np.testing.assert_array_equal(namespace["start"].data, 0.0)

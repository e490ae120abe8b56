"""The profiles of benchmarks/profiles.py time the library's own code without changing what it computes."""

from __future__ import annotations

import numpy as np

import neurones as nr
import neurones.functional as F
from benchmarks import profiles
from neurones.ops import convolution
from neurones.ops.activations import ReLU


def _conv_step():
    rng = np.random.default_rng(0)
    x = nr.tensor(rng.standard_normal((3, 2, 6, 5)), requires_grad=True)
    w = nr.tensor(rng.standard_normal((4, 2, 3, 3)), requires_grad=True)
    b = nr.tensor(rng.standard_normal(4), requires_grad=True)

    def step():
        x.grad = w.grad = b.grad = None
        y = F.conv2d(x, w, b, padding=1)
        F.relu(y).sum().backward()
        return [y.data, x.grad.data, w.grad.data, b.grad.data]

    return step


def test_convolution_stages_add_up_and_leave_the_results_and_the_module_as_they_were():
    step = _conv_step()
    expected = step()
    stages, total = profiles._per_step(step, 2, profiles._timed_convolution)
    assert set(stages) == {
        "pad into the flat layout",
        "im2col",
        "col2im (adds)",
        "products (BLAS)",
        "copies between NCHW and the products' layout",
    }
    assert all(seconds > 0 for seconds in stages.values()) and sum(stages.values()) < total
    assert convolution.np is np
    assert all(convolution._Geometry.__dict__[name].__qualname__.startswith("_Geometry.")
               for name in profiles.CONV_STAGES)
    for got, want in zip(step(), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_op_times_name_the_ops_of_the_step_and_restore_them():
    step = _conv_step()
    forward, backward = ReLU.__dict__["forward"], ReLU.__dict__["backward"]
    ops, total = profiles._per_step(step, 2, profiles._timed_ops)
    assert {"Conv2d.forward", "Conv2d.backward", "ReLU.forward", "ReLU.backward", "SumAll.forward"} <= set(ops)
    assert sum(ops.values()) < total
    assert ReLU.__dict__["forward"] is forward and ReLU.__dict__["backward"] is backward
    # No wrapper (a function named "timed") is left on any op.
    assert all(cls.__dict__.get("forward", len).__name__ != "timed" for cls in profiles._function_classes())


def test_render_reports_the_products_against_pytorch_and_the_rest():
    conv = {"stages": {"products (BLAS)": 0.009, "im2col": 0.003}, "total": 0.015, "torch": 0.0075}
    cnn = {"ops": {"Conv2d.backward": 0.006, "Reshape.forward": 1e-6}, "total": 0.016, "torch": 0.011,
           "torch ops": {"aten::mkldnn_convolution": 0.002, "ProfilerStep": 0.001}}
    sums = {"NumPy add.reduce": 1.5e-6, "neurones sum (record)": 2.5e-6, "torch sum (record)": 2.2e-6}
    text = "\n".join(profiles.render(conv, cnn, sums))
    assert "The BLAS products alone take 9.0 ms (1.20× PyTorch's whole step), which leaves 2.3 ms" in text
    assert "they take 6.0 ms, on one thread" in text
    assert "| the rest (allocation, the engine, the workload's sum, timers) | 3.00 | 20% |" in text
    assert "Reshape.forward" not in text  # under 0.05 ms: counted in the rest
    assert "| aten::mkldnn_convolution | 2.00 |" in text and "ProfilerStep" not in text
    assert "NumPy's reduction alone takes 1.50 µs (68% of PyTorch's whole recorded op)" in text

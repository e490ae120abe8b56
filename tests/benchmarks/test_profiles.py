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
    assert "NumPy copy here" not in text  # no floor stored with this profile
    conv["copy floor"] = {"bytes": 110e6, "bandwidth": 44e9, "seconds": 0.0025}
    with_floor = "\n".join(profiles.render(conv, None, None))
    assert "(44 GB/s, `np.copyto` within the cache), the 110 MB that a step copies" in with_floor
    assert "would take 2.5 ms: with the products, 11.5 ms, 1.53× PyTorch's step." in with_floor
    assert "| the rest (allocation, the engine, the workload's sum, timers) | 3.00 | 20% |" in text
    assert "Reshape.forward" not in text  # under 0.05 ms: counted in the rest
    assert "| aten::mkldnn_convolution | 2.00 |" in text and "ProfilerStep" not in text
    assert "NumPy's reduction alone takes 1.50 µs (68% of PyTorch's whole recorded op)" in text


def test_the_copy_floor_counts_the_bytes_of_the_conv_workload():
    floor = profiles.convolution_copy_floor()
    # cols: 64 images × (16·9 + 1) rows × 812 columns (28 rows of 28 and the shared zero row), written twice;
    # col2im: 64 × 144 × 812; y and g: 64 × 32 × 784 each; ∂L/∂x: 64 × 16 × 784; the padded input: 16 chunks of
    # 16 × 4 × 812 numbers and the windows' overhang, 2 rows and 2 numbers, each. All float32.
    numbers = 2 * 64 * 145 * 812 + 64 * 144 * 812 + 2 * 64 * 32 * 784 + 64 * 16 * 784 + 16 * (16 * 4 * 812 + 2 * 28 + 2)
    assert floor["bytes"] == 4 * numbers
    assert floor["seconds"] == floor["bytes"] / floor["bandwidth"] and floor["bandwidth"] > 1e8

"""Where the time goes in the convolution, the small CNN and the full sum: the workloads with the least margin.

The issue that set the targets asks, for any that does not hold, for the profile that shows where the time goes.
These profiles are measured on the library's own code paths, not on re-implementations of them:

* **Convolution stages.** While a step runs, the stage methods of ``neurones.ops.convolution._Geometry`` (pad,
  im2col, col2im) and the module's ``np.matmul`` (the BLAS products) and ``np.copyto`` (copies between NCHW and
  the products' layout) are swapped for timed wrappers; everything else in the step (allocation, the bias, the
  engine, the ``sum`` of the workload) is "the rest". A stage called inside another (im2col's own ``np.copyto``)
  counts towards the outer one, so the stages add up to the step.
* **Ops of the small CNN.** ``forward`` and ``backward`` of every ``Function`` subclass are wrapped the same way:
  the time of each op in a training step.
* **The recorded sum.** NumPy's reduction alone, against the whole recorded op in both libraries.

Wrapping costs about a microsecond per call, a few hundred calls per step: well under 1% of these steps.
"""

from __future__ import annotations

import contextlib
import time
import timeit
from collections import defaultdict
from collections.abc import Callable, Iterator

import numpy as np

from benchmarks.workloads import CONV_INPUT, CONV_WEIGHT, _conv_step, _small_cnn_step, op_function, op_operands
from neurones.autodiff.function import Function
from neurones.ops import convolution


class _Timers:
    """Seconds spent in named stages; a stage entered while another runs is counted in the outer one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.active = False

    def wrap(self, stage: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            if self.active:
                return fn(*args, **kwargs)
            self.active = True
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start
                self.active = False

        return timed


class _NumPyWithTimedKernels:
    """Stands in for ``np`` inside the convolution module: ``matmul`` and ``copyto`` timed, the rest NumPy's."""

    def __init__(self, timers: _Timers) -> None:
        self.matmul = timers.wrap("products (BLAS)", np.matmul)
        self.copyto = timers.wrap("copies between NCHW and the products' layout", np.copyto)

    def __getattr__(self, name: str):
        return getattr(np, name)


CONV_TARGET = 1.5  # the convolution workload's target ratio, restated in its profile
CONV_STAGES = {"pad": "pad into the flat layout", "im2col": "im2col", "col2im": "col2im (adds)"}


@contextlib.contextmanager
def _timed_convolution(timers: _Timers) -> Iterator[None]:
    geometry = convolution._Geometry
    originals = {name: getattr(geometry, name) for name in CONV_STAGES}
    module_numpy = convolution.np
    try:
        for name, stage in CONV_STAGES.items():
            setattr(geometry, name, timers.wrap(stage, originals[name]))
        convolution.np = _NumPyWithTimedKernels(timers)
        yield
    finally:
        convolution.np = module_numpy
        for name, method in originals.items():
            setattr(geometry, name, method)


def _function_classes() -> list[type]:
    found, stack = [], [Function]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


@contextlib.contextmanager
def _timed_ops(timers: _Timers) -> Iterator[None]:
    originals = []
    for cls in _function_classes():
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                originals.append((cls, method, cls.__dict__[method]))
    try:
        for cls, method, fn in originals:
            setattr(cls, method, timers.wrap(f"{cls.__name__}.{method}", fn))
        yield
    finally:
        for cls, method, fn in originals:
            setattr(cls, method, fn)


def _per_step(step: Callable[[], object], steps: int, instrument) -> tuple[dict[str, float], float]:
    """Seconds per step of each stage, and of the whole step, over ``steps`` steps run back to back under
    ``instrument``."""
    for _ in range(3):
        step()
    timers = _Timers()
    with instrument(timers):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        total = (time.perf_counter() - start) / steps
    return {stage: seconds / steps for stage, seconds in timers.seconds.items()}, total


def _back_to_back(step: Callable[[], object], steps: int) -> float:
    """Seconds per step of ``steps`` steps run back to back: PyTorch's time measured as neurones' profile is."""
    return _per_step(step, steps, contextlib.nullcontext)[1]


def convolution_stages(steps: int = 30) -> dict:
    """The conv workload's step (forward, backward and the ``sum`` around them) split into the convolution's
    stages, with PyTorch's whole step for comparison."""
    stages, total = _per_step(_conv_step("neurones"), steps, _timed_convolution)
    return {"stages": stages, "total": total, "torch": _back_to_back(_conv_step("torch"), steps),
            "copy floor": convolution_copy_floor()}


def convolution_copy_floor() -> dict:
    """The least time the conv workload's copies could take: the bytes they write in one step at the best speed
    of a NumPy copy on this machine.

    The bytes: cols twice (im2col in the forward and again in the backward), the adds of col2im (as many numbers
    as dcols), the copies between NCHW and the products' layout (y, the cotangent g, and ∂L/∂x) and the padded
    input. The speed: ``np.copyto`` between two arrays of one chunk of cols (``CHUNK_BYTES``), which stay in the
    cache, so that no copy of the step can go faster.
    """
    geo = convolution._Geometry(CONV_INPUT, CONV_WEIGHT, (1, 1), ((1, 1), (1, 1)), (1, 1), 1, np.float32)
    item = np.dtype(np.float32).itemsize
    cols = sum((geo.body_rows + 1) * n * geo.columns for _, n in geo.chunks)  # with the bias's row of ones
    numbers = (
        2 * cols
        + geo.body_rows * geo.n * geo.columns
        + 2 * geo.n * geo.o * geo.out_h * geo.out_w
        + geo.n * geo.c * geo.h * geo.w
        + geo.flat_size()
    )
    source = np.ones(convolution.CHUNK_BYTES // item, np.float32)
    target = np.empty_like(source)
    best = min(timeit.repeat(lambda: np.copyto(target, source), number=20, repeat=7)) / 20
    bandwidth = source.nbytes / best
    return {"bytes": numbers * item, "bandwidth": bandwidth, "seconds": numbers * item / bandwidth}


def small_cnn_ops(steps: int = 30) -> dict:
    """The small CNN's training step split into its ops' forward and backward, with PyTorch's whole step and
    its own split by ATen op (self CPU time from ``torch.profiler``, which adds its own overhead to that step)."""
    ops, total = _per_step(_small_cnn_step("neurones"), steps, _timed_ops)
    torch_step_fn = _small_cnn_step("torch")
    torch_step = _back_to_back(torch_step_fn, steps)
    from torch.profiler import profile

    with profile() as recording:
        for _ in range(steps):
            torch_step_fn()
    torch_ops = {event.key: event.self_cpu_time_total * 1e-6 / steps for event in recording.key_averages()}
    return {"ops": ops, "total": total, "torch": torch_step, "torch ops": torch_ops}


def sum_overhead(number: int = 100_000) -> dict:
    """Seconds per call: NumPy's reduction of the 64×64 float32 operand, and the recorded sum in both libraries."""
    numpy_operand, _ = op_operands("numpy")

    def best(fn: Callable[[], object]) -> float:
        return min(timeit.repeat(fn, number=number, repeat=7)) / number

    reduce = np.add.reduce
    times = {"NumPy add.reduce": best(lambda: reduce(numpy_operand, None))}
    for library in ("neurones", "torch"):
        a, b = op_operands(library)
        fn = op_function("sum", library)
        times[f"{library} sum (record)"] = best(lambda fn=fn, a=a, b=b: fn(a, b))
    return times


def _rows(parts: dict[str, float], total: float, rest: str, smallest: float = 5e-5) -> list[str]:
    """Table rows, largest first; parts under ``smallest`` seconds join the rest, which is total − Σ parts."""
    shown = sorted(((name, t) for name, t in parts.items() if t >= smallest), key=lambda item: -item[1])
    rows = [*shown, (rest, total - sum(t for _, t in shown))]
    return [f"| {name} | {seconds * 1e3:.2f} | {100 * seconds / total:.0f}% |" for name, seconds in rows]


def _floor_sentence(conv: dict, products: float) -> str:
    floor = conv.get("copy floor")
    if floor is None:  # a profile stored before the floor was measured
        return ""
    least = products + floor["seconds"]
    return (
        f" Even at the best speed of a NumPy copy here ({floor['bandwidth'] / 1e9:.0f} GB/s, `np.copyto` within the "
        f"cache), the {floor['bytes'] / 1e6:.0f} MB that a step copies (im2col twice, col2im's adds, the NCHW "
        f"copies, the padding) would take {floor['seconds'] * 1e3:.1f} ms: with the products, "
        f"{least * 1e3:.1f} ms, {least / conv['torch']:.2f}× PyTorch's step."
    )


def render(conv: dict | None, cnn: dict | None, sums: dict | None) -> list[str]:
    """Markdown sections for RESULTS.md."""
    lines = ["", "## Where the time goes", ""]
    lines.append(
        "Measured on the library's own code paths by timing its stages in place (`benchmarks/profiles.py`), at "
        "the libraries' default threads, over steps run back to back (PyTorch's step likewise), so these totals "
        "differ a little from the table's medians, which start each sample after a pause."
    )
    if conv is not None:
        products = conv["stages"].get("products (BLAS)", 0.0)
        budget = CONV_TARGET * conv["torch"] - products
        lines += [
            "",
            f"**Convolution** (conv fwd+bwd): {conv['total'] * 1e3:.1f} ms per step against PyTorch's "
            f"{conv['torch'] * 1e3:.1f} ms. The BLAS products alone take {products * 1e3:.1f} ms "
            f"({products / conv['torch']:.2f}× PyTorch's whole step), which leaves {budget * 1e3:.1f} ms under the "
            f"{CONV_TARGET:g}× target for every copy, add and allocation; they take "
            f"{(conv['total'] - products) * 1e3:.1f} ms, on one thread.{_floor_sentence(conv, products)}",
            "",
            "| stage | ms per step | share |",
            "|---|---:|---:|",
            *_rows(conv["stages"], conv["total"], "the rest (allocation, the engine, the workload's sum, timers)"),
        ]
    if cnn is not None:
        lines += [
            "",
            f"**Small CNN** (small cnn step): {cnn['total'] * 1e3:.1f} ms per step against PyTorch's "
            f"{cnn['torch'] * 1e3:.1f} ms. Each ReLU and the max-pool after it are one `nn.ReLUMaxPool2d`, which "
            "applies the ReLU after the pool (the same outputs and gradients, on 4× fewer entries), so the ReLUs take "
            "little.",
            "",
            "| op | ms per step | share |",
            "|---|---:|---:|",
            *_rows(cnn["ops"], cnn["total"], "the rest (the engine, the SGD step, timers)"),
        ]
        torch_ops = {name: t for name, t in cnn["torch ops"].items() if name.startswith("aten::")}
        lines += [
            "",
            "PyTorch's step split by ATen op (self CPU time under `torch.profiler`, "
            f"{sum(cnn['torch ops'].values()) * 1e3:.1f} ms in all with the profiler's own cost):",
            "",
            "| op | ms per step |",
            "|---|---:|",
            *[f"| {name} | {t * 1e3:.2f} |" for name, t in sorted(torch_ops.items(), key=lambda i: -i[1])[:8]],
        ]
    if sums is not None:
        reduce = sums["NumPy add.reduce"]
        ours, theirs = sums["neurones sum (record)"], sums["torch sum (record)"]
        lines += [
            "",
            f"**Full sum** (sum (record)): neurones {ours * 1e6:.2f} µs, PyTorch {theirs * 1e6:.2f} µs. NumPy's "
            f"reduction alone takes {reduce * 1e6:.2f} µs ({100 * reduce / theirs:.0f}% of PyTorch's whole "
            f"recorded op), which leaves {(theirs - reduce) * 1e6:.2f} µs for the graph node and the tensor, "
            f"where neurones spends {(ours - reduce) * 1e6:.2f} µs.",
        ]
    return lines

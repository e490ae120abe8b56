"""Per-op overhead on 64×64 float32: raw NumPy, neurones (with and without graph recording, and with backward),
and PyTorch eager (when installed).

Run: ``python -m benchmarks.op_overhead``. The engine's target: an elementwise op including graph recording
costs at most 2× raw NumPy, and recording costs no more than PyTorch's.
"""

from __future__ import annotations

import importlib.util

import numpy as np

import neurones as nr
import neurones.functional as F
from benchmarks.timing import inner_count, median_times

SIZE = 64
OPS = ("add", "mul", "relu", "matmul", "sum")


def _numpy_op(name: str, a: np.ndarray, b: np.ndarray):
    return {
        "add": lambda: a + b,
        "mul": lambda: a * b,
        "relu": lambda: np.maximum(a, 0),
        "matmul": lambda: a @ b,
        "sum": lambda: a.sum(),
    }[name]


def _neurones_op(name: str, a, b):
    return {
        "add": lambda: a + b,
        "mul": lambda: a * b,
        "relu": lambda: F.relu(a),
        "matmul": lambda: a @ b,
        "sum": lambda: a.sum(),
    }[name]


def _torch_op(name: str, a, b):
    import torch

    return {
        "add": lambda: a + b,
        "mul": lambda: a * b,
        "relu": lambda: torch.relu(a),
        "matmul": lambda: a @ b,
        "sum": lambda: a.sum(),
    }[name]


def _with_backward(forward, seed):
    def step():
        y = forward()
        y.backward(seed(y))

    return step


def candidates(name: str, torch_available: bool) -> dict:
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    b_np = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    plain_a, plain_b = nr.tensor(a_np), nr.tensor(b_np)
    leaf_a, leaf_b = nr.tensor(a_np, requires_grad=True), nr.tensor(b_np, requires_grad=True)
    ones = np.ones((SIZE, SIZE), np.float32)
    result = {
        "numpy": _numpy_op(name, a_np, b_np),
        "neurones (no grad)": _neurones_op(name, plain_a, plain_b),
        "neurones (recording)": _neurones_op(name, leaf_a, leaf_b),
        "neurones (fwd+bwd)": _with_backward(
            _neurones_op(name, leaf_a, leaf_b), lambda y: None if y.ndim == 0 else ones
        ),
    }
    if torch_available:
        import torch

        ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
        t_ones = torch.ones(SIZE, SIZE)
        result["torch (recording)"] = _torch_op(name, ta, tb)
        result["torch (fwd+bwd)"] = _with_backward(_torch_op(name, ta, tb), lambda y: None if y.ndim == 0 else t_ones)
    return result


def measure(repeats: int = 30) -> list[dict]:
    """One record per op: median seconds of each candidate, and the ratios the targets are stated in."""
    torch_available = importlib.util.find_spec("torch") is not None
    records = []
    for name in OPS:
        cands = candidates(name, torch_available)
        inner = inner_count(cands["numpy"])
        times = median_times(cands, repeats=repeats, inner=min(inner, 200))
        record = {"op": name, **{k: v for k, v in times.items()}}
        record["recording / numpy"] = times["neurones (recording)"] / times["numpy"]
        if torch_available:
            record["recording / torch"] = times["neurones (recording)"] / times["torch (recording)"]
            record["fwd+bwd / torch"] = times["neurones (fwd+bwd)"] / times["torch (fwd+bwd)"]
        records.append(record)
    return records


def main() -> None:
    records = measure()
    print(f"Per-op cost on {SIZE}x{SIZE} float32 (median µs; ratios of medians)")
    for r in records:
        times = "  ".join(f"{k}={v * 1e6:.2f}" for k, v in r.items() if isinstance(v, float) and "/" not in k)
        ratios = "  ".join(f"{k}={v:.2f}" for k, v in r.items() if "/" in k)
        print(f"{r['op']:>7}: {times}\n         {ratios}")


if __name__ == "__main__":
    main()

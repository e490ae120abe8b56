"""Per-op overhead on 64×64 float32: raw NumPy, neurones (with and without graph recording, and with backward),
and PyTorch eager (when installed).

Run: ``python -m benchmarks.op_overhead``. The engine's target: an elementwise op including graph recording
costs at most 2× raw NumPy, and recording costs no more than PyTorch's.
"""

from __future__ import annotations

import importlib.util
from functools import partial

from benchmarks.timing import inner_count, median_times
from benchmarks.workloads import op_function, op_operands, with_backward

OPS = ("add", "mul", "relu", "matmul", "sum")


def candidates(name: str, torch_available: bool) -> dict:
    """The ways of running op ``name`` that this benchmark compares, as calls without arguments."""
    libraries = {
        "numpy": op_operands("numpy"),
        "neurones (no grad)": op_operands("neurones", requires_grad=False),
        "neurones (recording)": op_operands("neurones"),
    }
    result = {label: partial(op_function(name, label.split()[0]), *operands) for label, operands in libraries.items()}
    result["neurones (fwd+bwd)"] = with_backward(result["neurones (recording)"], "neurones")
    if torch_available:
        result["torch (recording)"] = partial(op_function(name, "torch"), *op_operands("torch"))
        result["torch (fwd+bwd)"] = with_backward(result["torch (recording)"], "torch")
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
    print("Per-op cost on 64x64 float32 (median µs; ratios of medians)")
    for r in records:
        times = "  ".join(f"{k}={v * 1e6:.2f}" for k, v in r.items() if isinstance(v, float) and "/" not in k)
        ratios = "  ".join(f"{k}={v:.2f}" for k, v in r.items() if "/" in k)
        print(f"{r['op']:>7}: {times}\n         {ratios}")


if __name__ == "__main__":
    main()

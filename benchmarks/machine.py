"""A description of the machine and the libraries, printed at the top of RESULTS.md."""

from __future__ import annotations

import os
import platform
import timeit

import numpy as np

CANARY_SIZE = 1024  # the canary is a CANARY_SIZE³ float32 matrix product


def describe() -> list[str]:
    lines = [f"- CPU: {_cpu_model()}, {os.cpu_count()} logical cores; {platform.system()} {platform.release()}"]
    lines.append(f"- Python {platform.python_version()}, NumPy {np.__version__}" + _blas())
    try:
        import torch

        lines.append(f"- PyTorch {torch.__version__} (default intra-op threads: {torch.get_num_threads()})")
    except ImportError:
        lines.append("- PyTorch: not installed")
    return lines


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ""
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not pools:
        return ""
    # SciPy loads its own OpenBLAS too: NumPy's is the one shipped in NumPy's directory (numpy.libs on Linux).
    numpy_prefix = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy")  # numpy/ or numpy.libs/
    mine = [p for p in pools if p.get("filepath", "").startswith(numpy_prefix)]
    pool = (mine or pools)[0]
    return f" with {pool.get('internal_api')} {pool.get('version')} ({pool.get('num_threads')} threads by default)"


def blas_canary(repeats: int = 10) -> float:
    """GFLOP/s of a 1024³ float32 matrix product through NumPy's BLAS at its default threads, the best of
    ``repeats``: measured next to each workload, it tells whether the machine was quiet (about 200 GFLOP/s on the
    2-core machine of RESULTS.md) or shared with other tenants' jobs while that workload was timed."""
    a = np.random.default_rng(0).standard_normal((CANARY_SIZE, CANARY_SIZE)).astype(np.float32)
    a @ a  # a warm-up: the first product also starts BLAS's threads
    best = min(timeit.repeat(lambda: a @ a, number=1, repeat=repeats))
    return 2 * CANARY_SIZE**3 / best / 1e9

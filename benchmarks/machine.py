"""A description of the machine and the libraries, printed at the top of RESULTS.md."""

from __future__ import annotations

import os
import platform

import numpy as np


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

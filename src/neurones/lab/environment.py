"""How a run was made: the software and the machine, recorded with every run for the report's reproducibility block."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from threadpoolctl import threadpool_info

import neurones


def describe_environment() -> dict[str, Any]:
    """Python, NumPy, SciPy and neurones versions; each BLAS/OpenMP library with its current thread count (call it
    where the work runs, inside its thread limits); the machine and the process's CPU count."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "neurones": neurones.__version__,
        "git_commit": git_commit(),
        "blas": [
            {
                "library": pool.get("internal_api"),
                "version": pool.get("version"),
                "threads": pool.get("num_threads"),
                "architecture": pool.get("architecture"),
            }
            for pool in threadpool_info()
        ],
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "processor": _processor_name(),
        "cpus": os.cpu_count(),
        "hostname": platform.node(),
        "command": command_line(),
    }


def command_line() -> str:
    """How this process was started (``neurones report --scale quick``), without the interpreter's path."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else ""


def git_commit() -> str | None:
    """The commit of the source checkout neurones runs from, with ``+dirty`` for uncommitted changes; ``None`` for
    an installed package or a machine without git."""
    root = Path(neurones.__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5
        )
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return commit.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def _processor_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else whatever the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()

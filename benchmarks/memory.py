"""Peak memory of one workload in one library, measured in a fresh process: ``python -m benchmarks.memory NAME LIB``.

The high-water mark of a process's resident memory only ever grows, so measuring two libraries (or two
workloads) in one process would report the larger of them for both. Each measurement therefore
runs alone in a new interpreter, which prints one JSON line: the resident memory after imports and set-up
(``baseline_mib``: the libraries' code and the model), and the peak over the steps (``peak_mib``).
"""

from __future__ import annotations

import json
import subprocess
import sys

STEPS = 20


def _status_mib(field: str) -> float:
    """A memory field of /proc/self/status in MiB: ``VmRSS`` (resident now) or ``VmHWM`` (the peak so far).

    VmHWM is this process's own high-water mark; ``getrusage().ru_maxrss`` is not usable here because Linux
    carries it over from the parent through fork and exec, so a child of a process that imported PyTorch would
    report PyTorch's footprint."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_here(name: str, library: str, threads: int | None = None) -> dict:
    from benchmarks.threads import thread_limits
    from benchmarks.workloads import by_name

    with thread_limits(threads):
        step = by_name(name).build(library)
        baseline = _status_mib("VmRSS")
        for _ in range(STEPS):
            step()
    peak = _status_mib("VmHWM")
    return {"workload": name, "library": library, "baseline_mib": baseline, "peak_mib": peak}


def measure_in_subprocess(name: str, library: str) -> dict:
    """Run :func:`measure_here` in a new interpreter and return its record."""
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", name, library],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure_here(sys.argv[1], sys.argv[2])))

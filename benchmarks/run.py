"""The benchmark runner (``neurones bench``): neurones against PyTorch eager, side by side, on this machine.

For every workload both libraries are built from the same weights and timed in the same process, alternating
(neurones, PyTorch, neurones, ...), at the libraries' default thread counts and again at one thread (BLAS through
threadpoolctl, PyTorch through ``torch.set_num_threads``). The ratio reported against each target is the best
median of neurones over the best median of PyTorch. Peak memory is measured in a fresh process per workload and
library (see :mod:`benchmarks.memory`). The table is written to ``benchmarks/RESULTS.md``, and the measurements
behind it to ``benchmarks/RESULTS.json``, from which the table is re-rendered after re-measuring only some
workloads (a shared machine's slow spell can spoil one row of a 15-minute run). Each row, and each seed of the
MNIST-1D race, records the BLAS canary (:func:`benchmarks.machine.blas_canary`) before and after its timings, which
shows such spells.

A run with ``--only`` re-measures the named workloads and merges them into the stored results (``RESULTS.json``),
so that a partial run never replaces the full table; an unknown name is an error, and a run that measured nothing
writes nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks import empirical_ntk, jax_workloads, machine, per_sample, profiles
from benchmarks.memory import measure_in_subprocess
from benchmarks.threads import SETTINGS as THREAD_SETTINGS
from benchmarks.threads import label as _label
from benchmarks.threads import thread_limits
from benchmarks.timing import inner_count, median_times
from benchmarks.workloads import Workload, workloads
from neurones.lab.storage import write_text_atomic

RESULTS = Path(__file__).with_name("RESULTS.md")
MEMORY_TARGET = 1.2  # peak memory of a training workload, as a multiple of PyTorch's


SECTIONS = (per_sample, empirical_ntk)
"""Benchmarks with a section of their own: ``NAME`` for ``--only``, ``KEY`` in RESULTS.json, ``measure``,
``render``."""


def time_workload(workload: Workload, repeats: int) -> dict:
    record = {"workload": workload.name, "group": workload.group, "target": workload.target}
    record["canary before"] = machine.blas_canary()
    for threads in THREAD_SETTINGS:
        label = _label(threads)
        with thread_limits(threads):
            steps = {library: workload.build(library) for library in _libraries(workload, label)}
            inner = min(*(inner_count(step) for step in steps.values()), 500)
            medians = median_times(steps, repeats=repeats, warmup=2, inner=inner)
        for library, seconds in medians.items():
            record[f"{library} {label}"] = seconds
    record["canary after"] = machine.blas_canary()
    record["neurones best"] = min(record[f"neurones {_label(t)}"] for t in THREAD_SETTINGS)
    record["torch best"] = min(record[f"torch {_label(t)}"] for t in THREAD_SETTINGS)
    record["ratio"] = record["neurones best"] / record["torch best"]
    if "jax default" in record:
        record["jax ratio"] = record["neurones best"] / record["jax default"]
    record["holds"] = record["ratio"] <= workload.target
    if workload.training:
        for library in ("neurones", "torch"):
            memory = measure_in_subprocess(workload.name, library)
            record[f"{library} peak MiB"] = memory["peak_mib"]
            record[f"{library} baseline MiB"] = memory["baseline_mib"]
        record["memory ratio"] = record["neurones peak MiB"] / record["torch peak MiB"]
    return record


def _libraries(workload: Workload, label: str) -> list[str]:
    """The libraries timed at a thread setting: JAX where it is installed, at its default threads only (XLA sizes
    its thread pool once, when it starts, so it cannot be re-timed at one thread in the same process)."""
    libraries = ["neurones", "torch"]
    if jax_workloads.LIBRARY in workload.libraries and label == "default" and jax_workloads.available():
        libraries.append(jax_workloads.LIBRARY)
    return libraries


def render_compiled(records: list[dict]) -> list[str]:
    """The section against JAX: neurones and PyTorch eager at their best thread setting, JAX compiled."""
    rows = [r for r in records if "jax default" in r]
    if not rows:
        return []
    lines = [
        "",
        "## Against the compiled anchor: JAX with `jax.jit` (CPU)",
        "",
        "The same workloads written in JAX and compiled whole (forward, backward and update) by XLA; the deep "
        "narrow ResNets run their blocks with `lax.scan` (`benchmarks/jax_workloads.py`). Measured in the same "
        "alternating run as the table above, at JAX's default threads (XLA fixes its thread pool when it starts). "
        "A ratio below 1 means neurones is faster.",
        "",
        "| workload | neurones best | torch best | jax (jit) | neurones / jax | torch / jax |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {_ms(r['neurones best'])} | {_ms(r['torch best'])} | {_ms(r['jax default'])} | "
            f"{r['jax ratio']:.2f} | {r['torch best'] / r['jax default']:.2f} |"
        )
    return lines


def _canary(record: dict) -> str:
    """The record's canary as "before / after" GFLOP/s, or a dash for a record measured before the canary existed."""
    if "canary before" not in record:
        return "—"
    return f"{record['canary before']:.0f} / {record['canary after']:.0f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}" if seconds < 1e-2 else f"{seconds * 1e3:.1f}"


def render(records: list[dict], race: list[dict] | None, profile_data: dict | None = None,
           sections: dict | None = None) -> str:
    lines = [
        "# Benchmarks: neurones against PyTorch eager (CPU)",
        "",
        f"Generated by `neurones bench` on {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        *machine.describe(),
        "",
        "Times are medians over repeated runs, in milliseconds, measured in one process with the two libraries "
        "alternating. Each library is timed at its default thread count and at one thread (NumPy's BLAS through "
        "threadpoolctl, PyTorch through `set_num_threads`); the ratio is neurones' best over PyTorch's best. "
        "A ratio below 1 means neurones is faster. *Canary* is the speed of a 1024³ float32 matrix product "
        "(NumPy's BLAS, default threads) in GFLOP/s, just before and just after the workload's timings: about 200 "
        "when this machine is quiet, lower while other tenants' jobs share it, which slows both libraries unevenly. "
        "A row with a low canary is worth re-measuring (`neurones bench --only NAME`).",
        "",
        "| workload | neurones default | neurones 1 thread | torch default | torch 1 thread | ratio | target | holds "
        "| canary |",
        "|---|---:|---:|---:|---:|---:|---:|:---:|---:|",
    ]
    for r in records:
        lines.append(
            f"| {r['workload']} | {_ms(r['neurones default'])} | {_ms(r['neurones 1 thread'])} | "
            f"{_ms(r['torch default'])} | {_ms(r['torch 1 thread'])} | {r['ratio']:.2f} | ≤ {r['target']:g} | "
            f"{'yes' if r['holds'] else '**no**'} | {_canary(r)} |"
        )
    memory = [r for r in records if "memory ratio" in r]
    if memory:
        lines += [
            "",
            "## Peak memory of the training workloads",
            "",
            "Each number comes from a fresh process running 20 steps of one workload in one library: the peak "
            "resident memory (`VmHWM`) is a high-water mark that only grows within a process, so two measurements "
            "cannot share one (and `ru_maxrss` is not used because Linux carries it over from the parent process). "
            "*Peak* is that high-water mark (libraries' code, model, data and the largest step); *baseline* is the "
            "resident memory after imports and set-up, before the first step, so *peak − baseline* is what the "
            "steps themselves add. The target (≤ 1.2× PyTorch) is on the peak.",
            "",
            "| workload | neurones peak MiB | torch peak MiB | ratio | neurones peak − baseline | "
            "torch peak − baseline | holds |",
            "|---|---:|---:|---:|---:|---:|:---:|",
        ]
        for r in memory:
            lines.append(
                f"| {r['workload']} | {r['neurones peak MiB']:.0f} | {r['torch peak MiB']:.0f} | "
                f"{r['memory ratio']:.2f} | {r['neurones peak MiB'] - r['neurones baseline MiB']:.0f} | "
                f"{r['torch peak MiB'] - r['torch baseline MiB']:.0f} | "
                f"{'yes' if r['memory ratio'] <= MEMORY_TARGET else '**no**'} |"
            )
    lines += render_compiled(records)
    for section in SECTIONS:
        if (sections or {}).get(section.KEY):
            lines += section.render(sections[section.KEY])
    if race:
        lines += render_race(race)
    if profile_data and any(value is not None for value in profile_data.values()):
        lines += profiles.render(profile_data.get("conv"), profile_data.get("cnn"), profile_data.get("sums"))
    return "\n".join(lines) + "\n"


def render_race(race: list[dict]) -> list[str]:
    """The MNIST-1D section: each seed's wall time per library and thread setting, and the ratio of the two
    libraries' best settings (the lower mean over seeds), as for every other workload. Accuracies are those of
    the best settings. Records stored before the race ran at several settings count as "default"."""
    seeds = sorted({r["seed"] for r in race})
    libraries = ("neurones", "torch")
    by = {(r["seed"], r["library"], r.get("threads", "default")): r for r in race}
    settings = [_label(t) for t in THREAD_SETTINGS
                if all((seed, lib, _label(t)) in by for seed in seeds for lib in libraries)]
    mean = {(lib, s): np.mean([by[(seed, lib, s)]["seconds"] for seed in seeds]) for lib in libraries for s in settings}
    best = {lib: min(settings, key=lambda s, lib=lib: mean[(lib, s)]) for lib in libraries}
    columns = [(lib, s) for lib in libraries for s in settings]
    lines = ["", "## MNIST-1D: the reference CNN trained to the end (6000 Adam steps, batch 100)", "",
             "Each library runs at its default thread count and at one thread; the ratio compares their best "
             "settings. *Lowest canary* is the lowest of the canaries measured before and after each pair of runs "
             "of a seed.", "",
             "| seed | " + " | ".join(f"{lib} {s} s" for lib, s in columns)
             + " | neurones accuracy | torch accuracy | lowest canary |",
             "|---:|" + "---:|" * (len(columns) + 3)]
    for seed in seeds:
        records = [r for r in race if r["seed"] == seed]
        canaries = [r[key] for r in records for key in ("canary before", "canary after") if key in r]
        lines.append(
            f"| {seed} | " + " | ".join(f"{by[(seed, lib, s)]['seconds']:.1f}" for lib, s in columns)
            + f" | {by[(seed, 'neurones', best['neurones'])]['accuracy']:.3f}"
            f" | {by[(seed, 'torch', best['torch'])]['accuracy']:.3f}"
            f" | {f'{min(canaries):.0f}' if canaries else '—'} |"
        )
    ours_a, theirs_a = (np.mean([by[(seed, lib, best[lib])]["accuracy"] for seed in seeds]) for lib in libraries)
    ratio = mean[("neurones", best["neurones"])] / mean[("torch", best["torch"])]
    lines += [
        "",
        f"Mean wall time ratio neurones/torch (neurones at {best['neurones']}, PyTorch at {best['torch']}): "
        f"**{ratio:.2f}** (target ≤ 1.0); mean accuracy {ours_a:.3f} against {theirs_a:.3f} (difference "
        f"{100 * (ours_a - theirs_a):+.1f} points, target within 2 points).",
    ]
    return lines


def profile(names: set[str]) -> dict:
    """The measurements behind the "where the time goes" sections, for the profiled workloads among ``names``."""
    return {
        "conv": profiles.convolution_stages() if "conv fwd+bwd" in names else None,
        "cnn": profiles.small_cnn_ops() if "small cnn step" in names else None,
        "sums": profiles.sum_overhead() if "sum (record)" in names else None,
    }


def merge(stored: dict, fresh: dict) -> dict:
    """``fresh`` measurements over ``stored`` ones: records by workload (in the order of the workload list), the
    race and each profile where measured again."""
    records = {r["workload"]: r for r in stored.get("records", [])}
    records.update({r["workload"]: r for r in fresh["records"]})
    order = [w.name for w in workloads()]
    merged_profiles = dict(stored.get("profiles") or {})
    merged_profiles.update({k: v for k, v in (fresh.get("profiles") or {}).items() if v is not None})
    return {
        "records": sorted(records.values(), key=lambda r: order.index(r["workload"]) if r["workload"] in order
                          else len(order)),
        "race": fresh.get("race") or stored.get("race"),
        "profiles": merged_profiles,
        **{section.KEY: fresh.get(section.KEY) or stored.get(section.KEY) for section in SECTIONS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neurones bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*",
                        help="workload names (default: all), or the sections "
                        + ", ".join(repr(section.NAME) for section in SECTIONS))
    parser.add_argument("--repeats", type=int, default=15, help="timed samples per library and thread setting")
    parser.add_argument("--mnist1d", action="store_true", help="also train the MNIST-1D CNN to the end (minutes)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--no-profiles", action="store_true",
                        help="skip the profiles of the convolution, the small CNN and the sum (benchmarks/profiles.py)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the markdown table")
    args = parser.parse_args(argv)
    known = [w.name for w in workloads()] + [section.NAME for section in SECTIONS]
    unknown = [name for name in args.only or [] if name not in known]
    if unknown:
        print(f"error: unknown benchmark {', '.join(map(repr, unknown))} (known: {', '.join(known)})", file=sys.stderr)
        return 1
    selected = [w for w in workloads() if not args.only or w.name in args.only]
    records = []
    for workload in selected:
        record = time_workload(workload, args.repeats)
        records.append(record)
        print(f"{workload.name:>18}: ratio {record['ratio']:.2f} (target ≤ {workload.target:g})"
              + (f", memory ratio {record['memory ratio']:.2f}" if "memory ratio" in record else ""), flush=True)
    profile_data = {} if args.no_profiles else profile({record["workload"] for record in records})
    sections = {section.KEY: section.measure() for section in SECTIONS if not args.only or section.NAME in args.only}
    race = None
    if args.mnist1d:
        from benchmarks.mnist1d_race import race as run_race

        race = run_race(seeds=tuple(args.seeds))
    data = {"records": records, "race": race, "profiles": profile_data, **sections}
    if not records and race is None and not sections:
        print(f"error: nothing was measured; {args.out} is left as it was", file=sys.stderr)
        return 1
    raw = args.out.with_suffix(".json")
    if args.only and raw.exists():  # a partial run updates the stored results, never replaces them
        data = merge(json.loads(raw.read_text()), data)
    write_text_atomic(raw, json.dumps(data, indent=1, default=lambda value: value.item()) + "\n")  # NumPy scalars
    write_text_atomic(args.out, render(data["records"], data["race"], data["profiles"],
                                       {section.KEY: data.get(section.KEY) for section in SECTIONS}))
    print(f"wrote {args.out} and {raw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

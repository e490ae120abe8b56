"""The runner: results.json schema, run directories created exclusively and never overwritten, resumable runs, the
same seed giving the same numbers."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from neurones.errors import ConfigError, LabError, OutputError, UnknownExperimentError
from neurones.lab import registry
from neurones.lab.claims import equality
from neurones.lab.config import scales
from neurones.lab.registry import Experiment, experiment, experiments, get_experiment
from neurones.lab.result import Result
from neurones.lab.runner import (
    RESULT_KEYS,
    load_run,
    new_run_directory,
    prepare_run,
    read_request,
    resume_run,
    run_experiment,
)  # fmt: skip
from neurones.lab.storage import write_text_atomic

CLAIM_KEYS = ["id", "statement", "source", "prediction", "measured", "stderr", "holds", "rule", "margin", "notes"]


@scales(quick=dict(samples=1_000), smoke=dict(samples=50))
@dataclass(frozen=True)
class ToyConfig:
    samples: int = 10_000
    shift: float = 0.0


def toy_run(config: ToyConfig, rng: np.random.Generator) -> Result:
    """The mean of N(shift, 1) against 0: holds for shift = 0, fails (and is reported) for a large shift."""
    result = Result(config)
    draws = rng.standard_normal(config.samples) + config.shift
    result.claim(
        equality(
            "toy.mean",
            "The mean of a standard normal sample is 0.",
            "Toy, §1",
            predicted=0.0,
            measured=draws.mean(),
            stderr=draws.std(ddof=1) / math.sqrt(draws.size),
            tol=0.0,
        )
    )
    result.table(
        "draws", [{"index": i, "value": value, "big": np.float32(np.inf)} for i, value in enumerate(draws[:3])]
    )
    fig = result.figure("draws", "A histogram of the draws.")
    fig.subplots().hist(draws)
    return result


@pytest.fixture
def toy(monkeypatch):
    """Register the toy experiment for one test only, so that it never shows up in lists or reports."""
    monkeypatch.setitem(registry._REGISTRY, "toy", Experiment("toy", toy_run, ToyConfig, "Toy", "Toy source"))
    return "toy"


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject)


def _reject(token):
    raise AssertionError(f"non-standard JSON token {token}")


def test_results_json_has_exactly_the_schema(toy, tmp_path):
    out = tmp_path / "run"
    run = run_experiment(toy, "smoke", seed=3, out=out)
    record = read(out / "results.json")
    assert tuple(record) == RESULT_KEYS
    assert record == run.record
    assert record["experiment"] == "toy" and record["scale"] == "smoke" and record["seed"] == 3
    assert record["config"] == {"samples": 50, "shift": 0.0}
    assert [list(claim) for claim in record["claims"]] == [CLAIM_KEYS]
    assert record["tables"]["draws"][0]["big"] is None  # inf stored as null: strict JSON
    assert record["figures"] == ["figures/draws.png"]
    assert (out / "figures" / "draws.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert read(out / "config.json") == record["config"]
    assert isinstance(record["version"], str) and record["elapsed_s"] >= 0
    assert record["code"].startswith(record["version"] + "+")
    assert record["environment"]["blas"] and all(pool["threads"] == 1 for pool in record["environment"]["blas"])
    assert read(out / "request.json")["key"] == prepare_run(toy, "smoke", seed=3).key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "figures", "request.json", "results.json"]


def test_load_run_reads_the_record_and_the_captions(toy, tmp_path):
    run = run_experiment(toy, "smoke", out=tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    assert loaded.record == run.record
    assert loaded.captions == run.captions == {"figures/draws.png": "A histogram of the draws."}


def test_same_seed_same_numbers(toy, tmp_path):
    def numbers(seed, name):
        record = run_experiment(toy, "smoke", seed=seed, out=tmp_path / name).record
        return {key: value for key, value in record.items() if key not in ("elapsed_s", "environment")}

    first = numbers(5, "a")
    assert first == numbers(5, "b")
    assert first["claims"] != numbers(6, "c")["claims"]


def test_a_failing_claim_is_written_as_failing(toy, tmp_path):
    record = run_experiment(toy, "smoke", overrides={"shift": "3"}, out=tmp_path / "run").record
    assert record["config"]["shift"] == 3.0
    assert record["claims"][0]["holds"] is False


def test_errors_are_raised_before_anything_runs(toy, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setitem(
        registry._REGISTRY, "toy", Experiment("toy", lambda c, r: calls.append(c), ToyConfig, "Toy", "Toy")
    )
    with pytest.raises(UnknownExperimentError, match=r"unknown experiment 'nope' \(known: .*toy"):
        run_experiment("nope", "smoke", out=tmp_path / "x")
    with pytest.raises(ConfigError, match="unknown config key 'sample'"):
        run_experiment("toy", "smoke", overrides={"sample": "3"}, out=tmp_path / "x")
    with pytest.raises(ConfigError, match="unknown scale"):
        run_experiment("toy", "medium", out=tmp_path / "x")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OutputError, match="cannot create output directory"):
        run_experiment("toy", "smoke", out=blocker / "sub" / "run")
    with pytest.raises(LabError, match=r"seed must be an integer in \[0, 2\*\*63\), got -1"):
        run_experiment("toy", "smoke", seed=-1, out=tmp_path / "x")
    assert calls == []
    assert not (tmp_path / "x").exists()


def test_a_failed_run_is_left_incomplete_and_never_touches_another(toy, tmp_path, monkeypatch):
    previous = tmp_path / "previous"
    run_experiment(toy, "smoke", seed=1, out=previous)
    before = (previous / "results.json").read_bytes()

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    savefig = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run_experiment(toy, "smoke", seed=2, out=tmp_path / "fresh")
    assert not (tmp_path / "fresh" / "results.json").exists()  # incomplete: no results, resumable
    assert read_request(tmp_path / "fresh")["seed"] == 2
    with pytest.raises(LabError, match="no finished run"):
        load_run(tmp_path / "fresh")
    monkeypatch.setattr(Figure, "savefig", savefig)
    assert resume_run(tmp_path / "fresh").record["seed"] == 2
    assert (previous / "results.json").read_bytes() == before


def test_an_existing_run_is_never_overwritten(toy, tmp_path):
    out = tmp_path / "run"
    record = run_experiment(toy, "smoke", seed=1, out=out).record
    with pytest.raises(OutputError, match=r"already exists and is not empty.*--resume"):
        run_experiment(toy, "smoke", seed=2, out=out)
    assert read(out / "results.json") == record
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_experiment(toy, "smoke", out=empty).directory == empty  # an empty directory is fine
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="a file of that name exists"):
        run_experiment(toy, "smoke", out=tmp_path / "file")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_atomic_text_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    write_text_atomic(path, "old")
    monkeypatch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError, match="I/O error"):
        write_text_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_run_directories_are_created_exclusively(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = new_run_directory("toy")
    assert first.parent == Path("runs/toy") and first.is_dir()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-[0-9a-f]{6}", first.name)
    names = {new_run_directory("toy").name for _ in range(50)}  # same second, all distinct and all created
    assert len(names) == 50 and first.name not in names
    assert len(list(Path("runs/toy").iterdir())) == 51


def test_two_concurrent_runs_of_one_experiment_both_survive(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    command = [sys.executable, "-m", "neurones", "lab", "run", "stochastic-depth", "--scale", "smoke", "--workers", "1"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    assert all(process.wait(timeout=300) == 0 for process in processes)
    runs = sorted(Path("runs/stochastic-depth").iterdir())
    assert len(runs) == 2 and all((run / "results.json").is_file() for run in runs)
    assert read(runs[0] / "results.json")["claims"] == read(runs[1] / "results.json")["claims"]


def test_default_output_goes_under_runs(toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = run_experiment(toy, "smoke")
    assert run.directory.parent == Path("runs/toy")
    assert (tmp_path / run.directory / "results.json").is_file()


def test_results_that_break_the_contract_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, "bad", Experiment("bad", lambda c, r: {"claims": []}, ToyConfig, "", ""))
    with pytest.raises(TypeError, match="returned dict, expected a Result"):
        run_experiment("bad", "smoke", out=tmp_path / "bad")
    monkeypatch.setitem(
        registry._REGISTRY, "other", Experiment("other", lambda c, r: Result(ToyConfig(7)), ToyConfig, "", "")
    )
    with pytest.raises(ValueError, match="another config"):
        run_experiment("other", "smoke", out=tmp_path / "other")
    assert not list(tmp_path.rglob("results.json"))  # started, never complete


def test_result_names_are_unique():
    result = Result(ToyConfig())
    claim = equality("a", "s", "src", predicted=0, measured=0, stderr=0, tol=0)
    result.claim(claim)
    with pytest.raises(ValueError, match="claim id 'a' is already used"):
        result.claim(claim)
    result.table("t", [])
    with pytest.raises(ValueError, match="table 't' is already used"):
        result.table("t", [])
    result.figure("f", "caption")
    with pytest.raises(ValueError, match="figure 'f' is already used"):
        result.figure("f", "caption")
    with pytest.raises(ValueError, match="lowercase"):
        result.figure("Bad Name", "caption")


def test_every_module_of_the_experiments_package_is_discovered():
    import pkgutil

    import neurones.lab.experiments as package

    modules = {f"{package.__name__}.{module.name}" for module in pkgutil.iter_modules(package.__path__)}
    assert modules == {registered.run.__module__ for registered in experiments()}


def test_registry(monkeypatch):
    names = [registered.name for registered in experiments()]
    assert "stochastic-depth" in names and names == sorted(names)
    assert get_experiment("stochastic-depth").config.__name__ == "StochasticDepthConfig"

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    experiment("toy-registered", config=ToyConfig, title="Toy", source="Toy")(toy_run)
    assert get_experiment("toy-registered").run is toy_run
    with pytest.raises(ValueError, match="already registered"):
        experiment("toy-registered", config=ToyConfig, title="Toy", source="Toy")(lambda c, r: None)
    with pytest.raises(TypeError, match="is not a dataclass"):
        experiment("toy-undeclared", config=dict, title="", source="")


def test_every_experiment_builds_its_three_scales(monkeypatch):
    from neurones.lab.config import SCALES, at_scale

    monkeypatch.delenv("NEURONES_CIFAR10", raising=False)  # a configured but absent folder would be an error
    for registered in experiments():
        configs = [at_scale(registered.config, scale) for scale in SCALES]
        assert configs[2] == registered.config()  # the defaults are the full scale, the source's protocol

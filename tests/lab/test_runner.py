"""The runner: results.json schema, run directories written atomically, the same seed giving the same numbers."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from neurones.errors import ConfigError, OutputError, UnknownExperimentError
from neurones.lab import registry
from neurones.lab.claims import equality
from neurones.lab.registry import Experiment, experiment, experiments, get_experiment
from neurones.lab.result import Result
from neurones.lab.runner import RESULT_KEYS, default_run_directory, load_run, run_experiment
from neurones.lab.storage import write_text_atomic

CLAIM_KEYS = ["id", "statement", "source", "prediction", "measured", "stderr", "holds"]


@dataclass(frozen=True)
class ToyConfig:
    samples: int = 50
    shift: float = 0.0

    @classmethod
    def full(cls) -> ToyConfig:
        return cls(samples=10_000)

    @classmethod
    def quick(cls) -> ToyConfig:
        return cls(samples=1_000)

    @classmethod
    def smoke(cls) -> ToyConfig:
        return cls()


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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging directory left behind


def test_load_run_reads_the_record_and_the_captions(toy, tmp_path):
    run = run_experiment(toy, "smoke", out=tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    assert loaded.record == run.record
    assert loaded.captions == run.captions == {"figures/draws.png": "A histogram of the draws."}
    assert loaded.result is None and run.result is not None


def test_same_seed_same_numbers(toy, tmp_path):
    def numbers(seed, name):
        record = run_experiment(toy, "smoke", seed=seed, out=tmp_path / name).record
        return {key: value for key, value in record.items() if key != "elapsed_s"}

    assert numbers(5, "a") == numbers(5, "b")
    assert numbers(5, "a")["claims"] != numbers(6, "c")["claims"]


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
    assert calls == []


def test_a_failure_while_writing_leaves_no_partial_run(toy, tmp_path, monkeypatch):
    previous = tmp_path / "previous"
    run_experiment(toy, "smoke", seed=1, out=previous)
    before = (previous / "results.json").read_bytes()

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run_experiment(toy, "smoke", seed=2, out=tmp_path / "fresh")
    with pytest.raises(OSError, match="No space left"):
        run_experiment(toy, "smoke", seed=2, out=previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["previous"]
    assert (previous / "results.json").read_bytes() == before


def test_an_existing_run_directory_is_replaced_whole(toy, tmp_path):
    out = tmp_path / "run"
    run_experiment(toy, "smoke", seed=1, out=out)
    (out / "stale.txt").write_text("from an older run")
    record = run_experiment(toy, "smoke", seed=2, out=out).record
    assert not (out / "stale.txt").exists()
    assert read(out / "results.json") == record
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


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


def test_default_run_directory_is_timestamped_and_unique(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = default_run_directory("toy")
    assert first.parent == Path("runs/toy")
    assert first.name.endswith("Z") and first.name[:4].isdigit()
    first.mkdir(parents=True)
    second = default_run_directory("toy")
    assert second != first and second.name.startswith(first.name)


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
    assert not any(tmp_path.iterdir())


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

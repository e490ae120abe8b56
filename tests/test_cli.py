"""The `neurones` command line, through Typer's test runner."""

import json
import re
import sys

import pytest
from typer.testing import CliRunner

from neurones.cli import app
from tests.helpers import reference_library


@pytest.fixture
def cli():
    return CliRunner()


def error_line(result) -> str:
    """The whole of standard error, which must be exactly one line."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_help(cli):
    result = cli.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("lab", "report", "demo", "mnist1d", "bench"):
        assert command in result.stdout


def test_lab_list(cli):
    result = cli.invoke(app, ["lab", "list"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("stochastic-depth\t"))
    assert "Expected depth of a ResNet trained with stochastic depth" in line and "Exercice 6" in line


def test_lab_run_smoke(cli, tmp_path):
    out = tmp_path / "run"
    result = cli.invoke(
        app,
        ["lab", "run", "stochastic-depth", "--scale", "smoke", "--seed", "4", "--out", str(out), "--set", "blocks=54"],
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "results.json").read_text())
    assert record["scale"] == "smoke" and record["seed"] == 4
    assert (out / "figures" / "active-blocks.png").is_file()
    assert "stochastic-depth (smoke, seed 4," in result.stdout and str(out) in result.stdout
    assert re.search(r"  PASS  002\.ex6  predicted = 40\.25, measured 40\.\d+ ± 0\.\d+", result.stdout)


def test_lab_run_overrides_reach_the_config(cli, tmp_path):
    out = tmp_path / "run"
    arguments = ["lab", "run", "stochastic-depth", "--scale", "smoke", "--out", str(out)]
    result = cli.invoke(app, [*arguments, "--set", "blocks=20", "--set", "grid_blocks=3,5", "--set", "passes=500"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert (config["blocks"], config["grid_blocks"], config["passes"]) == (20, [3, 5], 500)
    assert "predicted = 14.75" in result.stdout  # 20 − (1 − ½)·21/2


def test_same_seed_same_numbers(cli, tmp_path):
    for name in ("a", "b"):
        arguments = ["lab", "run", "stochastic-depth", "--scale", "smoke", "--seed", "8", "--out", str(tmp_path / name)]
        assert cli.invoke(app, arguments).exit_code == 0
    first, second = (json.loads((tmp_path / name / "results.json").read_text()) for name in ("a", "b"))
    first.pop("elapsed_s"), second.pop("elapsed_s")
    assert first == second


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["lab", "run", "no-such-experiment"], "error: unknown experiment 'no-such-experiment' (known: "),
        (["lab", "run", "stochastic-depth", "--set", "depth=100"], "error: unknown config key 'depth'"),
        (
            ["lab", "run", "stochastic-depth", "--set", "blocks=many"],
            "error: config key 'blocks' expects int, got 'many'",
        ),
        (["lab", "run", "stochastic-depth", "--set", "grid_blocks=1,x"], "error: config key 'grid_blocks' expects"),
        (["lab", "run", "stochastic-depth", "--set", "blocks"], "error: expected key=value, got 'blocks'"),
        (["report", "--only", "no-such-experiment"], "error: unknown experiment 'no-such-experiment'"),
        (["lab", "run", "stochastic-depth", "--seed", "-1"], "error: seed must be an integer in [0, 2**63), got -1"),
        (["report", "--seed", "-1"], "error: seed must be an integer in [0, 2**63), got -1"),
        (
            ["lab", "run", "resnet-depth-scaling", "--set", "depths="],
            "error: config key 'depths' expects comma-separated int values, got ''",
        ),
        (
            ["lab", "run", "ode-cifar10", "--set", "data_dir=/nonexistent"],
            "error: invalid Cifar10Config: CIFAR-10 not found at /nonexistent (no such folder): set NEURONES_CIFAR10=",
        ),
        (["lab", "run"], "error: name the experiment to run (see `neurones lab list`), or give --resume RUN_DIR"),
        (["lab", "run", "--resume", "/nonexistent/run"], "error: /nonexistent/run is not a run directory"),
    ],
)
def test_mistakes_give_one_line_and_a_nonzero_exit(cli, tmp_path, arguments, message):
    result = cli.invoke(app, [*arguments, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert error_line(result).startswith(message)
    assert not (tmp_path / "out").exists()


def test_unwritable_output_directory(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for arguments in (["lab", "run", "stochastic-depth", "--scale", "smoke"], ["report", "--scale", "smoke"]):
        result = cli.invoke(app, [*arguments, "--out", str(blocker / "run")])
        assert result.exit_code == 1
        assert error_line(result).startswith(f"error: cannot create output directory {blocker}")


def test_an_output_path_the_system_refuses_is_named(cli):
    result = cli.invoke(app, ["lab", "run", "stochastic-depth", "--scale", "smoke", "--out", "/proc/x"])
    assert result.exit_code == 1
    assert error_line(result).startswith("error: cannot create run directory /proc/x: ")


def test_bench_refuses_unknown_names_and_never_writes_an_empty_table(cli, tmp_path):
    reference_library("torch")
    out = tmp_path / "RESULTS.md"
    out.write_text("the committed table")
    result = cli.invoke(app, ["bench", "--only", "no-such-workload", "--out", str(out)])
    assert result.exit_code == 1
    assert error_line(result).startswith("error: unknown benchmark 'no-such-workload' (known: ")
    assert out.read_text() == "the committed table"


def test_bench_without_torch_says_which_extra_to_install(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # what `import torch` meets where torch is not installed
    result = cli.invoke(app, ["bench"])
    assert result.exit_code == 1
    assert error_line(result) == (
        "error: neurones bench compares against PyTorch: install the bench extra (pip install -e '.[bench]')"
    )


def test_bad_scale_is_a_usage_error(cli):
    result = cli.invoke(app, ["lab", "run", "stochastic-depth", "--scale", "huge"])
    assert result.exit_code == 2
    assert "huge" in result.stderr


def test_report(cli, tmp_path):
    out = tmp_path / "report"
    arguments = ["report", "--scale", "smoke", "--only", "stochastic-depth", "--out", str(out), "--workers", "1"]
    result = cli.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert (out / "stochastic-depth" / "results.json").is_file()
    page = (out / "report.html").read_text()
    assert "1 claim, 1 hold, 0 fail" in page
    assert result.stdout.strip().endswith(f"report: {out / 'report.html'}")


def test_demo(cli):
    result = cli.invoke(app, ["demo", "--steps", "100"])
    assert result.exit_code == 0, result.output
    match = re.search(r"accuracy (\d+\.\d)% \(train\), (\d+\.\d)% \(test\)", result.stdout)
    assert match is not None, result.stdout
    assert float(match.group(1)) >= 90.0 and float(match.group(2)) >= 90.0


def test_mnist1d_trains_and_reports_accuracy(cli):
    result = cli.invoke(app, ["mnist1d", "--model", "cnn", "--steps", "300"])
    assert result.exit_code == 0, result.output
    match = re.search(r"MNIST-1D cnn: 300 steps in [\d.]+ s, test accuracy (\d+\.\d)%", result.stdout)
    assert match is not None, result.stdout
    assert float(match.group(1)) > 40.0  # ten classes: chance is 10%; 300 steps already learn a lot


def test_bench_writes_the_results_table(cli, tmp_path):
    reference_library("torch")
    reference_library("threadpoolctl")
    out = tmp_path / "RESULTS.md"
    result = cli.invoke(app, ["bench", "--only", "add (record)", "--repeats", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = out.read_text()
    assert table.startswith("# Benchmarks: neurones against PyTorch eager (CPU)")
    assert re.search(r"\| add \(record\) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| ≤ 1 \|", table)

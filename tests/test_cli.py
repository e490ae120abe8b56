"""The `neurones` command line, through Typer's test runner."""

import json
import re
import subprocess
import sys
from pathlib import Path

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


def _claims(directory):
    return json.loads((directory / "results.json").read_text())["claims"]


def test_an_interrupted_run_resumes_where_it_stopped(cli, tmp_path):
    out = tmp_path / "run"
    arguments = ["lab", "run", "stochastic-depth", "--scale", "smoke", "--out", str(out), "--workers", "1"]
    assert cli.invoke(app, arguments).exit_code == 0
    complete = _claims(out)
    (out / "results.json").unlink()  # as if killed before the end: the request and the finished points remain
    points = sorted((out / "points").iterdir())
    assert len(points) == 4
    points[0].unlink()
    result = cli.invoke(app, ["lab", "run", "--resume", str(out)])
    assert result.exit_code == 0, result.output
    assert _claims(out) == complete and len(list((out / "points").iterdir())) == 4
    again = cli.invoke(app, ["lab", "run", "stochastic-depth", "--resume", str(out)])  # complete: nothing to do
    assert again.exit_code == 0 and _claims(out) == complete
    other = cli.invoke(app, ["lab", "run", "vanishing-gradients", "--resume", str(out)])
    assert other.exit_code == 1 and "is a run of 'stochastic-depth', not of 'vanishing-gradients'" in other.stderr


def test_report_reuses_identical_stored_runs_unless_fresh(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    arguments = ["report", "--scale", "smoke", "--only", "stochastic-depth", "--workers", "1"]
    first = cli.invoke(app, arguments)
    assert first.exit_code == 0, first.output
    assert "reused" not in first.stdout
    second = cli.invoke(app, arguments)
    assert second.exit_code == 0, second.output
    reused = r"stochastic-depth \(smoke, seed 0, reused from runs/report/[^/]+/stochastic-depth\)"
    assert re.search(reused, second.stdout)
    other_seed = cli.invoke(app, [*arguments, "--seed", "1"])
    assert "reused" not in other_seed.stdout  # another request: run afresh
    fresh = cli.invoke(app, [*arguments, "--fresh"])
    assert fresh.exit_code == 0 and "reused" not in fresh.stdout
    runs = [report / "stochastic-depth" for report in Path("runs/report").iterdir()]
    assert len(runs) == 4  # four reports, none overwritten
    seed_zero = [_claims(run) for run in runs if json.loads((run / "request.json").read_text())["seed"] == 0]
    assert len(seed_zero) == 3 and seed_zero[0] == seed_zero[1] == seed_zero[2]


def test_report_as_markdown(cli, tmp_path):
    arguments = ["report", "--scale", "smoke", "--only", "stochastic-depth", "--only", "ode-width-pl",
                 "--out", str(tmp_path / "report"), "--format", "md"]  # fmt: skip
    result = cli.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "**3 claims, 1 hold, 2 fail**"
    assert "| experiment | claims | hold | fail | status |" in lines
    rows = [line for line in lines if line.startswith("| PASS") or line.startswith("| **FAIL**")]
    assert len(rows) == 3 and rows[-1].startswith("| PASS | `002.ex6` | stochastic-depth | Lopès-Quintas 2025,")
    assert (tmp_path / "report" / "report.html").is_file() and "report: " in result.stderr


def test_lab_run_on_a_local_dask_cluster_gives_the_serial_numbers(cli, tmp_path):
    base = ["lab", "run", "stochastic-depth", "--scale", "smoke"]
    assert cli.invoke(app, [*base, "--out", str(tmp_path / "serial"), "--executor", "serial"]).exit_code == 0
    result = cli.invoke(app, [*base, "--out", str(tmp_path / "dask"), "--executor", "dask", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert _claims(tmp_path / "dask") == _claims(tmp_path / "serial")


def test_lab_show(cli):
    result = cli.invoke(app, ["lab", "show", "stochastic-depth"])
    assert result.exit_code == 0, result.output
    assert "source: Lopès-Quintas 2025 — " in result.stdout
    assert re.search(r"passes\s+int\s+300\s+20000\s+100000", result.stdout)
    assert re.search(r"grid_blocks\s+comma-separated int values\s+10,54\s+10,54,110,1202", result.stdout)
    assert "  002.ex6: With survival probabilities" in result.stdout


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path):
    command = [sys.executable, "-m", "neurones", "lab", "run", "stochastic-depth", "--scale", "smoke",
               "--out", str(tmp_path / "run"), "--workers", "1"]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert finished.returncode == 0, finished.stderr
    lines = finished.stderr.splitlines()
    assert "stochastic depth grid: started (4 steps)" in lines
    assert any(re.fullmatch(r"stochastic depth grid: done in [\d.]+ s", line) for line in lines)

"""ode-cifar10 (seed 003): end to end on a tiny CIFAR-10 folder written in the python-batch format, and the skip
when the folder is absent."""

from __future__ import annotations

import math
import pickle
import re

import numpy as np
import pytest

from neurones.errors import ConfigError
from neurones.lab.config import at_scale
from neurones.lab.experiments import ode_cifar10 as oc
from neurones.lab.result import skip_reason
from neurones.lab.runner import RESULT_KEYS, run_experiment
from neurones.report import render_report
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

FIGURES = ["test-accuracy", "roughness", "coefficients-vs-depth"]
TRAIN_PER_BATCH = 40
TEST_IMAGES = 48


def write_cifar10(folder, seed: int = 0) -> dict[str, dict]:
    """The five training batches and the test batch of the "python version", as CIFAR-10's own pickles are: dicts
    with bytes keys, ``b"data"`` uint8 (N, 3072) (red, green, blue planes, row-major) and ``b"labels"`` a list."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    batches = {}
    for name, n in [(f"data_batch_{i}", TRAIN_PER_BATCH) for i in range(1, 6)] + [("test_batch", TEST_IMAGES)]:
        batches[name] = {
            b"batch_label": name.encode(),
            b"labels": rng.integers(0, 10, size=n).tolist(),
            b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
            b"filenames": [f"{name}_{i}.png".encode() for i in range(n)],
        }
        with open(folder / name, "wb") as file:
            pickle.dump(batches[name], file, protocol=2)
    return batches


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_cifar10(root / "cifar-10-batches-py")
    return root


@pytest.fixture(scope="module")
def smoke(cifar_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("ode-cifar10") / "run"
    return run_experiment("ode-cifar10", "smoke", seed=0, overrides={"data_dir": str(cifar_root)}, out=out)


def test_load_images_keeps_the_first_images_of_each_split(tmp_path):
    batches = write_cifar10(tmp_path / "data", seed=1)
    config = oc.Cifar10Config(data_dir=str(tmp_path / "data"), train_size=50, test_size=7)
    data = oc.load_images(config)
    assert data["x_train"].shape == (50, 3, 32, 32) and data["x_train"].dtype == np.uint8
    np.testing.assert_array_equal(data["x_train"][:40].reshape(40, -1), batches["data_batch_1"][b"data"])
    np.testing.assert_array_equal(data["x_train"][40:].reshape(10, -1), batches["data_batch_2"][b"data"][:10])
    assert data["y_test"].tolist() == batches["test_batch"][b"labels"][:7]
    pixels = oc.pixels(data["x_test"])
    assert pixels.dtype == np.float32 and pixels.min() >= 0 and pixels.max() <= 1
    np.testing.assert_allclose(pixels * 255, data["x_test"], atol=1e-4)


def test_smoke_run(smoke):
    config = at_scale(oc.Cifar10Config, "smoke")
    record = check_run_directory(smoke, FIGURES)
    assert [claim["id"] for claim in record["claims"]] == ["003.cifar10-smooth"]
    claim = record["claims"][0]
    assert claim["prediction"] == "≥ 5" and claim["stderr"] == 0.0
    runs = {row["init"]: row for row in record["tables"]["runs"]}
    assert set(runs) == {"constant", "iid"} and skip_reason(record["tables"]) is None
    assert claim["measured"] == pytest.approx(runs["iid"]["final_roughness"] / runs["constant"]["final_roughness"])
    # constant in depth: all blocks equal at initialization; i.i.d.: ‖Z_{k+1} − Z_k‖ ≈ √(2·2304)/√(3·144)
    assert runs["constant"]["initial_roughness"] == 0.0 and runs["constant"]["final_roughness"] > 0
    assert runs["iid"]["initial_roughness"] == pytest.approx(math.sqrt(2 * 2304 / (3 * 144)), rel=0.1)
    for row in runs.values():
        assert row["paper_test_accuracy"] == 0.8128
        assert (row["test_accuracy"] * TEST_IMAGES) == pytest.approx(round(row["test_accuracy"] * TEST_IMAGES))
        p = row["test_accuracy"]
        assert row["test_accuracy_stderr"] == pytest.approx(math.sqrt(p * (1 - p) / TEST_IMAGES))
    epochs = record["tables"]["epochs"]
    assert [(row["init"], row["epoch"]) for row in epochs] == [("constant", 1), ("iid", 1)]
    assert all(row["lr"] == 0.04 and 0 <= row["train_accuracy"] <= 1 and row["train_loss"] > 0 for row in epochs)
    coefficients = record["tables"]["coefficients"]
    assert len(coefficients) == 2 * oc.TRACKED_COEFFICIENTS * config.depth
    assert [row["s"] for row in coefficients[: config.depth]] == pytest.approx([1 / 3, 2 / 3, 1.0])
    # the tracked entries of the constant-init kernels moved by a few SGD steps: still nearly equal across blocks
    values = np.array([row["value"] for row in coefficients if row["init"] == "constant"]).reshape(-1, config.depth)
    assert np.ptp(values, axis=1).max() < 0.01 * np.abs(values).max()


def test_same_seed_same_numbers(smoke, cifar_root, tmp_path):
    overrides = {"data_dir": str(cifar_root)}
    again = run_experiment("ode-cifar10", "smoke", seed=0, overrides=overrides, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)
    other = run_experiment("ode-cifar10", "smoke", seed=1, overrides=overrides, out=tmp_path / "other")
    assert claim_numbers(other.record)[0] != claim_numbers(smoke.record)[0]


def test_a_named_folder_that_does_not_exist_is_an_error(tmp_path):
    missing = tmp_path / "no-cifar-here"
    expected = re.escape(f"CIFAR-10 not found at {missing} (no such folder): set NEURONES_CIFAR10=")
    with pytest.raises(ConfigError, match=expected):
        run_experiment("ode-cifar10", "smoke", overrides={"data_dir": str(missing)}, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_a_named_folder_without_the_batches_is_an_error(tmp_path):
    write_cifar10(tmp_path / "data")
    (tmp_path / "data" / "test_batch").unlink()
    with pytest.raises(ConfigError, match="CIFAR-10 file test_batch not found"):
        run_experiment("ode-cifar10", "smoke", overrides={"data_dir": str(tmp_path / "data")}, out=tmp_path / "run")


def test_no_folder_at_all_is_a_clean_skip(monkeypatch, tmp_path):
    monkeypatch.delenv(oc.DATA_ENVIRONMENT_VARIABLE, raising=False)
    run = run_experiment("ode-cifar10", "smoke", out=tmp_path / "run")
    record = run.record
    assert tuple(record) == RESULT_KEYS  # the results.json schema is unchanged
    assert record["claims"] == [] and record["figures"] == [] and list(record["tables"]) == ["skipped"]
    reason = skip_reason(record["tables"])
    assert reason == oc.missing_data_message(None)
    assert reason.startswith("CIFAR-10 folder not given: set NEURONES_CIFAR10=") and "--set data_dir=" in reason
    page = render_report([run])
    assert "0 claims, 0 hold, 0 fail, 1 skipped" in page
    assert "<strong>Skipped</strong> (no claims): CIFAR-10 folder not given" in page
    by_source = page.split('id="summary-by-source"')[1].split("</table>")[0]
    cells = re.findall(r'<td class="count[^"]*">(\d+)</td>', by_source)
    assert "Marion 2024" in by_source and cells == ["0", "0", "0", "1"]  # no claims, one skipped experiment


def test_data_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(oc.DATA_ENVIRONMENT_VARIABLE, str(tmp_path))
    assert at_scale(oc.Cifar10Config, "quick").data_dir == str(tmp_path)
    assert oc.Cifar10Config().data_dir == str(tmp_path)
    monkeypatch.setenv(oc.DATA_ENVIRONMENT_VARIABLE, str(tmp_path / "gone"))
    with pytest.raises(ConfigError, match=r"invalid Cifar10Config at quick scale: CIFAR-10 not found at .*gone"):
        at_scale(oc.Cifar10Config, "quick")
    monkeypatch.delenv(oc.DATA_ENVIRONMENT_VARIABLE)
    assert at_scale(oc.Cifar10Config, "smoke").data_dir is None


def test_full_scale_is_the_papers_protocol(monkeypatch):
    monkeypatch.delenv(oc.DATA_ENVIRONMENT_VARIABLE, raising=False)
    full = at_scale(oc.Cifar10Config, "full")
    assert (full.depth, full.epochs, full.batch_size, full.lr, full.momentum, full.weight_decay) == (
        256, 180, 64, 0.04, 0.9, 5e-4
    )
    assert (full.activation, full.smooth_init, full.train_size, full.test_size) == ("gelu", "constant", None, None)
    with pytest.raises(ValueError, match="depth ≥ 2"):
        oc.Cifar10Config(depth=1)

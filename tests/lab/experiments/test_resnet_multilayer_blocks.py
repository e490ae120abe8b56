"""resnet-multilayer-blocks (seed 004, the fourth model): the block's gain, the exact Lemma 1, the smoke run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurones.lab.experiments import resnet_multilayer_blocks as rmb
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("resnet-multilayer-blocks", "smoke", seed=0, out=tmp_path_factory.mktemp("rmb") / "run")


def test_one_block_multiplies_the_squared_norm_by_one_plus_half_alpha_squared():
    # One block at α = 1 (depth 1, any β): E‖h_1 − h_0‖²/‖h_0‖² = E‖V g‖²/‖h‖² = ½.
    rng = np.random.default_rng(0)
    ratios = np.concatenate([rmb._state_ratios(1, 1.0, 32, 8, rng) ** 2 for _ in range(400)])
    assert np.mean(ratios) == pytest.approx(0.5, abs=3 * np.std(ratios) / math.sqrt(ratios.size))


def test_smoke_run(smoke):
    record = check_run_directory(smoke, ["ratio-vs-depth"])
    ids = [c["id"] for c in record["claims"]]
    assert ids == [f"004.block4.lemma1[beta={b:g},L={d}]" for b in rmb.BETAS for d in (4, 16)] + [
        "004.block4.critical"
    ]
    rows = record["tables"]["ratios"]
    assert rows[0]["predicted"] == pytest.approx(math.expm1(4 * math.log1p(0.25 / 2)))  # β = ½, L = 4


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("resnet-multilayer-blocks", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)

"""MNIST-1D: generated offline, cached, and without side effects on the global random states."""

import random

import numpy as np
import pytest

from neurones.data import TensorDataset, default_cache_dir, load_mnist1d
from neurones.data import mnist1d as mnist1d_module
from tests.helpers import reference_library

reference_library("mnist1d")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """One generation (a few seconds) shared by the module, with the global states recorded around it."""
    cache = tmp_path_factory.mktemp("neurones-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURONES_CACHE", str(cache))
        np.random.seed(2024)
        random.seed(2024)
        numpy_before, python_before = np.random.get_state(), random.getstate()
        train, test = load_mnist1d()
        numpy_after, python_after = np.random.get_state(), random.getstate()
    return {
        "cache": cache,
        "train": train,
        "test": test,
        "numpy_states": (numpy_before, numpy_after),
        "python_states": (python_before, python_after),
    }


def test_shapes_dtypes_and_classes(loaded):
    train, test = loaded["train"], loaded["test"]
    assert isinstance(train, TensorDataset) and isinstance(test, TensorDataset)
    x, y = train.tensors
    assert x.shape == (4000, 40) and x.dtype == np.float32
    assert y.shape == (4000,) and y.dtype == np.int64
    assert test.tensors[0].shape == (1000, 40) and test.tensors[1].dtype == np.int64
    assert sorted(set(y.data.tolist())) == list(range(10))
    counts = np.bincount(y.data, minlength=10)
    assert counts.min() > 300
    everything = np.concatenate([x.data, test.tensors[0].data])
    assert abs(everything.mean()) < 1e-5 and abs(everything.std() - 1) < 1e-5


def test_global_random_states_are_restored(loaded):
    before, after = loaded["numpy_states"]
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])
    assert loaded["python_states"][0] == loaded["python_states"][1]


def test_second_load_is_a_cache_hit(loaded, monkeypatch):
    monkeypatch.setenv("NEURONES_CACHE", str(loaded["cache"]))
    assert default_cache_dir() == loaded["cache"]
    assert len(list(loaded["cache"].glob("mnist1d-*.npz"))) == 1
    assert not list(loaded["cache"].glob("*.tmp"))

    def no_generation(arguments):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(mnist1d_module, "_generate", no_generation)
    train, test = load_mnist1d(dtype=np.float64)
    assert train.tensors[0].dtype == np.float64
    np.testing.assert_allclose(train.tensors[0].data, loaded["train"].tensors[0].data, rtol=1e-6)
    np.testing.assert_array_equal(test.tensors[1].data, loaded["test"].tensors[1].data)


def test_other_arguments_make_another_cache_entry(loaded, monkeypatch, tmp_path):
    calls = []

    def fake_generation(arguments):
        calls.append(arguments)
        return {
            "x": np.zeros((8, 40)),
            "y": np.arange(8) % 10,
            "x_test": np.ones((2, 40)),
            "y_test": np.arange(2),
        }

    monkeypatch.setattr(mnist1d_module, "_generate", fake_generation)
    train, test = load_mnist1d(seed=7, num_samples=10, cache_dir=tmp_path)
    load_mnist1d(seed=7, num_samples=10, cache_dir=tmp_path)
    assert calls == [{"num_samples": 10, "seed": 7}]
    assert len(train) == 8 and len(test) == 2
    (tmp_path / next(tmp_path.glob("*.npz")).name).write_bytes(b"corrupt")
    load_mnist1d(seed=7, num_samples=10, cache_dir=tmp_path)
    assert len(calls) == 2


def test_unknown_arguments_and_default_cache_location(monkeypatch, tmp_path):
    with pytest.raises(TypeError, match="num_sample"):
        load_mnist1d(num_sample=10, cache_dir=tmp_path)
    monkeypatch.delenv("NEURONES_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "neurones"


def test_missing_package_names_the_lab_extra(monkeypatch, tmp_path):
    import importlib.metadata

    def not_found(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_found)
    with pytest.raises(ImportError, match=r"`lab` extra"):
        load_mnist1d(cache_dir=tmp_path)

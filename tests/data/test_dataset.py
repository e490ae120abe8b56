"""TensorDataset, Subset, random_split and default_collate."""

from collections import namedtuple

import numpy as np
import pytest

import neurones as nr
from neurones.data import Subset, TensorDataset, default_collate, random_split
from neurones.errors import ShapeError
from tests.helpers import reference_library


def make_dataset(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) * 10
    return TensorDataset(x, y)


def test_tensor_dataset_items_are_tuples_of_row_views():
    ds = make_dataset()
    x, y = ds[4]
    assert isinstance(x, nr.Tensor) and isinstance(y, nr.Tensor)
    np.testing.assert_array_equal(x.data, [12, 13, 14])
    assert y.shape == () and y.item() == 40 and y.dtype == np.int64
    assert len(ds) == 10
    assert np.shares_memory(x.data, ds.tensors[0].data)


def test_tensor_dataset_wraps_arrays_without_copy_and_accepts_tensors():
    x = np.zeros((4, 2), dtype=np.float64)
    ds = TensorDataset(x, nr.tensor([1, 2, 3, 4]))
    assert ds.tensors[0].data is x
    assert ds.tensors[1].dtype == np.int64


def test_tensor_dataset_rejects_unequal_first_dims():
    with pytest.raises(ShapeError, match=r"\(4, 2\), \(3,\)"):
        TensorDataset(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError):
        TensorDataset()


def test_getitems_equals_collated_items():
    ds = make_dataset()
    indices = np.array([7, 2, 2, 0])
    fast = ds.__getitems__(indices)
    slow = default_collate([ds[i] for i in indices])
    assert isinstance(fast, tuple) and len(fast) == 2
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.data, b.data)
    assert fast[0].dtype == np.float32 and fast[1].dtype == np.int64


def test_subset_maps_indices_and_batches():
    ds = make_dataset()
    sub = Subset(ds, [9, 3, 5])
    assert len(sub) == 3
    assert sub[1][1].item() == 30
    _, y = sub.__getitems__([2, 0])
    np.testing.assert_array_equal(y.data, [50, 90])


class ListDataset(nr.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self):
        return len(self.items)


def test_subset_of_dataset_without_getitems_collates():
    sub = Subset(ListDataset([(np.float32(i), i) for i in range(6)]), [5, 1])
    x, y = sub.__getitems__([0, 1])
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y.data, [5, 1])


def test_dataset_is_abstract():
    with pytest.raises(TypeError):
        nr.data.Dataset()


def test_random_split_integer_lengths_partition_the_dataset():
    ds = make_dataset(10)
    parts = random_split(ds, [3, 7], rng=0)
    assert [len(p) for p in parts] == [3, 7]
    together = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(together), np.arange(10))
    np.testing.assert_array_equal(together, np.random.default_rng(0).permutation(10))
    again = random_split(ds, [3, 7], rng=0)
    np.testing.assert_array_equal(again[0].indices, parts[0].indices)


def test_random_split_fractions_deal_remainder_like_torch():
    ds = make_dataset(10)
    assert [len(p) for p in random_split(ds, [0.33, 0.33, 0.34], rng=1)] == [4, 3, 3]
    assert [len(p) for p in random_split(ds, [0.5, 0.5], rng=1)] == [5, 5]
    assert [len(p) for p in random_split(make_dataset(5), [0.8, 0.2], rng=1)] == [4, 1]


def test_random_split_matches_torch_lengths():
    torch = reference_library("torch")
    for n, fractions in [(10, [0.33, 0.33, 0.34]), (7, [0.1, 0.2, 0.7]), (101, [0.25, 0.75])]:
        expected = [len(p) for p in torch.utils.data.random_split(range(n), fractions)]
        assert [len(p) for p in random_split(make_dataset(n), fractions, rng=0)] == expected


def test_random_split_rejects_bad_lengths():
    with pytest.raises(ValueError, match="sum to 9"):
        random_split(make_dataset(10), [4, 5], rng=0)
    with pytest.raises(ValueError):
        random_split(make_dataset(10), [-1, 11], rng=0)


def test_default_collate_types_and_structure():
    Point = namedtuple("Point", "x label")
    batch = default_collate([Point(np.ones(2, np.float32), 1), Point(np.zeros(2, np.float32), 2)])
    assert isinstance(batch, Point)
    assert batch.x.dtype == np.float32 and batch.x.shape == (2, 2)
    assert batch.label.dtype == np.int64
    np.testing.assert_array_equal(batch.label.data, [1, 2])
    floats = default_collate([0.5, 1.5])
    assert floats.dtype == np.float64
    assert default_collate([True, False]).dtype == np.bool_
    d = default_collate([{"a": nr.tensor([1.0]), "s": "u"}, {"a": nr.tensor([2.0]), "s": "v"}])
    assert d["s"] == ["u", "v"] and d["a"].shape == (2, 1) and d["a"].dtype == np.float32
    lists = default_collate([[1, 2.0], [3, 4.0]])
    assert isinstance(lists, list) and lists[0].dtype == np.int64 and lists[1].dtype == np.float64


def test_default_collate_errors():
    with pytest.raises(ValueError, match="equal shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="same number of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError):
        default_collate([object()])

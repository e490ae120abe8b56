"""DataLoader: batches and ordering, reproducibility, drop_last, and bit-for-bit resumption."""

import copy
import itertools
import pickle

import numpy as np
import pytest

import neurones as nr
from neurones import backend
from neurones.data import DataLoader, Dataset, RandomBatchSampler, SequentialSampler, TensorDataset
from neurones.errors import StateDictError


def make_dataset(n=10):
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n, dtype=np.int64))


def labels(loader, epochs=1):
    return [[batch[1].data.tolist() for batch in loader] for _ in range(epochs)]


class NoisyDataset(Dataset):
    """Samples with noise drawn from a shared Generator at fetch time (like a random augmentation)."""

    def __init__(self, n, rng):
        self.n, self.rng = n, rng

    def __getitem__(self, index):
        return np.float64(index + self.rng.random()), index

    def __len__(self):
        return self.n


def test_fixed_order_with_partial_last_batch():
    loader = DataLoader(make_dataset(10), batch_size=3)
    assert labels(loader, epochs=2) == [[[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]] * 2
    assert len(loader) == 4
    x, y = next(iter(loader))
    assert x.dtype == np.float32 and x.shape == (3, 2) and y.dtype == np.int64
    np.testing.assert_array_equal(x.data, [[0, 1], [2, 3], [4, 5]])


def test_drop_last():
    loader = DataLoader(make_dataset(10), batch_size=3, drop_last=True)
    assert labels(loader) == [[[0, 1, 2], [3, 4, 5], [6, 7, 8]]]
    assert len(loader) == 3
    assert len(DataLoader(make_dataset(9), batch_size=3, drop_last=True)) == 3


def test_shuffle_is_a_fresh_permutation_per_epoch_reproducible_by_seed():
    first = labels(DataLoader(make_dataset(10), batch_size=4, shuffle=True, rng=7), epochs=3)
    second = labels(DataLoader(make_dataset(10), batch_size=4, shuffle=True, rng=7), epochs=3)
    assert first == second
    reference = np.random.default_rng(7)
    for epoch in first:
        assert [len(b) for b in epoch] == [4, 4, 2]
        assert [i for batch in epoch for i in batch] == reference.permutation(10).tolist()
    assert first[0] != first[1]
    other = labels(DataLoader(make_dataset(10), batch_size=4, shuffle=True, rng=8), epochs=3)
    assert other != first


def test_shuffle_without_rng_uses_the_default_generator(monkeypatch):
    monkeypatch.setattr(backend._DEFAULT, "generator", backend._DEFAULT.generator)  # restored after the test
    loader = DataLoader(make_dataset(6), batch_size=6, shuffle=True)
    nr.manual_seed(4)
    assert labels(loader) == [[np.random.default_rng(4).permutation(6).tolist()]]


def test_dataset_without_getitems_and_custom_collate():
    dataset = NoisyDataset(5, np.random.default_rng(0))
    x, y = next(iter(DataLoader(dataset, batch_size=5)))
    assert x.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(np.floor(x.data), np.arange(5))
    seen = []
    loader = DataLoader(make_dataset(4), batch_size=2, collate_fn=lambda samples: seen.append(samples) or len(seen))
    assert list(loader) == [1, 2]
    assert len(seen[0]) == 2 and seen[0][1][1].item() == 1


def test_argument_conflicts():
    dataset = make_dataset()
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(dataset, shuffle=True, sampler=SequentialSampler(dataset))
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(dataset, batch_size=4, batch_sampler=RandomBatchSampler(dataset, 2))


def test_random_batch_sampler_in_the_loader():
    dataset = make_dataset(20)
    sampler = RandomBatchSampler(dataset, (2, 5), num_batches=30, rng=3)
    loader = DataLoader(dataset, batch_sampler=sampler)
    assert loader.batch_size is None and len(loader) == 30
    expected = list(RandomBatchSampler(dataset, (2, 5), num_batches=30, rng=3))
    got = labels(loader)[0]
    assert got == expected
    x, y = next(iter(loader))
    np.testing.assert_array_equal(x.data[:, 0], 2 * y.data)


def resume_check(make_loader, steps_before, steps_after):
    """Run ``steps_before`` batches, checkpoint (through pickle), run on; a fresh loader loading the checkpoint
    must give the same next ``steps_after`` batches, across epoch boundaries."""
    loader = make_loader()
    stream = itertools.chain.from_iterable(loader for _ in itertools.count())
    for _ in range(steps_before):
        next(stream)
    state = pickle.loads(pickle.dumps(loader.state_dict()))
    expected = [next(stream) for _ in range(steps_after)]
    resumed = make_loader()
    resumed.load_state_dict(state)
    got = list(itertools.islice(itertools.chain.from_iterable(resumed for _ in itertools.count()), steps_after))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        for ta, tb in zip(a, b):
            assert ta.dtype == tb.dtype
            np.testing.assert_array_equal(ta.data, tb.data)


@pytest.mark.parametrize("steps_before", [0, 1, 2, 3, 4, 5])
def test_resume_shuffled_loader_bit_for_bit(steps_before):
    resume_check(lambda: DataLoader(make_dataset(10), batch_size=4, shuffle=True, rng=12), steps_before, 8)


def test_resume_random_batches_and_fetch_time_randomness():
    def make_loader():
        rng = np.random.default_rng(5)
        dataset = NoisyDataset(12, rng)
        return DataLoader(dataset, batch_sampler=RandomBatchSampler(dataset, (1, 4), rng=rng))

    resume_check(make_loader, 7, 10)


def test_resume_random_batches_with_finite_epochs():
    def make_loader():
        dataset = make_dataset(9)
        return DataLoader(dataset, batch_sampler=RandomBatchSampler(dataset, 3, num_batches=4, rng=2))

    resume_check(make_loader, 6, 9)


def test_state_dict_fields():
    loader = DataLoader(make_dataset(10), batch_size=4, shuffle=True, rng=1)
    iterator = iter(loader)
    next(iterator)
    state = loader.state_dict()
    assert state["epoch"] == 0 and state["position"] == 1 and state["in_epoch"]
    np.testing.assert_array_equal(state["order"], np.random.default_rng(1).permutation(10))
    assert state["sampler"]["rng"]["bit_generator"] == "PCG64"
    list(iterator)
    after = loader.state_dict()
    assert after["epoch"] == 1 and not after["in_epoch"] and after["order"] is None
    assert loader.epoch == 1
    snapshot = copy.deepcopy(state)
    state["order"][0] = -1
    assert loader.state_dict()["order"] is None and snapshot["order"][0] != -1


def test_new_iter_abandons_the_unfinished_epoch_and_old_iterators():
    loader = DataLoader(make_dataset(10), batch_size=4, shuffle=True, rng=1)
    first = iter(loader)
    next(first)
    second = iter(loader)
    assert loader.epoch == 1
    assert len(list(second)) == 3
    with pytest.raises(RuntimeError, match="superseded"):
        next(first)


def test_load_state_dict_errors_and_plain_batch_samplers():
    loader = DataLoader(make_dataset(10), batch_size=4)
    with pytest.raises(StateDictError, match="order"):
        loader.load_state_dict({"epoch": 0, "position": 0, "in_epoch": False, "sampler": {}})
    plain = DataLoader(make_dataset(6), batch_sampler=[[0, 1], [5]])
    assert labels(plain) == [[[0, 1], [5]]]
    with pytest.raises(TypeError, match="checkpointed"):
        plain.state_dict()

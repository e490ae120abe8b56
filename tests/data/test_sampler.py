"""Samplers: fixed order, per-epoch permutations, and batches drawn afresh at every step (001 §I.1)."""

import itertools

import numpy as np
import pytest

import neurones as nr
from neurones import backend
from neurones.data import BatchSampler, RandomBatchSampler, RandomSampler, SequentialSampler


def test_sequential_sampler_is_the_fixed_order():
    sampler = SequentialSampler(range(5))
    assert list(sampler) == [0, 1, 2, 3, 4] == list(sampler)
    assert len(sampler) == 5
    assert sampler.state_dict() == {}


def test_random_sampler_draws_a_fresh_permutation_each_epoch():
    sampler = RandomSampler(8, rng=3)
    reference = np.random.default_rng(3)
    first, second = list(sampler), list(sampler)
    assert first == reference.permutation(8).tolist()
    assert second == reference.permutation(8).tolist()
    assert first != second and sorted(first) == sorted(second) == list(range(8))


def test_random_sampler_with_replacement_and_chained_permutations():
    draws = RandomSampler(4, replacement=True, num_samples=1000, rng=0).epoch_order()
    assert draws.shape == (1000,) and draws.dtype == np.int64
    assert set(draws.tolist()) == {0, 1, 2, 3}
    chained = RandomSampler(4, num_samples=10, rng=0).epoch_order()
    assert sorted(chained[:4]) == sorted(chained[4:8]) == [0, 1, 2, 3]
    assert len(chained) == 10
    with pytest.raises(ValueError):
        RandomSampler(4, num_samples=0)


def test_random_sampler_without_rng_follows_manual_seed(monkeypatch):
    monkeypatch.setattr(backend._DEFAULT, "generator", backend._DEFAULT.generator)  # restored after the test
    sampler = RandomSampler(6)
    nr.manual_seed(11)
    assert list(sampler) == np.random.default_rng(11).permutation(6).tolist()


def test_batch_sampler_cuts_the_order():
    assert list(BatchSampler(SequentialSampler(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(SequentialSampler(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(SequentialSampler(7), 3)) == 3
    assert len(BatchSampler(SequentialSampler(7), 3, drop_last=True)) == 2
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError):
            BatchSampler(SequentialSampler(7), bad)


def test_fixed_size_batches_without_replacement_are_uniform_subsets():
    n, k, steps = 10, 3, 4000
    sampler = RandomBatchSampler(n, k, num_batches=steps, rng=0)
    batches = np.array(list(sampler))
    assert batches.shape == (steps, k)
    assert all(len(set(b)) == k for b in batches.tolist())
    counts = np.bincount(batches.ravel(), minlength=n)
    expected = steps * k / n
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected * (1 - k / n)))


def test_fixed_size_batches_with_replacement_repeat_indices_at_the_right_rate():
    n, k, steps = 5, 4, 5000
    batches = np.array(list(RandomBatchSampler(n, k, replacement=True, num_batches=steps, rng=1)))
    all_distinct = np.mean([len(set(b)) == k for b in batches.tolist()])
    p = 5 * 4 * 3 * 2 / 5**4
    assert abs(all_distinct - p) < 4 * np.sqrt(p * (1 - p) / steps)
    counts = np.bincount(batches.ravel(), minlength=n)
    assert np.all(np.abs(counts - steps * k / n) < 5 * np.sqrt(steps * k * (1 / n) * (1 - 1 / n)))


def test_uniform_random_batch_size():
    steps = 4000
    sizes = np.array([len(b) for b in RandomBatchSampler(20, (1, 4), num_batches=steps, rng=2)])
    assert sizes.min() == 1 and sizes.max() == 4
    frequencies = np.bincount(sizes, minlength=5)[1:] / steps
    assert np.all(np.abs(frequencies - 0.25) < 4 * np.sqrt(0.25 * 0.75 / steps))


def test_callable_batch_size_gives_poisson_sampling():
    n, p, steps = 50, 0.2, 3000
    sampler = RandomBatchSampler(n, lambda rng: max(1, rng.binomial(n, p)), num_batches=steps, rng=3)
    batches = list(sampler)
    sizes = np.array([len(b) for b in batches])
    assert abs(sizes.mean() - n * p) < 4 * np.sqrt(n * p * (1 - p) / steps)
    inclusion = np.bincount(np.concatenate(batches), minlength=n) / steps
    assert np.all(np.abs(inclusion - p) < 5 * np.sqrt(p * (1 - p) / steps))


def test_infinite_stream_and_num_batches():
    infinite = RandomBatchSampler(10, 2, rng=0)
    assert len(list(itertools.islice(infinite, 50))) == 50
    with pytest.raises(TypeError, match="infinite"):
        len(infinite)
    finite = RandomBatchSampler(10, 2, num_batches=7, rng=0)
    assert len(finite) == 7 and len(list(finite)) == 7


def test_same_seed_same_batches_and_state_roundtrip():
    a, b = RandomBatchSampler(30, (2, 6), rng=5), RandomBatchSampler(30, (2, 6), rng=5)
    assert list(itertools.islice(a, 20)) == list(itertools.islice(b, 20))
    state = a.state_dict()
    ahead = list(itertools.islice(a, 5))
    c = RandomBatchSampler(30, (2, 6), rng=99)
    c.load_state_dict(state)
    assert list(itertools.islice(c, 5)) == ahead


def test_invalid_batch_sizes():
    with pytest.raises(ValueError, match="at most the dataset size 5"):
        next(iter(RandomBatchSampler(5, 6, rng=0)))
    with pytest.raises(ValueError, match="at least 1"):
        next(iter(RandomBatchSampler(5, lambda rng: 0, rng=0)))
    with pytest.raises(ValueError):
        RandomBatchSampler(5, (3, 2))
    with pytest.raises(TypeError):
        RandomBatchSampler(5, "eight")
    with pytest.raises(ValueError):
        RandomBatchSampler(5, 2, num_batches=-1)
    assert len(next(iter(RandomBatchSampler(5, 6, replacement=True, rng=0)))) == 6


def test_state_of_another_bit_generator_is_refused():
    sampler = RandomSampler(5, rng=np.random.Generator(np.random.MT19937(0)))
    with pytest.raises(ValueError, match="PCG64"):
        sampler.load_state_dict(RandomSampler(5, rng=0).state_dict())

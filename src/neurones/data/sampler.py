"""Samplers: which indices a loader fetches, epoch after epoch or batch after batch.

Two ways of choosing the batch ``B ⊂ {1..n}`` of SGD (source 001 §I.1):

* **epochs** — an order of the whole dataset per epoch, cut into consecutive batches: the fixed order of
  ``SequentialSampler`` (Remarque 1: the data seen in a determined order) or a fresh permutation per epoch from
  ``RandomSampler``; ``BatchSampler`` cuts the order into batches;
* **fresh draws** — ``RandomBatchSampler`` draws every batch anew, independently of the previous ones, of a fixed
  or a random size, with or without replacement inside the batch.

Besides the iteration protocol of PyTorch (``__iter__`` over indices, or over lists of indices for batch
samplers), batch samplers expose the two steps the loader needs to be resumable: ``start_epoch()`` draws what an
epoch needs (its order, or nothing for fresh draws) and ``batch_indices(order, position)`` gives the index array
of the epoch's batch number ``position`` (``None`` after the last). Random samplers keep their Generator's state in
``state_dict()``. With ``rng=None`` they draw from the process-wide default Generator, looked up at each draw (so
``neurones.manual_seed`` applies to samplers made before it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sized

import numpy as np

from neurones.backend import Seed, as_generator

BatchSize = int | tuple[int, int] | Callable[[np.random.Generator], int]


def _length(data_source: Sized | int) -> int:
    return int(data_source) if isinstance(data_source, (int, np.integer)) else len(data_source)


def _generator_state(rng: np.random.Generator) -> dict:
    """A copy of the state of ``rng``'s bit generator (plain Python values, picklable)."""
    return rng.bit_generator.state


def _set_generator_state(rng: np.random.Generator, state: dict) -> None:
    """Put ``rng`` back into ``state`` (from :func:`_generator_state`); the bit generators must be of one kind."""
    kind = type(rng.bit_generator).__name__
    if state.get("bit_generator") != kind:
        raise ValueError(f"cannot load the state of a {state.get('bit_generator')} bit generator into a {kind}")
    rng.bit_generator.state = state


class Sampler(ABC):
    """An iterable over dataset indices; one full pass is an epoch."""

    rng: np.random.Generator | None = None

    @abstractmethod
    def epoch_order(self) -> np.ndarray:
        """The indices of one epoch, as an int64 array (a random sampler draws a new one at each call)."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of indices per epoch."""

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_order().tolist())

    def state_dict(self) -> dict:
        return {} if self.rng is None else {"rng": _generator_state(self.rng)}

    def load_state_dict(self, state: dict) -> None:
        if self.rng is not None:
            _set_generator_state(self.rng, state["rng"])


class SequentialSampler(Sampler):
    """``0, 1, ..., n - 1``, the same every epoch."""

    def __init__(self, data_source: Sized | int) -> None:
        self.data_source = data_source

    def epoch_order(self) -> np.ndarray:
        return np.arange(len(self), dtype=np.int64)

    def __len__(self) -> int:
        return _length(self.data_source)


class RandomSampler(Sampler):
    """A fresh random order each epoch: a permutation of the dataset (``replacement=False``; ``num_samples`` larger
    than the dataset chains permutations), or ``num_samples`` indices drawn uniformly with replacement."""

    def __init__(
        self, data_source: Sized | int, replacement: bool = False, num_samples: int | None = None, rng: Seed = None
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self._rng = None if rng is None else as_generator(rng)
        if num_samples is not None and (not isinstance(num_samples, (int, np.integer)) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive integer, got {num_samples!r}")

    @property
    def rng(self) -> np.random.Generator:
        return as_generator(self._rng)

    @property
    def num_samples(self) -> int:
        return _length(self.data_source) if self._num_samples is None else int(self._num_samples)

    def epoch_order(self) -> np.ndarray:
        n, rng = _length(self.data_source), self.rng
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        permutations = [rng.permutation(n) for _ in range(-(-self.num_samples // n))]
        return np.concatenate(permutations)[: self.num_samples].astype(np.int64, copy=False)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler:
    """Cut each epoch's order from ``sampler`` into consecutive batches of ``batch_size`` indices; the last batch is
    smaller unless ``drop_last`` drops it."""

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False) -> None:
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive integer, got {batch_size!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def start_epoch(self) -> np.ndarray:
        epoch_order = getattr(self.sampler, "epoch_order", None)
        if epoch_order is not None:
            return epoch_order()
        return np.fromiter(iter(self.sampler), dtype=np.int64)

    def batch_indices(self, order: np.ndarray, position: int) -> np.ndarray | None:
        start = position * self.batch_size
        stop = start + self.batch_size
        if start >= len(order) or (self.drop_last and stop > len(order)):
            return None
        return order[start:stop]

    def __iter__(self) -> Iterator[list[int]]:
        order = self.start_epoch()
        position = 0
        while (indices := self.batch_indices(order, position)) is not None:
            yield indices.tolist()
            position += 1

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)

    def state_dict(self) -> dict:
        state_dict = getattr(self.sampler, "state_dict", None)
        return {} if state_dict is None else state_dict()

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.sampler.load_state_dict(state)


def _size_rule(batch_size: BatchSize) -> Callable[[np.random.Generator], int]:
    if isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool):
        size = int(batch_size)
        return lambda rng: size
    if isinstance(batch_size, tuple) and len(batch_size) == 2:
        low, high = (int(k) for k in batch_size)
        if not 1 <= low <= high:
            raise ValueError(f"RandomBatchSampler: batch_size range needs 1 <= min_size <= max_size, got {batch_size}")
        return lambda rng: int(rng.integers(low, high, endpoint=True))
    if callable(batch_size):
        return lambda rng: int(batch_size(rng))
    raise TypeError(
        f"RandomBatchSampler: batch_size must be an int, a (min_size, max_size) tuple or a callable rng -> int, "
        f"got {type(batch_size).__name__}"
    )


class RandomBatchSampler:
    """Every batch ``B ⊂ {0..n-1}`` drawn afresh from ``rng``, independently of the batches before it
    (the stochastic gradient of source 001 §I.1).

    ``batch_size`` fixes the law of ``|B|``:

    * an int ``k`` — every batch has ``k`` indices;
    * a tuple ``(min_size, max_size)`` — ``|B|`` uniform on the integers ``min_size .. max_size``;
    * a callable ``rng -> int`` — any law, drawn from the sampler's Generator: ``lambda rng: rng.binomial(n, p)``
      without replacement is Poisson sampling (each example kept independently with probability ``p``), a
      ``max(1, ...)`` around it avoids empty batches.

    Inside a batch, indices are distinct (``replacement=False``: a uniform random subset, in random order) or drawn
    independently and uniformly (``replacement=True``). The stream is infinite (``num_batches=None``: one epoch
    that never ends) or an epoch of ``num_batches`` batches, after which a new iteration draws new batches.
    """

    def __init__(
        self,
        data_source: Sized | int,
        batch_size: BatchSize,
        *,
        replacement: bool = False,
        num_batches: int | None = None,
        rng: Seed = None,
    ) -> None:
        if num_batches is not None and (not isinstance(num_batches, (int, np.integer)) or num_batches < 0):
            raise ValueError(f"RandomBatchSampler: num_batches must be a non-negative integer, got {num_batches!r}")
        self.data_source = data_source
        self.batch_size = batch_size
        self.replacement = replacement
        self.num_batches = num_batches
        self._draw_size = _size_rule(batch_size)
        self._rng = None if rng is None else as_generator(rng)

    @property
    def rng(self) -> np.random.Generator:
        return as_generator(self._rng)

    def start_epoch(self) -> None:
        """Fresh draws need no per-epoch order."""
        return None

    def batch_indices(self, order: None, position: int) -> np.ndarray | None:
        if self.num_batches is not None and position >= self.num_batches:
            return None
        n, rng = _length(self.data_source), self.rng
        size = self._draw_size(rng)
        if size < 1 or (not self.replacement and size > n):
            limit = "" if self.replacement else f" and at most the dataset size {n} (replacement=False)"
            raise ValueError(f"RandomBatchSampler: drew a batch size of {size}; sizes must be at least 1{limit}")
        if self.replacement:
            return rng.integers(0, n, size=size, dtype=np.int64)
        return rng.choice(n, size=size, replace=False).astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[list[int]]:
        position = 0
        while (indices := self.batch_indices(None, position)) is not None:
            yield indices.tolist()
            position += 1

    def __len__(self) -> int:
        if self.num_batches is None:
            raise TypeError("RandomBatchSampler with num_batches=None is an infinite stream and has no length")
        return self.num_batches

    def state_dict(self) -> dict:
        return {"rng": _generator_state(self.rng)}

    def load_state_dict(self, state: dict) -> None:
        _set_generator_state(self.rng, state["rng"])

"""``DataLoader``: batches of a dataset, epoch after epoch, resumable bit for bit.

As in PyTorch, the loader combines a dataset, a sampler (which indices, in which order) and a collate function
(how samples become a batch). ``shuffle=True`` draws a fresh permutation each epoch from ``rng``; otherwise the
data come in their fixed order (source 001 §I.1, Remarque 1). For batches drawn afresh at every step, pass a
:class:`~neurones.data.sampler.RandomBatchSampler` as ``batch_sampler``. There are no worker processes: batches
are gathered in the calling thread, with one ``take`` per array when the dataset has ``__getitems__``.

Checkpointing: ``state_dict()`` records the epoch, the position inside it, the epoch's order and the state of the
sampler's Generator; a loader built the same way that loads it continues with exactly the batches the first one
would have given. The first ``iter()`` after ``load_state_dict`` of a state taken mid-epoch finishes that epoch;
every other ``iter()`` starts a new epoch (abandoning an unfinished one, as PyTorch does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from neurones.backend import Seed
from neurones.data.collate import default_collate
from neurones.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from neurones.errors import StateDictError

_STATE_KEYS = ("epoch", "position", "in_epoch", "order", "sampler")


class DataLoader:
    """Iterate over ``dataset`` in batches.

    ``batch_size``, ``shuffle``, ``sampler``, ``batch_sampler``, ``drop_last`` and ``collate_fn`` mean what they
    mean in ``torch.utils.data.DataLoader``; ``rng`` (a Generator or an integer seed; ``None``: the process-wide
    default Generator) plays the part of ``generator`` for the permutations of ``shuffle=True``. With the same
    seed, the same batches.
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool = False,
        *,
        sampler: Sampler | None = None,
        batch_sampler=None,
        drop_last: bool = False,
        collate_fn: Callable | None = None,
        rng: Seed = None,
    ) -> None:
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler and drop_last"
                )
            batch_size = None
        else:
            if sampler is not None and shuffle:
                raise ValueError("DataLoader: sampler is mutually exclusive with shuffle")
            if sampler is None:
                sampler = RandomSampler(dataset, rng=rng) if shuffle else SequentialSampler(dataset)
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self._getitems = getattr(dataset, "__getitems__", None) if self.collate_fn is default_collate else None
        self._resumable = hasattr(batch_sampler, "batch_indices") and hasattr(batch_sampler, "state_dict")
        self._epoch = 0
        self._position = 0
        self._order = None
        self._in_epoch = False
        self._resume_pending = False
        self._iterator_id = 0

    @property
    def epoch(self) -> int:
        """Index (from 0) of the epoch in progress, or of the next one if none is."""
        return self._epoch

    def __len__(self) -> int:
        """Batches per epoch."""
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator:
        self._iterator_id += 1
        if self._resume_pending:
            self._resume_pending = False
        else:
            if self._in_epoch:
                self._epoch += 1
            self._order = self.batch_sampler.start_epoch() if self._resumable else None
            self._position = 0
            self._in_epoch = True
        return self._batches(self._iterator_id)

    def _batches(self, iterator_id: int) -> Iterator:
        next_indices = self.batch_sampler.batch_indices if self._resumable else self._plain_batches()
        while True:
            if iterator_id != self._iterator_id:
                raise RuntimeError(
                    "DataLoader: this iterator was superseded by a newer iter(loader) or by "
                    "load_state_dict; iterate over the newest one"
                )
            indices = next_indices(self._order, self._position)
            if indices is None:
                break
            batch = self._fetch(indices)
            self._position += 1
            yield batch
        self._in_epoch = False
        self._order = None
        self._epoch += 1

    def _plain_batches(self) -> Callable:
        """``batch_indices`` for a batch sampler that is only an iterable of index lists."""
        batches = iter(self.batch_sampler)

        def next_indices(order, position):
            indices = next(batches, None)
            return None if indices is None else np.asarray(indices, dtype=np.int64)

        return next_indices

    def _fetch(self, indices: np.ndarray):
        if self._getitems is not None:
            return self._getitems(indices)
        return self.collate_fn([self.dataset[i] for i in indices.tolist()])

    # ------------------------------------------------------------------------------------------- checkpointing
    def state_dict(self) -> dict:
        """Where the loader stands: ``epoch``, ``position`` (batches already given in the epoch), ``in_epoch``,
        ``order`` (the epoch's order, ``None`` for fresh draws) and ``sampler`` (its Generator's state)."""
        if not self._resumable:
            raise TypeError(
                f"DataLoader: a batch sampler of type {type(self.batch_sampler).__name__} has no "
                f"batch_indices/state_dict, so the loader cannot be checkpointed"
            )
        return {
            "epoch": self._epoch,
            "position": self._position,
            "in_epoch": self._in_epoch,
            "order": None if self._order is None else self._order.copy(),
            "sampler": self.batch_sampler.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state`` (from :meth:`state_dict` of a loader built the same way). Live iterators of
        this loader are invalidated."""
        missing = [key for key in _STATE_KEYS if key not in state]
        if missing:
            raise StateDictError(f"DataLoader.load_state_dict: missing keys {missing}")
        if not self._resumable:
            raise TypeError(
                f"DataLoader: a batch sampler of type {type(self.batch_sampler).__name__} cannot be restored"
            )
        self.batch_sampler.load_state_dict(state["sampler"])
        self._epoch = int(state["epoch"])
        self._position = int(state["position"])
        self._in_epoch = bool(state["in_epoch"])
        self._order = None if state["order"] is None else np.array(state["order"], dtype=np.int64)
        self._resume_pending = self._in_epoch
        self._iterator_id += 1

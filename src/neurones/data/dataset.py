"""Map-style datasets, as in ``torch.utils.data``: ``Dataset``, ``TensorDataset``, ``Subset`` and ``random_split``.

A dataset maps an index ``0 <= i < len(dataset)`` to one sample. Fetching a batch sample by sample and stacking the
samples costs a Python call per sample; datasets that hold their data as arrays define ``__getitems__(indices)``,
which returns the whole batch, already collated, from one indexing operation per array. The loader uses it in
place of the default collate. (In PyTorch ≥ 2.1 ``__getitems__`` returns a list of samples that is then collated;
here it returns the collated batch itself, which is what makes it fast.)
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from neurones.autodiff.creation import as_tensor, from_numpy
from neurones.autodiff.tensor import Tensor
from neurones.backend import Seed, as_generator
from neurones.data.collate import default_collate
from neurones.errors import ShapeError


class Dataset(ABC):
    """A map from indices ``0 .. len(self) - 1`` to samples."""

    @abstractmethod
    def __getitem__(self, index: int):
        """The sample at ``index``."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of samples."""


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension: ``dataset[i] = (t[i] for t in tensors)``.

    Arrays are accepted and wrapped without copying. Items are tuples of Tensors (views of the rows, as in
    PyTorch); ``__getitems__`` gathers a batch with one ``take`` per tensor.
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(from_numpy(t) if isinstance(t, np.ndarray) else as_tensor(t) for t in tensors)
        for t in tensors:
            if t.ndim == 0:
                raise ShapeError("TensorDataset: 0-d tensors have no first dimension to index samples by")
        if len({t.shape[0] for t in tensors}) != 1:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ShapeError(f"TensorDataset: all tensors must have the same size in dimension 0, got shapes {shapes}")
        self.tensors = tensors

    def __getitem__(self, index):
        # ``[index, ...]`` keeps a 0-d row an ndarray (a view), where ``[index]`` would give a NumPy scalar.
        return tuple(from_numpy(t.data[index, ...]) for t in self.tensors)

    def __getitems__(self, indices) -> tuple[Tensor, ...]:
        """The batch of samples ``indices``, collated: a tuple of Tensors whose first dimension is the batch."""
        indices = np.asarray(indices, dtype=np.int64)
        return tuple(from_numpy(t.data.take(indices, axis=0)) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        """The collated batch: through the parent's ``__getitems__`` when it has one, else by collating samples."""
        parent_indices = self.indices[np.asarray(indices, dtype=np.int64)]
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems(parent_indices)
        return default_collate([self.dataset[i] for i in parent_indices.tolist()])

    def __len__(self) -> int:
        return len(self.indices)


def _split_lengths(lengths: Sequence[int | float], n: int) -> list[int]:
    """Integer lengths; fractions summing to 1 become ``floor(n · f)`` plus the remainder dealt one by one to the
    first splits (PyTorch's rule)."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        if any(not 0 <= f <= 1 for f in lengths):
            raise ValueError(f"random_split: fractions must lie in [0, 1], got {list(lengths)}")
        sizes = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        return sizes
    if any(not isinstance(k, (int, np.integer)) or k < 0 for k in lengths):
        raise ValueError(
            f"random_split: lengths must be non-negative integers or fractions summing to 1, got {list(lengths)}"
        )
    return [int(k) for k in lengths]


def random_split(dataset, lengths: Sequence[int | float], rng: Seed = None) -> list[Subset]:
    """Split ``dataset`` into disjoint random ``Subset``s of the given lengths (integers summing to
    ``len(dataset)``, or fractions summing to 1), the permutation drawn from ``rng``."""
    n = len(dataset)
    sizes = _split_lengths(lengths, n)
    if sum(sizes) != n:
        raise ValueError(f"random_split: lengths {list(lengths)} sum to {sum(sizes)}, but the dataset has {n} samples")
    permutation = as_generator(rng).permutation(n)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, permutation[start:stop]) for start, stop in itertools.pairwise(bounds)]

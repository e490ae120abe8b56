"""``default_collate``: turn a list of samples into one batch, as ``torch.utils.data.default_collate`` does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from neurones.autodiff.creation import from_numpy
from neurones.autodiff.tensor import Tensor


def _stack(arrays: list[np.ndarray]) -> Tensor:
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"default_collate: samples must have equal shapes to be stacked, got {sorted(shapes)}")
    return from_numpy(np.stack(arrays))


def default_collate(batch: list):
    """Stack a list of samples along a new first dimension, recursively through the samples' structure.

    Tensors and ndarrays become one Tensor of the same dtype; NumPy scalars a 1-d Tensor of their dtype; Python
    ``int`` becomes int64, ``float`` float64 and ``bool`` bool (PyTorch's choices); strings stay a list. Tuples
    (named tuples included), lists and dicts are collated field by field and keep their type.
    """
    if not batch:
        raise ValueError("default_collate: empty batch")
    first = batch[0]
    if isinstance(first, Tensor):
        return _stack([sample.data for sample in batch])
    if isinstance(first, (np.ndarray, np.generic)):
        return _stack([np.asarray(sample) for sample in batch])
    if isinstance(first, bool):
        return from_numpy(np.array(batch, dtype=np.bool_))
    if isinstance(first, int):
        return from_numpy(np.array(batch, dtype=np.int64))
    if isinstance(first, float):
        return from_numpy(np.array(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        return type(first)({key: default_collate([sample[key] for sample in batch]) for key in first})
    if isinstance(first, Sequence):
        if len({len(sample) for sample in batch}) != 1:
            raise ValueError("default_collate: each sample in a batch must have the same number of fields")
        fields = [default_collate(list(column)) for column in zip(*batch)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):
            return type(first)(*fields)
        return type(first)(fields)
    raise TypeError(f"default_collate: cannot collate samples of type {type(first).__name__}")

"""Metrics of a batch (accuracy, ...) and their means over an epoch, weighted by batch size.

A metric is a function ``metric(output, target) -> float`` giving the mean over the batch (as a loss with
``reduction="mean"`` does). The training loop and ``evaluate`` take metrics as:

* ``"auto"`` — accuracy when the targets are class indices (integers) and the outputs scores ``(N, C, ...)``,
  nothing otherwise (a regression);
* a sequence of names (``"accuracy"``) and functions (named by their ``__name__``);
* a mapping from names to functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from neurones.autodiff.tensor import Tensor

Metric = Callable[[Tensor, object], float]


def _array(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def accuracy(output, target) -> float:
    """Fraction of samples whose highest score is the target class: mean of ``argmax(output, dim=1) == target``
    for scores ``(N, C, d₁, …)`` and class indices ``(N, d₁, …)`` (ties go to the first class, as in argmax)."""
    predicted = _array(output).argmax(axis=1)
    return float(np.mean(predicted == _array(target)))


NAMED_METRICS: dict[str, Metric] = {"accuracy": accuracy}


def _is_classification(output, target) -> bool:
    scores, labels = _array(output), _array(target)
    return labels.dtype.kind in "iu" and scores.ndim >= 2 and scores.ndim == labels.ndim + 1


def resolve_metrics(spec, output, target) -> dict[str, Metric]:
    """The metrics named by ``spec`` (see the module docstring), given a first batch's output and target."""
    if isinstance(spec, str):
        if spec != "auto":
            return {spec: _named(spec)}
        return {"accuracy": accuracy} if _is_classification(output, target) else {}
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return dict(spec)
    resolved = {}
    for item in spec:
        if isinstance(item, str):
            resolved[item] = _named(item)
        elif callable(item):
            resolved[item.__name__] = item
        else:
            raise TypeError(f"a metric is a name or a function (output, target) -> float, got {type(item).__name__}")
    return resolved


def _named(name: str) -> Metric:
    if name not in NAMED_METRICS:
        raise ValueError(f"unknown metric {name!r}; known metrics: {sorted(NAMED_METRICS)}")
    return NAMED_METRICS[name]


def batch_size(output, target) -> int:
    """Number of samples in a batch: the first dimension of the target (of the output for 0-d targets)."""
    labels = _array(target)
    return int(labels.shape[0]) if labels.ndim else int(_array(output).shape[0])


class MeanTracker:
    """Sums of per-batch means weighted by batch size, to report means over all the samples seen."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: Mapping[str, float], size: int) -> None:
        for name, value in values.items():
            self.sums[name] = self.sums.get(name, 0.0) + value * size
        self.count += size

    def means(self) -> dict[str, float]:
        return {name: total / self.count for name, total in self.sums.items()} if self.count else {}

    def state_dict(self) -> dict:
        return {"sums": dict(self.sums), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.sums = dict(state["sums"])
        self.count = int(state["count"])

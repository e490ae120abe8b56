"""``Optimizer``: the base class of the update rules θ ← θ − (a step built from stochastic gradients).

The training loop of "Mise en œuvre de Neurones" (§I.1) draws a batch B, computes ∇_B F(θ) by backpropagation,
and moves θ against it. An optimizer holds the parameters θ (in *parameter groups*, each with its own options such
as the learning rate), a per-parameter ``state`` (momentum buffers, running averages of squared gradients, ...),
and applies its rule to every parameter whose ``.grad`` is set when ``step()`` is called. The API and the update
formulas are PyTorch's (``torch.optim``), so that code ports line by line and trajectories match number for number.

Updates are plain NumPy on the parameters' arrays, in place (``out=``), and record nothing: an optimizer step is
not part of any graph. Since the arrays change under the tensors, each updated parameter gets a new version stamp
(:func:`mark_updated`), so that a backward through a graph that saved the old value raises instead of returning a
wrong gradient. State arrays are allocated once, at a parameter's first step, and updated in place afterwards.

``state_dict()`` has PyTorch's structure: ``{"state": {index: {...}}, "param_groups": [{..., "params": [index,
...]}]}``, parameters being numbered in the order of the groups. State entries are ndarrays (copies) and ints.
"""

from __future__ import annotations

import abc
import math
import warnings

import numpy as np

from neurones.autodiff.function import MODIFIED
from neurones.autodiff.grad_mode import enable_grad
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError


def mark_updated(param: Tensor) -> None:
    """Stamp ``param`` as modified in place, as ``Tensor._end_inplace`` does after an in-place op.

    Optimizers write into ``param.data`` directly (a parameter requires grad, so the recorded in-place methods
    refuse it while grad mode is on). The stamp is what the engine compares with the clock of the nodes that saved
    the parameter's array: a backward through a graph built before the step then raises ``InplaceError``.
    """
    param._version = MODIFIED.mark(param.data)


def coupled_gradient(param: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool) -> np.ndarray:
    """The gradient the rule follows: ±∇ (− when maximizing), plus the L2 term λθ when ``weight_decay`` = λ ≠ 0.

    Returns ``grad`` itself when there is nothing to add (callers must then not write into it), else a fresh array.
    """
    if weight_decay != 0:
        g = np.multiply(param, weight_decay)
        return np.subtract(g, grad, out=g) if maximize else np.add(g, grad, out=g)
    return np.negative(grad) if maximize else grad


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray) -> None:
    """start ← start + w (end − start), in place, rounded as PyTorch's ``lerp_`` (from the nearer end of [start, end]).

    ``scratch`` is a spare array of the same shape that receives intermediate values.
    """
    np.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= weight - 1
        np.add(end, scratch, out=start)


def check_learning_rate(optimizer: str, lr) -> float:
    """``lr`` as a float, or a ``TypeError`` (not a real number) / ``ValueError`` (negative, NaN or infinite) that
    names the optimizer: a learning rate of NaN or ∞ would silently turn every parameter into NaN."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
        raise TypeError(f"{optimizer}: the learning rate must be a real number, got {lr!r} ({type(lr).__name__})")
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"{optimizer}: invalid learning rate {lr} (a finite number ≥ 0 is required)")
    return float(lr)


class Optimizer(abc.ABC):
    """Base class of optimizers: parameter groups, per-parameter state, ``step``, ``zero_grad``, state dicts.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter groups): each dict
    has a ``"params"`` entry and may override any option of ``defaults`` for its parameters, e.g.
    ``SGD([{"params": body}, {"params": head, "lr": 1e-2}], lr=1e-3)``.

    Subclasses implement ``_update(param, grad, state, group)``: apply the rule to one parameter in place, where
    ``grad`` is the ndarray of ``param.grad`` (never to be modified) and ``state`` the parameter's state dict.
    """

    def __init__(self, params, defaults: dict) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got a Tensor"
            )
        self.defaults = defaults
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Append a group of parameters, with options defaulting to the optimizer's ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors in "
                "sets changes between runs; use a list instead"
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with or without names; some param names are missing")
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        if "lr" in group:
            check_learning_rate(type(self).__name__, group["lr"])
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters", stacklevel=3)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # -------------------------------------------------------------------------------------------------- step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: drop them (``set_to_none=True``, the default) or fill them with zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad.data.fill(0)

    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s value when a closure is given.

        The closure (which re-evaluates the loss and calls backward) runs with grad mode on, before the update.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state = self.state
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                param_state = state.get(param)
                if param_state is None:
                    param_state = state[param] = {}
                self._update(param.data, param.grad.data, param_state, group)
                mark_updated(param)
        return loss

    @abc.abstractmethod
    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        """Update ``param`` in place from ``grad`` by the optimizer's rule, with its per-parameter ``state``."""

    # ------------------------------------------------------------------------------------------- state dicts
    def state_dict(self) -> dict:
        """The optimizer's state and options, parameters referenced by their index (copies of the state arrays)."""
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed["params"] = [index_of[id(param)] for param in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                if param in self.state:
                    state[index_of[id(param)]] = {
                        key: value.copy() if isinstance(value, np.ndarray) else value
                        for key, value in self.state[param].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and state from ``state_dict()``'s output, for an optimizer over the same parameters.

        The groups must match in number, size and options (the state of another kind of optimizer is refused),
        and every saved state array the shape of its parameter; arrays are copied and cast to the parameter's
        dtype.
        """
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter group(s), but the optimizer has {len(groups)}"
            )
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            ours, theirs = _options(group), _options(saved)
            if ours != theirs:  # another optimizer's state: its step() would look for options this one lacks
                raise ValueError(
                    f"loaded state dict is not for a {type(self).__name__}: its parameter group {i} has the options "
                    f"{sorted(theirs)}, a {type(self).__name__} has {sorted(ours)}"
                )
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(saved['params'])} parameters, but the "
                    f"optimizer's group {i} has {len(group['params'])}"
                )
        param_of = {
            index: param
            for group, saved in zip(groups, saved_groups)
            for index, param in zip(saved["params"], group["params"])
        }
        state: dict[Tensor, dict] = {}
        for index, saved_state in state_dict["state"].items():
            if index not in param_of:
                raise ValueError(f"loaded state dict has state for parameter {index}, which no group references")
            param = param_of[index]
            state[param] = {key: _restore(value, param, index, key) for key, value in saved_state.items()}
        self.param_groups = [
            dict({key: value for key, value in saved.items() if key != "params"}, params=group["params"])
            for group, saved in zip(groups, saved_groups)
        ]
        self.state = state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key not in ("params", "param_names"))
        lines.append(")")
        return "\n".join(lines)


def _options(group: dict) -> set[str]:
    """The hyperparameter names of a parameter group (what tells an SGD group from an Adam one)."""
    return set(group) - {"params", "param_names"}


def _restore(value, param: Tensor, index: int, key: str):
    """A saved state entry ready for ``param``: arrays copied, cast to its dtype and checked against its shape."""
    if isinstance(value, Tensor):
        value = value.data
    if not isinstance(value, np.ndarray):
        return value
    if value.shape != param.shape:
        raise ShapeError(
            f"load_state_dict: state '{key}' of parameter {index} has shape {value.shape}, but the parameter has "
            f"shape {param.shape}"
        )
    return np.array(value, dtype=param.dtype)

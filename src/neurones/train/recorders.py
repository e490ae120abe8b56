r"""What :func:`neurones.train.full_batch_gd` records along a run, one small object per quantity.

A recorder has a ``name`` (its key in the history), ``start(model, inputs)`` — called once, before the first step,
to keep what it compares against (θ₀, the initial activation patterns) — and ``__call__(model, loss)``, called at
each recorded step after the backward pass, so that the parameters' ``.grad`` hold ∇L(θ_t). It returns a float, or
an array with one value per restart for models that stack independent restarts along the first axis of every
parameter (``per_restart=True``; :class:`neurones.nn.MeanFieldTwoLayer` with ``restarts``).

- :class:`GradientNormSquared`: ‖∇L(θ_t)‖²;
- :class:`Displacement`: ‖θ_t − θ₀‖, or ‖θ_t − θ₀‖/‖θ₀‖ with ``relative=True``;
- :class:`PatternStability`: the fraction of ReLU units whose sign on each input is the one they had at θ₀
  (every ``nn.ReLU`` module's input, over the inputs given);
- :class:`HessianMaxEigenvalue`: λ_max(∇²L(θ_t)) by Lanczos on Hessian-vector products
  (:func:`neurones.func.hessian_max_eigenvalue`);
- :class:`PLRatio`: the Polyak–Łojasiewicz ratio of an :class:`~neurones.nn.ODEResNet`
  (:func:`neurones.analysis.neural_ode.pl_ratio`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurones.analysis.neural_ode import pl_ratio
from neurones.autodiff.grad_mode import no_grad
from neurones.autodiff.tensor import Tensor
from neurones.func.hessian import hessian_max_eigenvalue, model_loss
from neurones.nn.activation import ReLU


class Recorder:
    """The recorder contract (see the module docstring); subclasses set ``name`` and define ``__call__``."""

    name = ""

    def start(self, model, inputs: Tensor) -> None:
        """Keep what later values compare against; nothing by default."""

    def __call__(self, model, loss: float | np.ndarray) -> float | np.ndarray:
        raise NotImplementedError


def _squared_norms(arrays, per_restart: bool) -> float | np.ndarray:
    """Σ‖a‖² over the arrays, or per restart (summed over every axis but the first) with ``per_restart``."""
    if not per_restart:
        return float(sum(np.sum(np.square(a, dtype=np.float64)) for a in arrays))
    return sum(np.sum(np.square(a, dtype=np.float64).reshape(a.shape[0], -1), axis=1) for a in arrays)


class GradientNormSquared(Recorder):
    """‖∇L(θ_t)‖² from the gradients of the last backward pass."""

    name = "grad_norm_squared"

    def __init__(self, per_restart: bool = False) -> None:
        self.per_restart = per_restart

    def __call__(self, model, loss):
        gradients = [p.grad.data for p in model.parameters() if p.requires_grad and p.grad is not None]
        return _squared_norms(gradients, self.per_restart)


class Displacement(Recorder):
    """‖θ_t − θ₀‖ (``relative``: divided by ‖θ₀‖), over the parameters that require grad."""

    def __init__(self, relative: bool = False, per_restart: bool = False) -> None:
        self.relative, self.per_restart = relative, per_restart
        self.name = "relative_displacement" if relative else "displacement"
        self._start: list[np.ndarray] = []

    def start(self, model, inputs):
        self._start = [np.array(p.data, dtype=np.float64) for p in model.parameters() if p.requires_grad]

    def __call__(self, model, loss):
        now = [np.asarray(p.data, dtype=np.float64) for p in model.parameters() if p.requires_grad]
        distance = np.sqrt(_squared_norms([a - b for a, b in zip(now, self._start)], self.per_restart))
        if not self.relative:
            return distance
        return distance / np.sqrt(_squared_norms(self._start, self.per_restart))


def relu_inputs(model, inputs: Tensor) -> list[np.ndarray]:
    """The input (pre-activation) of every ``nn.ReLU`` module of the model on ``inputs``, in call order."""
    values: list[np.ndarray] = []
    handles = [module.register_forward_hook(lambda module, args, output: values.append(args[0].data))
               for module in model.modules() if isinstance(module, ReLU)]
    try:
        with no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    if not values:
        raise ValueError(f"relu_inputs: {type(model).__name__} has no nn.ReLU module to watch")
    return values


def relu_patterns(model, inputs: Tensor) -> list[np.ndarray]:
    """The sign pattern (input > 0) of every ``nn.ReLU`` module of the model on ``inputs``, in call order."""
    return [values > 0 for values in relu_inputs(model, inputs)]


class PatternStability(Recorder):
    """The fraction of (unit, input) pairs of every ReLU layer whose sign is unchanged since θ₀, on ``inputs``
    (the training inputs by default). With ``per_restart``, the first axis of each pattern is the restart's."""

    name = "pattern_stability"

    def __init__(self, inputs=None, per_restart: bool = False) -> None:
        self.inputs, self.per_restart = inputs, per_restart
        self._start: list[np.ndarray] = []

    def start(self, model, inputs):
        self.inputs = inputs if self.inputs is None else self.inputs
        self._start = relu_patterns(model, self.inputs)

    def __call__(self, model, loss):
        now = relu_patterns(model, self.inputs)
        same = [a == b for a, b in zip(now, self._start)]
        if not self.per_restart:
            return float(sum(s.sum() for s in same) / sum(s.size for s in same))
        counts = sum(s.reshape(s.shape[0], -1).sum(axis=1) for s in same)
        return counts / sum(s[0].size for s in same)


class HessianMaxEigenvalue(Recorder):
    """λ_max of the Hessian of ``loss_fn(model(inputs), targets)`` at θ_t (Lanczos on float64 Hessian-vector
    products; the model should compute in float64)."""

    name = "hessian_max_eigenvalue"

    def __init__(self, loss_fn: Callable, inputs, targets, rng: np.random.Generator, tol: float = 1e-4) -> None:
        self.loss_fn, self.inputs, self.targets, self.rng, self.tol = loss_fn, inputs, targets, rng, tol

    def __call__(self, model, loss):
        return hessian_max_eigenvalue(*model_loss(model, self.loss_fn, self.inputs, self.targets), self.rng,
                                      tol=self.tol)


class PLRatio(Recorder):
    """μ_t = L‖∇_{V,W} R‖²/R of an ODE ResNet (the ratio that the Polyak–Łojasiewicz condition bounds below)."""

    name = "pl_ratio"

    def __call__(self, model, loss):
        return pl_ratio(model, float(loss))

r"""The loss landscape around a network: filter-normalized slices, the Hessian's extreme eigenvalues, and the
correlation of input gradients ("Rien ne sert de courir", annexes: ResNets have smoother loss surfaces and
gradients).

- **Slices** (Li, Xu, Taylor, Studer & Goldstein 2018): a random direction d with the scale of the network, filter
  by filter — each row of a weight matrix (each output channel of a convolution) is rescaled to the norm of the
  same row of θ, and biases and normalization parameters get no direction — so that slices L(θ + αd) of networks
  with different scales compare (:func:`filter_normalized_direction`, :func:`loss_slice`).
- **Curvature**: the largest and smallest eigenvalues of ∇²L(θ), by Lanczos iterations (SciPy's ``eigsh``) on
  Hessian-vector products (:func:`neurones.func.hvp`) — power iteration would return the eigenvalue largest in
  magnitude, of either sign. They live in :mod:`neurones.func` beside ``hvp``, since training itself uses them
  (:func:`~neurones.func.hessian_extreme_eigenvalues`, :func:`~neurones.func.hessian_max_eigenvalue`, and
  :func:`~neurones.func.model_loss` for a module's loss as a function of its parameters).
- **Shattered gradients** (Balduzzi et al. 2017): along a line of inputs x_t = x₀ + t u, the gradient of the
  output with respect to the input, g_t = ∂f(x_t)/∂x; for deep plain networks its successive values decorrelate
  (white-noise-like), for residual networks they stay correlated (:func:`input_gradient_autocorrelation`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from neurones.autodiff.grad_mode import no_grad
from neurones.autodiff.tensor import Tensor
from neurones.func.functional_call import functional_call


def filter_normalized_direction(model, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A Gaussian direction, each filter (row of a ≥ 2-D parameter along its first axis) rescaled to the norm of
    the same filter of the model; 1-D parameters (biases, normalization) get zeros, as in Li et al. 2018."""
    direction = {}
    for name, parameter in model.named_parameters():
        values = np.asarray(parameter.data, dtype=np.float64)
        if values.ndim < 2:
            direction[name] = np.zeros_like(values)
            continue
        draw = rng.standard_normal(values.shape)
        axes = tuple(range(1, values.ndim))
        own = np.sqrt(np.sum(values**2, axis=axes, keepdims=True))
        drawn = np.sqrt(np.sum(draw**2, axis=axes, keepdims=True))
        direction[name] = draw * own / np.where(drawn > 0, drawn, 1.0)
    return direction


def loss_slice(model, loss_fn: Callable, inputs, targets, directions: Sequence[dict], coordinates) -> np.ndarray:
    """L(θ + Σ_k a_k d_k) = ``loss_fn(model(inputs), targets)`` at the moved parameters, for every row a of
    ``coordinates`` ((m,) for one direction, (m, K) for K directions, as :func:`filter_normalized_direction` gives
    them). The model itself is left unchanged."""
    coordinates = np.asarray(coordinates, dtype=np.float64)
    coordinates = coordinates[:, None] if coordinates.ndim == 1 else coordinates
    if coordinates.shape[1] != len(directions):
        raise ValueError(f"loss_slice: {coordinates.shape[1]} coordinates per point for {len(directions)} directions")
    inputs = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs))
    targets = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets))
    named = {name: np.asarray(p.data, dtype=np.float64) for name, p in model.named_parameters()}
    values = np.empty(coordinates.shape[0])
    with no_grad():
        for index, point in enumerate(coordinates):
            moved = {name: Tensor(theta + sum(a * d[name] for a, d in zip(point, directions)))
                     for name, theta in named.items()}
            values[index] = float(loss_fn(functional_call(model, moved, (inputs,)), targets).data)
    return values


def input_gradient_autocorrelation(model, origin, direction, steps: int, spacing: float, lags: int = 1) -> np.ndarray:
    """The correlation between input gradients g_t = ∂(Σ f)(x_t)/∂x at points x_t = origin + t·spacing·direction
    (t = 0…steps−1) that are ``lag`` apart, for lag = 1…``lags``: corr(g_t, g_{t+lag}) over t, each g centred by
    the mean gradient along the line (the statistic of Balduzzi et al.'s Figure 1, for vector gradients)."""
    origin, direction = np.asarray(origin, dtype=np.float64), np.asarray(direction, dtype=np.float64)
    points = origin[None] + spacing * np.arange(steps)[:, None] * (direction / np.linalg.norm(direction))[None]
    inputs = Tensor(points.reshape(steps, *origin.shape), requires_grad=True)
    model(inputs).sum().backward()
    gradients = inputs.grad.data.reshape(steps, -1)
    centred = gradients - gradients.mean(axis=0)
    result = np.empty(lags)
    for lag in range(1, lags + 1):
        a, b = centred[:-lag], centred[lag:]
        result[lag - 1] = float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return result

r"""The Fisher information of a classifier: its trace, total and per layer, and the KL divergence it approximates
("Rien ne sert de courir, il faut partir à point", critical learning periods; Achille, Rovere & Soatto 2019).

For a classifier with predictive distribution p_w(y | x) = softmax(f_w(x))_y, the (true) Fisher information is

    F(w) = E_x E_{y∼p_w(·|x)} [∇_w log p_w(y|x) ∇_w log p_w(y|x)ᵀ],

whose trace E_x E_y ‖∇_w log p_w(y|x)‖² Achille et al. track along training, layer by layer. It is the curvature of
the KL divergence between nearby networks: KL(p_w ‖ p_{w+δw}) = ½ δwᵀ F(w) δw + O(‖δw‖³) (the slides omit the ½).
The *empirical* Fisher uses the observed labels instead of labels drawn from the model; it is a different matrix,
computed beside it.

The gradients of every example's log-likelihood come from :func:`neurones.func.per_sample_grads` (one batched
backward pass per class). ``exact=True`` sums over the classes with their probabilities (k passes);
otherwise labels are drawn from the model (``samples`` passes), an unbiased Monte Carlo estimate.
"""

from __future__ import annotations

import numpy as np

import neurones.functional as F
from neurones.autodiff.grad_mode import no_grad
from neurones.autodiff.tensor import Tensor
from neurones.func.per_sample import per_sample_grads


def _inputs(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _probabilities(model, inputs: Tensor) -> np.ndarray:
    with no_grad():
        return np.asarray(F.softmax(model(inputs), dim=-1).data, dtype=np.float64)


def _negative_log_likelihood(out, target):
    return F.cross_entropy(out, target, reduction="sum")  # −Σᵢ log p(yᵢ|xᵢ): its gradient is minus the score


def _layer_of(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def _squared_norms(grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """‖∇ log p(yᵢ|xᵢ)‖² per example, grouped by layer (the module that owns each parameter)."""
    layers: dict[str, np.ndarray] = {}
    for name, values in grads.items():
        values = values.reshape(values.shape[0], -1).astype(np.float64)
        layer = _layer_of(name)
        layers[layer] = layers.get(layer, 0.0) + np.sum(values * values, axis=1)
    return layers


def fisher_trace(model, inputs, *, exact: bool = True, samples: int = 1, rng: np.random.Generator | None = None,
                 per_layer: bool = False):
    """tr F = E_x E_{y∼p_w(·|x)} ‖∇_w log p_w(y|x)‖², averaged over ``inputs``.

    With ``exact`` the inner expectation is the sum over classes weighted by p_w(y|x); otherwise ``samples`` labels
    per input are drawn from the model with ``rng``. With ``per_layer`` the result is ``(total, {layer: trace})``,
    the layers named as in ``named_modules`` (the traces sum to the total)."""
    inputs = _inputs(inputs)
    probabilities = _probabilities(model, inputs)
    n, classes = probabilities.shape
    layers: dict[str, float] = {}
    if exact:
        draws = [(np.full(n, c), probabilities[:, c]) for c in range(classes)]
    else:
        if rng is None:
            raise ValueError("fisher_trace: pass rng to draw labels (or exact=True)")
        cumulative = probabilities.cumsum(axis=1)
        draws = []
        for _ in range(samples):
            labels = np.minimum((rng.random((n, 1)) > cumulative).sum(axis=1), classes - 1)
            draws.append((labels, np.full(n, 1.0 / samples)))
    for labels, weights in draws:
        grads = per_sample_grads(model, _negative_log_likelihood, inputs, Tensor(labels.astype(np.int64)))
        for layer, norms in _squared_norms(grads).items():
            layers[layer] = layers.get(layer, 0.0) + float(np.sum(weights * norms) / n)
    total = float(sum(layers.values()))
    return (total, layers) if per_layer else total


def empirical_fisher_trace(model, inputs, targets, *, per_layer: bool = False):
    """E_{(x,y)} ‖∇_w log p_w(y|x)‖² with the observed labels ``targets`` (the empirical Fisher's trace)."""
    grads = per_sample_grads(model, _negative_log_likelihood, _inputs(inputs), _inputs(targets))
    layers = {layer: float(np.mean(norms)) for layer, norms in _squared_norms(grads).items()}
    total = float(sum(layers.values()))
    return (total, layers) if per_layer else total


def kl_divergence(model_a, model_b, inputs) -> float:
    """E_x KL(p_a(·|x) ‖ p_b(·|x)) = E_x Σ_y p_a(y|x) log(p_a(y|x)/p_b(y|x)), averaged over ``inputs``."""
    inputs = _inputs(inputs)
    with no_grad():
        log_a = np.asarray(F.log_softmax(model_a(inputs), dim=-1).data, dtype=np.float64)
        log_b = np.asarray(F.log_softmax(model_b(inputs), dim=-1).data, dtype=np.float64)
    return float(np.mean(np.sum(np.exp(log_a) * (log_a - log_b), axis=-1)))

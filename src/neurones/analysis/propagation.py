"""Signal and gradient propagation through a feed-forward network, layer by layer.

"Rien ne sert de courir" (Lopès-Quintas, 2025), "Une meilleure initialisation" and "Explosion et disparition des
gradients", follow, for a network of layers z^l = W^l x^l (+ b^l), x^{l+1} = f(z^l):

* the forward signal: the mean and variance of the pre-activations z^l and the second moment E[(x^l)²] of each
  layer's input, whose ratio Var[z^l] = n_in Var[w] E[(x^l)²] drives the initialization conditions;
* the backward signal: δ^l = ∂L/∂z^l (its variance and norm) and the weight gradients ∂L/∂W^l = δ^l (x^l)ᵀ.

:func:`layer_statistics` measures all of them in one forward and one backward pass of a
:class:`~neurones.nn.Sequential` whose affine layers (``Linear``, ``Conv``) define the layers l = 1..L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.nn.containers import Sequential
from neurones.nn.conv import Conv1d, Conv2d
from neurones.nn.linear import Linear

AFFINE_LAYERS = (Linear, Conv1d, Conv2d)


@dataclass(frozen=True)
class LayerStatistics:
    """Per-layer statistics of one forward/backward pass; every array is indexed by the layer l = 0..L−1.

    ``input_second_moment[l]`` is E[(x^l)²] for the input x^l of layer l; ``z_mean``/``z_var`` describe its
    pre-activation z^l; ``grad_z_var``/``grad_z_norm`` describe δ^l = ∂L/∂z^l; ``grad_input_var`` describes
    ∂L/∂x^l; ``weight_grad_var``/``weight_grad_norm`` describe ∂L/∂W^l. Means and variances are over all
    entries (examples × units), norms are Frobenius norms over the batch.
    """

    input_second_moment: np.ndarray
    z_mean: np.ndarray
    z_var: np.ndarray
    grad_z_var: np.ndarray
    grad_z_norm: np.ndarray
    grad_input_var: np.ndarray
    weight_grad_var: np.ndarray
    weight_grad_norm: np.ndarray

    @property
    def depth(self) -> int:
        return len(self.z_var)

    def records(self) -> list[dict]:
        """One dictionary per layer, for results tables."""
        names = [name for name in self.__dataclass_fields__]
        return [{"layer": l + 1, **{n: float(getattr(self, n)[l]) for n in names}} for l in range(self.depth)]


def layer_statistics(model: Sequential, x: Tensor, cotangent: np.ndarray | None = None) -> LayerStatistics:
    """Run ``model`` on ``x`` and backpropagate ``cotangent`` (∂L/∂output; ones if None) through it.

    Returns the statistics of every affine layer of the ``Sequential``. The model's parameter gradients are
    left in ``.grad`` (zero them before a training step); a leaf input's ``.grad`` is replaced by this pass's.
    """
    inputs, pre_activations, layers = [], [], []
    h = x
    for module in model:
        if isinstance(module, AFFINE_LAYERS):
            if h.requires_grad:
                h.retain_grad()
            inputs.append(h)
            layers.append(module)
            h = module(h)
            h.retain_grad()
            pre_activations.append(h)
        else:
            h = module(h)
    if not layers:
        raise ValueError("layer_statistics: the model has no Linear or Conv layer")
    # Leaves accumulate gradients across calls: start them from zero so that ∂L/∂W and ∂L/∂x are this pass's.
    for module in layers:
        module.weight.grad = None
    for t in inputs:
        if t.is_leaf:
            t.grad = None
    h.backward(np.ones_like(h.data) if cotangent is None else cotangent)

    def grad_of(t: Tensor) -> np.ndarray:
        return np.zeros_like(t.data) if t.grad is None else t.grad.data

    return LayerStatistics(
        input_second_moment=np.array([np.mean(t.data.astype(np.float64) ** 2) for t in inputs]),
        z_mean=np.array([np.mean(z.data) for z in pre_activations]),
        z_var=np.array([np.var(z.data) for z in pre_activations]),
        grad_z_var=np.array([np.var(grad_of(z)) for z in pre_activations]),
        grad_z_norm=np.array([np.linalg.norm(grad_of(z)) for z in pre_activations]),
        grad_input_var=np.array([np.var(grad_of(t)) if t.requires_grad else np.nan for t in inputs]),
        weight_grad_var=np.array([np.var(grad_of(m.weight)) for m in layers]),
        weight_grad_norm=np.array([np.linalg.norm(grad_of(m.weight)) for m in layers]),
    )

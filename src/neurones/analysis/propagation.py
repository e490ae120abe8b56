"""Signal and gradient propagation through a feed-forward network, layer by layer.

"Rien ne sert de courir" (Lopès-Quintas, 2025), "Une meilleure initialisation" and "Explosion et disparition des
gradients", follow, for a network of layers z^l = W^l x^l (+ b^l), x^{l+1} = f(z^l):

* the forward signal: the mean and variance of the pre-activations z^l and the second moment E[(x^l)²] of each
  layer's input, whose ratio Var[z^l] = n_in Var[w] E[(x^l)²] drives the initialization conditions;
* the backward signal: δ^l = ∂L/∂z^l (its variance and norm) and the weight gradients ∂L/∂W^l = δ^l (x^l)ᵀ.

:func:`layer_statistics` measures all of them in one forward and one backward pass of any model, whose affine
layers (``Linear``, ``Conv``) define the layers l = 1..L, observed through forward and backward hooks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.nn.conv import Conv1d, Conv2d
from neurones.nn.linear import Linear
from neurones.nn.module import Module

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


def layer_statistics(model: Module, x: Tensor, cotangent: np.ndarray | None = None) -> LayerStatistics:
    """Run ``model`` on ``x`` and backpropagate ``cotangent`` (∂L/∂output; ones if None) through it.

    Returns the statistics of every call of an affine layer (``Linear``, ``Conv1d``, ``Conv2d``), in the order of
    the forward pass, observed through module hooks: any model works, not only a ``Sequential``, and the model
    runs its own forward. The layers' weight gradients are left in ``.grad`` (zero them before a training step;
    a layer called twice reports the sum over its calls); a leaf input's ``.grad`` is replaced by this pass's.
    """
    calls: list[dict] = []  # one per affine-layer call, in forward order
    pending: dict = {}  # layer -> its calls still waiting for their cotangents (backward visits them in reverse)

    def record_forward(layer, args, output):
        call = {"layer": layer, "input": args[0], "z": output.data, "grad_z": None, "grad_input": None}
        calls.append(call)
        pending.setdefault(layer, []).append(call)

    def record_backward(layer, grad_input, grad_output):
        call = pending[layer].pop()
        call["grad_z"] = None if grad_output[0] is None else grad_output[0].data
        call["grad_input"] = None if grad_input[0] is None else grad_input[0].data

    layers = [m for m in model.modules() if isinstance(m, AFFINE_LAYERS)]
    if not layers:
        raise ValueError("layer_statistics: the model has no Linear or Conv layer")
    handles = [layer.register_forward_hook(record_forward) for layer in layers]
    handles += [layer.register_full_backward_hook(record_backward) for layer in layers]
    try:
        # Leaves accumulate gradients across calls: start them from zero so that ∂L/∂W and ∂L/∂x are this pass's.
        for layer in layers:
            layer.weight.grad = None
        if x.is_leaf:
            x.grad = None
        out = model(x)
        out.backward(np.ones_like(out.data) if cotangent is None else cotangent)
    finally:
        for handle in handles:
            handle.remove()

    def or_zeros(array, like: np.ndarray) -> np.ndarray:
        return np.zeros_like(like) if array is None else array

    grad_z = [or_zeros(c["grad_z"], c["z"]) for c in calls]
    grad_w = [or_zeros(None if c["layer"].weight.grad is None else c["layer"].weight.grad.data, c["layer"].weight.data)
              for c in calls]
    return LayerStatistics(
        input_second_moment=np.array([np.mean(c["input"].data.astype(np.float64) ** 2) for c in calls]),
        z_mean=np.array([np.mean(c["z"]) for c in calls]),
        z_var=np.array([np.var(c["z"]) for c in calls]),
        grad_z_var=np.array([np.var(g) for g in grad_z]),
        grad_z_norm=np.array([np.linalg.norm(g) for g in grad_z]),
        grad_input_var=np.array(
            [np.var(or_zeros(c["grad_input"], c["input"].data)) if c["input"].requires_grad else np.nan for c in calls]
        ),
        weight_grad_var=np.array([np.var(g) for g in grad_w]),
        weight_grad_norm=np.array([np.linalg.norm(g) for g in grad_w]),
    )

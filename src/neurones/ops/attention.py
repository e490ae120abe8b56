"""Scaled dot-product attention, as ``torch.nn.functional.scaled_dot_product_attention``:

    attention(Q, K, V) = softmax(Q Kᵀ · s + B) V,    s = 1/√E by default (E the last dim of Q),

with B = −∞ where a boolean mask is false or above the diagonal (``is_causal``), or a float mask added as is. It
is a composition of matrix products and a softmax, so its gradients are theirs.
"""

from __future__ import annotations

import math

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.ops import arithmetic as ar
from neurones.ops.activations import softmax
from neurones.ops.linear import matmul
from neurones.ops.regularization import dropout
from neurones.ops.shape import transpose


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False, scale=None, *, rng=None
):
    """softmax(Q Kᵀ · scale + mask) V over the last two dims (…, L, E), (…, S, E), (…, S, Ev) → (…, L, Ev).

    ``attn_mask`` is boolean (True where attention is allowed) or added to the scores; ``is_causal`` allows
    position i to attend to j ≤ i only. ``dropout_p`` drops attention weights, with the ``rng`` given.
    """
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(
            f"scaled_dot_product_attention: query {query.shape}, key {key.shape} and value {value.shape} do not fit"
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = ar.mul(matmul(query, transpose(key, -2, -1)), factor)
    length, source = query.shape[-2], key.shape[-2]
    if is_causal:
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if mask.dtype == bool:
            scores = ar.where(mask, scores, -np.inf)
        else:
            scores = ar.add(scores, attn_mask if isinstance(attn_mask, Tensor) else Tensor(mask.astype(scores.dtype)))
    weights = softmax(scores, -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True, rng=rng)
    return matmul(weights, value)

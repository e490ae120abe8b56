"""Differentiable ops, grouped as the lecture notes group the nodes of a network.

Importing this package binds the ops onto ``Tensor`` (``x.exp()``, ``x @ w``...).
"""

from neurones.ops import tensor_methods

tensor_methods.bind()

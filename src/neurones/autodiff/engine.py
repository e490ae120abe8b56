"""Reverse-mode backpropagation: walk the graph from the output back to the leaves.

This is the algorithm of "Mise en œuvre de Neurones", §I.2: the forward pass kept each node's values; backward
visits the nodes from the end, each turning ∂L/∂(its output) into ∂L/∂(its inputs) by the chain rule and handing
them to the nodes that produced those inputs. A node may run only once all of its consumers have handed it their
cotangents, which is a topological order of the graph. Both passes use explicit stacks (no recursion), so a
chain of 10,000 ops backpropagates like a chain of ten.

Cotangents arriving at the same node (fan-out, or the same tensor twice in one op as in ``x * x``) are summed:
the first is stored by reference; if it is not ours to modify (it is the consumer's own cotangent, or a view) the
second allocates a fresh sum, and later ones add in place into that array.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff import anomaly, function
from neurones.autodiff.function import AccumulateGrad
from neurones.errors import GradientError, GraphFreedError, InplaceError, ShapeError

_FREED = (
    "Trying to backward through the graph a second time: the arrays that {op} saved for backward were "
    "already freed by a previous backward. Pass retain_graph=True to the first backward if you need to "
    "backpropagate through the same graph again."
)


def backward(root, gradient=None, retain_graph: bool = False) -> None:
    """Accumulate the gradients of ``root`` into the ``.grad`` of the leaves it depends on."""
    node = root._edge
    if node is None:
        raise GradientError("backward() on a tensor that does not require grad and has no grad_fn")
    seed, owned = _seed(root, gradient)
    consumers = _count_consumers(node)
    _propagate(node, seed, owned, consumers, retain_graph)


def _seed(root, gradient):
    if gradient is None:
        if root.data.size != 1:
            raise GradientError(
                f"backward() without a gradient needs a scalar output, got shape {root.data.shape}; pass "
                f"gradient=v (same shape) to backpropagate the vector-Jacobian product"
            )
        return np.ones_like(root.data), True
    grad = gradient.data if hasattr(gradient, "_edge") else gradient  # a Tensor, or anything array-like
    grad = np.asarray(grad, dtype=root.data.dtype)
    if grad.shape != root.data.shape:
        raise ShapeError(f"backward: gradient has shape {grad.shape} but the output has shape {root.data.shape}")
    return grad, False


def _count_consumers(root_node) -> dict:
    """Pass 1: for every node reachable from the root, how many edges point to it."""
    consumers = {root_node: 0}
    stack = [root_node]
    while stack:
        node = stack.pop()
        if node.is_freed():
            raise GraphFreedError(_FREED.format(op=type(node).__name__))
        for parent in node.parents:
            if parent is None:
                continue
            if parent in consumers:
                consumers[parent] += 1
            else:
                consumers[parent] = 1
                stack.append(parent)
    return consumers


def _propagate(root_node, seed, seed_owned, consumers, retain_graph) -> None:
    """Pass 2: run each node's backward once all its consumers have contributed, in topological order."""
    pending = {root_node: seed}  # node -> cotangent of its output, summed so far
    owned = {root_node} if seed_owned else set()  # nodes whose pending array we may modify in place
    check = anomaly.STATE.enabled
    ready = [root_node]
    while ready:
        node = ready.pop()
        grad = pending.pop(node, None)
        if type(node) is AccumulateGrad:
            if grad is not None:
                _accumulate_leaf(node, grad, node in owned)
            continue
        parents = node.parents
        if grad is None:  # no consumer produced a cotangent: every input's is zero
            grads = (None,) * len(parents)
        else:
            if node.retained is not None:
                _retain(node, grad)
            if node.saved:
                _check_saved(node)
            grads = node.backward(grad)
            if check:
                _check_grads(node, grads, parents)
                anomaly.check_backward(node, grads)
        if not retain_graph:
            node.release()
        for parent, g in zip(parents, grads):
            if parent is None:
                continue
            if g is not None:
                if type(g) is not np.ndarray:  # NumPy returns scalars for 0-d operands
                    g = np.asarray(g)
                if parent not in pending:
                    pending[parent] = g
                    if g is not grad and g.base is None:
                        owned.add(parent)
                elif parent in owned:
                    np.add(pending[parent], g, out=pending[parent])
                else:
                    pending[parent] = np.asarray(pending[parent] + g)
                    owned.add(parent)
            count = consumers[parent] - 1
            consumers[parent] = count
            if count == 0:
                ready.append(parent)


def _accumulate_leaf(node, grad, owned: bool) -> None:
    leaf = node.leaf()
    if leaf is None:  # the leaf was garbage-collected: nobody can read its gradient
        return
    if grad.dtype != leaf.data.dtype:
        grad, owned = grad.astype(leaf.data.dtype), True
    if leaf.grad is None:
        leaf.grad = function._new_tensor(grad if owned and grad.flags.writeable else grad.copy())
    else:
        leaf.grad.data += grad


def _retain(node, grad) -> None:
    tensor = node.retained()
    if tensor is None:
        return
    if tensor.grad is None:
        tensor.grad = function._new_tensor(np.array(grad, dtype=tensor.data.dtype))
    else:
        tensor.grad.data += grad


def _check_saved(node) -> None:
    """Refuse to run a backward whose saved arrays were modified in place after the forward."""
    index = node.saved_modified()
    if index is not None:
        name = type(node).__name__
        raise InplaceError(
            f"{name}: saved array {index} (shape {node.saved[index].shape}) was modified in place after {name} "
            f"saved it for backward; the gradient would be wrong. Do the in-place operation after backward, or on "
            f"a copy (tensor.detach().clone())"
        )


def _check_grads(node, grads, parents) -> None:
    if len(grads) != len(parents):
        raise GradientError(f"{type(node).__name__}.backward returned {len(grads)} gradients for {len(parents)} inputs")
    for index, (g, shape) in enumerate(zip(grads, getattr(node, "input_shapes", ()))):
        if g is not None and g.shape != shape:
            raise ShapeError(
                f"{type(node).__name__}.backward returned a gradient of shape {g.shape} for input {index} "
                f"of shape {shape}"
            )

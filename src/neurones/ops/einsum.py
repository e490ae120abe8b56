"""``einsum``: sums of products of entries named by subscripts, as ``torch.einsum`` (and ``numpy.einsum``).

y[out] = Σ over the letters not in ``out`` of Π_k x_k[subs_k]. The expression is multilinear, so the derivative
with respect to one operand is the same kind of sum with that operand left out and the cotangent put in:

    ∂L/∂x_k[subs_k] = Σ g[out] Π_{j≠k} x_j[subs_j],

itself an ``einsum`` onto x_k's letters. Two cases need care: a letter of x_k found nowhere else (summed over in
forward) receives the same cotangent along its whole axis (a broadcast), and a repeated letter (``"ii->"``, a
trace) reads a diagonal, so the cotangent goes back onto that diagonal. Size-1 axes that broadcast against other
operands are summed back to size 1.
"""

from __future__ import annotations

import string

import numpy as np

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError


class Einsum(Function):
    """y = einsum(subscripts, *x);  ∂L/∂x_k = einsum(g and the other operands → x_k's letters) (module doc)."""

    def forward(self, *arrays, inputs, output):
        self.inputs, self.output = inputs, output
        self.save_for_backward(*arrays)
        return np.einsum(",".join(inputs) + "->" + output, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        arrays = self.saved
        return tuple(
            self._operand_grad(k, g, arrays) if parent is not None else None for k, parent in enumerate(self.parents)
        )

    def _operand_grad(self, k: int, g: np.ndarray, arrays: tuple) -> np.ndarray:
        subs, shape = self.inputs[k], arrays[k].shape
        others = [(s, a) for j, (s, a) in enumerate(zip(self.inputs, arrays)) if j != k]
        letters = "".join(dict.fromkeys(subs))  # each letter once, in order
        reachable = set(self.output).union(*[set(s) for s, _ in others])
        kept = "".join(c for c in letters if c in reachable)
        spec = ",".join([self.output] + [s for s, _ in others]) + "->" + kept
        partial = np.einsum(spec, g, *[a for _, a in others], optimize=len(others) > 1)
        size = {c: n for c, n in zip(subs, shape)}
        # Letters summed in forward without appearing elsewhere: the cotangent is the same along their axes.
        partial = partial.reshape([partial.shape[kept.index(c)] if c in kept else 1 for c in letters])
        summed = tuple(i for i, c in enumerate(letters) if size[c] == 1 and partial.shape[i] != 1)
        if summed:  # size-1 axes that broadcast against other operands
            partial = partial.sum(axis=summed, keepdims=True)
        partial = np.broadcast_to(partial, [size[c] for c in letters])
        if len(letters) == len(subs):  # (np.ascontiguousarray would make a 0-d operand's cotangent 1-d)
            return np.ascontiguousarray(partial) if partial.ndim else partial.copy()
        grad = np.zeros(shape, g.dtype)  # a repeated letter: the cotangent goes onto the diagonal it read
        np.einsum(f"{subs}->{letters}", grad)[...] = partial
        return grad


def _parse(equation: str, ndims: list[int]) -> tuple[list[str], str]:
    """Explicit subscripts: each operand's letters (``...`` replaced by letters of its own) and the output's."""
    equation = equation.replace(" ", "")
    left, arrow, right = equation.partition("->")
    inputs = left.split(",")
    if len(inputs) != len(ndims):
        raise ShapeError(f"einsum: {len(inputs)} subscripts in {equation!r} for {len(ndims)} operands")
    unused = [c for c in string.ascii_letters if c not in equation]
    ellipsis_ndim = max([n - len(s.replace("...", "")) for s, n in zip(inputs, ndims) if "..." in s], default=0)
    broadcast = "".join(unused[:ellipsis_ndim])
    explicit = []
    for s, n in zip(inputs, ndims):
        if "..." in s:
            s = s.replace("...", broadcast[ellipsis_ndim - (n - len(s.replace("...", ""))) :])
        if len(s) != n:
            raise ShapeError(f"einsum: subscripts {s!r} do not fit an operand of {n} dims")
        explicit.append(s)
    if arrow:
        output = right.replace("...", broadcast)
    else:
        counts = {c: "".join(explicit).count(c) for c in set("".join(explicit)) if c not in broadcast}
        output = broadcast + "".join(sorted(c for c, n in counts.items() if n == 1))
    return explicit, output


def einsum(equation: str, *operands):
    """``einsum("ij,jk->ik", a, b)``: the sum over repeated subscripts of the products of entries (torch's
    signature; operands may also be given as one list). Differentiable with respect to every tensor operand."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = tuple(op if isinstance(op, Tensor) else Tensor(np.asarray(op)) for op in operands)
    inputs, output = _parse(equation, [t.ndim for t in tensors])
    try:
        return Einsum.apply(*tensors, inputs=tuple(inputs), output=output)
    except ValueError as error:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ShapeError(f"einsum: {equation!r} does not fit operands of shapes {shapes} ({error})") from None

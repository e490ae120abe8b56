"""The op contract: one ``Function`` subclass per differentiable op.

A ``Function`` is both the recipe of an op and, once applied with recording on, the node of the graph::

    class Exp(Function):
        saves_inputs = False          # backward needs only the output

        def forward(self, x):         # raw ndarrays in, one raw ndarray out
            self.y = np.exp(x)
            return self.y

        def backward(self, g):        # cotangent of the output in, one cotangent per input out
            return (g * self.y,)

Rules every op follows (they keep backward cheap and the memory bounded):

* ``forward`` receives the inputs' arrays (tensors first, keyword parameters after) and saves on ``self`` only
  what ``backward`` needs. It may test ``self.parents is None`` to skip saving work that only backward uses
  (``parents`` is ``None`` when the op is not recorded).
* ``backward`` receives the cotangent ``g = ∂L/∂y`` and returns a tuple with one array per tensor input: the
  cotangent ``∂L/∂x_i = (∂y/∂x_i)ᵀ g`` reduced to the input's shape (:func:`unbroadcast`), or ``None`` where
  ``self.parents[i] is None`` (that input needs no gradient). It builds no graph: there is no double backward.
  It may return ``g`` itself or views of it; every other array it returns must be freshly allocated (never an
  array it keeps in its saved state), so that the engine may take ownership of it and accumulate into it.
* ``saves_inputs`` (default True) tells the engine that backward reads the inputs' arrays, so an in-place change
  of an input between forward and backward is detected; ops whose backward needs no input set it to False.
  ``saves_output = True`` does the same for the output.

A node is recorded only when grad mode is on and some input requires grad. ``parents`` holds, per input, the
node that receives its cotangent (the producing op, or the ``AccumulateGrad`` of a leaf), or ``None``.
"""

from __future__ import annotations

import weakref

import numpy as np

from neurones.autodiff import anomaly, grad_mode

_GRAD = grad_mode.STATE
_object_new = object.__new__
_ndarray = np.ndarray
_ANOMALY = anomaly.STATE


class _Clock:
    """A global counter stamped on tensors by in-place ops and on nodes at creation.

    A tensor modified in place after a node saved it carries a stamp newer than the node's: comparing two
    integers at backward replaces the per-tensor version snapshots that would otherwise cost time on every op.
    """

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0

    def tick(self) -> int:
        self.now += 1
        return self.now


CLOCK = _Clock()


class Function:
    """Base class of differentiable ops; see the module docstring for the contract."""

    saves_inputs = True
    saves_output = False
    parents: tuple | None = None
    retained = None  # weak reference to the output tensor when ``retain_grad()`` was called on it
    output_modified = False

    def forward(self, *arrays, **params) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad: np.ndarray) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on tensors: compute the output and, if recording, link the node into the graph."""
        fn = _object_new(cls)
        # Unary and binary ops are nearly all the traffic: unpacking them by hand saves two list
        # comprehensions per op, which is a fifth of the recording overhead on small arrays. A separate entry per
        # arity, with no argument packing at all, was measured 0.1 µs faster still (64×64 float32: add 1.69 →
        # 1.58 µs, full sum 2.42 → 2.28 µs). The recorded sum would still be slower than PyTorch's (2.19 µs), so
        # that gain does not pay for two more copies of this method.
        if len(inputs) == 2:
            a, b = inputs
            if _GRAD.enabled and (a._edge is not None or b._edge is not None):
                fn.parents = (a._edge, b._edge)
                if cls.saves_inputs:
                    fn.inputs = inputs
                    fn.clock = CLOCK.now
            data = fn.forward(a.data, b.data, **params) if params else fn.forward(a.data, b.data)
        elif len(inputs) == 1:
            edge = inputs[0]._edge
            if edge is not None and _GRAD.enabled:
                fn.parents = (edge,)
                if cls.saves_inputs:
                    fn.inputs = inputs
                    fn.clock = CLOCK.now
            data = fn.forward(inputs[0].data, **params) if params else fn.forward(inputs[0].data)
        else:
            if _GRAD.enabled:
                edges = tuple([t._edge for t in inputs])
                if edges.count(None) != len(edges):
                    fn.parents = edges
                    if cls.saves_inputs:
                        fn.inputs = inputs
                        fn.clock = CLOCK.now
            data = fn.forward(*[t.data for t in inputs], **params)
        if type(data) is not _ndarray:
            data = np.array(data)  # NumPy returns scalars for full reductions; np.array is the fastest wrap
        out = _object_new(_Tensor)
        out.data = data
        out.grad = None
        out._version = 0
        if fn.parents is None:
            out._edge = None
        else:
            out._edge = fn
            if cls.saves_output:
                fn.clock = CLOCK.now
        if _ANOMALY.enabled:
            fn.created_at = anomaly.creation_site()
            anomaly.check_forward(fn, data)
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class AccumulateGrad(Function):
    """The node of a leaf tensor that requires grad: backward adds the incoming cotangent into ``leaf.grad``.

    It holds the leaf weakly (the leaf holds this node), so parameters are freed without the cycle collector.
    """

    saves_inputs = False

    def __init__(self, leaf) -> None:
        self.parents = ()
        self.leaf = weakref.ref(leaf)

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, so that it has ``shape``.

    If ``y = x + z`` broadcast ``x`` from ``shape`` to ``grad.shape``, then ``∂L/∂x`` sums ``∂L/∂y`` over
    every broadcast axis: the leading axes that ``x`` lacked and the axes where ``x`` has size 1.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    return summed.reshape(shape)


# Set by neurones.autodiff.tensor, which imports this module: the Tensor class, and its fast constructor.
_Tensor = None
_new_tensor = None


def _bind_tensor_class(tensor_class, factory) -> None:
    global _Tensor, _new_tensor
    _Tensor = tensor_class
    _new_tensor = factory

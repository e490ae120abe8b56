"""The op contract: one ``Function`` subclass per differentiable op.

A ``Function`` is both the recipe of an op and, once applied with recording on, the node of the graph::

    class Exp(Function):
        def forward(self, x):         # raw ndarrays in, one raw ndarray out
            y = np.exp(x)
            self.save_for_backward(y)
            return y

        def backward(self, g):        # cotangent of the output in, one cotangent per input out
            (y,) = self.saved
            return (g * y,)

Rules every op follows (they keep backward cheap, the memory bounded and the gradients honest):

* ``forward`` receives the inputs' arrays (tensors first, keyword parameters after). Every array that
  ``backward`` reads is registered by one call, ``self.save_for_backward(*arrays)``, and read back as
  ``self.saved``; never kept as a free attribute. The engine checks every registered array at backward: if the
  memory it lives in was modified in place after the forward (by ``y.mul_(3)``, ``x[i] = v``, an optimizer
  step, through any view), backward raises :class:`~neurones.errors.InplaceError` instead of returning a wrong
  gradient. Immutable metadata (shapes, axes, Python scalars, flags) may be plain attributes.
* ``forward`` may test ``self.parents is None`` (the op is not recorded) to skip work that only backward uses.
* ``backward`` receives the cotangent ``g = ∂L/∂y`` and returns a tuple with one array per tensor input: the
  cotangent ``∂L/∂x_i = (∂y/∂x_i)ᵀ g`` reduced to the input's shape (:func:`unbroadcast`), or ``None`` where
  ``self.parents[i] is None`` (that input needs no gradient). It builds no graph: there is no double backward.
  It may return ``g`` itself or views of it; every other array it returns must be freshly allocated (never an
  array it keeps in its saved state), so that the engine may take ownership of it and accumulate into it.

A node is recorded only when grad mode is on and some input requires grad. ``parents`` holds, per input, the
node that receives its cotangent (the producing op, or the ``AccumulateGrad`` of a leaf), or ``None``. Once its
backward has run, the engine calls :meth:`Function.release`, which drops everything the node kept;
:meth:`Function.is_freed` then tells a freed node from one that was never recorded.
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
    """A global counter stamped on nodes when they save arrays, and on memory modified in place.

    Memory modified in place after a node saved it carries a stamp newer than the node's: comparing two integers
    at backward replaces the per-array snapshots that would otherwise cost time on every op.
    """

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0

    def tick(self) -> int:
        self.now += 1
        return self.now


CLOCK = _Clock()


def _memory_root(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory: NumPy collapses chains of views, so this is at most one step."""
    base = array.base
    return base if type(base) is _ndarray else array


class _ModifiedMemory:
    """When each block of memory was last modified in place, keyed by the ndarray that owns it.

    Every in-place write that user code can make (the tensors' in-place methods, ``x[i] = v``, optimizer
    steps) calls :meth:`mark` on the array it wrote; the engine compares the owner's stamp with the clock of each
    node that saved an array living in that memory. Keying by the owning array makes a write through any view
    (``y[0].mul_(2)``, ``y.view(-1).zero_()``) visible to every node that saved another view of the same memory,
    as PyTorch's version counter shared by views does. Entries go away with their arrays (weak references), and
    a stale entry can never accuse a newer array: its stamp is older than any node that saved the newcomer.
    """

    def __init__(self) -> None:
        self.stamps: dict[int, tuple] = {}

    def mark(self, array: np.ndarray) -> int:
        stamp = CLOCK.tick()
        root = _memory_root(array)
        key = id(root)
        entry = self.stamps.get(key)
        ref = entry[0] if entry is not None and entry[0]() is root else weakref.ref(root, self._forget(key))
        self.stamps[key] = (ref, stamp)
        return stamp

    def _forget(self, key: int):
        def forget(ref) -> None:
            entry = self.stamps.get(key)
            if entry is not None and entry[0] is ref:
                del self.stamps[key]

        return forget

    def modified_since(self, array, clock: int) -> bool:
        """Whether the memory of ``array`` was written in place after the moment ``clock``."""
        if type(array) is not _ndarray:
            return False
        root = _memory_root(array)
        entry = self.stamps.get(id(root))
        return entry is not None and entry[1] > clock and entry[0]() is root


MODIFIED = _ModifiedMemory()


class Function:
    """Base class of differentiable ops; see the module docstring for the contract."""

    parents: tuple | None = None  # None: not recorded (and never will be)
    saved: tuple = ()
    clock = 0  # CLOCK.now when the arrays were saved
    retained = None  # weak reference to the output tensor when ``retain_grad()`` was called on it
    _freed = False

    def forward(self, *arrays, **params) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad: np.ndarray) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def save_for_backward(self, *arrays) -> None:
        """Register the arrays (or ``None``s) that ``backward`` reads; they come back as ``self.saved``."""
        self.saved = arrays
        self.clock = CLOCK.now

    def saved_modified(self) -> int | None:
        """The position of the first saved array whose memory was modified in place since it was saved, if any."""
        if MODIFIED.stamps:
            clock = self.clock
            for index, array in enumerate(self.saved):
                if MODIFIED.modified_since(array, clock):
                    return index
        return None

    def release(self) -> None:
        """Drop what the node kept for backward (saved arrays, metadata, parents): its backward has run."""
        # Everything an op's forward stored on the node goes, metadata included: some of it (gather indices,
        # class targets) is as large as the activations.
        vars(self).clear()
        self._freed = True

    def is_freed(self) -> bool:
        """Whether :meth:`release` ran: backpropagating through this node again is impossible."""
        return self._freed

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on tensors: compute the output and, if recording, link the node into the graph."""
        fn = _object_new(cls)
        # Unary and binary ops are nearly all the traffic: unpacking them by hand saves two list
        # comprehensions per op, which is a fifth of the recording overhead on small arrays.
        if len(inputs) == 2:
            a, b = inputs
            if _GRAD.enabled and (a._edge is not None or b._edge is not None):
                fn.parents = (a._edge, b._edge)
            data = fn.forward(a.data, b.data, **params) if params else fn.forward(a.data, b.data)
        elif len(inputs) == 1:
            edge = inputs[0]._edge
            if edge is not None and _GRAD.enabled:
                fn.parents = (edge,)
            data = fn.forward(inputs[0].data, **params) if params else fn.forward(inputs[0].data)
        else:
            if _GRAD.enabled:
                edges = tuple([t._edge for t in inputs])
                if edges.count(None) != len(edges):
                    fn.parents = edges
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
            if _ANOMALY.enabled:
                fn.created_at = anomaly.creation_site()
                fn.input_shapes = tuple([t.data.shape for t in inputs])
        if _ANOMALY.enabled:
            anomaly.check_forward(fn, data)
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class AccumulateGrad(Function):
    """The node of a leaf tensor that requires grad: backward adds the incoming cotangent into ``leaf.grad``.

    It holds the leaf weakly (the leaf holds this node), so parameters are freed without the cycle collector.
    """

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

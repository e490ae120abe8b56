"""Shape ops: reshaping, axis permutations, broadcasting, joining and splitting, padding, copies and casts.

None of these ops computes anything: each moves entries around, so each backward moves the cotangent back the
same way (reshape it back, permute it by the inverse permutation, sum it over broadcast axes, cut it into the
joined pieces, crop the padding). Outputs of ``reshape``, ``transpose``, ``permute`` and ``expand`` are NumPy views
of the input whenever NumPy can make one, as PyTorch's are; ``expand``'s view is read-only.
"""

from __future__ import annotations

import math

import numpy as np

from neurones.autodiff.function import Function, unbroadcast
from neurones.autodiff.tensor import Tensor, _wrap
from neurones.backend import as_dtype, is_floating
from neurones.errors import ShapeError
from neurones.ops.dims import canonical_dim, canonical_dims
from neurones.ops.indexing import BasicIndex


def _sizes(sizes: tuple) -> tuple:
    """Accept both ``f(x, 2, 3)`` and ``f(x, (2, 3))``, as PyTorch's ``reshape``/``view``/``permute``/``expand``."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        return tuple(sizes[0])
    return tuple(sizes)


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


# ------------------------------------------------------------------------------------------ reshapes and axes
class Reshape(Function):
    """y = x with a new shape, entries in the same row-major order;  ∂L/∂x = g reshaped to x's shape."""

    def forward(self, x, shape):
        try:
            y = x.reshape(shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape {x.shape} into {shape}") from None
        self.shape = x.shape
        return y

    def backward(self, g):
        return (g.reshape(self.shape),)


class Transpose(Function):
    """y = x with axes ``dim0`` and ``dim1`` swapped;  ∂L/∂x = g with the same axes swapped back."""

    def forward(self, x, dim0, dim1):
        self.dims = (dim0, dim1)
        return x.swapaxes(dim0, dim1)

    def backward(self, g):
        return (g.swapaxes(*self.dims),)


class Permute(Function):
    """y = x with axes reordered, y.shape[i] = x.shape[dims[i]];  ∂L/∂x = g permuted by the inverse of ``dims``."""

    def forward(self, x, dims):
        self.dims = dims
        return x.transpose(dims)

    def backward(self, g):
        return (g.transpose(np.argsort(self.dims)),)


class Expand(Function):
    """y = x broadcast to a larger shape (a read-only view);  ∂L/∂x = g summed over the broadcast axes."""

    def forward(self, x, shape):
        try:
            y = np.broadcast_to(x, shape)
        except ValueError:
            raise ShapeError(f"expand: cannot expand {x.shape} to {shape}") from None
        self.shape = x.shape
        return y

    def backward(self, g):
        return (unbroadcast(g, self.shape),)


def reshape(x, *shape):
    """The entries of ``x`` in a new shape (one size may be -1: inferred); a view when NumPy can make one."""
    return Reshape.apply(x, shape=_sizes(shape))


def view(x, *shape):
    """Same as :func:`reshape` (NumPy decides whether a copy is needed, so there is no contiguity requirement)."""
    return Reshape.apply(x, shape=_sizes(shape))


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge dims ``start_dim`` … ``end_dim`` into one (a 0-d tensor becomes 1-d)."""
    shape = x.shape
    if not shape:
        return Reshape.apply(x, shape=(1,))
    start = canonical_dim(start_dim, shape, "flatten")
    end = canonical_dim(end_dim, shape, "flatten")
    if start > end:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (tensor of shape {shape})")
    return Reshape.apply(x, shape=(*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :]))


def unflatten(x, dim: int, sizes):
    """Split dim ``dim`` into ``sizes`` (one of which may be -1): the inverse of :func:`flatten`."""
    axis = canonical_dim(dim, x.shape, "unflatten")
    return Reshape.apply(x, shape=x.shape[:axis] + tuple(sizes) + x.shape[axis + 1 :])


def squeeze(x, dim=None):
    """Remove dims of size 1: all of them, or those among ``dim`` (an int or a tuple; others are left as they are)."""
    axes = canonical_dims(dim, x.shape, "squeeze")
    return Reshape.apply(x, shape=tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


def unsqueeze(x, dim: int):
    """Insert a dim of size 1 at position ``dim`` (from -ndim-1 to ndim)."""
    axis = canonical_dim(dim, x.shape, "unsqueeze", extra=1)
    return Reshape.apply(x, shape=(*x.shape[:axis], 1, *x.shape[axis:]))


def transpose(x, dim0: int, dim1: int):
    """Swap dims ``dim0`` and ``dim1``."""
    if x.ndim == 0:
        canonical_dim(dim0, x.shape, "transpose")
        canonical_dim(dim1, x.shape, "transpose")
        return Permute.apply(x, dims=())
    return Transpose.apply(
        x, dim0=canonical_dim(dim0, x.shape, "transpose"), dim1=canonical_dim(dim1, x.shape, "transpose")
    )


swapaxes = transpose


def permute(x, *dims):
    """Reorder the dims: the output's dim i is the input's dim ``dims[i]``."""
    dims = _sizes(dims)
    axes = tuple(canonical_dim(d, x.shape, "permute") for d in dims)
    if sorted(axes) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of the dims of a tensor of shape {x.shape}")
    return Permute.apply(x, dims=axes)


def t(x):
    """Transpose a matrix; 0-d and 1-d tensors are returned as they are (PyTorch's ``Tensor.t``)."""
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with at most 2 dims, got shape {x.shape}; use transpose or mT")
    return Permute.apply(x, dims=tuple(reversed(range(x.ndim))))


def reverse_dims(x):
    """``x.T``: all dims in reverse order (the transpose of a matrix)."""
    return Permute.apply(x, dims=tuple(reversed(range(x.ndim))))


def expand(x, *sizes):
    """Broadcast ``x`` to ``sizes`` without copying; -1 keeps a dim's size, new dims may be added in front."""
    sizes = _sizes(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: cannot expand {x.shape} to {sizes}: fewer dims than the tensor")
    if any(n == -1 for n in sizes[:lead]):
        raise ShapeError(f"expand: -1 is not allowed for the new leading dims of {sizes} (tensor of shape {x.shape})")
    shape = sizes[:lead] + tuple(old if new == -1 else new for old, new in zip(x.shape, sizes[lead:]))
    return Expand.apply(x, shape=shape)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (as :func:`expand`)."""
    return expand(x, tuple(shape))


def expand_as(x, other):
    return expand(x, other.shape)


def reshape_as(x, other):
    return Reshape.apply(x, shape=other.shape)


# ------------------------------------------------------------------------------------------ joining and splitting
class Cat(Function):
    """y = the inputs joined along ``dim``;  ∂L/∂xₖ = the slice of g that xₖ filled."""

    def forward(self, *arrays, dim):
        try:
            y = np.concatenate(arrays, axis=dim)
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"cat: cannot concatenate tensors of shapes {shapes} along dim {dim}") from None
        self.dim, self.ends = dim, np.cumsum([a.shape[dim] for a in arrays])[:-1].tolist()
        return y

    def backward(self, g):
        pieces = np.split(g, self.ends, axis=self.dim)
        return tuple(piece if parent is not None else None for piece, parent in zip(pieces, self.parents))


class Stack(Function):
    """y = the inputs stacked along a new dim ``dim``;  ∂L/∂xₖ = g's k-th slice along that dim."""

    def forward(self, *arrays, dim):
        if any(a.shape != arrays[0].shape for a in arrays):
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"stack: expects tensors of equal shapes, got {shapes}")
        self.dim = dim
        return np.stack(arrays, axis=dim)

    def backward(self, g):
        slices = np.moveaxis(g, self.dim, 0)
        return tuple(slices[k] if parent is not None else None for k, parent in enumerate(self.parents))


def _tensors(tensors, op: str) -> list:
    tensors = [_as_tensor(x) for x in tensors]
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty sequence of tensors")
    return tensors


def cat(tensors, dim: int = 0):
    """Join tensors along the existing dim ``dim``; their other dims must agree."""
    tensors = _tensors(tensors, "cat")
    if tensors[0].ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    return Cat.apply(*tensors, dim=canonical_dim(dim, tensors[0].shape, "cat"))


concat = cat
concatenate = cat


def stack(tensors, dim: int = 0):
    """Join tensors of equal shapes along a new dim inserted at ``dim``."""
    tensors = _tensors(tensors, "stack")
    return Stack.apply(*tensors, dim=canonical_dim(dim, tensors[0].shape, "stack", extra=1))


def _slice_along(tensor, axis: int, start: int, stop: int):
    return BasicIndex.apply(tensor, index=(slice(None),) * axis + (slice(start, stop),))


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Cut ``tensor`` along ``dim`` into pieces of ``split_size`` entries (the last may be shorter), or of the
    given list of sizes. Each piece is its own slicing node."""
    axis = canonical_dim(dim, tensor.shape, "split")
    if tensor.ndim == 0:
        raise ShapeError("split: a 0-d tensor cannot be split")
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and length > 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        bounds = [(start, start + size) for start in range(0, length, size)] if length else [(0, 0)]
    else:
        sections = [int(n) for n in split_size_or_sections]
        if sum(sections) != length or any(n < 0 for n in sections):
            raise ShapeError(
                f"split: sections {sections} do not add up to {length}, the size of dim {axis} of {tensor.shape}"
            )
        stops = np.cumsum(sections).tolist()
        bounds = list(zip([0, *stops[:-1]], stops))
    return tuple(_slice_along(tensor, axis, start, stop) for start, stop in bounds)


def chunk(x, chunks: int, dim: int = 0) -> tuple:
    """Cut ``x`` along ``dim`` into ``chunks`` pieces of ⌈n / chunks⌉ entries (fewer pieces if n is short)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    axis = canonical_dim(dim, x.shape, "chunk")
    length = x.shape[axis] if x.ndim else 0
    return split(x, max(1, -(-length // chunks)), axis)


def unbind(x, dim: int = 0) -> tuple:
    """The slices of ``x`` along ``dim``, that dim removed."""
    axis = canonical_dim(dim, x.shape, "unbind")
    return tuple(BasicIndex.apply(x, index=(slice(None),) * axis + (k,)) for k in range(x.shape[axis]))


# ------------------------------------------------------------------------------------------------------ padding
class ConstantPad(Function):
    """y = x inside a block filled with ``value`` (negative widths crop);  ∂L/∂x = the block of g that x filled."""

    def forward(self, x, widths, value):
        shape = tuple(n + before + after for n, (before, after) in zip(x.shape, widths))
        if any(n < 0 for n in shape):
            raise ShapeError(f"pad: padding {widths} makes a negative size from shape {x.shape}")
        source = tuple(slice(max(0, -before), n - max(0, -after)) for n, (before, after) in zip(x.shape, widths))
        target = tuple(slice(max(0, b), max(0, b) + s.stop - s.start) for (b, _), s in zip(widths, source))
        y = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
        y[target] = x[source]
        self.shape, self.source, self.target = x.shape, source, target
        self.crops = any(before < 0 or after < 0 for before, after in widths)
        return y

    def backward(self, g):
        if not self.crops:
            return (g[self.target],)
        grad = np.zeros(self.shape, g.dtype)
        grad[self.source] = g[self.target]
        return (grad,)


def _padding_map(mode: str, n: int, before: int, after: int) -> np.ndarray:
    """For each output position along one axis, the input position it copies."""
    positions = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(positions, 0, n - 1)
    if mode == "circular":
        return positions % n
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded < n, folded, period - folded)


class IndexPad(Function):
    """Reflect, replicate or circular padding: along each padded axis y = x[map] for an index map;
    ∂L/∂x sums g over the outputs that copied each input (the interior once, the border a second time)."""

    def forward(self, x, maps):
        steps = []
        for axis, (before, after), positions in maps:
            steps.append((axis, x.shape[axis], before, after))
            x = np.take(x, positions, axis=axis)
        self.steps = tuple(steps)
        self.save_for_backward(*[positions for _, _, positions in maps])
        return x

    def backward(self, g):
        for (axis, n, before, after), positions in zip(reversed(self.steps), reversed(self.saved)):
            lead = (slice(None),) * axis
            grad = g[(*lead, slice(before, before + n))].copy()
            border = np.r_[0:before, before + n : before + n + after]
            np.add.at(grad, (*lead, positions[border]), g[(*lead, border)])
            g = grad
        return (g,)


def pad(x, pad, mode: str = "constant", value=None):
    """Pad ``x`` as ``torch.nn.functional.pad``: ``pad = (left, right)`` for the last dim, then ``(top,
    bottom)`` for the one before, and so on. ``mode`` is ``"constant"`` (fill with ``value``, default 0; negative
    widths crop), ``"reflect"`` (mirror without repeating the edge), ``"replicate"`` (repeat the edge) or
    ``"circular"`` (wrap around); there too a negative width crops, before the others pad."""
    pad = tuple(int(w) for w in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ShapeError(f"pad: padding {pad} must hold an even number of sizes, two per dim of shape {x.shape}")
    pairs = [(pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)]
    axes = [x.ndim - 1 - k for k in range(len(pairs))]
    if mode == "constant":
        widths = [(0, 0)] * x.ndim
        for axis, pair in zip(axes, pairs):
            widths[axis] = pair
        return ConstantPad.apply(x, widths=tuple(widths), value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if any(w < 0 for w in pad):  # a negative width crops first, then the rest pads the cropped tensor (PyTorch's)
        crop = [slice(None)] * x.ndim
        for axis, (before, after) in zip(axes, pairs):
            crop[axis] = slice(max(-before, 0), x.shape[axis] - max(-after, 0))
        x, pairs = x[tuple(crop)], [(max(before, 0), max(after, 0)) for before, after in pairs]
    maps = []
    for axis, (before, after) in zip(axes, pairs):
        n = x.shape[axis]
        limit = n - 1 if mode == "reflect" else n
        if (before or after) and ((mode != "replicate" and (before > limit or after > limit)) or n == 0):
            raise ShapeError(
                f"pad: {mode} padding ({before}, {after}) does not fit dim {axis} of size {n} (shape {x.shape}); "
                f"widths must be {'below' if mode == 'reflect' else 'at most'} the size"
            )
        if before or after:
            maps.append((axis, (before, after), _padding_map(mode, n, before, after)))
    return IndexPad.apply(x, maps=tuple(maps))


# --------------------------------------------------------------------------------------------- copies and casts
class Clone(Function):
    """y = a copy of x (C-contiguous);  ∂L/∂x = g."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)


class Cast(Function):
    """y = x converted to another floating dtype;  ∂L/∂x = g converted back to x's dtype."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.dtype, copy=False),)


def clone(x):
    """A differentiable copy: same values, own memory."""
    return Clone.apply(x)


def contiguous(x):
    """``x`` itself if its array is C-contiguous, else a contiguous copy."""
    return x if x.data.flags.c_contiguous else Clone.apply(x)


def _target_dtype(args, dtype, device):
    for arg in (*args, device):
        if arg is None:
            continue
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps", "meta"):
            if not arg.startswith("cpu"):
                raise ValueError(f"to: neurones runs on the CPU only, got device {arg!r}")
        else:
            dtype = arg
    return None if dtype is None else as_dtype(dtype)


def to(x, *args, dtype=None, device=None, non_blocking: bool = False, copy: bool = False):
    """``x`` converted to a dtype (``x.to(float64)``, ``x.to(other)``, ``x.to("cpu", float64)``).

    Returns ``x`` itself when nothing changes (unless ``copy``). A cast between floating dtypes is
    differentiable; a cast to an integer or boolean dtype gives a tensor without gradient, as in PyTorch.
    """
    target = _target_dtype(args, dtype, device)
    if target is None or target == x.dtype:
        return Clone.apply(x) if copy else x
    if not is_floating(target):
        return _wrap(x.data.astype(target))
    return Cast.apply(x, dtype=target)


def convert_type(x, dtype=None):
    """``x.type(dtype)``: ``x`` converted to ``dtype`` (see ``to``); without a dtype, the name of its own."""
    return x.dtype.name if dtype is None else to(x, dtype)


class Unfold(Function):
    """y[..., j, ..., k] = x[..., j·step + k, ...]: the windows of ``size`` along ``axis``, ``step`` apart, on a
    new last axis;  ∂L/∂x sums g back over every window an entry belongs to."""

    def forward(self, x, axis, size, step):
        self.axis, self.size, self.step, self.shape = axis, size, step, x.shape
        windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=axis)
        return np.ascontiguousarray(windows[(slice(None),) * axis + (slice(None, None, step),)])

    def backward(self, g):
        grad = np.zeros(self.shape, g.dtype)
        count = g.shape[self.axis]
        for k in range(self.size):  # offset k of every window at once
            target = (slice(None),) * self.axis + (slice(k, k + (count - 1) * self.step + 1, self.step),)
            grad[target] += g[..., k]
        return (grad,)


def unfold(x, dimension: int, size: int, step: int):
    """``x.unfold(dimension, size, step)``: every window of ``size`` entries along ``dimension``, ``step`` apart,
    on a new last axis (a view in PyTorch, a copy here)."""
    axis = canonical_dim(dimension, x.shape, "unfold") if x.ndim else 0
    length = x.shape[axis] if x.ndim else 1
    if size < 0 or size > length or step <= 0:
        raise ShapeError(f"unfold: size {size} and step {step} do not fit dim {dimension} of size {length} "
                         f"(shape {x.shape}); need 0 ≤ size ≤ {length} and step > 0")  # fmt: skip
    if x.ndim == 0:
        return reshape(x, (1,))
    return Unfold.apply(x, axis=axis, size=size, step=step)


def cast_method(name: str, dtype):
    """The method ``x.<name>()`` converting to ``dtype``, as PyTorch's ``x.float()``, ``x.double()``..."""
    dtype = np.dtype(dtype)

    def cast(self):
        return to(self, dtype)

    cast.__name__ = cast.__qualname__ = name
    cast.__doc__ = f"This tensor converted to {dtype.name} (itself if it already is); see ``to``."
    return cast

"""Per-example gradients ∇_θ ℓ(f(xᵢ; θ), yᵢ) for every example of a batch, from one backward pass.

For a loss L = Σᵢ ℓᵢ summed over examples that the network processes independently, a linear layer z = W a + b
sees, for example i, the input aᵢ and the output cotangent δᵢ = ∂L/∂zᵢ = ∂ℓᵢ/∂zᵢ. The example's own gradient is
then the outer product

    ∂ℓᵢ/∂W = δᵢ aᵢᵀ  (summed over positions for sequences and images: Σₚ δᵢₚ aᵢₚᵀ),    ∂ℓᵢ/∂b = Σₚ δᵢₚ,

which is what the layer's weight gradient sums over i. Capturing aᵢ in forward and δᵢ in backward (the technique of
BackPACK and Opacus) gives all n gradients at the cost of one backward pass and n small products, instead of n
backward passes. A convolution is a linear layer on the windows of its input (:func:`im2col_reference`):
∂ℓᵢ/∂W = δᵢ colsᵢᵀ per group.

``Linear``, ``Conv1d`` and ``Conv2d`` are batched this way. The parameters of any other layer fall back to a
loop of one forward and backward pass per example. Layers that mix examples (``BatchNorm`` in training mode)
have no per-example gradient in this sense; the loop then gives the gradient of each example run alone.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from neurones.autodiff.function import Function
from neurones.autodiff.grad_mode import enable_grad, no_grad
from neurones.autodiff.tensor import Tensor
from neurones.func.functional_call import functional_call
from neurones.nn.conv import Conv1d, Conv2d
from neurones.nn.linear import Linear
from neurones.ops.convolution import im2col_reference
from neurones.ops.shape import pad

BATCHED_LAYERS = (Linear, Conv1d, Conv2d)
_THREADED_BYTES = 16 << 20  # below this, starting threads costs more than a second core saves


def _linear_grads(a: np.ndarray, delta: np.ndarray) -> tuple:
    """(∂ℓᵢ/∂W, ∂ℓᵢ/∂b) for every i from the inputs a (n, …, in) and output cotangents δ (n, …, out)."""
    if a.ndim == 2:
        return _outer_products(delta, a), delta.copy()
    n = a.shape[0]
    a3, d3 = a.reshape(n, -1, a.shape[-1]), delta.reshape(n, -1, delta.shape[-1])
    return np.matmul(d3.transpose(0, 2, 1), a3), d3.sum(axis=1)


def _outer_products(delta: np.ndarray, a: np.ndarray) -> np.ndarray:
    """W[i] = δᵢ aᵢᵀ for every example i: an (n, out, in) array written once.

    The work is writing n·out·in numbers (205 MB for the benchmark's 784-256 layer at n = 256), which one core
    does at a fraction of the memory bandwidth: the examples are split between two threads (NumPy's multiply
    releases the GIL), 44 → 23 ms there. Each entry is one product, so the split changes no bit. A batch of
    matrix products with an inner size of 1 (``np.matmul``) was measured at 83 ms.
    """
    out = _output((a.shape[0], delta.shape[1], a.shape[1]), np.result_type(delta, a))
    half = (a.shape[0] + 1) // 2
    if out.nbytes < _THREADED_BYTES or half == 0:
        return np.multiply(delta[:, :, None], a[:, None, :], out=out)
    parts = [slice(0, half), slice(half, None)]
    with ThreadPoolExecutor(len(parts)) as pool:
        for done in [pool.submit(np.multiply, delta[p, :, None], a[p, None, :], out=out[p]) for p in parts]:
            done.result()
    return out


_REUSABLE: dict = {}  # (shape, dtype) → the last large output, reused once nothing outside this module holds it
_ONLY_HERE = 3  # references to a reusable buffer when nobody else has it: the dict, the local name, getrefcount's


def _output(shape: tuple, dtype) -> np.ndarray:
    """An uninitialized array for the outer products. A large one (≥ 16 MB) comes back from the previous call
    when the caller has let go of it and of every view of it (a view holds its base, so any view or slice still
    alive raises the count), which saves the page faults and the kernel's zeroing of fresh memory: 17.5 → 13.8 ms
    for the benchmark's 205 MB. The buffer stays resident between calls, as PyTorch's caching allocator keeps its
    blocks."""
    dtype = np.dtype(dtype)
    if int(np.prod(shape)) * dtype.itemsize < _THREADED_BYTES:
        return np.empty(shape, dtype)
    buffer = _REUSABLE.get((shape, dtype))
    if buffer is not None and sys.getrefcount(buffer) <= _ONLY_HERE:
        return buffer
    buffer = _REUSABLE[(shape, dtype)] = np.empty(shape, dtype)
    return buffer


def _conv_grads(layer, a: np.ndarray, delta: np.ndarray) -> tuple:
    """(∂ℓᵢ/∂W, ∂ℓᵢ/∂b) of a Conv1d/Conv2d from its inputs a (n, C, [H,] W) and output cotangents δ."""
    if isinstance(layer, Conv1d):
        a, delta = a[:, :, None, :], delta[:, :, None, :]
        kernel, stride, dilation = (1, *layer.kernel_size), (1, *layer.stride), (1, *layer.dilation)
    else:
        kernel, stride, dilation = layer.kernel_size, layer.stride, layer.dilation
    mode = "constant" if layer.padding_mode == "zeros" else layer.padding_mode
    with no_grad():  # the padding the layer applies, as F.pad widths of the last spatial dims
        ap = pad(Tensor(a), layer._pad_widths, mode=mode).data
    cols = im2col_reference(ap, kernel, stride, dilation)
    n = cols.shape[0]
    groups, out = layer.groups, delta.shape[1]
    cols = cols.reshape(n, groups, -1, cols.shape[-2] * cols.shape[-1])  # (n, G, Cg·kh·kw, positions)
    d = delta.reshape(n, groups, out // groups, -1)  # (n, G, Og, positions)
    weight = np.matmul(d, cols.transpose(0, 1, 3, 2)).reshape(n, *layer.weight.shape)
    return weight, delta.reshape(n, out, -1).sum(axis=2)


class _CaptureCotangent(Function):
    """y = z: the output of a batched layer, whose backward hands (the layer, its input, ∂L/∂z) to ``consume``.

    :func:`per_sample_grads` turns them into per-example gradients; :class:`~neurones.func.PerExampleJacobian`
    keeps them as the factors of each example's Jacobian."""

    def forward(self, z, *, layer, layer_input, consume):
        self.layer, self.consume = layer, consume
        self.save_for_backward(layer_input)
        return z

    def backward(self, g):
        (a,) = self.saved
        self.consume(self.layer, a, g)
        return (g,)


def layer_grads(layer, a: np.ndarray, delta: np.ndarray) -> tuple:
    """(∂ℓᵢ/∂W, ∂ℓᵢ/∂b) for every example i of a batched layer, from its input a and output cotangent δ.

    A layer that multiplies its parameters in forward (``NTKLinear``: z = s_w·W a + s_b·b) declares the factors as
    ``weight_multiplier``/``bias_multiplier``; the gradients are the plain layer's times them."""
    weight, bias = _linear_grads(a, delta) if isinstance(layer, Linear) else _conv_grads(layer, a, delta)
    s_w, s_b = getattr(layer, "weight_multiplier", 1.0), getattr(layer, "bias_multiplier", 1.0)
    return (weight if s_w == 1.0 else weight * s_w), (bias if s_b == 1.0 else bias * s_b)


def capture_batched_layers(layers, consume) -> list:
    """Forward hooks on ``layers`` (``BATCHED_LAYERS``) that pass (layer, input, cotangent) to ``consume`` in every
    backward pass; remove the returned handles when done."""

    def capture(layer, args, output):
        return _CaptureCotangent.apply(output, layer=layer, layer_input=args[0].data, consume=consume)

    return [layer.register_forward_hook(capture) for layer in layers]


def batched_owners(model) -> dict:
    """id(parameter) → (layer, "weight" | "bias") for the parameters of the model's batched layers."""
    owners = {}
    for layer in model.modules():
        if isinstance(layer, BATCHED_LAYERS):
            for attribute in ("weight", "bias"):
                parameter = getattr(layer, attribute)
                if parameter is not None:
                    owners[id(parameter)] = (layer, attribute)
    return owners


def per_sample_grads(model, loss_fn, inputs, targets) -> dict[str, np.ndarray]:
    """The gradient of each example's loss with respect to every parameter: ``{name: array (n, *shape)}``.

    ``loss_fn(outputs, targets)`` must return the *sum* of the per-example losses (``reduction="sum"``), so that
    ∂L/∂zᵢ is example i's own cotangent; the model must process examples independently (see the module
    docstring). The model's parameters and their ``.grad`` are left untouched. ``Linear`` and ``Conv1d/2d``
    parameters come from one batched backward pass; others from a loop over the examples (documented above).
    """
    inputs = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs))
    targets = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets))
    n = inputs.shape[0]
    named = dict(model.named_parameters())
    owners = batched_owners(model)
    batched = {name: owners[id(p)] for name, p in named.items() if id(p) in owners}
    result = {}
    if batched:
        result.update(_batched(model, loss_fn, inputs, targets, named, batched))
    looped = [name for name in named if name not in batched]
    if looped:
        result.update(_looped(model, loss_fn, inputs, targets, named, looped, n))
    return {name: result[name] for name in named}


def _batched(model, loss_fn, inputs, targets, named, batched) -> dict:
    sink: dict = {}

    def accumulate(layer, a, g):
        for name, value in zip(("weight", "bias"), layer_grads(layer, a, g)):
            key = (layer, name)
            sink[key] = sink[key] + value if key in sink else value

    layers = {layer for layer, _ in batched.values()}
    handles = capture_batched_layers(layers, accumulate)
    # The batch's summed weight gradients are not wanted, only the cotangents δ: a batched layer's output needs
    # one leaf that requires grad for the graph to reach it, so its bias (a sum over the batch) carries that role
    # and its weight (a δᵀa product as costly as a layer's forward) stays out of the backward pass.
    frozen = {id(layer.weight) for layer in layers if layer.bias is not None}
    try:
        leaves = {name: p.detach().requires_grad_(id(p) not in frozen) for name, p in named.items()}
        with enable_grad():
            loss = loss_fn(functional_call(model, leaves, (inputs,)), targets)
            loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    return {name: sink[key].astype(named[name].dtype, copy=False) for name, key in batched.items()}


def _looped(model, loss_fn, inputs, targets, named, names, n: int) -> dict:
    grads = {name: np.zeros((n, *named[name].shape), named[name].dtype) for name in names}
    for i in range(n):
        leaves = {name: p.detach().requires_grad_(True) for name, p in named.items()}
        with enable_grad():
            loss = loss_fn(functional_call(model, leaves, (inputs[i : i + 1],)), targets[i : i + 1])
            loss.backward()
        for name in names:
            if leaves[name].grad is not None:
                grads[name][i] = leaves[name].grad.data
    return grads

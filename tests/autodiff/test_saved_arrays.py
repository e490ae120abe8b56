"""Every op registers what it keeps for backward, and the engine checks every registered array.

The cases below run each ``Function`` subclass of the library once (a test fails when a new op has no case). For
each node it checks that no array is kept as a free attribute, then that a write into the memory of each saved
array after the forward makes backward raise ``InplaceError``, whether the write comes through a tensor the user
holds (an input, the output, a view of them) or lands on memory private to the node.
"""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
import neurones.functional as F
from neurones import nn
from neurones.analysis.ntk import linearize
from neurones.autodiff.function import MODIFIED, AccumulateGrad, Function
from neurones.errors import InplaceError
from neurones.func.per_sample import _CaptureCotangent
from neurones.ops.residual import residual_block
from tests.helpers import leaf


def _x(*shape, low=0.5, high=1.5, seed=0):
    return leaf(np.random.default_rng(seed).uniform(low, high, shape))


def _const(array):
    return nr.tensor(np.array(array, dtype=np.float64))


def _hooked(module, x):
    """``module(x)`` with a backward hook, and the input as the hooked module saw it (an identity node's output)."""
    seen = []
    module.register_full_backward_hook(lambda *args: None)
    module.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    return module(x), seen[0]


def _captured(x):
    layer = nn.Linear(3, 2, rng=0).double()
    z = layer(x)
    return _CaptureCotangent.apply(z, layer=layer, layer_input=x.data, consume=lambda *args: None)


def _linearized():
    """A linearized network's output and its first parameter (the node saves no array: J₀ is fixed)."""
    lin = linearize(nn.Sequential(nn.Linear(3, 2, rng=0), nn.Tanh(), nn.Linear(2, 1, rng=1)).double())
    return lin(_x(4, 3)), [next(iter(lin.parameters()))]


def case(*steps):
    """The last of ``steps``: the earlier ones bind the inputs (``x := ...``) that the last one uses."""
    return steps[-1]


# Each case returns (output, the tensors the user holds); the output's grad_fn is the node under test.
CASES = {
    "Sigmoid": lambda: case(x := _x(3), (x.sigmoid(), [x])),
    "Tanh": lambda: case(x := _x(3), (x.tanh(), [x])),
    "ReLU": lambda: case(x := _x(3, low=-1), (F.relu(x), [x])),
    "LeakyReLU": lambda: case(x := _x(3, low=-1), (F.leaky_relu(x, 0.1), [x])),
    "ELU": lambda: case(x := _x(3, low=-1), (F.elu(x), [x])),
    "GELU": lambda: case(x := _x(3, low=-1), (F.gelu(x), [x])),
    "GELUTanh": lambda: case(x := _x(3, low=-1), (F.gelu(x, approximate="tanh"), [x])),
    "Softplus": lambda: case(x := _x(3, low=-1), (F.softplus(x), [x])),
    "SiLU": lambda: case(x := _x(3, low=-1), (F.silu(x), [x])),
    "Arctan": lambda: case(x := _x(3, low=-1), (x.arctan(), [x])),
    "Hardtanh": lambda: case(x := _x(3, low=-2, high=2), (F.hardtanh(x), [x])),
    "Softmax": lambda: case(x := _x(2, 3), (F.softmax(x, dim=1), [x])),
    "LogSoftmax": lambda: case(x := _x(2, 3), (F.log_softmax(x, dim=1), [x])),
    "Abs": lambda: case(x := _x(3, low=-1), (x.abs(), [x])),
    "Add": lambda: case(x := _x(3), (x + (c := _const([1.0, 2, 3])), [x, c])),
    "Sub": lambda: case(x := _x(3), (x - (c := _const([1.0, 2, 3])), [x, c])),
    "Mul": lambda: case(x := _x(3), (x * (c := _const([1.0, 2, 3])), [x, c])),
    "Div": lambda: case(x := _x(3), (x / (c := _const([1.0, 2, 3])), [x, c])),
    "Pow": lambda: case(x := _x(3), (x ** (c := _const([1.0, 2, 3])), [x, c])),
    "Maximum": lambda: case(x := _x(3), (F.maximum(x, c := _const([1.0, 1, 1])), [x, c])),
    "Minimum": lambda: case(x := _x(3), (F.minimum(x, c := _const([1.0, 1, 1])), [x, c])),
    "Where": lambda: case(x := _x(3), (nr.where(_const([1, 0, 1]) > 0, x, c := _const([0.0, 0, 0])), [x, c])),
    "AddScalar": lambda: case(x := _x(3), (x + 2.0, [x])),
    "SubScalar": lambda: case(x := _x(3), (x - 2.0, [x])),
    "RSubScalar": lambda: case(x := _x(3), (2.0 - x, [x])),
    "MulScalar": lambda: case(x := _x(3), (x * 2.0, [x])),
    "DivScalar": lambda: case(x := _x(3), (x / 2.0, [x])),
    "RDivScalar": lambda: case(x := _x(3), (1.0 / x, [x])),
    "PowScalar": lambda: case(x := _x(3), (x**3.0, [x])),
    "RPowScalar": lambda: case(x := _x(3), (2.0**x, [x])),
    "Neg": lambda: case(x := _x(3), (-x, [x])),
    "Exp": lambda: case(x := _x(3), (x.exp(), [x])),
    "Expm1": lambda: case(x := _x(3), (x.expm1(), [x])),
    "Log": lambda: case(x := _x(3), (x.log(), [x])),
    "Log1p": lambda: case(x := _x(3), (x.log1p(), [x])),
    "Sqrt": lambda: case(x := _x(3), (x.sqrt(), [x])),
    "Sign": lambda: case(x := _x(3, low=-1), (x.sign(), [x])),
    "Clamp": lambda: case(x := _x(3, low=0, high=2), (x.clamp(0.5, 1.5), [x])),
    "MatMul": lambda: case(x := _x(2, 3), (x @ (w := _x(3, 4, seed=1)), [x, w])),
    "Linear": lambda: case(x := _x(2, 3), (F.linear(x, w := _x(4, 3, seed=1), b := _x(4, seed=2)), [x, w, b])),
    "Conv2d": lambda: case(x := _x(1, 2, 4, 4), (F.conv2d(x, w := _x(3, 2, 3, 3, seed=1), padding=1), [x, w])),
    "Conv1d": lambda: case(x := _x(1, 2, 5), (F.conv1d(x, w := _x(3, 2, 3, seed=1)), [x, w])),
    "BasicIndex": lambda: case(x := _x(3, 4), (x[1:, ::2], [x])),
    "AdvancedIndex": lambda: case(x := _x(3, 4), (x[i := nr.tensor(np.array([0, 2]))], [x, i])),
    "Gather": lambda: case(x := _x(3, 4), (nr.gather(x, 1, i := nr.tensor(np.array([[0], [1], [3]]))), [x, i])),
    "MSELoss": lambda: case(x := _x(3), (F.mse_loss(x, t := _const([1.0, 2, 3])), [x, t])),
    "CrossEntropy": lambda: case(x := _x(2, 3), (F.cross_entropy(x, t := nr.tensor(np.array([0, 2]))), [x, t])),
    "CrossEntropyProbs": lambda: case(x := _x(2, 3), (F.cross_entropy(x, q := _x(2, 3, seed=1)), [x, q])),
    "NLLLoss": lambda: case(x := _x(2, 3), (F.nll_loss(x, t := nr.tensor(np.array([0, 2]))), [x, t])),
    "BinaryCrossEntropyWithLogits": lambda: case(x := _x(3), (
        F.binary_cross_entropy_with_logits(x, t := _const([0.0, 1, 0.5])),
        [x, t],
    )),
    "BinaryCrossEntropy": lambda: case(x := _x(3, low=0.1, high=0.9), (
        F.binary_cross_entropy(x, t := _const([0.0, 1, 0.5])),
        [x, t],
    )),
    "BatchNorm": lambda: case(x := _x(4, 2), (F.batch_norm(x, None, None, w := _x(2, seed=1), training=True), [x, w])),
    "LayerNorm": lambda: case(x := _x(2, 3), (F.layer_norm(x, (3,), w := _x(3, seed=1)), [x, w])),
    "GroupNorm": lambda: case(x := _x(2, 4, 3), (F.group_norm(x, 2, w := _x(4, seed=1)), [x, w])),
    "MaxPool2d": lambda: case(x := _x(1, 1, 4, 4), (F.max_pool2d(x, 2), [x])),
    "MaxPool1d": lambda: case(x := _x(1, 1, 4), (F.max_pool1d(x, 2), [x])),
    "AvgPool2d": lambda: case(x := _x(1, 1, 5, 5), (F.avg_pool2d(x, 3, stride=2, padding=1), [x])),
    "AvgPool1d": lambda: case(x := _x(1, 1, 5), (F.avg_pool1d(x, 3, stride=2, padding=1), [x])),
    "AdaptiveAvgPool2d": lambda: case(x := _x(1, 1, 5, 5), (F.adaptive_avg_pool2d(x, 2), [x])),
    "AdaptiveAvgPool1d": lambda: case(x := _x(1, 1, 5), (F.adaptive_avg_pool1d(x, 2), [x])),
    "SumAll": lambda: case(x := _x(3), (x.sum(), [x])),
    "Sum": lambda: case(x := _x(2, 3), (x.sum(dim=1), [x])),
    "Mean": lambda: case(x := _x(2, 3), (x.mean(dim=1), [x])),
    "Var": lambda: case(x := _x(2, 3), (x.var(dim=1), [x])),
    "Std": lambda: case(x := _x(2, 3), (x.std(dim=1), [x])),
    "Amax": lambda: case(x := _x(2, 3), (x.amax(dim=1), [x])),
    "Amin": lambda: case(x := _x(2, 3), (x.amin(dim=1), [x])),
    "LogSumExp": lambda: case(x := _x(2, 3), (x.logsumexp(dim=1), [x])),
    "VectorNorm": lambda: case(x := _x(2, 3), (x.norm(dim=1), [x])),
    "Prod": lambda: case(x := _x(2, 3), (x.prod(dim=1), [x])),
    "Dropout": lambda: case(x := _x(4), (F.dropout(x, 0.5, rng=0), [x])),
    "ResidualBlock": lambda: case(h := _x(2, 3), (
        residual_block(h, v := _x(3, 3, seed=1), w := _x(3, 3, seed=2), activation="gelu"),
        [h, v, w],
    )),
    "Reshape": lambda: case(x := _x(2, 3), (x.reshape(3, 2), [x])),
    "Transpose": lambda: case(x := _x(2, 3), (x.transpose(0, 1), [x])),
    "Permute": lambda: case(x := _x(2, 3), (x.permute(1, 0), [x])),
    "Expand": lambda: case(x := _x(1, 3), (x.expand(2, 3), [x])),
    "Cat": lambda: case(x := _x(2), (nr.cat([x, c := _const([1.0])]), [x, c])),
    "Stack": lambda: case(x := _x(2), (nr.stack([x, c := _const([1.0, 2])]), [x, c])),
    "ConstantPad": lambda: case(x := _x(3), (F.pad(x, (1, 1)), [x])),
    "IndexPad": lambda: case(x := _x(1, 4), (F.pad(x, (1, 1), mode="reflect"), [x])),
    "Clone": lambda: case(x := _x(3), (x.clone(), [x])),
    "Cast": lambda: case(x := _x(3), (x.float(), [x])),
    "Sin": lambda: case(x := _x(3), (x.sin(), [x])),
    "Cos": lambda: case(x := _x(3), (x.cos(), [x])),
    "Erf": lambda: case(x := _x(3), (x.erf(), [x])),
    "Rsqrt": lambda: case(x := _x(3), (x.rsqrt(), [x])),
    "Log2": lambda: case(x := _x(3), (x.log2(), [x])),
    "Log10": lambda: case(x := _x(3), (x.log10(), [x])),
    "Exp2": lambda: case(x := _x(3), (x.exp2(), [x])),
    "Step": lambda: case(x := _x(3, low=-2, high=2), (x.floor(), [x])),
    "Tan": lambda: case(x := _x(3), (x.tan(), [x])),
    "Asin": lambda: case(x := _x(3, low=-0.9, high=0.9), (x.asin(), [x])),
    "Acos": lambda: case(x := _x(3, low=-0.9, high=0.9), (x.acos(), [x])),
    "Sinh": lambda: case(x := _x(3), (x.sinh(), [x])),
    "Cosh": lambda: case(x := _x(3), (x.cosh(), [x])),
    "Asinh": lambda: case(x := _x(3), (x.asinh(), [x])),
    "Acosh": lambda: case(x := _x(3, low=1.5, high=3), (x.acosh(), [x])),
    "Atanh": lambda: case(x := _x(3, low=-0.9, high=0.9), (x.atanh(), [x])),
    "CopySign": lambda: case(x := _x(3), (x.copysign(s := _const([1.0, -1, -0.0])), [x, s])),
    "LogAddExp": lambda: case(x := _x(3), (x.logaddexp(y := _x(3, seed=1)), [x, y])),
    "CumExtremum": lambda: case(x := _x(2, 3), (x.cummax(dim=1).values, [x])),
    "LogCumSumExp": lambda: case(x := _x(2, 3), (x.logcumsumexp(dim=1), [x])),
    "ScatterReduce": lambda: case(x := _x(4), (
        x.scatter_reduce(0, i := nr.tensor(np.array([0, 0, 3])), s := _x(3, seed=1), "prod"),
        [x, i, s],
    )),
    "Unfold": lambda: case(x := _x(2, 5), (x.unfold(1, 2, 2), [x])),
    "Hardswish": lambda: case(x := _x(3, low=-4, high=4), (F.hardswish(x), [x])),
    "CumSum": lambda: case(x := _x(2, 3), (x.cumsum(dim=1), [x])),
    "CumProd": lambda: case(x := _x(2, 3), (x.cumprod(dim=1), [x])),
    "Repeat": lambda: case(x := _x(2, 3), (x.repeat(2, 1), [x])),
    "Einsum": lambda: case(x := _x(2, 3), (nr.einsum("ij,jk->ik", x, w := _x(3, 4, seed=1)), [x, w])),
    "Scatter": lambda: case(x := _x(2, 3), (
        nr.scatter(x, 1, i := nr.tensor(np.array([[0], [2]])), s := _x(2, 1, seed=1)),
        [x, i, s],
    )),
    "ConvTranspose2d": lambda: case(x := _x(1, 2, 3, 3), (
        F.conv_transpose2d(x, w := _x(2, 3, 3, 3, seed=1), stride=2),
        [x, w],
    )),
    "_HookedOutput": lambda: case(x := _x(3), (_hooked(nn.Tanh(), x)[0], [x])),
    "_HookedInput": lambda: case(x := _x(3), (_hooked(nn.Tanh(), x)[1], [x])),
    "_CaptureCotangent": lambda: case(x := _x(4, 3), (_captured(x), [x])),
    "_LinearizedOutput": _linearized,
}


def _library_functions() -> set[str]:
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {
        cls.__name__
        for cls in subclasses(Function)
        if cls.__module__.startswith("neurones.") and cls is not AccumulateGrad and cls.__name__ not in ABSTRACT
    }


ABSTRACT = {"_OfInput"}  # a base whose subclasses (Tan, Asin...) are the cases; it computes nothing itself


def test_every_function_of_the_library_has_a_case():
    nn.Linear(1, 1)  # import every layer's module, so that every op module is loaded
    assert _library_functions() <= set(CASES)


def _run(name):
    out, held = CASES[name]()
    node = out.grad_fn
    assert type(node).__name__ == name
    return out, held, node


def _backward(out):
    out.backward(np.ones(out.shape))


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_array_is_kept_as_a_free_attribute(name):
    _, _, node = _run(name)
    for attribute, value in vars(node).items():
        if attribute == "saved":
            continue
        values = value if isinstance(value, (tuple, list)) else (value,)
        assert not any(isinstance(v, np.ndarray) for v in values), f"{name}.{attribute} keeps an array"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_write_into_any_saved_array_makes_backward_raise(name):
    _, _, node = _run(name)
    for index in range(len(node.saved)):
        if not isinstance(node.saved[index], np.ndarray):
            continue
        out, _, node = _run(name)
        MODIFIED.mark(node.saved[index])
        with pytest.raises(InplaceError, match=rf"{name}: saved array {index}"):
            _backward(out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_write_through_a_tensor_sharing_a_saved_array_makes_backward_raise(name):
    out, held, node = _run(name)
    for position, tensor in enumerate([out, *held]):
        if not any(isinstance(a, np.ndarray) and np.shares_memory(a, tensor.data) for a in node.saved):
            continue
        out, held, node = _run(name)
        target = [out, *held][position]
        with nr.no_grad():
            target.view(-1)[:1].mul_(3) if target.dtype.kind == "f" else target.view(-1)[:1].add_(1)
        with pytest.raises(InplaceError):
            _backward(out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_write_into_memory_no_saved_array_uses_is_harmless(name):
    reference, reference_held, _ = _run(name)
    _backward(reference)
    out, held, node = _run(name)
    for tensor in held:
        if not any(isinstance(a, np.ndarray) and np.shares_memory(a, tensor.data) for a in node.saved):
            MODIFIED.mark(tensor.data)
    _backward(out)
    np.testing.assert_array_equal(held[0].grad.data, reference_held[0].grad.data)


def test_regression_saved_outputs_modified_in_place_raise():
    x = leaf([0.5, 1.0])
    y = 2.0**x
    with nr.no_grad():
        y.mul_(3)
    with pytest.raises(InplaceError, match="RPowScalar"):
        y.sum().backward()
    y = 1.0 / x
    with nr.no_grad():
        y.mul_(3)
    with pytest.raises(InplaceError, match="RDivScalar"):
        y.sum().backward()
    w = leaf([2.0, 3.0])
    y = x**w
    with nr.no_grad():
        y.mul_(3)
    with pytest.raises(InplaceError, match="Pow"):
        y.sum().backward()


def test_a_write_through_a_view_of_a_saved_output_raises():
    x = leaf([0.5, 1.0, 2.0])
    y = x.exp()
    with nr.no_grad():
        y[1:].mul_(2)
    with pytest.raises(InplaceError, match="Exp: saved array 0"):
        y.sum().backward()


def test_an_optimizer_step_between_forward_and_backward_raises():
    model = nn.Linear(3, 2)
    opt = nr.optim.SGD(model.parameters(), lr=0.1)
    loss = model(nr.ones(4, 3)).sum()
    for p in model.parameters():
        p.grad = nr.ones(*p.shape)
    opt.step()
    with pytest.raises(InplaceError, match="Linear"):
        loss.backward()

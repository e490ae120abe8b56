"""Sequential, ModuleList and ModuleDict: registration, forward composition, list and dict behaviour."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import neurones as nr
from neurones import nn


def _linears(n: int) -> list[nn.Linear]:
    return [nn.Linear(2, 2, rng=i) for i in range(n)]


def test_sequential_composes_its_modules():
    first, second = nn.Linear(3, 5, rng=0), nn.Linear(5, 2, rng=1)
    model = nn.Sequential(first, nn.ReLU(), second)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    hidden = np.maximum(x @ first.weight.data.T + first.bias.data, 0)
    expected = hidden @ second.weight.data.T + second.bias.data
    out = model(nr.tensor(x))
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32
    assert nn.Sequential()(out) is out


def test_sequential_from_an_ordered_dict_keeps_names():
    model = nn.Sequential(OrderedDict([("hidden", nn.Linear(3, 4)), ("act", nn.Tanh()), ("out", nn.Linear(4, 1))]))
    assert [name for name, _ in model.named_children()] == ["hidden", "act", "out"]
    assert list(model.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert model.hidden is model[0] and model.out is model[-1]


def test_sequential_indexing_slicing_and_mutation():
    a, b, c, d = _linears(4)
    model = nn.Sequential(a, b, c)
    assert len(model) == 3 and list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [b, c]
    assert [name for name, _ in tail.named_children()] == ["1", "2"]
    with pytest.raises(IndexError, match="out of range"):
        model[3]
    model[1] = d
    assert list(model) == [a, d, c]
    model.append(b)
    assert [name for name, _ in model.named_children()] == ["0", "1", "2", "3"]
    del model[0]
    assert list(model) == [d, c, b] and list(model._modules) == ["0", "1", "2"]
    model.insert(1, a)
    assert list(model) == [d, a, c, b]
    model.insert(4, a)
    assert len(model) == 5
    del model[1:3]
    assert list(model) == [d, b, a]
    assert model.extend([c]) is model and len(model) == 4


POOLS = [
    (nn.MaxPool2d, dict(kernel_size=2)),
    (nn.MaxPool2d, dict(kernel_size=3, stride=1, padding=1)),
    (nn.MaxPool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (nn.MaxPool2d, dict(kernel_size=2, dilation=2)),
    (nn.MaxPool1d, dict(kernel_size=3, stride=2)),
]


@pytest.mark.parametrize(("pool", "options"), POOLS)
def test_fused_relu_max_pool_has_the_same_output_and_gradient(pool, options):
    # Half-integers in [-2, 2]: many ties, zeros and all-negative windows, where the two orders could part.
    rng = np.random.default_rng(0)
    shape = (3, 2, 7, 6) if pool is nn.MaxPool2d else (3, 2, 9)
    x_np = rng.integers(-4, 5, shape) / 2
    g = rng.standard_normal(pool(**options)(nr.tensor(x_np)).shape)
    functional = nr.functional.max_pool2d if pool is nn.MaxPool2d else nr.functional.max_pool1d

    x_model, x_plain = nr.tensor(x_np, requires_grad=True), nr.tensor(x_np, requires_grad=True)
    fused = nn.utils.fuse_relu_max_pool(nn.Sequential(nn.ReLU(), pool(**options)))
    assert len(fused) == 1 and type(fused[0]).__name__ == "ReLUMaxPool" + pool.__name__[-2:]
    out = fused(x_model)
    plain = functional(nr.functional.relu(x_plain), **options)  # ReLU first, as written
    assert type(out.grad_fn).__name__ == "ReLU"  # the fused module applies the ReLU last
    np.testing.assert_array_equal(out.data, plain.data)
    out.backward(nr.tensor(g))
    plain.backward(nr.tensor(g))
    np.testing.assert_array_equal(x_model.grad.data, x_plain.grad.data)
    assert np.count_nonzero(x_model.grad.data) > 0


def test_sequential_runs_its_modules_as_written():
    relu, pool = nn.ReLU(), nn.MaxPool2d(2)
    seen = []
    relu.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    x = nr.tensor(np.arange(16.0).reshape(1, 1, 4, 4) - 8, requires_grad=True)
    out = nn.Sequential(relu, pool)(x)
    assert seen == [(1, 1, 4, 4)]  # the ReLU saw the unpooled input
    assert type(out.grad_fn).__name__ == "MaxPool2d"


def test_fusion_keeps_a_pool_that_returns_indices_and_recurses_into_sequentials():
    inner = nn.Sequential(nn.ReLU(), nn.MaxPool1d(2))
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True), inner)
    fused = nn.utils.fuse_relu_max_pool(model)
    assert [type(m).__name__ for m in fused] == ["ReLU", "MaxPool2d", "Sequential"]
    assert [type(m).__name__ for m in fused[2]] == ["ReLUMaxPool1d"]
    assert [type(m).__name__ for m in model[2]] == ["ReLU", "MaxPool1d"]  # the original is left as it was


def test_module_list_registers_its_items():
    layers = nn.ModuleList(_linears(3))
    assert len(list(layers.parameters())) == 6
    assert [name for name, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    extra = nn.Linear(2, 2)
    layers.append(extra)
    assert layers[-1] is extra and layers[3] is extra and len(layers) == 4
    layers.insert(0, nn.Identity())
    assert isinstance(layers[0], nn.Identity) and layers[4] is extra
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3"] and layers[3] is extra
    sliced = layers[:2]
    assert isinstance(sliced, nn.ModuleList) and len(sliced) == 2
    layers += [nn.ReLU()]
    assert isinstance(layers[-1], nn.ReLU)
    joined = layers + nn.ModuleList([nn.Tanh()])
    assert len(joined) == 6 and isinstance(joined[-1], nn.Tanh)
    layers[0] = nn.Sigmoid()
    assert isinstance(layers[0], nn.Sigmoid)
    with pytest.raises(TypeError, match="iterable"):
        layers.extend(nn.ReLU())
    with pytest.raises(NotImplementedError):
        layers(nr.ones(2))


def test_module_list_in_a_custom_module_is_trained_by_parameters():
    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(_linears(3))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    stack = Stack()
    stack(nr.ones(1, 2)).backward(np.ones((1, 2), dtype=np.float32))
    assert [name for name, p in stack.named_parameters() if p.grad is not None] == [
        f"layers.{i}.{kind}" for i in range(3) for kind in ("weight", "bias")
    ]


def test_module_dict_behaves_like_an_ordered_dict():
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    heads.update([("c", nn.ReLU())])
    heads["d"] = nn.Tanh()
    assert list(heads) == ["a", "b", "c", "d"] and list(heads.keys()) == ["a", "b", "c", "d"]
    assert len(heads) == 4 and "b" in heads and "z" not in heads
    assert [name for name, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert isinstance(heads.pop("c"), nn.ReLU) and "c" not in heads
    del heads["d"]
    assert [k for k, _ in heads.items()] == ["a", "b"] and len(list(heads.values())) == 2
    heads.clear()
    assert len(heads) == 0

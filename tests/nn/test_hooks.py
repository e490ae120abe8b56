"""Module hooks: forward pre-hooks, forward hooks and full backward hooks, against PyTorch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tests.helpers import reference_library

import neurones as nr
from neurones import nn
from neurones.errors import GradientError


def _twin_mlps(torch):
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _arrays(values):
    return [None if v is None else (v.data if isinstance(v, nr.Tensor) else v.detach().numpy()) for v in values]


@pytest.mark.parametrize("input_requires_grad", [False, True])
def test_full_backward_hooks_see_pytorchs_cotangents(input_requires_grad):
    torch = reference_library("torch")
    ours, theirs = _twin_mlps(torch)
    logs = ([], [])
    for model, log in zip((ours, theirs), logs):
        for position in range(3):
            model[position].register_full_backward_hook(
                lambda module, gi, go, position=position, log=log: log.append((position, _arrays(gi), _arrays(go)))
            )
    x = np.random.default_rng(0).standard_normal((5, 3))
    ours(nr.tensor(x, requires_grad=input_requires_grad)).sum().backward()
    with warnings.catch_warnings():  # PyTorch warns that hooks fire at the outputs when no input requires grad
        warnings.simplefilter("ignore", UserWarning)
        theirs(torch.tensor(x, requires_grad=input_requires_grad)).sum().backward()
    assert [entry[0] for entry in logs[0]] == [entry[0] for entry in logs[1]] == [2, 1, 0]
    for (_, gi, go), (_, t_gi, t_go) in zip(*logs):
        for a, b in zip(gi + go, t_gi + t_go):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-12)


def test_forward_hooks_can_replace_arguments_and_outputs_and_handles_remove_them():
    layer = nn.Linear(2, 2, rng=0).double()
    x = nr.tensor(np.ones((1, 2)))
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(args[0].data.copy()) or out * 0)
    np.testing.assert_array_equal(layer(x).data, np.zeros((1, 2)))
    np.testing.assert_array_equal(calls[0], 2 * np.ones((1, 2)))
    pre.remove()
    post.remove()
    expected = x.data @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected)
    with layer.register_forward_hook(lambda m, args, out: out + 1):
        np.testing.assert_allclose(layer(x).data, expected + 1)
    np.testing.assert_allclose(layer(x).data, expected)


def test_a_backward_hook_can_replace_the_input_cotangent():
    layer = nn.Tanh()
    x = nr.tensor(np.array([0.5, -1.0]), requires_grad=True)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0] * 10,))
    layer(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 10 * (1 - np.tanh(x.data) ** 2))


def test_replacing_grad_input_of_a_module_with_two_inputs_is_refused():
    class Product(nn.Module):
        def forward(self, a, b):
            return a * b

    module = Product()
    module.register_full_backward_hook(lambda m, gi, go: gi)
    a = nr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(GradientError, match="one tensor input"):
        module(a, nr.tensor(np.ones(2), requires_grad=True)).sum().backward()


def test_a_module_without_hooks_has_no_hook_registry():
    assert nn.Linear(2, 2)._hooks is None

"""functional_call, vjp, jacrev, grad and grad_and_value against torch.func, in float64."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones import func, nn
from neurones.errors import StateDictError
from tests.helpers import reference_library


def _twin_mlps(torch):
    ours = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def test_functional_call_uses_the_given_tensors_and_leaves_the_module_alone():
    torch = reference_library("torch")
    ours, theirs = _twin_mlps(torch)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    new = {name: rng.standard_normal(p.shape) for name, p in ours.named_parameters()}
    before = {name: p.data.copy() for name, p in ours.named_parameters()}
    leaves = {name: nr.tensor(v, requires_grad=True) for name, v in new.items()}
    out = func.functional_call(ours, leaves, (nr.tensor(x),))
    out.sum().backward()
    t_leaves = {name: torch.tensor(v, requires_grad=True) for name, v in new.items()}
    t_out = torch.func.functional_call(theirs, t_leaves, (torch.tensor(x),))
    t_out.sum().backward()
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12)
    for name in new:
        np.testing.assert_allclose(leaves[name].grad.data, t_leaves[name].grad.numpy(), rtol=1e-12)
        np.testing.assert_array_equal(before[name], ours.state_dict()[name])
    assert all(p.grad is None for p in ours.parameters())


def test_functional_call_with_a_subset_a_tuple_of_dicts_and_strict():
    ours = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).double()
    x = nr.tensor(np.eye(2))
    zero = {"0.weight": nr.zeros(2, 2, dtype="float64")}
    out = func.functional_call(ours, (zero, {"0.bias": nr.ones(2, dtype="float64")}), x)
    np.testing.assert_allclose(out.data, 0.0, atol=1e-6)  # constant rows: batch-normalized to 0
    with pytest.raises(StateDictError, match="missing"):
        func.functional_call(ours, zero, x, strict=True)
    with pytest.raises(StateDictError, match=r"no parameter or buffer '0\.weights'"):
        func.functional_call(ours, {"0.weights": nr.zeros(2, 2)}, x)
    assert ours[0].weight.shape == (2, 2) and float(ours[0].weight.data.std()) > 0  # restored after the errors


def test_vjp_matches_torch_and_can_be_called_twice():
    torch = reference_library("torch")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    v = rng.standard_normal(3)

    def f(x, y):
        return (x * y).tanh().sum(dim=1)

    out, vjp_fn = func.vjp(f, nr.tensor(a), nr.tensor(b))
    t_out, t_vjp = torch.func.vjp(f, torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(out.data, t_out.numpy(), rtol=1e-12)
    for _ in range(2):
        for ours, theirs in zip(vjp_fn(nr.tensor(v)), t_vjp(torch.tensor(v))):
            np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)


def test_jacrev_has_output_then_input_shape_and_matches_torch():
    torch = reference_library("torch")
    rng = np.random.default_rng(2)
    a, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    jac = func.jacrev(lambda x, m: (x @ m).sigmoid(), argnums=(0, 1))(nr.tensor(a), nr.tensor(w))
    t_jac = torch.func.jacrev(lambda x, m: (x @ m).sigmoid(), argnums=(0, 1))(torch.tensor(a), torch.tensor(w))
    assert jac[0].shape == (2, 4, 2, 3) and jac[1].shape == (2, 4, 3, 4)
    for ours, theirs in zip(jac, t_jac):
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-15)
    single = func.jacrev(lambda x: x.exp())(nr.tensor(a[0]))
    np.testing.assert_allclose(single.data, np.diag(np.exp(a[0])), rtol=1e-14)


def test_grad_and_value_returns_torchs_order():
    torch = reference_library("torch")
    x = np.array([0.3, -1.2, 2.0])
    gradient, value = func.grad_and_value(lambda t: (t * t).sum())(nr.tensor(x))
    t_gradient, t_value = torch.func.grad_and_value(lambda t: (t * t).sum())(torch.tensor(x))
    np.testing.assert_allclose(gradient.data, t_gradient.numpy())
    assert value.item() == pytest.approx(t_value.item())
    np.testing.assert_allclose(func.grad(lambda t: (t * t).sum())(nr.tensor(x)).data, 2 * x)

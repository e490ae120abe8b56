"""Per-example Jacobians: rows against torch.func.jacrev, and the factored Gram/JVP/VJP against the dense rows."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones import func, nn
from neurones.errors import ShapeError
from neurones.nn.parameter import Parameter
from tests.helpers import reference_library


class _Scaled(nn.Module):
    """A raw parameter outside any batched layer: f(x) = (x · s) W, so the looped rows are exercised."""

    def __init__(self):
        super().__init__()
        self.s = Parameter(np.array([0.5, -1.5, 2.0]))
        self.W = Parameter(np.arange(6.0).reshape(3, 2) / 5)

    def forward(self, x):
        return nr.tanh(x * self.s) @ self.W


def _torch_rows(torch, theirs, x) -> dict:
    params = {k: v.detach() for k, v in theirs.named_parameters()}
    jac = torch.func.jacrev(lambda p: torch.func.functional_call(theirs, p, (torch.tensor(x),)))(params)
    n = x.shape[0]
    return {name: value.reshape(n, -1, *params[name].shape).numpy() for name, value in jac.items()}


def _copy(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _check_contractions(jac, rng):
    dense = jac.dense()
    flat = np.concatenate([dense[name].reshape(jac.n, jac.k, -1) for name in jac.names], axis=2)
    np.testing.assert_allclose(jac.gram(), np.einsum("iop,jqp->ijoq", flat, flat), rtol=1e-12, atol=1e-12)
    tangents = {name: rng.standard_normal(shape) for name, shape in jac.shapes.items()}
    v = np.concatenate([tangents[name].ravel() for name in jac.names])
    np.testing.assert_allclose(jac.jvp(tangents), flat @ v, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal((jac.n, jac.k))
    expected = np.einsum("io,iop->p", g, flat)
    got = np.concatenate([value.ravel() for value in jac.vjp(g).values()])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_mlp_rows_match_torch_and_the_factored_contractions_match_the_rows():
    torch = reference_library("torch")
    rng = np.random.default_rng(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    ours = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    _copy(ours, theirs)
    x = rng.standard_normal((5, 4))
    jac = func.PerExampleJacobian(ours, x)
    assert (jac.n, jac.k, jac.output_shape) == (5, 3, (5, 3))
    for name, rows in _torch_rows(torch, theirs, x).items():
        np.testing.assert_allclose(jac.dense()[name], rows, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jac.outputs, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    _check_contractions(jac, rng)


def test_conv1d_model_and_a_raw_parameter_module_match_torch():
    torch = reference_library("torch")
    rng = np.random.default_rng(1)
    theirs = torch.nn.Sequential(
        torch.nn.Conv1d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(15, 2)
    ).double()
    ours = nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(15, 2)).double()
    _copy(ours, theirs)
    x = rng.standard_normal((4, 2, 5))
    jac = func.PerExampleJacobian(ours, x)
    for name, rows in _torch_rows(torch, theirs, x).items():
        np.testing.assert_allclose(jac.dense()[name], rows, rtol=1e-11, atol=1e-13)
    _check_contractions(jac, rng)

    scaled = _Scaled()
    x = rng.standard_normal((3, 3))
    jac = func.PerExampleJacobian(scaled, x)
    ts, tw = torch.tensor(scaled.s.data), torch.tensor(scaled.W.data)
    expected = torch.func.jacrev(lambda s, w: torch.tanh(torch.tensor(x) * s) @ w, argnums=(0, 1))(ts, tw)
    np.testing.assert_allclose(jac.dense()["s"], expected[0].numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jac.dense()["W"], expected[1].numpy(), rtol=1e-12, atol=1e-14)
    _check_contractions(jac, rng)


def test_a_linear_layer_on_sequences_and_a_shared_layer_are_exact():
    rng = np.random.default_rng(2)
    layer = nn.Linear(3, 3, rng=0).double()
    shared = nn.Sequential(layer, nn.Tanh(), layer)  # one layer used twice: its rows are the sum of both uses
    x = rng.standard_normal((4, 3))
    jac = func.PerExampleJacobian(shared, x)
    names = [name for name, _ in shared.named_parameters()]
    assert list(jac.names) == names == ["0.weight", "0.bias"]
    for o in range(3):  # central differences of f_o(x_i) in every parameter entry
        for name in names:
            param = dict(shared.named_parameters())[name]
            numeric = np.zeros((4, *param.shape))
            for index in np.ndindex(param.shape):
                saved = param.data[index]
                param.data[index] = saved + 1e-6
                plus = shared(nr.tensor(x)).data[:, o]
                param.data[index] = saved - 1e-6
                minus = shared(nr.tensor(x)).data[:, o]
                param.data[index] = saved
                numeric[(slice(None), *index)] = (plus - minus) / 2e-6
            np.testing.assert_allclose(jac.dense()[name][:, o], numeric, atol=1e-8)
    sequence = nn.Sequential(nn.Linear(3, 2, rng=1), nn.Flatten()).double()
    _check_contractions(func.PerExampleJacobian(sequence, rng.standard_normal((2, 4, 3))), rng)


def test_frozen_parameters_are_left_out_and_bad_input_is_named():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 1, rng=1)).double()
    model[0].weight.requires_grad_(False)
    jac = func.PerExampleJacobian(model, np.ones((2, 3)))
    assert jac.names == ("0.bias", "2.weight", "2.bias")
    assert jac.k == 1
    with pytest.raises(ShapeError, match=r"PerExampleJacobian\.jvp: tangent '2\.weight'"):
        jac.jvp({"2.weight": np.zeros(3)})
    with pytest.raises(ShapeError, match=r"PerExampleJacobian\.vjp: cotangent of shape"):
        jac.vjp(np.zeros((3, 1)))
    with pytest.raises(ShapeError, match="non-empty batch"):
        func.PerExampleJacobian(model, np.ones((0, 3)))
    with pytest.raises(ValueError, match="no parameter that requires grad"):
        func.PerExampleJacobian(nn.ReLU(), np.ones((2, 3)))
    with pytest.raises(KeyError, match="no parameters"):
        func.PerExampleJacobian(model, np.ones((2, 3)), params={"nope": np.zeros(1)})

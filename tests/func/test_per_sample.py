"""Per-example gradients against torch.func.vmap(torch.func.grad(...)), in float64."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
import neurones.functional as F
from neurones import func, nn
from tests.helpers import reference_library


def _torch_per_sample(torch, theirs, loss, x, t):
    params = {k: v.detach() for k, v in theirs.named_parameters()}

    def one(p, xi, ti):
        out = torch.func.functional_call(theirs, p, (xi[None],))
        return loss(out, ti[None])

    return torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))(params, torch.tensor(x), torch.tensor(t))


def _compare(ours, theirs, torch, x, t, ours_loss, their_loss, rtol=1e-10):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    grads = func.per_sample_grads(ours, ours_loss, nr.tensor(x), nr.tensor(t))
    expected = _torch_per_sample(torch, theirs, their_loss, x, t)
    assert list(grads) == [name for name, _ in ours.named_parameters()]
    for name, value in grads.items():
        np.testing.assert_allclose(value, expected[name].numpy(), rtol=rtol, atol=1e-12)
    assert all(p.grad is None for p in ours.parameters())


def test_mlp_with_cross_entropy():
    torch = reference_library("torch")
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    ours = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 3)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3)).double()
    _compare(
        ours, theirs, torch, x, t,
        lambda o, y: F.cross_entropy(o, y, reduction="sum"),
        lambda o, y: torch.nn.functional.cross_entropy(o, y, reduction="sum"),
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda nn_: nn_.Conv2d(2, 4, 3, padding=1),
        lambda nn_: nn_.Conv2d(2, 4, (3, 2), stride=(2, 1), dilation=(1, 2), groups=2, bias=False),
        lambda nn_: nn_.Conv2d(2, 4, 3, padding="same", padding_mode="reflect"),
    ],
)
def test_conv2d_networks(make):
    torch = reference_library("torch")
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((5, 2, 7, 6)), rng.standard_normal((5, 3))

    conv, t_conv = make(nn).double(), make(torch.nn).double()
    features = t_conv(torch.tensor(x)).flatten(1).shape[1]
    ours = nn.Sequential(conv, nn.Tanh(), nn.Flatten(), nn.Linear(features, 3)).double()
    theirs = torch.nn.Sequential(t_conv, torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(features, 3)).double()
    _compare(
        ours, theirs, torch, x, t,
        lambda o, y: ((o - y) ** 2).sum(),
        lambda o, y: ((o - y) ** 2).sum(),
    )


def test_conv1d_and_a_layer_norm_that_falls_back_to_the_loop():
    torch = reference_library("torch")
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((4, 3, 9)), rng.standard_normal((4, 2))
    t_conv = torch.nn.Conv1d(3, 4, 3, stride=2).double()
    length = t_conv(torch.tensor(x)).shape[-1]
    theirs = torch.nn.Sequential(t_conv, torch.nn.LayerNorm(length), torch.nn.Flatten(), torch.nn.Linear(4 * length, 2))
    theirs = theirs.double()
    ours = nn.Sequential(nn.Conv1d(3, 4, 3, stride=2), nn.LayerNorm(length), nn.Flatten(), nn.Linear(4 * length, 2))
    ours = ours.double()
    _compare(
        ours, theirs, torch, x, t,
        lambda o, y: ((o - y) ** 2).sum(),
        lambda o, y: ((o - y) ** 2).sum(),
    )


def test_a_layer_called_twice_sums_both_uses():
    rng = np.random.default_rng(3)
    layer = nn.Linear(3, 3).double()

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            return self.layer(self.layer(x).tanh())

    x = rng.standard_normal((4, 3))
    grads = func.per_sample_grads(Twice(), lambda o, y: (o * y).sum(), nr.tensor(x), nr.tensor(np.ones((4, 3))))
    for i in range(4):
        layer.zero_grad()
        (Twice()(nr.tensor(x[i : i + 1])) * nr.tensor(np.ones((1, 3)))).sum().backward()
        np.testing.assert_allclose(grads["layer.weight"][i], layer.weight.grad.data, rtol=1e-12)


def test_outer_products_split_between_threads_are_bit_identical():
    from neurones.func.per_sample import _THREADED_BYTES, _outer_products

    rng = np.random.default_rng(4)
    delta, a = rng.standard_normal((65, 256)).astype(np.float32), rng.standard_normal((65, 300)).astype(np.float32)
    assert _THREADED_BYTES < 65 * 256 * 300 * 4
    np.testing.assert_array_equal(_outer_products(delta, a), delta[:, :, None] * a[:, None, :])


def test_a_large_output_is_reused_only_once_nothing_holds_it():
    from neurones.func.per_sample import _outer_products

    rng = np.random.default_rng(5)
    delta, a = rng.standard_normal((65, 256)).astype(np.float32), rng.standard_normal((65, 300)).astype(np.float32)
    first = _outer_products(delta, a)
    kept = first.copy()
    second = _outer_products(2 * delta, a)  # ``first`` is held: a new buffer, and first is untouched
    assert second is not first
    np.testing.assert_array_equal(first, kept)
    row = first[3]  # a view keeps its base alive: still not reusable
    del first
    third = _outer_products(3 * delta, a)
    assert third.base is None and row.base is not third
    np.testing.assert_array_equal(row, kept[3])
    address = third.__array_interface__["data"][0]
    del third, second, row
    fourth = _outer_products(delta, a)  # nothing holds the last buffer: its memory comes back
    assert fourth.__array_interface__["data"][0] == address
    np.testing.assert_array_equal(fourth, kept)

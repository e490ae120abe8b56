"""Layers against torch.nn: the same constructor call on both sides, torch's state dict loaded into ours (which also
checks that parameter and buffer names match), then outputs, input gradients and parameter gradients compared."""

from __future__ import annotations

import numpy as np
import pytest
from tests.helpers import reference_library

import neurones as nr
from neurones import nn

torch = reference_library("torch")


def _load_torch_state(ours: nn.Module, theirs) -> None:
    ours.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})


def _compare(ours, theirs, x: np.ndarray, rtol: float = 1e-7, atol: float = 1e-9, seed: int = 0) -> None:
    """Forward values and every gradient (input and parameters) of ``ours`` against ``theirs`` on ``x``."""
    xo, xt = nr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=rtol, atol=atol)
    assert yo.dtype == x.dtype
    g = np.random.default_rng(seed).standard_normal(yt.shape).astype(x.dtype)
    yo.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=rtol, atol=atol)
    torch_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.data, torch_params[name].grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def _pair(factory, dtype=torch.float64):
    """Build the same layer in both libraries from one constructor call (``factory(nn)``), with torch's values."""
    theirs = factory(torch.nn).to(dtype)
    ours = factory(nn)
    ours.to(np.float64 if dtype == torch.float64 else np.float32)
    _load_torch_state(ours, theirs)
    return ours, theirs


def _randn(*shape, seed: int = 1, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------------------------------------- linear
@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias):
    ours, theirs = _pair(lambda m: m.Linear(5, 3, bias=bias))
    _compare(ours, theirs, _randn(4, 5))
    _compare(*_pair(lambda m: m.Linear(5, 3, bias=bias)), _randn(2, 4, 5))


@pytest.mark.parametrize(
    ("sizes", "name"), [((-1, 10), "in_features"), ((10, -1), "out_features"), ((2.0, 3), "in_features")]
)
def test_linear_refuses_bad_sizes(sizes, name):
    with pytest.raises(ValueError, match=f"Linear: {name} must be an integer ≥ 0, got"):
        nn.Linear(*sizes)


def test_linear_float32():
    ours, theirs = _pair(lambda m: m.Linear(6, 4), dtype=torch.float32)
    _compare(ours, theirs, _randn(3, 6, dtype=np.float32), rtol=1e-5, atol=1e-6)


# -------------------------------------------------------------------------------------------- convolutions
CONV1D = [
    {},
    {"stride": 2, "padding": 1},
    {"padding": "same", "dilation": 2},
    {"padding": "valid", "groups": 2},
    {"bias": False, "stride": 3, "padding": 2, "dilation": 2},
    {"padding": 2, "padding_mode": "reflect"},
    {"padding": "same", "padding_mode": "circular"},
    {"padding": 1, "padding_mode": "replicate", "stride": 2},
]


@pytest.mark.parametrize("kwargs", CONV1D)
def test_conv1d(kwargs):
    ours, theirs = _pair(lambda m: m.Conv1d(4, 6, 3, **kwargs))
    _compare(ours, theirs, _randn(2, 4, 11))


CONV2D = [
    {},
    {"stride": 2, "padding": 1},
    {"padding": "same", "dilation": 2},
    {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 0)},
    {"groups": 2, "bias": False},
    {"groups": 4, "padding": 1},
    {"padding": "same", "padding_mode": "reflect"},
    {"padding": (2, 1), "padding_mode": "circular"},
    {"padding": 1, "padding_mode": "replicate", "stride": 2},
]


@pytest.mark.parametrize("kwargs", CONV2D)
def test_conv2d(kwargs):
    kwargs = {"kernel_size": 3, **kwargs}
    ours, theirs = _pair(lambda m: m.Conv2d(4, 8, **kwargs))
    _compare(ours, theirs, _randn(2, 4, 9, 8))


def test_conv2d_float32():
    ours, theirs = _pair(lambda m: m.Conv2d(3, 5, 3, padding=1), dtype=torch.float32)
    _compare(ours, theirs, _randn(2, 3, 6, 6, dtype=np.float32), rtol=1e-4, atol=1e-5)


def test_conv_argument_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string"):
        nn.Conv1d(2, 2, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv1d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="tuple of 2"):
        nn.Conv2d(2, 2, (3, 3, 3))


# ---------------------------------------------------------------------------------------------------- pooling
POOLS = [
    (lambda m: m.MaxPool1d(3, 2, 1), (2, 3, 11)),
    (lambda m: m.MaxPool1d(2), (2, 3, 8)),
    (lambda m: m.MaxPool2d(2), (2, 3, 8, 6)),
    (lambda m: m.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 9, 8)),
    (lambda m: m.AvgPool1d(3, 2, 1), (2, 3, 10)),
    (lambda m: m.AvgPool2d(2), (2, 3, 8, 6)),
    (lambda m: m.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 9, 7)),
    (lambda m: m.AvgPool2d(2, divisor_override=3), (1, 2, 4, 4)),
    (lambda m: m.AdaptiveAvgPool2d((3, 2)), (2, 3, 9, 7)),
    (lambda m: m.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    (lambda m: m.AdaptiveAvgPool1d(4), (2, 3, 10)),
]


@pytest.mark.parametrize(("factory", "shape"), POOLS)
def test_pooling(factory, shape):
    _compare(*_pair(factory), _randn(*shape))


# ------------------------------------------------------------------------------------------ normalization
BATCH_NORMS = [
    (lambda m: m.BatchNorm1d(4), (8, 4)),
    (lambda m: m.BatchNorm1d(4, momentum=None), (6, 4, 5)),
    (lambda m: m.BatchNorm1d(4, affine=False, momentum=0.3), (8, 4)),
    (lambda m: m.BatchNorm2d(3), (4, 3, 5, 5)),
    (lambda m: m.BatchNorm2d(3, eps=1e-3, track_running_stats=False), (4, 3, 5, 5)),
]


@pytest.mark.parametrize(("factory", "shape"), BATCH_NORMS)
def test_batch_norm_train_then_eval(factory, shape):
    ours, theirs = _pair(factory)
    for step in range(3):
        _compare(ours, theirs, _randn(*shape, seed=step) * (1 + step) + step)
        for name, buffer in theirs.named_buffers():
            ours_buffer = dict(ours.named_buffers())[name]
            np.testing.assert_allclose(ours_buffer.data, buffer.numpy(), rtol=1e-12, err_msg=name)
    ours.eval()
    theirs.eval()
    _compare(ours, theirs, _randn(*shape, seed=10))
    if theirs.track_running_stats:
        assert int(ours.num_batches_tracked.item()) == 3


def test_batch_norm_checks_input_dimensions():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        nn.BatchNorm2d(3)(nr.ones(2, 3))
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, L\)"):
        nn.BatchNorm1d(3)(nr.ones(2, 3, 4, 4))


@pytest.mark.parametrize(
    ("factory", "shape"),
    [
        (lambda m: m.LayerNorm(5), (3, 4, 5)),
        (lambda m: m.LayerNorm([4, 5], eps=1e-3), (3, 4, 5)),
        (lambda m: m.LayerNorm(5, elementwise_affine=False), (3, 5)),
        (lambda m: m.LayerNorm(5, bias=False), (3, 5)),
        (lambda m: m.GroupNorm(2, 6), (3, 6, 4, 4)),
        (lambda m: m.GroupNorm(3, 6, affine=False), (3, 6, 5)),
    ],
)
def test_layer_and_group_norm(factory, shape):
    ours, theirs = _pair(factory)
    with torch.no_grad():  # non-trivial affine parameters
        for param in theirs.parameters():
            param.copy_(torch.randn(param.shape, generator=torch.Generator().manual_seed(0)))
    _load_torch_state(ours, theirs)
    _compare(ours, theirs, _randn(*shape) * 3 + 1)
    ours.eval()
    theirs.eval()
    _compare(ours, theirs, _randn(*shape, seed=2))


# ------------------------------------------------------------------------------------------------ activations
ACTIVATIONS = [
    lambda m: m.ReLU(),
    lambda m: m.LeakyReLU(0.2),
    lambda m: m.ELU(0.5),
    lambda m: m.Sigmoid(),
    lambda m: m.Tanh(),
    lambda m: m.GELU(),
    lambda m: m.GELU(approximate="tanh"),
    lambda m: m.SiLU(),
    lambda m: m.Softplus(2.0, 5.0),
    lambda m: m.Hardtanh(-0.5, 1.5),
    lambda m: m.Softmax(dim=1),
    lambda m: m.LogSoftmax(dim=-1),
    lambda m: m.Flatten(),
    lambda m: m.Flatten(0, 1),
    lambda m: m.Identity(),
]


@pytest.mark.parametrize("factory", ACTIVATIONS)
def test_activation_modules(factory):
    _compare(*_pair(factory), _randn(3, 4, 5) * 3)


def test_softmax_without_dim_uses_pytorchs_legacy_choice():
    x = _randn(3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(nr.tensor(x))
    np.testing.assert_allclose(out.data.sum(axis=1), np.ones(3))


def test_arctan_and_clip():
    x = _randn(4, 5) * 3
    np.testing.assert_allclose(nn.Arctan()(nr.tensor(x)).data, np.arctan(x), rtol=1e-12)
    clip = nn.Clip(-1.0, 0.5)
    xo = nr.tensor(x, requires_grad=True)
    out = clip(xo)
    np.testing.assert_array_equal(out.data, np.clip(x, -1.0, 0.5))
    out.backward(np.ones_like(x))
    np.testing.assert_array_equal(xo.grad.data, ((x >= -1.0) & (x <= 0.5)).astype(float))
    np.testing.assert_array_equal(nn.Clip(max=0.0)(nr.tensor(x)).data, np.minimum(x, 0.0))
    with pytest.raises(ValueError, match="at least one"):
        nn.Clip()
    with pytest.raises(ValueError, match="smaller"):
        nn.Clip(1.0, 0.0)


# ----------------------------------------------------------------------------------------------------- dropout
def test_dropout_zeroes_at_rate_p_and_rescales_in_training():
    p, n = 0.3, 200_000
    layer = nn.Dropout(p, rng=0)
    x = np.ones(n, dtype=np.float32)
    out = layer(nr.tensor(x)).data
    dropped = np.mean(out == 0)
    assert abs(dropped - p) < 4 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[out != 0], 1 / (1 - p), rtol=1e-6)
    assert out.dtype == np.float32
    assert not np.array_equal(layer(nr.tensor(x)).data, out)  # a new mask at every forward
    np.testing.assert_array_equal(nn.Dropout(p, rng=0)(nr.tensor(x)).data, out)  # reproducible from the seed
    layer.eval()
    xt = nr.tensor(x)
    np.testing.assert_array_equal(layer(xt).data, x)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout2d_drops_whole_channels():
    layer = nn.Dropout2d(0.5, rng=1)
    out = layer(nr.ones(8, 16, 3, 3)).data
    per_channel = out.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(axis=2) | (per_channel == 2.0).all(axis=2))
    assert 0 < np.mean(per_channel[:, :, 0] == 0) < 1


# -------------------------------------------------------------------------------------------------------- repr
REPRS = [
    lambda m: m.Linear(3, 4, bias=False),
    lambda m: m.Conv1d(2, 4, 3, stride=2, padding=1),
    lambda m: m.Conv2d(2, 4, 3, padding="same", dilation=2, groups=2, bias=False, padding_mode="reflect"),
    lambda m: m.Conv2d(2, 4, (3, 1), stride=(2, 1)),
    lambda m: m.MaxPool1d(3, 2),
    lambda m: m.MaxPool2d(2),
    lambda m: m.AvgPool1d(3),
    lambda m: m.AvgPool2d(3, 2, 1),
    lambda m: m.AdaptiveAvgPool2d((2, 3)),
    lambda m: m.AdaptiveAvgPool1d(3),
    lambda m: m.BatchNorm1d(4, momentum=None, affine=False),
    lambda m: m.BatchNorm2d(3),
    lambda m: m.LayerNorm((4, 5)),
    lambda m: m.GroupNorm(2, 4),
    lambda m: m.Dropout(0.2),
    lambda m: m.Dropout2d(),
    lambda m: m.Flatten(),
    lambda m: m.Identity(),
    lambda m: m.ReLU(inplace=True),
    lambda m: m.LeakyReLU(0.1),
    lambda m: m.ELU(),
    lambda m: m.GELU(approximate="tanh"),
    lambda m: m.Softplus(),
    lambda m: m.Hardtanh(),
    lambda m: m.Softmax(dim=-1),
    lambda m: m.LogSoftmax(1),
    lambda m: m.Sequential(m.Linear(2, 3), m.ModuleList([m.Tanh(), m.Sigmoid()]), m.ModuleDict({"a": m.SiLU()})),
]


@pytest.mark.parametrize("factory", REPRS)
def test_repr_is_pytorchs(factory):
    assert repr(factory(nn)) == repr(factory(torch.nn))


# ------------------------------------------------------------------------------------------------ a ported model
def test_a_small_cnn_ported_line_by_line():
    def build(m):
        return m.Sequential(
            m.Conv2d(1, 4, 3, padding=1),
            m.BatchNorm2d(4),
            m.ReLU(),
            m.MaxPool2d(2),
            m.Conv2d(4, 6, 3),
            m.Flatten(),
            m.Dropout(0.0),
            m.Linear(6 * 2 * 2, 5),
            m.LogSoftmax(dim=1),
        )

    ours, theirs = _pair(build)
    for step in range(2):
        _compare(ours, theirs, _randn(3, 1, 8, 8, seed=step))
    ours.eval()
    theirs.eval()
    _compare(ours, theirs, _randn(3, 1, 8, 8, seed=5))


def test_layers_build_in_float64():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, dtype=np.float64), nn.BatchNorm2d(2, dtype=np.float64), nn.Flatten())
    assert model(nr.tensor(_randn(2, 1, 4, 4))).dtype == np.float64
    assert model[1].running_mean.dtype == np.float64

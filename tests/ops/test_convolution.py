"""conv1d and conv2d: values against a direct loop and PyTorch, float64 gradient checks, shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurones as nr
import neurones.functional as F
from neurones.errors import ShapeError
from neurones.ops import convolution
from tests.helpers import leaf, reference_library


def conv2d_reference(x, w, b, stride, padding, dilation, groups):
    """The defining sum, one output entry at a time; ``padding`` is ((top, bottom), (left, right))."""
    (top, bottom), (left, right) = padding
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, _, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    out_h, out_w = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    per_group = o // groups
    y = np.zeros((n, o, out_h, out_w))
    for i in range(n):
        for k in range(o):
            channels = slice((k // per_group) * cg, (k // per_group + 1) * cg)
            for a in range(out_h):
                for c in range(out_w):
                    patch = xp[
                        i, channels, a * sh : a * sh + dh * (kh - 1) + 1 : dh, c * sw : c * sw + dw * (kw - 1) + 1 : dw
                    ]
                    y[i, k, a, c] = np.sum(patch * w[k]) + (0.0 if b is None else b[k])
    return y


@st.composite
def conv_cases(draw):
    """A small 2-D convolution: groups, strides, dilations, paddings (ints, pairs, "valid", "same") and a bias."""
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = dilation[0] * (kh - 1) + 1 + draw(st.integers(0, 3))
    w = dilation[1] * (kw - 1) + 1 + draw(st.integers(0, 3))
    options = [0, 1, (1, 2), (2, 0), "valid"] + (["same"] if stride == (1, 1) else [])
    padding = draw(st.sampled_from(options))
    return dict(
        x_shape=(draw(st.integers(1, 2)), groups * cg, h, w),
        w_shape=(groups * og, cg, kh, kw),
        bias=draw(st.booleans()),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )


def _resolved_padding(padding, kernel, dilation):
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    p = padding if isinstance(padding, tuple) else (padding, padding)
    return ((p[0], p[0]), (p[1], p[1]))


@given(conv_cases())
def test_conv2d_matches_the_defining_sum_and_passes_gradcheck(case):
    rng = np.random.default_rng(0)
    x, w = leaf(rng.standard_normal(case["x_shape"])), leaf(rng.standard_normal(case["w_shape"]))
    b = leaf(rng.standard_normal(case["w_shape"][0])) if case["bias"] else None
    params = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    y = F.conv2d(x, w, b, **params)
    pads = _resolved_padding(case["padding"], case["w_shape"][2:], case["dilation"])
    expected = conv2d_reference(
        x.data, w.data, None if b is None else b.data, case["stride"], pads, case["dilation"], case["groups"]
    )
    np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-10)
    inputs = (x, w) if b is None else (x, w, b)
    nr.gradcheck(lambda *t: F.conv2d(*t, **params), inputs)


@given(
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(1, 2),
    st.sampled_from([0, 1, 2, "same", "valid"]),
    st.integers(1, 2),
)
def test_conv1d_gradcheck(kernel, stride, dilation, padding, groups):
    if padding == "same" and stride != 1:
        padding = "valid"
    rng = np.random.default_rng(1)
    length = dilation * (kernel - 1) + 1 + 3
    x, w, b = (
        leaf(rng.standard_normal((2, 2 * groups, length))),
        leaf(rng.standard_normal((2, 2, kernel))),
        leaf([0.5, -1.0]),
    )
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    nr.gradcheck(lambda *t: F.conv1d(*t, **params), (x, w, b))
    y2 = F.conv2d(
        x.detach().unsqueeze(2),
        w.detach().unsqueeze(2),
        b.detach(),
        stride=(1, stride),
        padding=padding if isinstance(padding, str) else (0, padding),
        dilation=(1, dilation),
        groups=groups,
    )
    np.testing.assert_allclose(F.conv1d(x, w, b, **params).data, y2.data[:, :, 0], rtol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("chunk_bytes", [1, 2000, 9000])  # chunks of 1 image, and of 2 for one of the layouts
def test_batch_chunks_give_the_same_result(monkeypatch, stride, chunk_bytes):
    """Chunks of one image, and of two with a remainder of one, agree with the whole batch at once."""
    rng = np.random.default_rng(7)
    x, w, b = leaf(rng.standard_normal((5, 2, 6, 5))), leaf(rng.standard_normal((3, 2, 3, 2))), leaf(np.ones(3))
    y = F.conv2d(x, w, b, stride=stride, padding=1)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    whole = [y.data, x.grad.data, w.grad.data, b.grad.data]
    monkeypatch.setattr(convolution, "CHUNK_BYTES", chunk_bytes)
    x.grad = w.grad = b.grad = None
    y = F.conv2d(x, w, b, stride=stride, padding=1)
    y.backward(g)
    for chunked, expected in zip([y.data, x.grad.data, w.grad.data, b.grad.data], whole):
        np.testing.assert_allclose(chunked, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(
    "w_shape, params, pads",
    [
        ((3, 2, 2, 3), dict(padding=3), ((3, 3), (3, 3))),  # padding beyond the kernel's reach
        ((3, 2, 2, 4), dict(padding="same", dilation=2), ((1, 1), (3, 3))),
        ((4, 2, 3, 2), dict(padding="same"), ((1, 1), (0, 1))),  # uneven "same" padding: more after
        ((4, 2, 2, 3), dict(padding="same"), ((0, 1), (1, 1))),
        ((4, 1, 3, 3), dict(groups=2, dilation=(2, 1), padding=(2, 0)), ((2, 2), (0, 0))),
    ],
)
@pytest.mark.parametrize("images_per_chunk", [1, 2])
def test_stride_one_chunks_match_the_defining_sum(monkeypatch, w_shape, params, pads, images_per_chunk):
    """The stride-1 layout (planes sharing their zero rows, chunk by chunk), against the reference and the whole
    batch at once: values, and gradients with the default chunks (one here)."""
    rng = np.random.default_rng(8)
    x, w, b = leaf(rng.standard_normal((5, 2, 6, 5))), leaf(rng.standard_normal(w_shape)), leaf(np.arange(w_shape[0]))
    y = F.conv2d(x, w, b, **params)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    whole = [x.grad.data, w.grad.data, b.grad.data]
    dilation, groups = _pair(params.get("dilation", 1)), params.get("groups", 1)
    geo = convolution._Geometry(x.shape, w.shape, (1, 1), pads, dilation, groups, np.float64)
    assert geo.chunk == 5
    monkeypatch.setattr(convolution, "CHUNK_BYTES", images_per_chunk * geo.c * geo.kh * geo.kw * geo.columns * 8)
    x.grad = w.grad = b.grad = None
    y = F.conv2d(x, w, b, **params)
    expected = conv2d_reference(x.data, w.data, b.data, (1, 1), pads, dilation, groups)
    np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-10)
    y.backward(g)
    for chunked, reference in zip([x.grad.data, w.grad.data, b.grad.data], whole):
        np.testing.assert_allclose(chunked, reference, rtol=1e-12, atol=1e-12)


def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


@pytest.mark.parametrize("positions", [64, 72])  # a whole number of blocks, and a remainder of 8 positions
@pytest.mark.parametrize("groups", [1, 2])
def test_inner_product_over_position_blocks_equals_the_plain_product(monkeypatch, positions, groups):
    """The weight-gradient product cut into position blocks and summed equals the one plain product."""
    monkeypatch.setattr(convolution, "POSITION_BLOCK", 16)
    rng = np.random.default_rng(10)
    cols, gc = rng.standard_normal((groups, 10, positions)), rng.standard_normal((groups, 3, positions))
    np.testing.assert_allclose(
        convolution._inner_product_over_positions(cols, gc), cols @ gc.transpose(0, 2, 1), rtol=1e-12
    )


@pytest.mark.parametrize("stride", [1, 2])
def test_weight_gradient_by_position_blocks_passes_gradcheck(monkeypatch, stride):
    """A convolution with few channels, whose weight gradient takes the position-block path, in float64."""
    monkeypatch.setattr(convolution, "POSITION_BLOCK", 16)
    rng = np.random.default_rng(11)
    x, w, b = leaf(rng.standard_normal((3, 1, 7, 6))), leaf(rng.standard_normal((2, 1, 3, 3))), leaf(np.ones(2))
    geo = convolution._Geometry(x.shape, w.shape, (stride, stride), ((1, 1), (1, 1)), (1, 1), 1, np.float64)
    assert geo.chunk * geo.columns >= 2 * 16  # at least two blocks
    nr.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=1), (x, w, b))


@pytest.mark.parametrize("groups, bias", [(1, True), (2, False)])
@pytest.mark.parametrize("images_per_chunk", [2, 5])  # chunks of 2, 2 and 1 images, and the whole batch at once
def test_per_image_products_match_the_defining_sum_and_the_chunk_products(monkeypatch, groups, bias, images_per_chunk):
    """The per-image products (outputs and cotangent read and written in NCHW), forced on small images, against the
    reference, the chunk products and finite differences in float64."""
    rng = np.random.default_rng(12)
    x, w = leaf(rng.standard_normal((5, 2, 5, 4))), leaf(rng.standard_normal((4, 2 // groups, 3, 3)))
    b = leaf(rng.standard_normal(4)) if bias else None
    inputs = (x, w) if b is None else (x, w, b)
    g = rng.standard_normal((5, 4, 5, 4))

    def gradients():
        for t in inputs:
            t.grad = None
        y = F.conv2d(x, w, b, padding="same", groups=groups)
        y.backward(g)
        return [y.data] + [t.grad.data for t in inputs]

    by_chunks = gradients()
    monkeypatch.setattr(convolution, "PER_IMAGE_OUTPUTS", 1)
    geo = convolution._Geometry(x.shape, w.shape, (1, 1), ((1, 1), (1, 1)), (1, 1), groups, np.float64)
    assert geo.per_image
    monkeypatch.setattr(convolution, "CHUNK_BYTES", images_per_chunk * geo.c * 9 * geo.columns * 8)
    by_images = gradients()
    bias_data = None if b is None else b.data
    reference = conv2d_reference(x.data, w.data, bias_data, (1, 1), ((1, 1), (1, 1)), (1, 1), groups)
    np.testing.assert_allclose(by_images[0], reference, rtol=1e-10, atol=1e-10)
    for per_image, chunked in zip(by_images, by_chunks):
        np.testing.assert_allclose(per_image, chunked, rtol=1e-12, atol=1e-12)
    nr.gradcheck(lambda *t: F.conv2d(*t, padding="same", groups=groups), inputs)


def test_per_image_products_read_a_broadcast_cotangent(monkeypatch):
    """The cotangent of a sum is a broadcast view, which the per-image products make contiguous: ∂Σy/∂w[o, c, i, j]
    is the sum of the padded input over the window offset (i, j), and ∂Σy/∂x the count of kernel taps on x."""
    monkeypatch.setattr(convolution, "PER_IMAGE_OUTPUTS", 1)
    rng = np.random.default_rng(13)
    x, w = leaf(rng.standard_normal((3, 1, 4, 4))), leaf(rng.standard_normal((2, 1, 3, 3)))
    F.conv2d(x, w, padding=1).sum().backward()
    xp = np.pad(x.data, ((0, 0), (0, 0), (1, 1), (1, 1)))
    offsets = np.array([[xp[:, 0, i : i + 4, j : j + 4].sum() for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(w.grad.data, np.broadcast_to(offsets, (2, 1, 3, 3)), rtol=1e-12)
    kernel = w.data.sum(axis=(0, 1))  # Σ_o w[o, 0]
    taps = np.array(
        [[sum(kernel[i, j] for i in range(3) for j in range(3) if 0 <= h + 1 - i < 4 and 0 <= c + 1 - j < 4)
          for c in range(4)] for h in range(4)]
    )
    np.testing.assert_allclose(x.grad.data, np.broadcast_to(taps, x.shape), rtol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
def test_repeated_passes_are_bit_identical(monkeypatch, stride):
    """Two forward and backward passes over the same float32 batch (several chunks) give the same bits."""
    monkeypatch.setattr(convolution, "CHUNK_BYTES", 200_000)
    rng = np.random.default_rng(9)
    x = nr.tensor(rng.standard_normal((24, 16, 12, 12)).astype(np.float32), requires_grad=True)
    w = nr.tensor((rng.standard_normal((8, 16, 3, 3)) * 0.1).astype(np.float32), requires_grad=True)
    b = nr.tensor(rng.standard_normal(8).astype(np.float32), requires_grad=True)
    g = rng.standard_normal(F.conv2d(x.detach(), w.detach(), stride=stride, padding=1).shape).astype(np.float32)
    runs = []
    for _ in range(2):
        x.grad = w.grad = b.grad = None
        y = F.conv2d(x, w, b, stride=stride, padding=1)
        y.backward(g)
        runs.append([y.data, x.grad.data, w.grad.data, b.grad.data])
    assert all(a.dtype == np.float32 for a in runs[0])
    for first, second in zip(*runs):
        np.testing.assert_array_equal(first, second)


def test_gradient_of_some_inputs_only():
    rng = np.random.default_rng(2)
    x, w = leaf(rng.standard_normal((2, 3, 6, 6))), leaf(rng.standard_normal((4, 3, 3, 3)))
    frozen_w, frozen_x = w.detach(), x.detach()
    nr.gradcheck(lambda t: F.conv2d(t, frozen_w, stride=2, padding=1), x)
    nr.gradcheck(lambda t: F.conv2d(frozen_x, t, padding="same"), w)
    b = leaf(rng.standard_normal(4))
    nr.gradcheck(lambda t: F.conv2d(frozen_x, frozen_w, t, stride=2), b)
    nr.gradcheck(lambda t, u: F.conv2d(t, frozen_w, u, padding=(0, 1)), (x, b))


def test_unbatched_input_and_float32():
    rng = np.random.default_rng(3)
    x = nr.tensor(rng.standard_normal((3, 7, 7)).astype(np.float32), requires_grad=True)
    w = nr.tensor(rng.standard_normal((5, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = nr.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    y = F.conv2d(x, w, b, padding=1)
    assert y.shape == (5, 7, 7) and y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    batched = F.conv2d(x.detach().unsqueeze(0), w.detach(), b.detach(), padding=1)
    np.testing.assert_allclose(y.data, batched.data[0], rtol=1e-6)
    np.testing.assert_allclose(b.grad.data, np.full(5, 49.0))
    s = F.conv1d(nr.tensor(x.data[:, 0]), nr.tensor(w.data[:, :, 0]), padding="same")
    assert s.shape == (5, 7) and s.dtype == np.float32


def test_errors_name_the_op_and_shapes():
    x, w = leaf(np.zeros((1, 4, 5, 5))), leaf(np.zeros((2, 3, 3, 3)))
    with pytest.raises(ShapeError, match=r"conv2d.*\(1, 4, 5, 5\).*\(2, 3, 3, 3\)"):
        F.conv2d(x, w)
    with pytest.raises(ValueError, match="same"):
        F.conv2d(x, leaf(np.zeros((2, 4, 3, 3))), padding="same", stride=2)
    with pytest.raises(ShapeError, match="smaller"):
        F.conv2d(x, leaf(np.zeros((2, 4, 7, 7))))
    with pytest.raises(ShapeError, match="bias"):
        F.conv2d(x, leaf(np.zeros((2, 4, 3, 3))), leaf(np.zeros(3)))
    with pytest.raises(ShapeError, match="groups=3"):
        F.conv2d(x, leaf(np.zeros((3, 2, 3, 3))), groups=3)
    with pytest.raises(ValueError, match="negative"):
        F.conv1d(leaf(np.zeros((1, 2, 5))), leaf(np.zeros((1, 2, 3))), padding=-1)


# ------------------------------------------------------------------------------------------------ PyTorch
torch_cases = [
    dict(),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
    dict(groups=2, padding=1),
    dict(groups=4, stride=2),
    dict(padding="valid", dilation=3),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("params", torch_cases)
def test_conv2d_matches_torch(params):
    torch = reference_library("torch")
    rng = np.random.default_rng(4)
    groups = params.get("groups", 1)
    arrays = [rng.standard_normal((3, 4, 9, 8)), rng.standard_normal((8, 4 // groups, 3, 2)), rng.standard_normal(8)]
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = F.conv2d(*ours, **params)
    yt = torch.nn.functional.conv2d(*theirs, **params)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(
    "params",
    [dict(), dict(padding="same"), dict(padding="same", dilation=2), dict(stride=3, padding=2), dict(groups=2)],
)
def test_conv1d_matches_torch(params):
    torch = reference_library("torch")
    rng = np.random.default_rng(5)
    groups = params.get("groups", 1)
    arrays = [rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 4 // groups, 4)), rng.standard_normal(6)]
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = F.conv1d(*ours, **params)
    yt = torch.nn.functional.conv1d(*theirs, **params)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_float32_benchmark_shape_matches_torch():
    torch = reference_library("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 16, 28, 28)).astype(np.float32)
    w = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
    y = F.conv2d(nr.tensor(x), nr.tensor(w), padding=1)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, expected, rtol=1e-4, atol=1e-4)

"""Array transforms: values against NumPy formulas and PyTorch references, batch vectorization, rng use."""

import numpy as np
import pytest

import neurones as nr
from neurones.data import (
    Compose,
    DownUpSample,
    GaussianBlur,
    Normalize,
    OneHot,
    RandomCrop,
    RandomHorizontalFlip,
    one_hot,
)
from neurones.data.transforms import bilinear_matrix, gaussian_kernel1d
from neurones.errors import DTypeError, ShapeError
from tests.helpers import reference_library


@pytest.fixture
def images(rng):
    return rng.standard_normal((5, 3, 8, 6)).astype(np.float32)


def test_normalize_per_channel_keeps_dtype(images):
    mean, std = [0.1, -0.2, 0.3], [0.5, 2.0, 1.5]
    out = Normalize(mean, std)(images)
    expected = (images - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    single = Normalize(mean, std)(images[0])
    np.testing.assert_array_equal(single, out[0])


def test_normalize_scalars_tensors_and_errors():
    signal = nr.tensor(np.arange(6, dtype=np.float64).reshape(2, 3))
    out = Normalize(2.0, 4.0)(signal)
    assert isinstance(out, nr.Tensor) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, (np.arange(6).reshape(2, 3) - 2) / 4)
    with pytest.raises(ValueError, match="zero"):
        Normalize([0, 0], [1, 0])
    with pytest.raises(ShapeError, match="channel"):
        Normalize([0, 0], [1, 1])(np.zeros((3, 4, 4), np.float32))
    with pytest.raises(DTypeError):
        Normalize(0, 1)(np.zeros((3, 4, 4), np.uint8))


def test_horizontal_flip_per_image(images):
    flip = RandomHorizontalFlip(p=0.5, rng=0)
    out = flip(images)
    coins = np.random.default_rng(0).random(5) < 0.5
    assert 0 < coins.sum() < 5
    for i in range(5):
        np.testing.assert_array_equal(out[i], images[i, :, :, ::-1] if coins[i] else images[i])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(images[0]), images[0][:, :, ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(images[0]), images[0])
    tensor_out = RandomHorizontalFlip(p=1.0)(nr.tensor(images))
    assert isinstance(tensor_out, nr.Tensor)
    np.testing.assert_array_equal(tensor_out.data, images[..., ::-1])


def test_horizontal_flip_frequency(rng):
    batch = np.arange(4000, dtype=np.float32).reshape(4000, 1, 1, 1) * np.array([1, 2], np.float32)
    out = RandomHorizontalFlip(p=0.3, rng=rng)(batch)
    flipped = out[:, 0, 0, 0] > out[:, 0, 0, 1]
    assert abs(flipped.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 4000)


def test_random_crop_with_padding_picks_windows_of_the_padded_image(images):
    crop = RandomCrop((8, 6), padding=2, rng=1)
    out = crop(images)
    assert out.shape == images.shape and out.dtype == np.float32
    padded = np.pad(images, [(0, 0), (0, 0), (2, 2), (2, 2)])
    reference = np.random.default_rng(1)
    tops, lefts = reference.integers(0, 5, size=5), reference.integers(0, 5, size=5)
    for i in range(5):
        np.testing.assert_array_equal(out[i], padded[i, :, tops[i] : tops[i] + 8, lefts[i] : lefts[i] + 6])
    assert len({(t, left) for t, left in zip(tops, lefts)}) > 1


def test_random_crop_single_image_and_padding_forms(images):
    image = images[0]
    out = RandomCrop(4, rng=2)(image)
    reference = np.random.default_rng(2)
    top, left = reference.integers(0, 5), reference.integers(0, 3)
    np.testing.assert_array_equal(out, image[:, top : top + 4, left : left + 4])
    # torchvision's padding order: (left, top, right, bottom)
    full = RandomCrop((8 + 1 + 3, 6 + 2 + 4), padding=(2, 1, 4, 3), fill=7.0)(image)
    np.testing.assert_array_equal(full, np.pad(image, [(0, 0), (1, 3), (2, 4)], constant_values=7.0))
    edge = RandomCrop((10, 8), padding=(1, 1), padding_mode="reflect")(image)
    np.testing.assert_array_equal(edge, np.pad(image, [(0, 0), (1, 1), (1, 1)], mode="reflect"))
    with pytest.raises(ShapeError, match="larger"):
        RandomCrop(9)(image)
    with pytest.raises(ShapeError):
        RandomCrop(2)(image[0])


def test_gaussian_kernel_matches_torchvision_formula():
    kernel = gaussian_kernel1d(5, 1.3)
    x = np.arange(-2, 3)
    expected = np.exp(-(x**2) / (2 * 1.3**2))
    np.testing.assert_allclose(kernel, expected / expected.sum())
    assert kernel.sum() == pytest.approx(1.0)


def test_gaussian_blur_against_torch_reflect_convolution(images):
    torch = reference_library("torch")
    kx, ky, sigma = 5, 3, 1.1
    out = GaussianBlur((kx, ky), sigma)(images)
    assert out.dtype == np.float32 and out.shape == images.shape
    kernel = np.outer(gaussian_kernel1d(ky, sigma), gaussian_kernel1d(kx, sigma))
    x = torch.from_numpy(images.astype(np.float64))
    padded = torch.nn.functional.pad(x, (kx // 2, kx // 2, ky // 2, ky // 2), mode="reflect")
    weight = torch.from_numpy(kernel)[None, None].repeat(3, 1, 1, 1)
    expected = torch.nn.functional.conv2d(padded, weight, groups=3).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_gaussian_blur_keeps_constants_and_the_mean_of_centred_content(rng):
    constant = np.full((2, 1, 9, 9), 3.5)
    np.testing.assert_allclose(GaussianBlur(5, 2.0)(constant), constant)
    image = np.zeros((1, 2, 16, 16))
    image[:, :, 5:11, 5:11] = rng.standard_normal((1, 2, 6, 6))
    out = GaussianBlur(5, 0.8)(image)
    np.testing.assert_allclose(out.sum(axis=(-2, -1)), image.sum(axis=(-2, -1)), atol=1e-12)
    assert np.abs(out).max() < np.abs(image).max()


def test_gaussian_blur_random_sigma_and_errors(images):
    blur = GaussianBlur(3, (0.5, 1.5), rng=4)
    sigma = np.random.default_rng(4).uniform(0.5, 1.5)
    np.testing.assert_allclose(blur(images), GaussianBlur(3, sigma)(images), rtol=1e-6)
    with pytest.raises(ValueError, match="odd"):
        GaussianBlur(4, 1.0)
    with pytest.raises(ValueError):
        GaussianBlur(3, 0.0)


def test_bilinear_matrix_matches_torch_interpolate():
    torch = reference_library("torch")
    small = np.random.default_rng(0).standard_normal((1, 1, 8, 5))
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(small), size=(32, 20), mode="bilinear", align_corners=False
    ).numpy()
    np.testing.assert_allclose(bilinear_matrix(8, 32) @ small @ bilinear_matrix(5, 20).T, expected, atol=1e-12)
    np.testing.assert_allclose(bilinear_matrix(4, 4), np.eye(4))


def test_down_up_sample_matches_torch_pool_then_interpolate(rng):
    torch = reference_library("torch")
    batch = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    out = DownUpSample(4)(batch)
    assert out.shape == batch.shape and out.dtype == np.float32
    x = torch.from_numpy(batch)
    small = torch.nn.functional.avg_pool2d(x, 4)
    expected = torch.nn.functional.interpolate(small, scale_factor=4, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_down_up_sample_nearest_and_information_loss(rng):
    batch = rng.standard_normal((2, 1, 8, 8))
    out = DownUpSample(2, mode="nearest")(batch)
    means = batch.reshape(2, 1, 4, 2, 4, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(out, np.repeat(np.repeat(means, 2, axis=-2), 2, axis=-1))
    np.testing.assert_allclose(out.mean(axis=(-2, -1)), batch.mean(axis=(-2, -1)))
    np.testing.assert_array_equal(DownUpSample(1)(batch), batch)
    with pytest.raises(ShapeError, match="multiples of 3"):
        DownUpSample(3)(batch)
    with pytest.raises(DTypeError):
        DownUpSample(2)(np.zeros((4, 4), np.uint8))


def test_one_hot_values_and_dtypes():
    labels = np.array([[0, 2], [1, 2]])
    out = one_hot(labels, 4)
    assert out.shape == (2, 2, 4) and out.dtype == np.int64
    np.testing.assert_array_equal(out.argmax(-1), labels)
    np.testing.assert_array_equal(out.sum(-1), 1)
    assert one_hot(np.array([0, 3])).shape == (2, 4)
    tensor = OneHot(3, dtype=np.float32)(nr.tensor([2, 0]))
    assert isinstance(tensor, nr.Tensor) and tensor.dtype == np.float32
    np.testing.assert_array_equal(tensor.data, [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="out of range"):
        one_hot(np.array([3]), 3)
    with pytest.raises(ValueError):
        one_hot(np.array([-1]), 3)
    with pytest.raises(DTypeError):
        one_hot(np.array([0.0]), 3)


def test_one_hot_matches_torch():
    torch = reference_library("torch")
    labels = np.array([3, 0, 1, 3, 2])
    np.testing.assert_array_equal(one_hot(labels), torch.nn.functional.one_hot(torch.from_numpy(labels)).numpy())


def test_compose_applies_in_order(images):
    pipeline = Compose([Normalize(1.0, 2.0), RandomHorizontalFlip(p=1.0)])
    np.testing.assert_allclose(pipeline(images), ((images - 1) / 2)[..., ::-1])
    assert "Normalize" in repr(pipeline)

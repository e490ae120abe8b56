"""Array transforms, named and parametrized as in torchvision: callables on one sample or on a whole batch.

Images are NCHW: a transform takes one image ``(C, H, W)`` or a batch ``(N, C, H, W)``, as an ndarray or a Tensor,
and returns the same kind. On a batch, the work is vectorized, and the random transforms draw independently for
each image (torchvision, given a batch tensor, would draw once for the whole batch), from their own ``rng``
(``None``: the process-wide default Generator, looked up at each call). Image transforms need floating inputs:
convert ``uint8`` pixels first, e.g. ``x.astype(np.float32) / 255``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import correlate1d

from neurones.autodiff.creation import from_numpy
from neurones.autodiff.tensor import Tensor
from neurones.backend import Seed, as_generator
from neurones.errors import DTypeError, ShapeError
from neurones.ops.scatter import one_hot


def _unwrap(x) -> tuple[np.ndarray, bool]:
    if isinstance(x, Tensor):
        return x.data, True
    return np.asarray(x), False


def _rewrap(array: np.ndarray, was_tensor: bool):
    return from_numpy(array) if was_tensor else array


def _image(x, name: str) -> tuple[np.ndarray, bool]:
    """The array of an image ``(C, H, W)`` or a batch ``(N, C, H, W)`` of floating dtype."""
    array, was_tensor = _unwrap(x)
    if array.ndim not in (3, 4):
        raise ShapeError(f"{name}: expected an image (C, H, W) or a batch (N, C, H, W), got shape {array.shape}")
    if array.dtype.kind != "f":
        raise DTypeError(f"{name}: expected floating images, got dtype {array.dtype} (convert uint8 pixels first)")
    return array, was_tensor


def _pair(value, name: str) -> tuple:
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value, value
    if len(value) != 2:
        raise ValueError(f"{name} must be a number or a pair, got {value!r}")
    return tuple(value)


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x):
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class Normalize:
    """``(x - mean) / std`` per channel (dimension -3, as in torchvision); scalars apply to every entry, so
    ``Normalize(0.5, 0.25)`` also standardizes signals such as MNIST-1D's ``(N, 40)``. The dtype is kept."""

    def __init__(self, mean, std) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std contains a zero: {self.std.tolist()}")

    def __call__(self, x):
        array, was_tensor = _unwrap(x)
        if array.dtype.kind != "f":
            raise DTypeError(f"Normalize: expected a floating array, got dtype {array.dtype}")
        mean, std = (np.asarray(v, dtype=array.dtype) for v in (self.mean, self.std))
        channels = max(mean.size, std.size)
        if channels > 1:
            if array.ndim < 3 or array.shape[-3] != channels:
                raise ShapeError(
                    f"Normalize: {channels} channel statistics for an input of shape {array.shape} "
                    f"(channels are dimension -3)"
                )
            mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)
        return _rewrap((array - mean) / std, was_tensor)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def _padding_widths(padding, ndim: int) -> list[tuple[int, int]] | None:
    """torchvision's padding (an int; ``(left/right, top/bottom)``; or ``(left, top, right, bottom)``) as np.pad
    widths for the last two axes."""
    if padding is None or padding == 0:
        return None
    if isinstance(padding, (int, np.integer)):
        left = top = right = bottom = int(padding)
    elif len(padding) == 2:
        left = right = int(padding[0])
        top = bottom = int(padding[1])
    elif len(padding) == 4:
        left, top, right, bottom = (int(p) for p in padding)
    else:
        raise ValueError(f"RandomCrop: padding must be an int or a sequence of 2 or 4 ints, got {padding!r}")
    return [(0, 0)] * (ndim - 2) + [(top, bottom), (left, right)]


class RandomCrop:
    """A ``size = (h, w)`` window at a uniformly random position, after padding the image by ``padding`` (filled
    with ``fill``, or ``padding_mode`` "edge", "reflect", "symmetric" as in torchvision)."""

    def __init__(self, size, padding=None, fill: float = 0, padding_mode: str = "constant", rng: Seed = None) -> None:
        self.size = tuple(int(s) for s in _pair(size, "RandomCrop size"))
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: unknown padding_mode {padding_mode!r}")
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode
        self._rng = None if rng is None else as_generator(rng)

    def __call__(self, x):
        array, was_tensor = _image(x, "RandomCrop")
        widths = _padding_widths(self.padding, array.ndim)
        if widths is not None:
            extra = {"constant_values": self.fill} if self.padding_mode == "constant" else {}
            array = np.pad(array, widths, mode=self.padding_mode, **extra)
        h, w = self.size
        height, width = array.shape[-2:]
        if h > height or w > width:
            raise ShapeError(f"RandomCrop: crop size {self.size} larger than the (padded) image {(height, width)}")
        rng = as_generator(self._rng)
        if array.ndim == 3:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return _rewrap(array[:, top : top + h, left : left + w], was_tensor)
        n = array.shape[0]
        tops = rng.integers(0, height - h + 1, size=n)
        lefts = rng.integers(0, width - w + 1, size=n)
        windows = sliding_window_view(array, (h, w), axis=(2, 3))  # (N, C, H-h+1, W-w+1, h, w), a view
        return _rewrap(windows[np.arange(n), :, tops, lefts], was_tensor)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left–right (reverse the last axis) with probability ``p``, independently per image."""

    def __init__(self, p: float = 0.5, rng: Seed = None) -> None:
        self.p = p
        self._rng = None if rng is None else as_generator(rng)

    def __call__(self, x):
        array, was_tensor = _image(x, "RandomHorizontalFlip")
        rng = as_generator(self._rng)
        if array.ndim == 3:
            flipped = array[..., ::-1].copy() if rng.random() < self.p else array
            return _rewrap(flipped, was_tensor)
        flip = rng.random(array.shape[0]) < self.p
        out = array.copy()
        out[flip] = array[flip, ..., ::-1]
        return _rewrap(out, was_tensor)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def gaussian_kernel1d(kernel_size: int, sigma: float) -> np.ndarray:
    """The normalized Gaussian window of torchvision: ``exp(-t²/(2σ²))`` at ``t = -(k-1)/2 .. (k-1)/2``."""
    t = np.linspace(-(kernel_size - 1) / 2, (kernel_size - 1) / 2, kernel_size)
    window = np.exp(-0.5 * (t / sigma) ** 2)
    return window / window.sum()


class GaussianBlur:
    """Convolve each channel with a separable Gaussian kernel of ``kernel_size = (kx, ky)`` (width first, as in
    torchvision), reflecting the image at its borders. ``sigma`` is a number, or a range ``(min, max)`` from which
    one σ is drawn uniformly per call. The kernel sums to one, so constants are kept and, away from the borders,
    so is the mean."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0), rng: Seed = None) -> None:
        self.kernel_size = tuple(int(k) for k in _pair(kernel_size, "GaussianBlur kernel_size"))
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"GaussianBlur: kernel sizes must be odd and positive, got {self.kernel_size}")
        self.sigma = (float(sigma), float(sigma)) if np.isscalar(sigma) else tuple(float(s) for s in sigma)
        if len(self.sigma) != 2 or not 0 < self.sigma[0] <= self.sigma[1]:
            raise ValueError(
                f"GaussianBlur: sigma must be positive, or a range (min, max) with 0 < min <= max, got {sigma!r}"
            )
        self._rng = None if rng is None else as_generator(rng)

    def __call__(self, x):
        array, was_tensor = _image(x, "GaussianBlur")
        low, high = self.sigma
        sigma = low if low == high else float(as_generator(self._rng).uniform(low, high))
        kx, ky = self.kernel_size
        # SciPy's "mirror" boundary is PyTorch's "reflect" padding: the edge pixel is not repeated.
        out = correlate1d(array, gaussian_kernel1d(kx, sigma).astype(array.dtype), axis=-1, mode="mirror")
        out = correlate1d(out, gaussian_kernel1d(ky, sigma).astype(array.dtype), axis=-2, mode="mirror")
        return _rewrap(out, was_tensor)

    def __repr__(self) -> str:
        return f"GaussianBlur(kernel_size={self.kernel_size}, sigma={self.sigma})"


def bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """The ``(size_out, size_in)`` matrix of 1-d linear interpolation with PyTorch's ``align_corners=False``:
    output pixel ``j`` samples the input at ``(j + ½)·size_in/size_out − ½``, clamped at 0."""
    source = np.maximum((np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5, 0.0)
    below = np.floor(source).astype(np.int64)
    above = np.minimum(below + 1, size_in - 1)
    weight_above = source - below
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    np.add.at(matrix, (rows, below), 1.0 - weight_above)
    np.add.at(matrix, (rows, above), weight_above)
    return matrix


class DownUpSample:
    """Lose resolution, keep the size: average ``factor × factor`` blocks (area downsampling), then upsample back
    by ``mode`` "bilinear" (PyTorch's ``interpolate``, ``align_corners=False``) or "nearest".

    This is the visual deficit of the critical-learning-periods experiment (Achille et al. 2017, source 002):
    ``DownUpSample(4)`` turns 32×32 images into 8×8 ones blown back up to 32×32. Works on any ``(..., H, W)``.
    """

    def __init__(self, factor: int, mode: str = "bilinear") -> None:
        if not isinstance(factor, (int, np.integer)) or factor < 1:
            raise ValueError(f"DownUpSample: factor must be a positive integer, got {factor!r}")
        if mode not in ("bilinear", "nearest"):
            raise ValueError(f"DownUpSample: mode must be 'bilinear' or 'nearest', got {mode!r}")
        self.factor = int(factor)
        self.mode = mode

    def __call__(self, x):
        array, was_tensor = _unwrap(x)
        f = self.factor
        if array.ndim < 2 or array.shape[-2] % f or array.shape[-1] % f:
            raise ShapeError(f"DownUpSample: height and width of shape {array.shape} must be multiples of {f}")
        if array.dtype.kind != "f":
            raise DTypeError(f"DownUpSample: expected floating images, got dtype {array.dtype}")
        height, width = array.shape[-2:]
        blocks = array.reshape(*array.shape[:-2], height // f, f, width // f, f)
        small = blocks.mean(axis=(-3, -1))
        if self.mode == "nearest":
            out = np.repeat(np.repeat(small, f, axis=-2), f, axis=-1)
        else:
            rows = bilinear_matrix(height // f, height).astype(array.dtype)
            columns = bilinear_matrix(width // f, width).astype(array.dtype)
            out = rows @ small @ columns.T
        return _rewrap(out, was_tensor)

    def __repr__(self) -> str:
        return f"DownUpSample(factor={self.factor}, mode={self.mode!r})"


class Blur1d:
    """The one-dimensional :class:`DownUpSample`: average blocks of ``factor`` samples along the last axis, then
    interpolate back to the original length (linear, ``align_corners=False``, or "nearest").

    This is the deficit of the critical-learning-periods experiment on MNIST-1D signals (length 40 → 10 → 40 with
    ``factor=4``), the analog of blurring 32×32 images to 8×8. Works on any ``(..., L)`` with L a multiple of
    ``factor``.
    """

    def __init__(self, factor: int, mode: str = "linear") -> None:
        if not isinstance(factor, (int, np.integer)) or factor < 1:
            raise ValueError(f"Blur1d: factor must be a positive integer, got {factor!r}")
        if mode not in ("linear", "nearest"):
            raise ValueError(f"Blur1d: mode must be 'linear' or 'nearest', got {mode!r}")
        self.factor, self.mode = int(factor), mode

    def __call__(self, x):
        array, was_tensor = _unwrap(x)
        length = array.shape[-1] if array.ndim else 0
        if array.ndim < 1 or length % self.factor:
            raise ShapeError(f"Blur1d: the last axis of shape {array.shape} must be a multiple of {self.factor}")
        if array.dtype.kind != "f":
            raise DTypeError(f"Blur1d: expected floating signals, got dtype {array.dtype}")
        small = array.reshape(*array.shape[:-1], length // self.factor, self.factor).mean(axis=-1)
        if self.mode == "nearest":
            return _rewrap(np.repeat(small, self.factor, axis=-1), was_tensor)
        return _rewrap(small @ bilinear_matrix(length // self.factor, length).T.astype(array.dtype), was_tensor)

    def __repr__(self) -> str:
        return f"Blur1d(factor={self.factor}, mode={self.mode!r})"


class TimeReversal:
    """Reverse the last axis: a change of the input that removes no information (the control of a deficit)."""

    def __call__(self, x):
        array, was_tensor = _unwrap(x)
        return _rewrap(np.ascontiguousarray(array[..., ::-1]), was_tensor)

    def __repr__(self) -> str:
        return "TimeReversal()"


class OneHot:
    """The transform form of :func:`one_hot`, for label arrays."""

    def __init__(self, num_classes: int, dtype=np.int64) -> None:
        self.num_classes = num_classes
        self.dtype = dtype

    def __call__(self, labels):
        return one_hot(labels, self.num_classes, self.dtype)

    def __repr__(self) -> str:
        return f"OneHot(num_classes={self.num_classes})"

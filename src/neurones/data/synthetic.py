"""Generated datasets with known structure, for experiments whose answer is known in advance.

Each function draws from an explicit ``rng`` (Generator or integer seed; ``None``: the process-wide default
Generator) and returns a :class:`~neurones.data.dataset.TensorDataset` of inputs ``x`` and targets ``y``. Numbers
are drawn in float64 and then cast to ``dtype`` (float32 by default), so one seed gives the same data, up to
rounding, at every precision. Class labels are int64.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurones.autodiff.creation import as_tensor, from_numpy
from neurones.autodiff.grad_mode import no_grad
from neurones.autodiff.tensor import Tensor
from neurones.backend import DEFAULT_DTYPE, Seed, as_dtype, as_generator
from neurones.data.dataset import TensorDataset
from neurones.errors import DTypeError, ShapeError


def _float_dtype(dtype) -> np.dtype:
    dtype = DEFAULT_DTYPE if dtype is None else as_dtype(dtype)
    if dtype.kind != "f":
        raise DTypeError(f"synthetic datasets are floating, got dtype {dtype}")
    return dtype


def _floats(array: np.ndarray, dtype: np.dtype) -> Tensor:
    return from_numpy(array.astype(dtype, copy=False))


def _labels(array: np.ndarray) -> Tensor:
    return from_numpy(array.astype(np.int64, copy=False))


def gaussian_regression(
    n: int,
    d: int,
    noise: float = 0.1,
    rng: Seed = None,
    *,
    d_out: int = 1,
    weight=None,
    return_weight: bool = False,
    dtype=None,
):
    """Linear teacher plus noise: ``x ~ N(0, I_d)`` and ``y = x Wᵀ + noise · ε`` with ``ε ~ N(0, I_{d_out})``.

    ``W`` has PyTorch's ``(out, in)`` layout ``(d_out, d)``; unless given as ``weight`` it is drawn with entries
    ``N(0, 1/d)``, so that ``E[y_j²] = 1 + noise²`` whatever ``d``. Draws, in order: ``x``, ``W``, ``ε``.
    Returns the dataset ``(x (n, d), y (n, d_out))``, or ``(dataset, W)`` when ``return_weight``.
    """
    dtype, rng = _float_dtype(dtype), as_generator(rng)
    x = rng.standard_normal((n, d))
    if weight is None:
        w = rng.standard_normal((d_out, d)) / np.sqrt(d)
    else:
        w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=np.float64)
        if w.shape != (d_out, d):
            raise ShapeError(f"gaussian_regression: weight must have shape (d_out, d) = {(d_out, d)}, got {w.shape}")
    y = x @ w.T + noise * rng.standard_normal((n, d_out))
    dataset = TensorDataset(_floats(x, dtype), _floats(y, dtype))
    return (dataset, _floats(w, dtype)) if return_weight else dataset


def teacher_student(teacher: Callable, n: int, d: int, rng: Seed = None, noise: float = 0.0, *, dtype=None):
    """Targets from a teacher: ``x ~ N(0, I_d)`` and ``y = teacher(x) + noise · ε``, ``ε ~ N(0, I)``.

    ``teacher`` is any callable from a Tensor ``(n, d)`` to a Tensor (or array) with first dimension ``n``: a
    network, a function of ``neurones.functional``, a lambda. It runs under ``no_grad``. Integer outputs (class
    labels) are kept as they are and admit no noise.
    """
    dtype, rng = _float_dtype(dtype), as_generator(rng)
    x = _floats(rng.standard_normal((n, d)), dtype)
    with no_grad():
        y = as_tensor(teacher(x)).detach()
    if y.ndim == 0 or y.shape[0] != n:
        raise ShapeError(
            f"teacher_student: the teacher mapped inputs {x.shape} to outputs {y.shape}; "
            f"expected a first dimension of {n}"
        )
    if noise:
        if y.dtype.kind != "f":
            raise DTypeError(f"teacher_student: noise on teacher outputs of dtype {y.dtype}; only floats take noise")
        y = from_numpy(y.data + (noise * rng.standard_normal(y.shape)).astype(y.dtype))
    return TensorDataset(x, y)


def two_spirals(n: int, noise: float = 0.0, rng: Seed = None, *, turns: float = 1.5, dtype=None) -> TensorDataset:
    """Two interleaved spirals in the plane, class 1 the point reflection of class 0: a point at arc parameter
    ``t`` lies at radius ``t`` and angle ``2π · turns · t`` (plus ``π`` for class 1), with ``t = √u``,
    ``u ~ U(0, 1)`` (evenly spread over the disk), plus ``noise · N(0, I₂)``.

    Returns ``(x (n, 2), y (n,))``; the classes have ``⌈n/2⌉`` and ``⌊n/2⌋`` points, in random order.
    """
    dtype, rng = _float_dtype(dtype), as_generator(rng)
    y = rng.permutation(np.arange(n) % 2)
    t = np.sqrt(rng.random(n))
    angle = 2 * np.pi * turns * t + np.pi * y
    x = t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1) + noise * rng.standard_normal((n, 2))
    return TensorDataset(_floats(x, dtype), _labels(y))


def xor(n: int, noise: float = 0.0, rng: Seed = None, *, dtype=None) -> TensorDataset:
    """The XOR problem: points at the corners ``(±1, ±1)`` plus ``noise · N(0, I₂)``, labelled 1 where the two
    signs differ. The four corners have equal counts (up to one), in random order. Returns ``(x (n, 2), y (n,))``."""
    dtype, rng = _float_dtype(dtype), as_generator(rng)
    corner = rng.permutation(np.arange(n) % 4)
    signs = np.stack([corner // 2, corner % 2], axis=1) * 2.0 - 1.0
    x = signs + noise * rng.standard_normal((n, 2))
    return TensorDataset(_floats(x, dtype), _labels(corner // 2 != corner % 2))


def gaussian_inputs_outputs(n: int, d_in: int, d_out: int, rng: Seed = None, *, dtype=None) -> TensorDataset:
    """Independent standard Gaussian inputs and targets, ``x ~ N(0, I_{d_in})`` and ``y ~ N(0, I_{d_out})``: the
    synthetic regression task of Marion et al. (2024, source 003), where reaching zero training loss is pure
    memorization and the PL condition of wide residual networks is what guarantees it. Draws ``x`` then ``y``."""
    dtype, rng = _float_dtype(dtype), as_generator(rng)
    x = rng.standard_normal((n, d_in))
    y = rng.standard_normal((n, d_out))
    return TensorDataset(_floats(x, dtype), _floats(y, dtype))


def unit_sphere(n: int, d: int, rng: Seed = None) -> np.ndarray:
    """n points drawn uniformly on the unit sphere S^{d−1} ⊂ ℝᵈ (normalized standard Gaussians), float64."""
    x = as_generator(rng).standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def sphere_separated(n: int, d: int, delta: float, rng: Seed = None, *, d_out: int = 1, max_draws: int = 100_000,
                     dtype=None) -> TensorDataset:
    """n unit inputs, pairwise δ-separated (‖xᵢ − xⱼ‖ ≥ δ for i ≠ j), with random targets y ~ N(0, I_{d_out}):
    the data of Allen-Zhu, Li & Song's convergence theorem (their width bound grows like 1/δ⁸).

    Points are drawn uniformly on the sphere and kept when they lie at least δ from every point kept before; a
    :class:`ValueError` is raised after ``max_draws`` draws (δ too large for n points in dimension d).
    """
    if n < 1 or d < 1 or not 0 <= delta <= 2:
        raise ValueError(f"sphere_separated: need n, d ≥ 1 and 0 ≤ δ ≤ 2, got n={n}, d={d}, δ={delta}")
    dtype, rng = _float_dtype(dtype), as_generator(rng)
    kept = np.empty((n, d))
    count, draws = 0, 0
    while count < n:
        batch = unit_sphere(min(4 * (n - count), max_draws - draws), d, rng)
        if not len(batch):
            raise ValueError(f"sphere_separated: {count} of {n} points {delta}-separated in dimension {d} after "
                             f"{max_draws} draws; lower δ or n")
        draws += len(batch)
        for point in batch:
            if count == n:
                break
            if count == 0 or np.min(np.linalg.norm(kept[:count] - point, axis=1)) >= delta:
                kept[count] = point
                count += 1
    y = rng.standard_normal((n, d_out))
    return TensorDataset(_floats(kept, dtype), _floats(y, dtype))


def two_layer_relu_teacher(n: int, d: int, neurons: int, rng: Seed = None, *, n_test: int | None = None,
                           dtype=None) -> tuple[TensorDataset, TensorDataset]:
    """A two-layer ReLU teacher y = Σ_j a_j ReLU(w_j·x) with unit-norm wⱼ and signs aⱼ = ±1, on inputs uniform on
    the unit sphere S^{d−1}: the task of Chizat, Oyallon & Bach's shallow experiments (d = 100, 3 neurons,
    ``lazy-training-CNN/shallow-nn``). Returns ``(train, test)`` of ``n`` and ``n_test`` (default ``n``) pairs,
    targets of shape ``(·, 1)``; draws the teacher, then the training inputs, then the test inputs."""
    if n < 1 or d < 1 or neurons < 1:
        raise ValueError(f"two_layer_relu_teacher: need n, d, neurons ≥ 1, got {n}, {d}, {neurons}")
    dtype, rng = _float_dtype(dtype), as_generator(rng)
    w = unit_sphere(neurons, d, rng)
    a = np.sign(rng.standard_normal(neurons))

    def draw(count):
        x = unit_sphere(count, d, rng)
        return TensorDataset(_floats(x, dtype), _floats(np.maximum(x @ w.T, 0.0) @ a[:, None], dtype))

    return draw(n), draw(n if n_test is None else n_test)

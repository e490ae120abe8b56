"""Generated datasets: shapes, dtypes, reproducibility from the seed, and the structure they are built with."""

import numpy as np
import pytest

import neurones as nr
from neurones.data import (
    TensorDataset,
    gaussian_inputs_outputs,
    gaussian_regression,
    sphere_separated,
    teacher_student,
    two_layer_relu_teacher,
    two_spirals,
    unit_sphere,
    xor,
)
from neurones.errors import DTypeError, ShapeError


def arrays(dataset):
    assert isinstance(dataset, TensorDataset)
    return tuple(t.data for t in dataset.tensors)


def test_gaussian_regression_is_a_noisy_linear_teacher():
    dataset, w = gaussian_regression(2000, 5, noise=0.1, rng=0, d_out=2, return_weight=True, dtype=np.float64)
    x, y = arrays(dataset)
    assert x.shape == (2000, 5) and y.shape == (2000, 2) and w.shape == (2, 5)
    residual = y - x @ w.data.T
    assert abs(residual.std() - 0.1) < 0.01
    reference = np.random.default_rng(0)
    np.testing.assert_array_equal(x, reference.standard_normal((2000, 5)))
    np.testing.assert_array_equal(w.data, reference.standard_normal((2, 5)) / np.sqrt(5))


def test_gaussian_regression_given_weight_default_dtype_and_reproducibility():
    weight = np.array([[1.0, -2.0, 0.5]])
    x, y = arrays(gaussian_regression(50, 3, noise=0.0, rng=3, weight=weight))
    assert x.dtype == y.dtype == np.float32 and y.shape == (50, 1)
    np.testing.assert_allclose(y, x @ weight.T, rtol=1e-5, atol=1e-5)
    again = arrays(gaussian_regression(50, 3, noise=0.0, rng=3, weight=weight))
    np.testing.assert_array_equal(again[0], x)
    float64 = arrays(gaussian_regression(50, 3, noise=0.0, rng=3, weight=weight, dtype="float64"))
    np.testing.assert_allclose(float64[0], x, rtol=1e-6)
    with pytest.raises(ShapeError):
        gaussian_regression(5, 3, weight=np.ones((3, 1)))
    with pytest.raises(DTypeError):
        gaussian_regression(5, 3, dtype=np.int32)


def test_teacher_student_with_a_callable_teacher():
    w = nr.tensor(np.array([[1.0], [2.0], [-1.0]], dtype=np.float32))
    x, y = arrays(teacher_student(lambda t: t.data @ w.data, 100, 3, rng=1))
    np.testing.assert_allclose(y, x @ w.data, rtol=1e-6)
    noisy_x, noisy_y = arrays(teacher_student(lambda t: nr.from_numpy(t.data @ w.data), 4000, 3, rng=1, noise=0.5))
    assert noisy_y.dtype == np.float32
    assert abs((noisy_y - noisy_x @ w.data).std() - 0.5) < 0.03


def test_teacher_student_class_labels_and_errors():
    def teacher(t):
        return (t.data[:, 0] > 0).astype(np.int64)

    x, y = arrays(teacher_student(teacher, 64, 2, rng=0))
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, x[:, 0] > 0)
    with pytest.raises(DTypeError, match="noise"):
        teacher_student(teacher, 8, 2, rng=0, noise=0.1)
    with pytest.raises(ShapeError, match="first dimension"):
        teacher_student(lambda t: t.data[:3], 8, 2, rng=0)


def test_two_spirals_structure():
    x, y = arrays(two_spirals(501, noise=0.0, rng=2))
    assert x.shape == (501, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [251, 250]
    radius = np.linalg.norm(x, axis=1)
    assert radius.max() <= 1 + 1e-6
    angle = np.arctan2(x[:, 1], x[:, 0]) - 2 * np.pi * 1.5 * radius - np.pi * y
    np.testing.assert_allclose(np.cos(angle), 1.0, atol=1e-4)
    np.testing.assert_array_equal(arrays(two_spirals(501, noise=0.0, rng=2))[0], x)
    assert not np.array_equal(arrays(two_spirals(501, noise=0.1, rng=2))[0], x)


def test_xor_structure():
    x, y = arrays(xor(400, noise=0.05, rng=3))
    assert x.shape == (400, 2) and y.shape == (400,) and y.dtype == np.int64
    np.testing.assert_array_equal(y, (x[:, 0] > 0) != (x[:, 1] > 0))
    corners = (x > 0).astype(int) @ [2, 1]
    assert np.bincount(corners).tolist() == [100, 100, 100, 100]


def test_gaussian_inputs_outputs():
    x, y = arrays(gaussian_inputs_outputs(3000, 4, 3, rng=5))
    assert x.shape == (3000, 4) and y.shape == (3000, 3) and x.dtype == y.dtype == np.float32
    reference = np.random.default_rng(5)
    np.testing.assert_allclose(x, reference.standard_normal((3000, 4)), rtol=1e-6)
    np.testing.assert_allclose(y, reference.standard_normal((3000, 3)), rtol=1e-6)
    assert np.abs(np.corrcoef(x.T, y.T)[:4, 4:]).max() < 0.1


def test_sphere_separated_points_are_unit_and_delta_apart():
    data = sphere_separated(60, 4, 0.6, rng=0, d_out=2, dtype=np.float64)
    x, y = data.tensors[0].data, data.tensors[1].data
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-12)
    distances = np.linalg.norm(x[:, None] - x[None], axis=-1) + 3 * np.eye(60)
    assert distances.min() >= 0.6
    assert y.shape == (60, 2)
    again = sphere_separated(60, 4, 0.6, rng=0, d_out=2, dtype=np.float64)
    np.testing.assert_array_equal(again.tensors[0].data, x)


def test_sphere_separated_says_when_delta_is_too_large():
    with pytest.raises(ValueError, match="separated in dimension 1"):
        sphere_separated(3, 1, 1.5, rng=0, max_draws=500)  # S⁰ = {−1, 1} holds only two such points
    with pytest.raises(ValueError, match="0 ≤ δ ≤ 2"):
        sphere_separated(3, 2, 3.0)


def test_the_relu_teacher_targets_follow_the_formula_on_unit_inputs():
    train, test = two_layer_relu_teacher(30, 7, 3, rng=1, n_test=11, dtype=np.float64)
    rng = np.random.default_rng(1)
    w = unit_sphere(3, 7, rng)
    a = np.sign(rng.standard_normal(3))
    x = train.tensors[0].data
    np.testing.assert_allclose(x, unit_sphere(30, 7, rng), rtol=1e-12)
    np.testing.assert_allclose(train.tensors[1].data[:, 0], np.maximum(x @ w.T, 0) @ a, rtol=1e-12)
    assert test.tensors[0].shape == (11, 7) and test.tensors[1].shape == (11, 1)

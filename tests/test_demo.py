"""The demo's data: two spirals that no linear classifier separates (so the MLP's accuracy means something)."""

import numpy as np

from neurones.demo import two_spirals


def test_two_spirals_shape_and_determinism():
    points, labels = two_spirals(500, np.random.default_rng(0))
    assert points.shape == (500, 2) and points.dtype == np.float32
    assert labels.shape == (500,) and set(np.unique(labels)) == {0, 1}
    assert 200 < labels.sum() < 300
    again, _ = two_spirals(500, np.random.default_rng(0))
    assert np.array_equal(points, again)
    assert np.abs(points).max() < 1.5


def test_two_spirals_defeat_a_linear_classifier():
    points, labels = two_spirals(2000, np.random.default_rng(1))
    design = np.hstack([points, np.ones((len(points), 1), dtype=np.float32)])
    weights, *_ = np.linalg.lstsq(design, 2.0 * labels - 1.0, rcond=None)
    accuracy = np.mean((design @ weights > 0) == labels)
    assert accuracy < 0.7


def test_the_arms_are_point_symmetric():
    """Arm 1 is arm 0 turned by π: without noise, a point of one arm negated lies on the other."""
    points, labels = two_spirals(400, np.random.default_rng(2), noise=0.0)
    radius = np.linalg.norm(points, axis=1)
    angle = np.arctan2(points[:, 1], points[:, 0])
    expected = 2 * np.pi * 1.25 * radius + np.pi * labels
    np.testing.assert_allclose(np.cos(angle), np.cos(expected), atol=1e-5)
    np.testing.assert_allclose(np.sin(angle), np.sin(expected), atol=1e-5)

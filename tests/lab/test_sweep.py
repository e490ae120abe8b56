"""Sweeps: grid order, one Generator per point keyed by its index, identical results serial or on processes."""

import numpy as np
import pytest

from neurones.lab.sweep import grid, parallelism, point_seeds, sweep


def draw(point, rng):
    """A grid point's work: a few numbers that depend on the point and on its Generator (module level: picklable)."""
    return {"depth": point["depth"], "beta": point["beta"], "values": rng.standard_normal(3).tolist()}


def test_grid_is_the_cartesian_product_in_order():
    assert grid(depth=(10, 100), beta=(0.5, 1.0)) == [
        {"depth": 10, "beta": 0.5},
        {"depth": 10, "beta": 1.0},
        {"depth": 100, "beta": 0.5},
        {"depth": 100, "beta": 1.0},
    ]
    assert grid(seed=range(3)) == [{"seed": 0}, {"seed": 1}, {"seed": 2}]
    assert grid(depth=(), beta=(1,)) == []


def test_each_point_gets_the_generator_of_its_index():
    points = grid(depth=(10, 100), beta=(0.25, 0.5, 1.0))
    expected = [draw(point, np.random.default_rng(seed)) for point, seed in zip(points, point_seeds(7, len(points)))]
    assert sweep(draw, points, 7) == expected
    values = [tuple(record["values"]) for record in expected]
    assert len(set(values)) == len(values)  # every point has its own stream


def test_the_run_generator_decides_the_streams():
    points = grid(depth=(10,), beta=(0.5, 1.0))
    first = sweep(draw, points, np.random.default_rng(3))
    again = sweep(draw, points, np.random.default_rng(3))
    other = sweep(draw, points, np.random.default_rng(4))
    assert first == again
    assert first != other
    rng = np.random.default_rng(3)
    assert sweep(draw, points, rng) != sweep(draw, points, rng)  # two sweeps in one run draw different numbers


def test_workers_do_not_change_the_results():
    points = grid(depth=(10, 100, 1000), beta=(0.25, 0.5))
    serial = sweep(draw, points, np.random.default_rng(11))
    parallel = sweep(draw, points, np.random.default_rng(11), workers=2)
    assert parallel == serial


def test_parallelism_sets_the_default_number_of_workers(monkeypatch):
    import neurones.lab.sweep as sweep_module

    seen = []
    monkeypatch.setattr(sweep_module, "ProcessPoolExecutor", lambda **kwargs: seen.append(kwargs) or _Refuse())
    points = grid(depth=(1, 2), beta=(0.5,))
    with parallelism(3), pytest.raises(RuntimeError, match="pool requested"):
        sweep(draw, points, 0)
    assert seen[0]["max_workers"] == 2  # never more processes than points
    assert sweep(draw, points, 0) == sweep(draw, points, 0, workers=1)  # back to serial outside the block


class _Refuse:
    def __enter__(self):
        raise RuntimeError("pool requested")

    def __exit__(self, *exc):
        return False


def test_invalid_worker_counts():
    with pytest.raises(ValueError, match="workers must be ≥ 1"):
        sweep(draw, grid(depth=(1,), beta=(0.5,)), 0, workers=0)
    with pytest.raises(ValueError, match="workers must be ≥ 1"), parallelism(0):
        pass

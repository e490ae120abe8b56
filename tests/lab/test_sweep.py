"""Sweeps: grid order, one Generator per point keyed by its index, identical results serial or on processes, and
finished points stored and reused."""

import numpy as np
import pytest

from neurones.lab.execution import ProcessExecutor, SerialExecutor, executing
from neurones.lab.point_store import PointStore, storing_points
from neurones.lab.sweep import grid, point_seeds, sweep


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


def test_the_current_executor_runs_the_points():
    points = grid(depth=(1, 2, 3), beta=(0.5,))
    seen = []

    class Recording(SerialExecutor):
        def run(self, function, arguments):
            seen.append(len(arguments))
            yield from super().run(function, arguments)

    with executing(Recording()):
        inside = sweep(draw, points, 0)
    assert seen == [3] and inside == sweep(draw, points, 0)  # back to plain serial outside the block
    with ProcessExecutor(2) as pool:
        assert sweep(draw, points, 0, executor=pool) == inside
        assert sweep(draw, points, 1, executor=pool) == sweep(draw, points, 1)  # a pool is reused across sweeps


def test_invalid_worker_counts():
    with pytest.raises(ValueError, match="workers must be an integer ≥ 1"):
        sweep(draw, grid(depth=(1,), beta=(0.5,)), 0, workers=0)
    with pytest.raises(ValueError, match="workers must be an integer ≥ 1"):
        ProcessExecutor(1.5)


def counted(point, rng):
    """A point's work that leaves a trace in a file, so that a test can count which points were computed."""
    with open(point["log"], "a") as log:
        log.write(f"{point['depth']}\n")
    return {"depth": point["depth"], "value": float(rng.standard_normal())}


def test_finished_points_are_stored_and_not_computed_again(tmp_path):
    log = tmp_path / "log.txt"
    points = grid(depth=(1, 2, 3, 4), log=(str(log),))
    expected = sweep(counted, points, 5)
    log.unlink()

    store_two = PointStore(tmp_path / "resumed")
    with storing_points(store_two):
        first = sweep(counted, points, 5)
    assert first == expected and store_two.count() == 4
    log.unlink()
    with storing_points(store_two):
        again = sweep(counted, points, 5)  # everything stored: nothing computed
    assert again == expected and not log.exists()

    (next(iter(sorted((tmp_path / "resumed").iterdir())))).unlink()  # one point lost, as if interrupted
    with storing_points(store_two):
        assert sweep(counted, points, 5) == expected
    assert len(log.read_text().split()) == 1  # only the missing point ran


def test_a_corrupt_stored_point_is_computed_again(tmp_path):
    store = PointStore(tmp_path / "points")
    points = grid(depth=(1, 2), beta=(0.5,))
    with storing_points(store):
        expected = sweep(draw, points, 3)
    for path in (tmp_path / "points").iterdir():
        path.write_bytes(b"truncated")
    with storing_points(store):
        assert sweep(draw, points, 3) == expected

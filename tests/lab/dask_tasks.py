"""Grid-point functions for the Dask tests, in a module of their own so that worker processes can import them."""

import os
import time


def slow_draw(point, rng):
    """A point that takes a moment (so that a worker can be killed while it holds some) and says who ran it."""
    time.sleep(point["seconds"])
    return {"index": point["index"], "values": rng.standard_normal(2).tolist(), "pid": os.getpid()}

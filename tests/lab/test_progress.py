"""Progress off a terminal: a line at the start, a status line every heartbeat with an estimate, one at the end."""

import io
import re
import time

from neurones.lab.progress import LineProgress, duration


def test_duration_is_written_for_people():
    assert [duration(s) for s in (3.14, 42, 185, 3725)] == ["3.1 s", "42 s", "3 min 05 s", "1 h 02 min"]


def test_line_progress_beats_while_a_long_step_runs():
    stream = io.StringIO()
    with LineProgress(total=4, desc="grid", stream=stream, heartbeat_s=0.05) as bar:
        bar.update(1)
        bar.set_postfix(loss="0.31")
        # One long step: the heartbeat keeps writing. Wait for two beats (up to 10 s, so that a loaded machine,
        # where the heartbeat thread gets the CPU late, does not fail the test).
        deadline = time.monotonic() + 10
        while len(stream.getvalue().splitlines()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        bar.update(3)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "grid: started (4 steps)"
    assert re.fullmatch(r"grid: done in [\d.]+ s", lines[-1])
    beats = lines[1:-1]
    assert len(beats) >= 2
    assert re.fullmatch(r"grid: 1/4, [\d.]+ s elapsed, about [\d.]+ s left \(loss=0\.31\)", beats[0])
    time.sleep(0.15)
    assert stream.getvalue().splitlines()[-1] == lines[-1]  # closed: no line after the last


def test_iterating_counts_and_closes():
    stream = io.StringIO()
    assert list(LineProgress(range(3), desc="walk", stream=stream)) == [0, 1, 2]
    assert stream.getvalue().splitlines()[0] == "walk: started (3 steps)"
    assert stream.getvalue().splitlines()[-1].startswith("walk: done in")

"""The README's example of the kernel instruments runs as written."""

from __future__ import annotations

from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_runs():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### The kernel regime"):]
    start = section.index("```python") + len("```python")
    code = section[start:section.index("```", start)]
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["K"].shape == (8, 8)
    np.testing.assert_allclose(namespace["f_inf"], namespace["y"], atol=1e-9)  # interpolation at the training points

"""The smoke-scale report rendered by headless Chromium: every image loads and the page is not blank.

Chromium is a system package (Debian's ``chromium``, installed by .ci/run). Outside CI a machine without it skips
this test; in CI its absence is a failure, so the check cannot silently disappear.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neurones.report.build import build_report

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Runs on the load event, after every <img> has had its chance: records how many decoded to a real picture.
IMAGE_PROBE = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images-total", String(images.length));
  document.body.setAttribute("data-images-loaded", String(loaded));
});
</script>"""


def chromium_path() -> str:
    path = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run must install it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def chromium(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [chromium_path(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_smoke_report_renders_with_every_image_loaded(tmp_path):
    report = build_report(tmp_path / "report", scale="smoke", only=["stochastic-depth"])
    page = report.read_text(encoding="utf-8")
    expected_images = page.count("<img ")
    assert expected_images >= 1

    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", IMAGE_PROBE + "\n</body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", dom.stdout)
    assert body is not None, dom.stdout[:2000]
    assert f'data-images-total="{expected_images}"' in body.group(1)
    assert f'data-images-loaded="{expected_images}"' in body.group(1)

    screenshot = tmp_path / "report.png"
    shot = chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1200,3000", report.as_uri())
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.is_file()
    with Image.open(screenshot) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.shape == (3000, 1200)
    assert pixels.std() > 5.0  # text, table and figure: far from a blank page
    assert (pixels < 128).mean() > 0.005  # a visible amount of dark ink

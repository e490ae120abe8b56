"""The smoke-scale report rendered by headless Chromium: the page loads nothing from the network, every image
loads, failing claims come before passing ones, the verdict filter hides and shows rows, the mathematics renders as
MathML, and a screenshot of the top of the page is kept under ``runs/test-artifacts/`` (not committed).

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
ARTIFACTS = Path(__file__).resolve().parents[2] / "runs" / "test-artifacts"
# Runs on the load event, after every <img> has had its chance: records in <body> attributes what a reader would
# see — images decoded, resources fetched from anywhere but data: URIs, the order of verdicts in the claims table,
# the rows visible under each verdict filter, and the size of the first rendered formula.
PROBE = """<script>
window.addEventListener("load", function () {
  var body = document.body;
  function note(name, value) { body.setAttribute("data-" + name, String(value)); }
  var images = Array.prototype.slice.call(document.images);
  note("images-total", images.length);
  note("images-loaded", images.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length);
  note("fetched", performance.getEntriesByType("resource").filter(function (entry) {
    return entry.name.indexOf("data:") !== 0; }).length);
  var rows = Array.prototype.slice.call(document.getElementById("claims-table").tBodies[0].rows);
  note("verdicts", rows.map(function (row) { return row.dataset.verdict; }).join(","));
  var filter = document.getElementById("filter-verdict");
  note("filter-shown", !document.getElementById("filters").hidden);
  ["fail", "pass", ""].forEach(function (value) {
    filter.value = value;
    filter.dispatchEvent(new Event("change"));
    note("visible-" + (value || "all"), rows.filter(function (row) { return !row.hidden; }).length);
  });
  var formula = document.querySelector("math");
  var box = formula ? formula.getBoundingClientRect() : {width: 0, height: 0};
  note("math-size", Math.round(box.width) + "x" + Math.round(box.height));
  note("math-display", formula ? getComputedStyle(formula).display : "none");
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


def test_the_report_in_a_browser(tmp_path):
    # ode-width-pl fails its claims at smoke scale (too few steps), stochastic-depth holds: both verdicts appear.
    report = build_report(tmp_path / "report", scale="smoke", only=["stochastic-depth", "ode-width-pl"])
    page = report.read_text(encoding="utf-8")
    expected_images = page.count("<img ")
    assert expected_images >= 2

    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", dom.stdout)
    assert body is not None, dom.stdout[:2000]
    seen = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    assert seen["images-total"] == seen["images-loaded"] == str(expected_images)
    assert seen["fetched"] == "0"  # nothing but data: URIs, so the page works offline
    verdicts = seen["verdicts"].split(",")
    failing = verdicts.count("fail")
    assert failing >= 1 and verdicts == ["fail"] * failing + ["pass"] * (len(verdicts) - failing)
    assert seen["filter-shown"] == "true"  # the script revealed the filters
    assert (seen["visible-fail"], seen["visible-pass"], seen["visible-all"]) == (
        str(failing), str(len(verdicts) - failing), str(len(verdicts)),
    )  # fmt: skip
    width, height = map(int, seen["math-size"].split("x"))
    assert width > 20 and height > 5, seen  # MathML laid out as mathematics, not an empty element
    assert seen["math-display"] in ("inline", "math", "inline-math")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "report-top.png"
    shot = chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1200,1600", report.as_uri())
    assert shot.returncode == 0, shot.stderr[-2000:]
    with Image.open(screenshot) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.shape == (1600, 1200)
    assert pixels.std() > 5.0  # text, tables and colour: far from a blank page
    assert (pixels < 128).mean() > 0.005  # a visible amount of dark ink

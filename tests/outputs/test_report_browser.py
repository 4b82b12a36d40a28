"""The rendered ci report in a real browser: headless Chromium opens
``paper/ci/report.html`` (from the ``built`` fixture) and checks that every figure loaded
(natural width > 0) and every row of the claims table is laid out and visible; a
screenshot is saved to ``test-artifacts/report_ci.png``.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it). Where it is missing or
cannot start the test is skipped with the reason; ``REQUIRE_BROWSER=1`` (set by
``.ci/run``) turns that into a failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from cases import ROOT

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Chromium as root (CI, containers) needs --no-sandbox; no GPU here
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars")
#: appended to a copy of the page: once everything has loaded, write what the browser sees
#: of the images and of the claims table's rows into the page, for --dump-dom to print
CHECK = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(image => ({complete: image.complete, width: image.naturalWidth}));
  const rows = Array.from(document.querySelectorAll("#claims tbody tr")).map(row => {
    const box = row.getBoundingClientRect(), style = getComputedStyle(row);
    return {height: box.height, width: box.width, text: row.innerText,
            shown: style.visibility !== "hidden" && style.display !== "none"};
  });
  const out = document.createElement("pre");
  out.id = "browser-check";
  out.textContent = JSON.stringify({images, rows});
  document.body.appendChild(out);
});
</script>"""


def _browser() -> str:
    found = next((path for path in map(shutil.which, BROWSERS) if path), None)
    if found is None:
        problem = f"none of {', '.join(BROWSERS)} on PATH (apt-get install -y chromium)"
        (pytest.fail if os.environ.get("REQUIRE_BROWSER") == "1" else pytest.skip)(problem)
    return found


def _run(browser: str, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([browser, *FLAGS, *args], capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        problem = f"{browser} failed ({result.returncode}): {result.stderr[-2000:]}"
        (pytest.fail if os.environ.get("REQUIRE_BROWSER") == "1" else pytest.skip)(problem)
    return result


def test_every_figure_loads_and_every_claim_row_shows(built, tmp_path):
    browser = _browser()
    report = built / "paper/ci/report.html"
    page = tmp_path / "checked.html"
    page.write_text(report.read_text().replace("</body>", CHECK + "</body>"))
    dom = _run(browser, "--virtual-time-budget=20000", "--dump-dom", page.as_uri()).stdout
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', dom, re.S)
    assert found, "the check script did not run: " + dom[-2000:]
    seen = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))
    figures = list((built / "figures/ci").glob("*.png"))
    assert len(seen["images"]) >= len(figures)
    assert all(image["complete"] and image["width"] > 0 for image in seen["images"]), seen["images"]
    claims = pd.read_csv(built / "tables/ci/claims.csv")
    assert len(seen["rows"]) == len(claims)
    for row, (_, claim) in zip(seen["rows"], claims.iterrows()):
        assert row["shown"] and row["height"] > 0 and row["width"] > 0, row
        assert claim["claim"] in row["text"] and claim["verdict"] in row["text"]
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report_ci.png"
    _run(browser, "--window-size=1280,3000", f"--screenshot={shot}", report.as_uri())
    assert shot.stat().st_size > 10_000

"""The report in a real browser: headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="needs Debian's chromium at /usr/bin/chromium (scripts/install-browser.sh installs it)"),
]


@pytest.fixture(scope="module")
def browser_report(report_run):
    return report_run.out_dir / "report.html"


def test_report_renders_in_chromium_without_errors(browser_report, tmp_path):
    from playwright.sync_api import sync_playwright

    console_errors: list[str] = []
    page_errors: list[str] = []
    network: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("request", lambda r: network.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.goto(browser_report.as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate(
                """Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,
                    natural: i.naturalWidth * i.naturalHeight,
                    shown: i.getBoundingClientRect().width * i.getBoundingClientRect().height}))"""
            )
            headline = page.inner_text("#verdict .headline")
            recommendation = page.inner_text("#recommendation .headline")
            first = page.evaluate("document.querySelector('body > section').id")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert console_errors == [] and page_errors == []
    assert network == []
    assert len(images) >= 5
    for img in images:
        assert img["complete"] and img["natural"] > 0 and img["shown"] > 0, img
    assert first == "recommendation" and recommendation.startswith("No recommendation")  # the box at the top
    assert headline.startswith("Verdict:")
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("LEANLENS_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "report.png")


_LAYOUT_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const tooSmall = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.getClientRects().length === 0) continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < 9) tooSmall.push(el.tagName + ' ' + px + 'px: ' + el.textContent.trim().slice(0, 40));
  }
  const outside = [];
  for (const img of document.images) {
    const r = img.getBoundingClientRect(), p = img.parentElement.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.left < p.left - 1 || r.right > p.right + 1 || r.right > vw + 1) outside.push(img.alt + ' ' + r.width + ' in ' + p.width);
  }
  return {vw, scrollWidth: document.documentElement.scrollWidth, tooSmall, outside};
}"""


@pytest.mark.parametrize("width", [1280, 400])
def test_report_layout_fits_the_viewport(browser_report, tmp_path, width):
    """At a desktop and a phone width: no sideways page scroll, no text under 9 px, images inside their boxes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(browser_report.as_uri())
            page.wait_for_load_state("load")
            layout = page.evaluate(_LAYOUT_JS)
            shot = tmp_path / f"report-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    keep = os.environ.get("LEANLENS_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / f"report-{width}.png")
    assert layout["vw"] <= width
    assert layout["scrollWidth"] <= layout["vw"], f"the page is {layout['scrollWidth']} px wide at a {width} px viewport"
    assert layout["tooSmall"] == []
    assert layout["outside"] == []

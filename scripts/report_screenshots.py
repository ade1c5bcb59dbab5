"""Screenshots of a run's report.html at desktop and phone width (docs/report-1280.png, docs/report-400.png).

    leanlens demo --out runs/demo
    python scripts/report_screenshots.py runs/demo/report.html docs/

Uses the same headless Debian Chromium and arguments as tests/report/test_report_browser.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path, help="a report.html")
    ap.add_argument("out", type=Path, help="folder for report-<width>.png")
    ap.add_argument("--widths", default="1280,400")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for width in (int(w) for w in args.widths.split(",")):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(args.report.resolve().as_uri())
                page.wait_for_load_state("load")
                scroll = page.evaluate("document.documentElement.scrollWidth")
                shot = args.out / f"report-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"{shot}: viewport {width} px, page {scroll} px wide")
                page.close()
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

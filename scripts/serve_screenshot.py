"""The README's picture of ``mnist-gan serve``: the page in Debian's Chromium, by Playwright.

    python scripts/serve_screenshot.py [--out docs/images/serve.png] [--model cfast] [--label 7]

Starts ``mnist-gan serve`` on a free port (the shipped presets), opens the page at 1000x900,
picks ``--model`` and ``--label``, moves the walk to its middle frame, and saves a screenshot
of the whole page.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]


# True once the walk's canvas holds a frame (any pixel that is not black or transparent).
PAINTED = """(() => {
  const canvas = document.getElementById('walk');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  return data.some((value, i) => i % 4 !== 3 && value > 0);
})()"""


def main() -> int:
    """Take the screenshot; 0 when written."""
    from tests.serve.test_page import CHROMIUM, CHROMIUM_FLAGS, start_server, stop

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "serve.png")
    parser.add_argument("--model", default="cfast")
    parser.add_argument("--label", default="7")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc, address = start_server()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(address)
            page.wait_for_function("document.getElementById('grid').src.startsWith('blob:')")
            page.select_option("#model", args.model)
            page.wait_for_load_state("networkidle")
            page.select_option("#label", args.label)
            page.wait_for_load_state("networkidle")
            page.fill("#count", "32")
            page.dispatch_event("#count", "change")
            page.wait_for_function(
                "document.getElementById('grid-caption').textContent.startsWith('32 image')"
            )
            page.wait_for_load_state("networkidle")
            page.evaluate("document.getElementById('frame').value = 8")
            page.dispatch_event("#frame", "input")
            page.wait_for_function(PAINTED)  # the walk's frame is drawn
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        stop(proc, signal.SIGTERM)
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

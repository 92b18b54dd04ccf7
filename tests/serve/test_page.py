"""``mnist-gan serve`` for real: a server process, Debian's Chromium driven by Playwright.

The browser test picks digit 3 by keyboard on the shipped ``cfast``, checks the grid changes and
shows 3s by the package's classifier, and downloads the PNG. It needs Debian's ``chromium``
(``apt-get install chromium``; ``.ci/run`` installs it) and never downloads a browser.
"""

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import cli_env

CHROMIUM = os.environ.get("MNIST_GAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# As the machine's own probe starts it: as root, offline, nothing in the background.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(*args: str) -> tuple[subprocess.Popen, str]:
    """``mnist-gan serve ARGS`` on a free port; its process and address once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "mnist_gan", "serve", "--port", str(port), *args]
    proc = subprocess.Popen(
        command, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(address + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return proc, address
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("the server did not answer within 180 s")


def stop(proc: subprocess.Popen, sig: int) -> str:
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    return output


def test_a_busy_port_and_a_missing_source_are_refused_at_once(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for args, message in (
            (["--port", str(port)], "is in use; choose another with --port"),
            ([str(tmp_path / "nowhere")], "does not exist"),
        ):
            start = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-m", "mnist_gan", "serve", *args],
                env=cli_env(), capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert result.returncode == 2 and message in result.stderr
            assert time.monotonic() - start < 20  # before TensorFlow loads


def test_serve_says_where_and_what_it_exposes_answers_and_stops_on_sigterm():
    proc, address = start_server("--host", "0.0.0.0")
    with urllib.request.urlopen(address + "/api/models", timeout=10) as response:
        assert b"cfast" in response.read()
    output = stop(proc, signal.SIGTERM)
    assert "listens on every network interface" in output and "there is no login" in output
    assert f"at {address}/ (Ctrl-C stops)" in output and output.strip().endswith("Stopped.")
    assert "Traceback" not in output


def grid_images(png: bytes, count: int = 64, columns: int = 8) -> np.ndarray:
    """The uint8 28x28 images of a page grid (2x scale, 2-pixel padding)."""
    grid = np.asarray(Image.open(io.BytesIO(png)).convert("L"))[::2, ::2]
    cells = [
        grid[2 + r * 30 : 2 + r * 30 + 28, 2 + c * 30 : 2 + c * 30 + 28]
        for r in range(count // columns)
        for c in range(columns)
    ]
    return np.stack(cells)


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (apt-get install chromium)",
)
def test_the_page_draws_the_chosen_digit_and_downloads_the_grid(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    from mnist_gan.evaluation.classifier import features_and_probs

    proc, address = start_server()
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(accept_downloads=True)
            page.goto(address)
            shown = "document.getElementById('grid').src.startsWith('blob:')"
            page.wait_for_function(shown)
            assert page.input_value("#model") == "cfast"  # the first conditional model
            page.wait_for_load_state("networkidle")
            before = page.locator("#grid").screenshot()
            page.focus("#label")
            page.keyboard.type("3")  # by keyboard: a select jumps to the option typed
            assert page.input_value("#label") == "3"
            page.wait_for_function(
                "document.getElementById('grid-caption').textContent.includes('class 3')"
            )
            page.wait_for_load_state("networkidle")
            assert page.locator("#grid").screenshot() != before
            with page.expect_download() as download:
                page.click("#download-png")
            saved = tmp_path / "grid.png"
            download.value.save_as(saved)
            assert download.value.suggested_filename == "cfast-seed0-3.png"
            _, probs = features_and_probs(grid_images(saved.read_bytes()))
            assert np.mean(probs.argmax(axis=1) == 3) >= 0.9
            page.set_viewport_size({"width": 375, "height": 740})  # a phone
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            browser.close()
    finally:
        output = stop(proc, signal.SIGINT)  # Ctrl-C
    assert output.strip().endswith("Stopped.") and "Traceback" not in output

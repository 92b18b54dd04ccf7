"""Helpers for tests that run ``mnist-gan`` in a real process and wait on it."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")


def train_arguments(data, out, epochs, preset="tiny"):
    """``mnist-gan train`` arguments for a quick run of ``preset`` on ``data`` into ``out``."""
    return [
        "train", "--preset", preset, "--no-jit-compile",
        "--data", str(data), "--output-dir", str(out), "--epochs", str(epochs),
        "--batch-size", "50", "--seed", "3", "--sample-frequency", "0",
    ]  # fmt: skip


def train_command(data, out, epochs):
    """A real ``mnist-gan train`` process on the tests' tiny preset (``python -m
    tests.tiny_cli``: the command line with ``tiny`` registered; run it with ``cwd=ROOT``)."""
    return [sys.executable, "-m", "tests.tiny_cli", *train_arguments(data, out, epochs)]


def start(command):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )


def wait_for(predicate, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


# Runs the CLI like `python -m mnist_gan`, then says on stdout whether TensorFlow/Keras were
# imported, whatever way main ended (argparse exits through SystemExit).
RUNNER = textwrap.dedent(
    """
    import sys
    from mnist_gan.cli import main
    try:
        status = main(sys.argv[1:])
    except SystemExit as stop:
        status = stop.code
    loaded = sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras"})
    print("HEAVY_MODULES=" + ",".join(loaded))
    sys.exit(status)
    """
)


def cli_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CPP_MIN_LOG_LEVEL", "MNIST_GAN_TF_LOGS")
    }
    env["PYTHONPATH"] = SRC + os.pathsep + os.environ.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env(),
        timeout=timeout,
        check=False,
    )


def heavy_modules(result: subprocess.CompletedProcess) -> str:
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("HEAVY_MODULES=")]
    return line.removeprefix("HEAVY_MODULES=")

"""Helpers for tests that run ``mnist-gan train`` in a real process and wait on it."""

import os
import subprocess
import sys
import time


def train_command(data, out, epochs):
    return [
        sys.executable, "-m", "mnist_gan", "train", "--preset", "fast", "--no-jit-compile",
        "--data", str(data), "--output-dir", str(out), "--epochs", str(epochs),
        "--batch-size", "50", "--seed", "3", "--sample-frequency", "0",
    ]  # fmt: skip


def start(command):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def wait_for(predicate, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")

"""Graceful stop with real signals sent to a real training process; SIGTERM / SIGHUP to
``mnist-gan train`` checkpoint the current step and exit 143 / 129."""

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from mnist_gan.cli import main
from mnist_gan.gan.checkpoint import list_checkpoints
from mnist_gan.reliability.signals import GracefulStop, StopOnSignal
from tests.helpers import SRC, start, train_arguments, train_command, wait_for

TRAINER = textwrap.dedent(
    """
    import sys
    import numpy as np, keras
    from mnist_gan.reliability.signals import GracefulStop, StopOnSignal

    class Ready(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if not getattr(self, "done", False):
                self.done = True
                print("ready", flush=True)

    x = np.random.default_rng(0).random((64, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with GracefulStop() as stop:
        model.fit(x, x[:, :1], epochs=100000, batch_size=8, verbose=0,
                  callbacks=[Ready(), StopOnSignal(stop)])
    step = int(model.optimizer.iterations.numpy())
    with open(sys.argv[1], "w") as f:
        f.write(f"saved-at-step {step}")
    sys.exit(stop.exit_status())
    """
)


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_stops_training_saves_and_exits_with_128_plus_signum(tmp_path, signum, status):
    saved = tmp_path / "saved.txt"
    env = {
        **os.environ,
        "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", TRAINER, str(saved)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = _readline(proc, timeout=180)
        assert line.strip() == "ready", proc.stderr.read() if proc.poll() is not None else line
        time.sleep(0.3)  # let it run a few more steps
        sent = time.perf_counter()
        proc.send_signal(signum)
        code = proc.wait(timeout=30)
        elapsed = time.perf_counter() - sent
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert code == status, stderr[-2000:]
    assert elapsed < 10.0, f"took {elapsed:.1f}s to stop"
    text = saved.read_text()
    assert text.startswith("saved-at-step ")
    assert int(text.split()[-1]) >= 1
    assert signal.Signals(signum).name in stderr  # the warning names the signal


def test_handlers_are_restored_and_signal_is_recorded():
    before = signal.getsignal(signal.SIGTERM)
    with GracefulStop() as stop:
        assert stop.installed
        assert signal.getsignal(signal.SIGTERM) == stop._handle
        assert stop.exit_status() == 0 and not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)  # handled, not fatal
        deadline = time.monotonic() + 5
        while stop.signum is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 5
        while stop.count < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGTERM) == before
    assert stop.signum == signal.SIGTERM and stop.count == 2  # the first one is kept
    assert stop.signal_name == "SIGTERM"
    assert stop.exit_status() == 143


def test_outside_the_main_thread_nothing_is_installed():
    before = signal.getsignal(signal.SIGTERM)
    result = {}

    def worker() -> None:
        with GracefulStop() as stop:
            result["installed"] = stop.installed
            result["handler"] = signal.getsignal(signal.SIGTERM)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert result == {"installed": False, "handler": before}


def test_stop_on_signal_sets_stop_training_once():
    class Model:
        stop_training = False

    stop = GracefulStop()
    callback = StopOnSignal(stop)
    callback.set_model(Model())
    callback.on_train_batch_end(0, {})
    assert not callback.model.stop_training
    stop._handle(signal.SIGTERM, None)
    callback.on_train_batch_end(4, {})
    assert callback.model.stop_training and callback.stopped_at_batch == 4


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_checkpoints_the_current_step_and_exits_conventionally(
    tmp_path, tiny_npz, signum, status, tiny_preset, capsys
):
    out = tmp_path / "run"
    proc = start(train_command(tiny_npz, out, 400))
    wait_for(lambda: list_checkpoints(out / "checkpoints"))  # training is under way
    sent = time.time()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    assert time.time() - sent < 30  # well within the usual grace period
    assert signal.Signals(signum).name in stderr and "rerun the same command" in stderr
    newest = list_checkpoints(out / "checkpoints")[-1][1]
    assert newest.name.startswith("ckpt-epoch-")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["global_step"] >= 3
    # stdout is a pipe: one line per epoch, no progress-bar repaints.
    assert "\r" not in stdout and stdout.count("epoch ") >= 1
    # The same command resumes from where the signal stopped it (run in this process: the
    # command line's code path, without starting TensorFlow a second time).
    capsys.readouterr()
    assert main(train_arguments(tiny_npz, out, summary["epochs_done"] + 1)) == 0
    assert f"Resuming from {newest}" in capsys.readouterr().out

"""Progress output: mode resolution, the one-line-per-epoch logger, a redirected real process."""

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from mnist_gan.errors import MNISTGANError
from mnist_gan.training.progress import (
    EpochLineLogger,
    fit_verbose,
    format_epoch_line,
    progress_callbacks,
    resolve_progress,
)
from tests.helpers import SRC


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class NoIsatty:
    def write(self, text: str) -> int:
        return len(text)


def _tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


def test_logger_writes_one_line_per_epoch():
    x = np.random.default_rng(0).random((40, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    out = io.StringIO()
    _tiny_model().fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[EpochLineLogger(out)])
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 3
    for number, line in enumerate(lines, start=1):
        assert line.startswith(f"epoch {number}/3 · 5 steps · ")
        assert " · loss " in line and " · mae " in line
        seconds = line.split(" · ")[2]
        assert seconds.endswith("s") and float(seconds[:-1]) >= 0


def test_format_epoch_line_four_significant_digits_numbers_only():
    logs = {"d_loss": 1.23456, "g_loss": np.float32(0.98768), "note": "x", "d_acc_real": 0.61}
    line = format_epoch_line(3, 30, 600, 12.34, logs)
    assert line == "epoch 3/30 · 600 steps · 12.3s · d_loss 1.235 · g_loss 0.9877 · d_acc_real 0.61"
    assert format_epoch_line(1, None, 2, 0.0, {"loss": float("nan")}) == (
        "epoch 1 · 2 steps · 0.0s · loss nan"
    )


def test_resolve_progress_auto_follows_the_stream(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert resolve_progress(None, FakeTTY()) == "bar"
    assert resolve_progress("auto", FakeTTY()) == "bar"
    assert resolve_progress(None, io.StringIO()) == "epoch"
    assert resolve_progress("AUTO", NoIsatty()) == "epoch"
    closed = io.StringIO()
    closed.close()
    assert resolve_progress(None, closed) == "epoch"


def test_resolve_progress_explicit_mode_wins_and_is_validated():
    assert resolve_progress("none", FakeTTY()) == "none"
    assert resolve_progress("bar", io.StringIO()) == "bar"
    assert resolve_progress("epoch", FakeTTY()) == "epoch"
    for bad in ("verbose", "", 1):
        with pytest.raises(MNISTGANError, match="--progress must be one of"):
            resolve_progress(bad, io.StringIO())


def test_resolve_progress_in_a_jupyter_kernel(monkeypatch):
    import IPython

    class Shell:
        kernel = object()

    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules.get("ipykernel", object()))
    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    assert resolve_progress(None, io.StringIO()) == "bar"
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # IPython but no kernel
    assert resolve_progress(None, io.StringIO()) == "epoch"


def test_fit_verbose_and_callbacks():
    assert fit_verbose("bar") == 1
    assert fit_verbose("epoch") == 0
    assert fit_verbose("none") == 0
    with pytest.raises(MNISTGANError):
        fit_verbose("auto")
    assert progress_callbacks("bar") == [] and progress_callbacks("none") == []
    (logger,) = progress_callbacks("epoch")
    assert isinstance(logger, EpochLineLogger)


SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    from mnist_gan.training.progress import fit_verbose, progress_callbacks, resolve_progress
    mode = resolve_progress(None)
    x = np.random.default_rng(0).random((30, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :1], epochs=4, batch_size=10, verbose=fit_verbose(mode),
              callbacks=progress_callbacks(mode))
    """
)


def _output_in_a_file(tmp_path: Path, *args: str, timeout: int = 300) -> str:
    """What ``python -c ARGS...`` prints to stdout when stdout is a file (no terminal)."""
    log_file = tmp_path / "train.log"
    env = {
        **os.environ,
        "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    with log_file.open("w") as out:
        result = subprocess.run(
            [sys.executable, "-c", *args],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return log_file.read_text()


def test_redirected_real_process_prints_one_line_per_epoch(tmp_path):
    text = _output_in_a_file(tmp_path, SCRIPT, timeout=240)
    assert "\r" not in text
    lines = text.splitlines()
    assert [line.split(" · ")[:2] for line in lines] == [
        [f"epoch {n}/4", "3 steps"] for n in range(1, 5)
    ]


TRAINER_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from conftest import synthetic_digits
    from mnist_gan import GANTrainer
    trainer = GANTrainer(preset="mlp", output_dir=sys.argv[1], epochs=3, batch_size=32,
                         sample_frequency=0, sample_every_epochs=0, jit_compile=False, seed=3)
    trainer.load_data(synthetic_digits(64))
    trainer.train()  # no progress argument: chosen like `mnist-gan train --progress auto`
    """
)


def test_trainer_train_without_progress_writes_epoch_lines_to_a_file(tmp_path):
    tests_dir = str(Path(__file__).resolve().parents[1])
    text = _output_in_a_file(tmp_path, TRAINER_SCRIPT, str(tmp_path / "run"), tests_dir)
    assert "\r" not in text and "\b" not in text  # no bar repaints
    epochs = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert [line.split(" · ")[:2] for line in epochs] == [
        [f"epoch {n}/3", "2 steps"] for n in range(1, 4)
    ]

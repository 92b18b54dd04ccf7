"""Progress output that suits where it is shown.

A terminal or a notebook gets Keras's live progress bar; a log file, CI or ``nohup`` (stdout not
a terminal) gets one plain line per epoch instead of thousands of ``\\r``-redrawn bar frames::

    mode = resolve_progress(args.progress)            # "bar" | "epoch" | "none"
    gan.fit(..., verbose=fit_verbose(mode), callbacks=[*progress_callbacks(mode), ...])

The epoch line is ours, not Keras's ``verbose=2``: that prints two lines per epoch
(``Epoch 3/30``, then ``600/600 - 12s - 20ms/step - d_loss: ...``; Keras 3.15), and the design
asks for one line an epoch in a log file or CI.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import keras
import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.outputs.notebook import in_jupyter_kernel

PROGRESS_MODES = ("auto", "bar", "epoch", "none")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def resolve_progress(mode: str | None, stream: TextIO | None = None) -> str:
    """The progress style to use: ``"bar"``, ``"epoch"`` or ``"none"``.

    An explicit ``"bar"``/``"epoch"``/``"none"`` is returned as is. ``None`` or ``"auto"`` gives
    ``"bar"`` when ``stream`` (default ``sys.stdout``) is a terminal or this is a Jupyter kernel,
    else ``"epoch"``. Any other value raises :class:`MNISTGANError`.
    """
    if mode is None:
        mode = "auto"
    if not isinstance(mode, str) or mode.lower() not in PROGRESS_MODES:
        raise MNISTGANError(f"--progress must be one of {', '.join(PROGRESS_MODES)}; got {mode!r}")
    mode = mode.lower()
    if mode != "auto":
        return mode
    stream = sys.stdout if stream is None else stream
    return "bar" if _isatty(stream) or in_jupyter_kernel() else "epoch"


def fit_verbose(mode: str) -> int:
    """The ``verbose`` value for ``fit`` in a resolved mode: 1 for ``"bar"``, else 0."""
    if mode not in ("bar", "epoch", "none"):
        raise MNISTGANError(f"progress mode must be bar, epoch or none (resolved); got {mode!r}")
    return 1 if mode == "bar" else 0


def progress_callbacks(mode: str, stream: TextIO | None = None) -> list[keras.callbacks.Callback]:
    """The callbacks a resolved mode needs: ``[EpochLineLogger(stream)]`` for ``"epoch"``."""
    fit_verbose(mode)  # validates
    return [EpochLineLogger(stream)] if mode == "epoch" else []


def format_epoch_line(
    epoch: int, epochs: int | None, steps: int, seconds: float, logs: dict[str, Any]
) -> str:
    """``epoch 3/30 · 600 steps · 12.3s · d_loss 1.234 · g_loss 0.987 ...`` (``epoch`` 1-based).

    Every numeric log value is shown with 4 significant digits, in the order given; others are
    left out.
    """
    parts = [f"epoch {epoch}/{epochs}" if epochs else f"epoch {epoch}", f"{steps} steps"]
    parts.append(f"{seconds:.1f}s")
    for key, value in logs.items():
        number = _as_number(value)
        if number is not None:
            parts.append(f"{key} {number:.4g}")
    return " · ".join(parts)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - anything unconvertible is simply not shown
        return None
    if array.shape != () or array.dtype.kind not in "iuf":
        return None
    return float(array)


class EpochLineLogger(keras.callbacks.Callback):
    """Writes exactly one line per epoch to ``stream`` (default: ``sys.stdout`` at write time).

    The line is :func:`format_epoch_line` of the epoch's logs, with the total epochs taken from
    ``params["epochs"]`` and the steps actually run (fewer when an epoch is cut short). The
    stream is flushed after each line, so ``tail -f`` on a redirected log follows along.
    Use it with ``fit(..., verbose=0)``.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream
        self._started = 0.0
        self._steps = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()
        self._steps = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # ``batch`` is the index of the last step this call covered (steps_per_execution aware)
        self._steps = batch + 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        epochs = (self.params or {}).get("epochs")
        line = format_epoch_line(
            epoch + 1, epochs, self._steps, time.perf_counter() - self._started, logs or {}
        )
        stream = sys.stdout if self.stream is None else self.stream
        stream.write(line + "\n")
        stream.flush()

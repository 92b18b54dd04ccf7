"""Graceful stop on SIGTERM / SIGHUP: finish the current step, checkpoint, exit 128 + signal.

``kill``, ``docker stop``, a batch scheduler's time limit or a closed SSH session end a run with
SIGTERM or SIGHUP, whose default action kills Python at once (no checkpoint of the steps since
the last one). Under :class:`GracefulStop` such a signal is only recorded; :class:`StopOnSignal`
then ends ``fit`` at the next step boundary, and the caller saves and exits::

    with GracefulStop() as stop:
        model.fit(..., callbacks=[StopOnSignal(stop), ...])
    if stop.signum is not None:
        save_checkpoint()
        sys.exit(stop.exit_status())  # 143 for SIGTERM, 129 for SIGHUP
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType, TracebackType
from typing import Any

import keras

log = logging.getLogger("mnist_gan")


def _default_signals() -> tuple[int, ...]:
    names = ("SIGTERM", "SIGHUP")  # SIGHUP does not exist on Windows
    return tuple(int(getattr(signal, name)) for name in names if hasattr(signal, name))


class GracefulStop:
    """Context manager: while inside, SIGTERM and SIGHUP are recorded instead of killing us.

    ``signum`` is the first signal that arrived (None if none), ``count`` how many did. Handlers
    are installed only in the main thread (Python allows no other); elsewhere the context does
    nothing and ``installed`` is False. The previous handlers are restored on exit, so a signal
    after the ``with`` block behaves as before it.
    """

    def __init__(self, signals: tuple[int, ...] | None = None) -> None:
        self.signals = _default_signals() if signals is None else tuple(signals)
        self.signum: int | None = None
        self.count = 0
        self.installed = False
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        """Whether a stop signal has arrived."""
        return self.signum is not None

    @property
    def signal_name(self) -> str | None:
        """``"SIGTERM"`` etc. for the signal that arrived, None if none."""
        if self.signum is None:
            return None
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    def exit_status(self) -> int:
        """The conventional exit status for the signal, ``128 + signum`` (143 for SIGTERM,
        129 for SIGHUP); 0 when no signal arrived."""
        return 0 if self.signum is None else 128 + self.signum

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Runs in the main thread between bytecodes: record only, never raise.
        if self.signum is None:
            self.signum = signum
        self.count += 1

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is not threading.main_thread():
            log.debug("GracefulStop: not the main thread, signal handlers left unchanged")
            return self
        for signum in self.signals:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)
        self.installed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.installed:
            return
        for signum, previous in self._previous.items():
            # None means the handler was set outside Python: the default is the best we can do.
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()
        self.installed = False


class StopOnSignal(keras.callbacks.Callback):
    """Sets ``model.stop_training`` at the first step boundary after ``graceful_stop`` saw a
    signal, so ``fit`` returns normally after the step in progress (and calls the usual
    ``on_epoch_end``/``on_train_end`` hooks). ``stopped_at_batch`` is that step's batch index."""

    def __init__(self, graceful_stop: GracefulStop) -> None:
        super().__init__()
        self.graceful_stop = graceful_stop
        self.stopped_at_batch: int | None = None

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.graceful_stop.signum is None or self.model.stop_training:
            return
        self.model.stop_training = True
        if self.stopped_at_batch is None:
            self.stopped_at_batch = batch
            log.warning(
                "%s received: stopping after this step (batch %d) to save and exit",
                self.graceful_stop.signal_name,
                batch,
            )

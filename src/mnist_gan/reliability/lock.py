"""One trainer per output folder: a lock file that names its owner.

``RunLock(folder)`` creates ``folder/.mnist-gan.lock`` atomically (``O_CREAT | O_EXCL``) holding
JSON ``{pid, host, started, argv, token}``. A second trainer pointed at the same folder gets an
:class:`~mnist_gan.errors.MNISTGANError` naming the process, host and start time of the first.
A lock left behind by a process that no longer exists on this host (killed, crashed, machine
rebooted) or a lock file that is empty or unreadable is taken over with a warning. A lock from
another host cannot be checked from here and is refused; the message says how to clear it.

Use it around everything that writes the folder::

    with RunLock(output_dir):
        trainer.train()
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import secrets
import socket
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from mnist_gan.errors import MNISTGANError

log = logging.getLogger("mnist_gan")

LOCK_NAME = ".mnist-gan.lock"
_ATTEMPTS = 5  # create/take-over rounds before giving up (only races with other starters loop)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a process we may not signal counts as alive).

    A zombie (exited, not yet reaped by its parent) still counts as alive.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class RunLock:
    """Exclusive right to write ``folder``; a context manager, or call :meth:`acquire` /
    :meth:`release` yourself.

    ``argv`` is recorded in the lock for the message another trainer shows (default
    ``sys.argv``). :meth:`acquire` raises :class:`MNISTGANError` when a live process holds the
    folder, or when the folder cannot be created or written. Re-acquiring a lock this object
    already holds is a no-op.
    """

    def __init__(self, folder: str | os.PathLike[str], argv: list[str] | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.argv = list(sys.argv if argv is None else argv)
        self.held = False
        self._token = ""

    # ------------------------------------------------------------------ public
    def acquire(self) -> RunLock:
        """Take the lock (see the class docstring); returns ``self``."""
        if self.held:
            return self
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise MNISTGANError(
                f"cannot create output folder {self.folder} ({err.strerror or err})"
            ) from None
        for _ in range(_ATTEMPTS):
            if self._try_create():
                return self
            text = self._read_text()
            if text is None:  # removed between our create and read: just try again
                continue
            owner = _parse(text)
            if owner is not None:
                self._refuse_if_live(owner)
                reason = f"process {owner['pid']} on {owner['host']} no longer exists"
            else:
                reason = "the lock file is empty or unreadable"
            if self._take_over(text):
                log.warning("took over the lock on %s: %s", self.folder, reason)
        raise MNISTGANError(
            f"could not lock {self.folder}: other trainers keep starting on it; "
            "run one trainer per --output-dir"
        )

    def release(self) -> None:
        """Remove the lock file if it is still ours; a lock now held by someone else stays."""
        if not self.held:
            return
        self.held = False
        text = self._read_text()
        owner = _parse(text) if text is not None else None
        if owner is None or owner.get("token") != self._token or owner["pid"] != os.getpid():
            log.warning("lock %s is no longer ours; leaving it in place", self.path)
            return
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as err:
            log.warning("could not remove lock %s (%s)", self.path, err)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # ------------------------------------------------------------------ internals
    def _try_create(self) -> bool:
        token = secrets.token_hex(8)
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "argv": self.argv,
            "token": token,
        }
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        except OSError as err:
            raise MNISTGANError(
                f"cannot write the lock file {self.path} ({err.strerror or err})"
            ) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
                handle.write("\n")
        except OSError as err:
            self.path.unlink(missing_ok=True)
            raise MNISTGANError(f"cannot write the lock file {self.path} ({err})") from None
        self._token = token
        self.held = True
        return True

    def _read_text(self) -> str | None:
        try:
            return self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return None
        except OSError:
            return ""  # unreadable: treated like garbage

    def _refuse_if_live(self, owner: dict[str, Any]) -> None:
        pid, host, started = owner["pid"], owner["host"], owner.get("started", "?")
        if host == socket.gethostname():
            if pid_alive(pid):
                raise MNISTGANError(
                    f"output folder {self.folder} is being trained by process {pid} on host "
                    f"{host} since {started}; wait for it or use another --output-dir"
                )
            return
        raise MNISTGANError(
            f"output folder {self.folder} is being trained by process {pid} on host {host} "
            f"since {started} (it cannot be checked from this host); wait for it or use another "
            f"--output-dir, or delete {self.path} if that run is gone"
        )

    def _take_over(self, stale_text: str) -> bool:
        """Move the stale lock aside atomically; True if it was the one we judged stale."""
        aside = self.path.with_name(f"{LOCK_NAME}.stale-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False  # another starter moved it first; retry creating
        except OSError as err:
            raise MNISTGANError(f"cannot replace the stale lock {self.path} ({err})") from None
        try:
            moved = aside.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            moved = stale_text
        if moved != stale_text:
            # A racing starter had already replaced the stale lock with its own: put it back.
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True


def _parse(text: str) -> dict[str, Any] | None:
    """The lock's owner record, or None when the text is not a lock we wrote."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    pid, host = record.get("pid"), record.get("host")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0 or not isinstance(host, str):
        return None
    return record

"""One trainer per output folder: an OS file lock, and a file beside it that names its owner.

``RunLock(folder)`` takes an exclusive OS lock on ``folder/.mnist-gan.flock`` (``flock`` on
POSIX, ``LockFileEx`` on Windows, through :mod:`filelock`) and writes JSON
``{pid, host, started, argv, token}`` to ``folder/.mnist-gan.lock``. A second trainer pointed
at the same folder gets an :class:`~mnist_gan.errors.MNISTGANError` naming the process, host and
start time of the first. The kernel drops the lock when its process ends, however it ends
(killed, crashed, machine rebooted), so the next trainer takes the folder at once; an owner
file left behind by such a process, or one that is empty or unreadable, is replaced with a
warning. ``.mnist-gan.flock`` itself stays in the folder, empty: it is a lock only while a
process holds it (deleting it on release would let two starters lock two different files).

Use it around everything that writes the folder::

    with RunLock(output_dir):
        trainer.train()
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

import filelock

from mnist_gan.errors import MNISTGANError

log = logging.getLogger("mnist_gan")

LOCK_NAME = ".mnist-gan.lock"  # the owner's details (JSON), present while a trainer holds it
OS_LOCK_NAME = ".mnist-gan.flock"  # the file the OS lock is taken on


class RunLock:
    """Exclusive right to write ``folder``; a context manager, or call :meth:`acquire` /
    :meth:`release` yourself.

    ``argv`` is recorded beside the lock for the message another trainer shows (default
    ``sys.argv``). :meth:`acquire` raises :class:`MNISTGANError` at once, without waiting, when
    another process (or another ``RunLock`` in this one) holds the folder, or when the folder
    cannot be created or written. Re-acquiring a lock this object already holds is a no-op.
    """

    def __init__(self, folder: str | os.PathLike[str], argv: list[str] | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.argv = list(sys.argv if argv is None else argv)
        self.held = False
        self._token = ""
        self._os_lock = filelock.FileLock(self.folder / OS_LOCK_NAME, timeout=0)

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
        try:
            self._os_lock.acquire()
        except filelock.Timeout:
            raise MNISTGANError(self._busy_message()) from None
        except OSError as err:
            raise MNISTGANError(
                f"cannot write the lock file {self._os_lock.lock_file} ({err.strerror or err})"
            ) from None
        try:
            self._replace_owner_record()
        except BaseException:
            self._os_lock.release()
            raise
        self.held = True
        return self

    def check_free(self) -> None:
        """Raise the :meth:`acquire` error if another process holds the folder now; otherwise
        return holding nothing (no folder is created; in an existing one the empty OS lock file
        may be).

        For early answers: ``mnist-gan train`` calls it before loading TensorFlow (seconds), so
        a second trainer on a busy folder is refused at once. :meth:`acquire` still decides.
        """
        if not self.folder.is_dir() or self.held:
            return
        try:
            self._os_lock.acquire()
        except filelock.Timeout:
            raise MNISTGANError(self._busy_message()) from None
        except OSError:
            return  # unwritable: acquire() says so with its own message
        self._os_lock.release()

    def release(self) -> None:
        """Remove the owner file if it is still ours (one someone else wrote stays), then
        release the OS lock."""
        if not self.held:
            return
        self.held = False
        try:
            owner = _parse(self._read_text() or "")
            if owner is None or owner.get("token") != self._token or owner["pid"] != os.getpid():
                log.warning("lock %s is no longer ours; leaving it in place", self.path)
                return
            self.path.unlink(missing_ok=True)
        except OSError as err:
            log.warning("could not remove lock %s (%s)", self.path, err)
        finally:
            self._os_lock.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()  # whatever ended the block: the folder is free again

    # ------------------------------------------------------------------ internals
    def _busy_message(self) -> str:
        owner = _parse(self._read_text() or "")
        if owner is None:  # the holder has not written its details yet
            return (
                f"output folder {self.folder} is being trained by another process (its details "
                f"are not in {self.path} yet); wait for it or use another --output-dir"
            )
        return (
            f"output folder {self.folder} is being trained by process {owner['pid']} on host "
            f"{owner['host']} since {owner.get('started', '?')}; wait for it or use another "
            "--output-dir"
        )

    def _replace_owner_record(self) -> None:
        """Write our details (we hold the OS lock), warning about a record a dead owner left."""
        left = self._read_text()
        if left is not None:
            owner = _parse(left)
            if owner is None:
                reason = "the lock file is empty or unreadable"
            elif owner["host"] == socket.gethostname():
                reason = f"process {owner['pid']} on {owner['host']} no longer exists"
            else:
                reason = f"process {owner['pid']} on {owner['host']} no longer holds it"
            log.warning("took over the lock on %s: %s", self.folder, reason)
        self._token = secrets.token_hex(8)
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "argv": self.argv,
            "token": self._token,
        }
        # Written aside then renamed: a second trainer never reads a half-written record.
        partial = self.path.with_name(f"{LOCK_NAME}.{os.getpid()}.tmp")
        try:
            partial.write_text(json.dumps(record) + "\n", encoding="utf-8")
            os.replace(partial, self.path)
        except OSError as err:
            partial.unlink(missing_ok=True)
            raise MNISTGANError(
                f"cannot write the lock file {self.path} ({err.strerror or err})"
            ) from None

    def _read_text(self) -> str | None:
        try:
            return self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return None
        except OSError:
            return ""  # unreadable: treated like garbage


def _parse(text: str) -> dict[str, Any] | None:
    """The owner record, or None when the text is not a record we wrote."""
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

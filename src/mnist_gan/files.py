"""Writing files so that a crash, a full disk or a kill never leaves a half-written one.

Every file the package writes (checkpoints, ``model.keras``, grids, JSON, ``.npy`` samples)
goes through :func:`atomic_write`: the content is written to a temporary name in the same
folder, flushed to disk, then renamed over the target, which either keeps the old file or
shows the complete new one. On any failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mnist_gan.errors import MNISTGANError


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to; rename it into place after.

    The temporary name keeps ``path``'s suffix (Keras, PIL and numpy choose formats by it).
    An ``OSError`` (full disk, read-only folder) becomes one :class:`MNISTGANError` naming the
    file; the previous file at ``path``, if any, is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as err:
        _discard(tmp)
        raise MNISTGANError(
            f"could not write {path} ({err.strerror or err}); any earlier version is unchanged"
        ) from None
    except BaseException:
        _discard(tmp)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):  # a folder gone read-only: nothing more to do
        tmp.unlink(missing_ok=True)

"""Checks of command-line inputs that need no model, so they answer before TensorFlow loads.

Each raises :class:`MNISTGANError` with one line naming the value and what would be accepted.
Only numpy is imported here (and only by :func:`read_image_array`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mnist_gan.errors import MNISTGANError

# What ``mnist-gan export --format`` writes inside its --out folder, by format.
ARTIFACT_NAMES = {
    "saved_model": "saved_model",
    "onnx": "generator.onnx",
    "litert": "generator.tflite",
}


def check_out(out: Path, suffixes: tuple[str, ...], flag: str, force: bool) -> None:
    """``--out``-style paths: the right suffix, not a folder, no existing file unless ``force``."""
    if out.suffix.lower() not in suffixes:
        raise MNISTGANError(f"{flag} must end in {' or '.join(suffixes)}, got {str(out)!r}")
    if out.is_dir():
        raise MNISTGANError(f"{flag} {out} is a folder; give a file name")
    if out.exists() and not force:
        raise MNISTGANError(f"{out} exists; pass --force to overwrite it or choose another {flag}")


def check_source(source: str | os.PathLike[str]) -> None:
    """A model, checkpoint or output folder given on the command line must exist, or be the
    name of a pretrained preset shipped in this install."""
    from mnist_gan.gan.shipped import is_shipped_name, missing_source_message

    if not Path(source).exists() and not is_shipped_name(str(source)):
        raise MNISTGANError(missing_source_message(source))


def check_positive(flag: str, value: int | None) -> None:
    """``value`` (when given) must be >= 1."""
    if value is not None and value < 1:
        raise MNISTGANError(f"{flag} must be a positive integer, got {value}")


def read_image_array(path: str | os.PathLike[str]) -> Any:
    """The images of an ``.npy`` file as a numpy array ``(N, 28, 28)`` or ``(N, 28, 28, 1)``.

    Raises :class:`MNISTGANError` when the file is missing or unreadable, the array is empty or
    shaped otherwise, its dtype is not numeric, or it holds NaN or infinite values.
    """
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise MNISTGANError(f"image file {path} does not exist")
    try:
        images = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, MemoryError) as err:
        # EOFError: empty file; MemoryError: a header claiming a huge shape
        raise MNISTGANError(f"{path} is not a readable .npy array ({err})") from None
    shaped = images.ndim == 3 or (images.ndim == 4 and images.shape[3] == 1)
    if not shaped or images.shape[1:3] != (28, 28) or len(images) == 0:
        raise MNISTGANError(
            f"{path} holds an array shaped {images.shape}; expected uint8 images (N, 28, 28)"
        )
    if images.dtype.kind not in "biuf":
        raise MNISTGANError(f"{path} holds {images.dtype} data; expected uint8 images")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        bad = int(np.count_nonzero(~np.isfinite(images)))
        raise MNISTGANError(f"{path} holds {bad:,} NaN or infinite values; expected uint8 images")
    return images

"""The one place that turns generated tensors into pixels, grids and plots."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mnist_gan.files import atomic_write

MNIST_SIDE = 28  # MNIST's image side in pixels: the size of every image handed to a user


def to_uint8(images: np.ndarray, pixel_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Images in ``pixel_range`` to uint8 ``(N, 28, 28)`` (channel axis dropped, clipped)."""
    low, high = pixel_range
    x = (np.asarray(images, dtype=np.float32) - low) / (high - low)
    x = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    return x


def make_grid(images: np.ndarray, ncols: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile uint8 ``(N, H, W)`` images into one ``(rows*(H+p)+p, cols*(W+p)+p)`` uint8 image."""
    images = np.asarray(images)
    n, height, width = images.shape[:3]
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    grid = np.zeros(
        (nrows * (height + padding) + padding, ncols * (width + padding) + padding), np.uint8
    )
    for i, image in enumerate(images):
        row, col = divmod(i, ncols)
        top, left = padding + row * (height + padding), padding + col * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_grid(
    images_uint8: np.ndarray,
    path: str | os.PathLike[str],
    scale: int = 2,
    ncols: int | None = None,
) -> Path:
    """Save uint8 ``(N, 28, 28)`` images as one PNG grid (upscaled ``scale``x), atomically.

    ``ncols`` images per row (None: a near-square grid).
    """
    from PIL import Image

    path = Path(path)
    grid = Image.fromarray(make_grid(images_uint8, ncols))
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    with atomic_write(path) as tmp:
        grid.save(tmp, format="PNG")
    return path


def save_loss_curves(
    history: Mapping[str, Sequence[float]], path: str | os.PathLike[str], x_label: str = "epoch"
) -> Path:
    """Plot d_loss/g_loss (and discriminator accuracies, if present) to a PNG."""
    # A bare Figure (no pyplot) renders off-screen without touching the session's backend,
    # so calling this from a notebook does not break its inline plots.
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(10, 3.5))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for key in ("d_loss", "g_loss"):
        if history.get(key):
            ax_loss.plot(range(1, len(history[key]) + 1), history[key], label=key)
    ax_loss.set_xlabel(x_label)
    ax_loss.set_title("losses")
    ax_loss.legend()
    for key in ("d_acc_real", "d_acc_fake"):
        if history.get(key):
            ax_acc.plot(range(1, len(history[key]) + 1), history[key], label=key)
    ax_acc.set_ylim(0, 1)
    ax_acc.set_xlabel(x_label)
    ax_acc.set_title("discriminator accuracy")
    ax_acc.legend()
    fig.tight_layout()
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path

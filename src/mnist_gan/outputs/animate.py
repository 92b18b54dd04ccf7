"""Training progress as a movie: the sample grids a run saved, in step order, one per frame.

A run's grid callback writes ``epoch_EEE_step_SSSSSS.png`` files (the step is the global
step). :func:`animate_grids` turns a folder of them into a GIF (Pillow) or an MP4
(``imageio`` + ``imageio-ffmpeg``, the ``animate`` extra), each frame with a small
"epoch E · step S" caption above the grid; :func:`frame_strip` puts a few evenly spaced
frames side by side in one PNG, for a README.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mnist_gan.errors import MNISTGANError
from mnist_gan.files import atomic_write

GRID_NAME = re.compile(r"^epoch_(\d+)_step_(\d+)\.png$")
_MARGIN = 3  # pixels around the caption
_GAP = 8  # pixels between frames in a strip


@dataclass(frozen=True)
class GridFile:
    """One saved grid: its path and the epoch/step in its name."""

    path: Path
    epoch: int
    step: int


def find_grids(grid_folder: str | os.PathLike[str]) -> list[GridFile]:
    """The ``epoch_EEE_step_SSSSSS.png`` files in ``grid_folder``, sorted by (step, epoch).

    Other files are ignored. Raises MNISTGANError if the folder is missing or holds no grid.
    """
    folder = Path(grid_folder)
    if not folder.is_dir():
        raise MNISTGANError(f"grid folder {str(folder)!r} does not exist or is not a folder")
    grids = []
    for path in folder.iterdir():
        match = GRID_NAME.match(path.name)
        if match and path.is_file():
            grids.append(GridFile(path, int(match.group(1)), int(match.group(2))))
    if not grids:
        raise MNISTGANError(
            f"no sample grids in {str(folder)!r}: expected PNGs named "
            "epoch_EEE_step_SSSSSS.png (as a training run's grid callback writes them)"
        )
    return sorted(grids, key=lambda g: (g.step, g.epoch, g.path.name))


def _caption(grid: GridFile) -> str:
    return f"epoch {grid.epoch} \u00b7 step {grid.step}"


def _frames(grids: Sequence[GridFile], label: bool) -> list[Image.Image]:
    """Greyscale frames, all one size: each grid (centred) under an optional caption band."""
    font = ImageFont.load_default()
    images = []
    for grid in grids:
        with Image.open(grid.path) as image:
            images.append(image.convert("L"))
    band = 0
    text_width = 0
    if label:
        probe = ImageDraw.Draw(Image.new("L", (1, 1)))
        boxes = [probe.textbbox((0, 0), _caption(g), font=font) for g in grids]
        band = max(b[3] for b in boxes) + 2 * _MARGIN
        text_width = max(b[2] for b in boxes) + 2 * _MARGIN
    width = max(text_width, *(im.width for im in images))
    height = band + max(im.height for im in images)
    frames = []
    for grid, image in zip(grids, images):
        frame = Image.new("L", (width, height), 0)
        frame.paste(image, ((width - image.width) // 2, band))
        if label:
            ImageDraw.Draw(frame).text((_MARGIN, _MARGIN), _caption(grid), fill=255, font=font)
        frames.append(frame)
    return frames


def _write_atomically(out_path: Path, write) -> Path:
    """Call ``write(tmp_path)`` through :func:`mnist_gan.files.atomic_write`."""
    with atomic_write(out_path) as tmp:
        write(tmp)
    return Path(out_path)


def _write_mp4(frames: list[Image.Image], path: Path, fps: float) -> None:
    try:
        import imageio.v2 as imageio
    except ImportError as exc:
        raise MNISTGANError(
            "MP4 output needs the 'imageio' package (pip install imageio imageio-ffmpeg, or "
            "the package's 'animate' extra); write a .gif instead to need only Pillow"
        ) from exc
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError as exc:
        raise MNISTGANError(
            "MP4 output needs the 'imageio-ffmpeg' package (pip install imageio-ffmpeg, or "
            "the package's 'animate' extra); write a .gif instead to need only Pillow"
        ) from exc
    # H.264 in yuv420p wants sides that are multiples of 16: pad with black, never rescale.
    width, height = frames[0].size
    padded = (-(-width // 16) * 16, -(-height // 16) * 16)
    with imageio.get_writer(
        path, format="FFMPEG", mode="I", fps=fps, codec="libx264", macro_block_size=1
    ) as writer:
        for frame in frames:
            canvas = Image.new("RGB", padded, (0, 0, 0))
            canvas.paste(frame.convert("RGB"), (0, 0))
            writer.append_data(np.asarray(canvas))


def animate_grids(
    grid_folder: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    fps: float = 4,
    label: bool = True,
) -> Path:
    """Write the run's grids in ``grid_folder`` as an animation at ``out_path``; return it.

    Frames follow the grids' global step. ``out_path`` ending in ``.gif`` is written with
    Pillow (looping forever); ``.mp4`` needs ``imageio`` and ``imageio-ffmpeg`` (H.264,
    frames padded with black to multiples of 16 pixels). ``label`` puts an
    "epoch E · step S" caption above each grid, which makes frames taller than the grids.
    Pillow merges consecutive identical GIF frames, so unlabelled identical grids may give
    fewer frames. The file appears only once complete (temp file + rename; the temp file is
    removed on failure). Raises MNISTGANError for a missing folder, a folder with no grids,
    ``fps <= 0``, another suffix, or a missing MP4 package.
    """
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise MNISTGANError(f"animation path must end in .gif or .mp4, got {str(out_path)!r}")
    if not fps > 0:
        raise MNISTGANError(f"fps must be positive, got {fps!r}")
    frames = _frames(find_grids(grid_folder), label)
    if suffix == ".gif":

        def write(tmp: Path) -> None:
            frames[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=frames[1:],
                duration=max(1, round(1000 / fps)),
                loop=0,
            )

    else:

        def write(tmp: Path) -> None:
            _write_mp4(frames, tmp, fps)

    return _write_atomically(out_path, write)


def frame_strip(
    grid_folder: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    frames: int = 5,
    *,
    label: bool = True,
) -> Path:
    """Write ``frames`` evenly spaced grids (first and last included) side by side as a PNG.

    With fewer grids than ``frames`` every grid is used once. Each panel is captioned like an
    :func:`animate_grids` frame unless ``label`` is False; panels are separated by a black gap.
    Written atomically; returns ``out_path``. Raises MNISTGANError for ``frames < 1`` or a
    folder without grids.
    """
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise MNISTGANError(f"frames must be a positive int, got {frames!r}")
    grids = find_grids(grid_folder)
    picks = sorted(set(np.rint(np.linspace(0, len(grids) - 1, frames)).astype(int).tolist()))
    panels = _frames([grids[i] for i in picks], label)
    width, height = panels[0].size
    strip = Image.new("L", (len(panels) * width + (len(panels) - 1) * _GAP, height), 0)
    for i, panel in enumerate(panels):
        strip.paste(panel, (i * (width + _GAP), 0))
    return _write_atomically(Path(out_path), lambda tmp: strip.save(tmp, format="PNG"))

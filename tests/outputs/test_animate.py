"""animate_grids / frame_strip on tiny synthetic grids: order, captions, files, errors."""

import sys

import numpy as np
import pytest
from PIL import Image, ImageSequence

from mnist_gan.data.images import save_grid
from mnist_gan.errors import MNISTGANError
from mnist_gan.outputs.animate import animate_grids, find_grids, frame_strip
from tests.runtimes import require

# (file name, grey level) written out of order; a resumed run restarts the epoch counter
# but not the global step, so epoch 1 / step 300 comes after epoch 3 / step 200.
GRIDS = [
    ("epoch_002_step_000100.png", 60),
    ("epoch_001_step_000050.png", 30),
    ("epoch_001_step_000300.png", 150),
    ("epoch_003_step_000200.png", 90),
    ("epoch_004_step_1000000.png", 210),  # wider than 6 digits
]
IN_STEP_ORDER = [30, 60, 90, 150, 210]


@pytest.fixture
def grid_folder(tmp_path):
    folder = tmp_path / "grids"
    for name, level in GRIDS:
        save_grid(np.full((4, 28, 28), level, np.uint8), folder / name)
    (folder / "final.png").write_bytes(b"not a grid")  # ignored: wrong name
    return folder


def _grid_size(folder):
    with Image.open(folder / GRIDS[0][0]) as image:
        return image.size


def _levels(frame, band):
    """The grey level of each frame's first image (just inside the grid's padding)."""
    pixels = np.asarray(frame.convert("L"))
    return int(pixels[band + 10, pixels.shape[1] // 2 - 20])


def test_find_grids_sorts_by_step(grid_folder):
    grids = find_grids(grid_folder)
    assert [(g.epoch, g.step) for g in grids] == [
        (1, 50),
        (2, 100),
        (3, 200),
        (1, 300),
        (4, 1000000),
    ]


def test_gif_frames_in_step_order_with_captions(grid_folder, tmp_path):
    out = animate_grids(grid_folder, tmp_path / "anim" / "progress.gif", fps=4)
    assert out == tmp_path / "anim" / "progress.gif"
    assert [p.name for p in out.parent.iterdir()] == ["progress.gif"]  # no temp file left
    grid_w, grid_h = _grid_size(grid_folder)
    with Image.open(out) as gif:
        assert gif.n_frames == len(GRIDS)
        frames = [f.copy() for f in ImageSequence.Iterator(gif)]
        assert gif.info["duration"] == 250
    width, height = frames[0].size
    band = height - grid_h
    assert band > 8 and width >= grid_w  # a caption band above each grid
    assert [_levels(f, band) for f in frames] == IN_STEP_ORDER
    for frame in frames:
        caption = np.asarray(frame.convert("L"))[:band]
        assert (caption > 128).sum() > 20  # text drawn in the band


def test_captions_differ_per_frame(grid_folder, tmp_path):
    out = animate_grids(grid_folder, tmp_path / "a.gif")
    with Image.open(out) as gif:
        grid_h = _grid_size(grid_folder)[1]
        bands = [
            np.asarray(f.convert("L"))[: f.height - grid_h] for f in ImageSequence.Iterator(gif)
        ]
    assert len({b.tobytes() for b in bands}) == len(GRIDS)


def test_gif_without_labels_is_grid_sized(grid_folder, tmp_path):
    out = animate_grids(grid_folder, tmp_path / "plain.gif", fps=2, label=False)
    with Image.open(out) as gif:
        assert gif.size == _grid_size(grid_folder)
        assert gif.n_frames == len(GRIDS)
        assert [_levels(f, 0) for f in ImageSequence.Iterator(gif)] == IN_STEP_ORDER


def test_mp4(grid_folder, tmp_path):
    require("imageio", "imageio_ffmpeg")
    import imageio.v2 as imageio

    out = animate_grids(grid_folder, tmp_path / "progress.mp4", fps=5)
    with imageio.get_reader(out, format="FFMPEG") as reader:
        frames = [reader.get_data(i) for i in range(reader.count_frames())]
    assert len(frames) == len(GRIDS)
    assert frames[0].shape[0] % 16 == 0 and frames[0].shape[1] % 16 == 0
    grid_w, grid_h = _grid_size(grid_folder)
    assert frames[0].shape[0] >= grid_h + 8
    # frames in step order: the grids get brighter with the step (lossy codec: compare means)
    brightness = [f[f.shape[0] // 2 :, :grid_w].mean() for f in frames]  # lower half: grid
    assert brightness == sorted(brightness) and brightness[-1] > brightness[0] + 50


def test_mp4_without_imageio_is_a_clear_error(grid_folder, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio", None)
    monkeypatch.setitem(sys.modules, "imageio.v2", None)
    out_dir = tmp_path / "movies"
    with pytest.raises(MNISTGANError, match="'imageio'"):
        animate_grids(grid_folder, out_dir / "progress.mp4")
    assert list(out_dir.iterdir()) == []  # the temp file was removed


def test_mp4_without_ffmpeg_is_a_clear_error(grid_folder, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(MNISTGANError, match="'imageio-ffmpeg'"):
        animate_grids(grid_folder, tmp_path / "progress.mp4")
    assert [p.name for p in tmp_path.iterdir()] == ["grids"]


def test_errors(tmp_path, grid_folder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MNISTGANError, match="no sample grids"):
        animate_grids(tmp_path / "empty", tmp_path / "a.gif")
    with pytest.raises(MNISTGANError, match="does not exist"):
        animate_grids(tmp_path / "nowhere", tmp_path / "a.gif")
    with pytest.raises(MNISTGANError, match=r"\.gif or \.mp4"):
        animate_grids(grid_folder, tmp_path / "a.avi")
    with pytest.raises(MNISTGANError, match="fps"):
        animate_grids(grid_folder, tmp_path / "a.gif", fps=0)
    with pytest.raises(MNISTGANError, match="frames"):
        frame_strip(grid_folder, tmp_path / "s.png", frames=0)
    with pytest.raises(MNISTGANError, match="no sample grids"):
        frame_strip(tmp_path / "empty", tmp_path / "s.png")
    assert not (tmp_path / "a.gif").exists()


def test_frame_strip_evenly_spaced(grid_folder, tmp_path):
    out = frame_strip(grid_folder, tmp_path / "strip.png", frames=3)
    grid_w, grid_h = _grid_size(grid_folder)
    with Image.open(out) as strip:
        pixels = np.asarray(strip.convert("L"))
    band = pixels.shape[0] - grid_h
    assert band > 8
    panel_w = (pixels.shape[1] - 2 * 8) // 3
    assert panel_w >= grid_w and pixels.shape[1] == 3 * panel_w + 2 * 8
    levels = [int(pixels[band + 10, i * (panel_w + 8) + panel_w // 2 - 20]) for i in range(3)]
    assert levels == [30, 90, 210]  # first, middle, last by step


def test_frame_strip_with_more_frames_than_grids(grid_folder, tmp_path):
    out = frame_strip(grid_folder, tmp_path / "strip.png", frames=9, label=False)
    grid_w, grid_h = _grid_size(grid_folder)
    with Image.open(out) as strip:
        assert strip.size == (5 * grid_w + 4 * 8, grid_h)

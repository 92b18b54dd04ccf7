"""The look commands: ``mnist-gan interpolate``, ``animate`` and ``export`` on a tiny real run."""

import shutil

import numpy as np
import pytest
from PIL import Image

from mnist_gan.cli import main
from mnist_gan.data.images import make_grid
from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.walk import interpolate, walk_images
from tests.conftest import synthetic_digits
from tests.runtimes import require


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One finished 1-epoch run of the fast preset: model.keras, a checkpoint, one grid."""
    from mnist_gan.training.trainer import GANTrainer

    out = tmp_path_factory.mktemp("run") / "out"
    trainer = GANTrainer(
        output_dir=out,
        batch_size=40,
        epochs=1,
        sample_frequency=2,
        jit_compile=False,
        seed=1,
        preset="fast",
    )
    trainer.load_data(synthetic_digits(80))
    trainer.train(verbose=0)
    return out


@pytest.fixture(scope="module")
def gan(run_dir):
    from mnist_gan.outputs.loading import load_generator_model

    return load_generator_model(run_dir)


def _error(capsys, argv):
    """Run the CLI expecting a user error; return its one stderr line."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    return err[0]


# ------------------------------------------------------------------------------ interpolate()


def test_interpolate_function_uses_the_sampling_generator(gan):
    images = interpolate(gan, rows=2, steps=3, seed=5)
    assert images.shape == (6, 28, 28) and images.dtype == np.uint8
    again = walk_images(
        gan.sampling_generator,
        gan.config.latent_dim,
        rows=2,
        steps=3,
        seed=5,
        noise=gan.config.noise,
        pixel_range=tuple(gan.config.pixel_range),
    )
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(images, interpolate(gan, rows=2, steps=3, seed=5))


def test_interpolate_function_refuses_labels_for_an_unconditional_model(gan):
    with pytest.raises(MNISTGANError, match="no label input"):
        interpolate(gan, rows=1, steps=2, labels=3)


# ------------------------------------------------------------------------------ interpolate CLI


def test_interpolate_cli_writes_one_walk_per_row(run_dir, gan, tmp_path, capsys):
    out = tmp_path / "walk.png"
    argv = ["interpolate", str(run_dir), "--out", str(out), "--rows", "3", "--steps", "5"]
    assert main([*argv, "--seed", "2"]) == 0
    assert capsys.readouterr().out.strip() == f"Wrote {out}: 3 walks x 5 steps (seed 2)"
    with Image.open(out) as image:
        pixels = np.asarray(image)
    # 5 columns x 3 rows of 28 px + 2 px padding, upscaled 2x.
    assert pixels.shape == (2 * (3 * 30 + 2), 2 * (5 * 30 + 2))
    expected = make_grid(interpolate(gan, rows=3, steps=5, seed=2), ncols=5)
    np.testing.assert_array_equal(pixels[::2, ::2], expected)


def test_interpolate_cli_errors(run_dir, tmp_path, capsys):
    out = tmp_path / "walk.png"
    line = _error(capsys, ["interpolate", str(run_dir), "--out", str(out), "--digit", "3"])
    assert "is not conditional" in line
    assert "does not exist" in _error(
        capsys, ["interpolate", str(tmp_path / "nope.keras"), "--out", str(out)]
    )
    assert ".png" in _error(capsys, ["interpolate", str(run_dir), "--out", str(tmp_path / "w.jpg")])
    assert "--rows" in _error(
        capsys, ["interpolate", str(run_dir), "--out", str(out), "--rows", "0"]
    )
    assert "--digit" in _error(
        capsys, ["interpolate", str(run_dir), "--out", str(out), "--to-digit", "4"]
    )
    assert "0..9" in _error(
        capsys, ["interpolate", str(run_dir), "--out", str(out), "--digit", "12"]
    )
    assert not out.exists()
    out.write_bytes(b"keep")
    assert "--force" in _error(capsys, ["interpolate", str(run_dir), "--out", str(out)])
    assert out.read_bytes() == b"keep"
    assert main(["interpolate", str(run_dir), "--out", str(out), "--steps", "2", "--force"]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG"


# ------------------------------------------------------------------------------ animate


@pytest.fixture
def grids(run_dir, tmp_path):
    """An output folder whose generated_samples holds 3 grids (copies of the run's one)."""
    folder = tmp_path / "out" / "generated_samples"
    folder.mkdir(parents=True)
    (source,) = (run_dir / "generated_samples").glob("epoch_*.png")
    for epoch, step in ((1, 2), (2, 4), (3, 6)):
        shutil.copy(source, folder / f"epoch_{epoch:03d}_step_{step:06d}.png")
    (folder / "notes.txt").write_text("ignored")
    return folder.parent


def test_animate_cli_writes_a_gif_and_a_strip(grids, tmp_path, capsys):
    out, strip = tmp_path / "progress.gif", tmp_path / "strip.png"
    assert (
        main(["animate", str(grids), "--out", str(out), "--fps", "5", "--strip", str(strip)]) == 0
    )
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"Wrote {out}: 3 frames at 5 fps") and str(strip) in line
    with Image.open(out) as gif:
        assert gif.n_frames == 3
        assert gif.info["duration"] == 200
        frame_size = gif.size
    with Image.open(strip) as image:  # the 3 frames side by side, 8 px apart
        assert image.format == "PNG"
        assert image.size == (3 * frame_size[0] + 2 * 8, frame_size[1])


def test_animate_cli_reads_a_grid_folder_itself(grids, tmp_path, capsys):
    out = tmp_path / "p.gif"
    assert main(["animate", str(grids / "generated_samples"), "--out", str(out)]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 3


def test_animate_cli_writes_mp4_when_ffmpeg_is_there(grids, tmp_path):
    require("imageio", "imageio_ffmpeg")
    out = tmp_path / "progress.mp4"
    assert main(["animate", str(grids), "--out", str(out)]) == 0
    assert out.stat().st_size > 0


def test_animate_cli_errors(grids, tmp_path, capsys):
    out = tmp_path / "p.gif"
    assert "does not exist" in _error(
        capsys, ["animate", str(tmp_path / "nope"), "--out", str(out)]
    )
    assert "no sample grids" in _error(capsys, ["animate", str(tmp_path), "--out", str(out)])
    assert ".gif or .mp4" in _error(
        capsys, ["animate", str(grids), "--out", str(tmp_path / "p.avi")]
    )
    assert "--strip" in _error(
        capsys, ["animate", str(grids), "--out", str(out), "--strip", str(tmp_path / "s.gif")]
    )
    assert "--fps" in _error(capsys, ["animate", str(grids), "--out", str(out), "--fps", "0"])
    assert not out.exists()
    out.write_bytes(b"keep")
    assert "--force" in _error(capsys, ["animate", str(grids), "--out", str(out)])
    assert out.read_bytes() == b"keep"
    assert main(["animate", str(grids), "--out", str(out), "--force"]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 3


# ------------------------------------------------------------------------------ export


def test_export_cli_onnx_gives_the_models_pixels(run_dir, gan, tmp_path, capsys):
    require("onnxruntime", "tf2onnx", "onnx")
    import onnxruntime as ort

    out = tmp_path / "exported"
    source = run_dir / "model.keras"
    argv = ["export", str(source), "--out", str(out), "--format", "onnx", "--fixed-batch", "4"]
    assert main(argv) == 0
    latent = gan.config.latent_dim
    target = out / "generator.onnx"
    assert capsys.readouterr().out.strip() == (
        f"Wrote {target} (onnx): noise float32 (4, {latent}) -> images uint8 (4, 28, 28)"
    )
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    noise = np.random.default_rng(0).standard_normal((4, latent)).astype(np.float32)
    (images,) = session.run(None, {"noise": noise})
    assert images.shape == (4, 28, 28) and images.dtype == np.uint8
    from mnist_gan.gan.render import render_uint8

    reference = render_uint8(
        gan.sampling_generator, noise, None, pixel_range=tuple(gan.config.pixel_range)
    )
    assert np.abs(images.astype(int) - reference.astype(int)).max() <= 1
    # An artifact already there: refused without --force, replaced with it.
    assert "--force" in _error(capsys, argv)
    assert main([*argv, "--force"]) == 0


def test_export_cli_errors(run_dir, tmp_path, capsys):
    out = tmp_path / "exported"
    assert "does not exist" in _error(
        capsys, ["export", str(tmp_path / "nope.keras"), "--out", str(out)]
    )
    assert "folder" in _error(capsys, ["export", str(run_dir), "--out", str(tmp_path / "g.onnx")])
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert "is a file" in _error(capsys, ["export", str(run_dir), "--out", str(a_file)])
    assert "--fixed-batch" in _error(
        capsys, ["export", str(run_dir), "--out", str(out), "--fixed-batch", "0"]
    )
    assert not out.exists()
    with pytest.raises(SystemExit):  # argparse: an unknown --format
        main(["export", str(run_dir), "--out", str(out), "--format", "pt"])
    capsys.readouterr()
    assert not out.exists()


def test_export_cli_saved_model_from_a_checkpoint(run_dir, gan, tmp_path, capsys):
    import tensorflow as tf

    (checkpoint,) = (run_dir / "checkpoints").glob("ckpt-epoch-*.npz")
    out = tmp_path / "exported"
    assert main(["export", str(checkpoint), "--out", str(out)]) == 0
    target = out / "saved_model"
    latent = gan.config.latent_dim
    assert capsys.readouterr().out.strip() == (
        f"Wrote {target} (saved_model): noise float32 (batch, {latent})"
        " -> images uint8 (batch, 28, 28)"
    )
    serve = tf.saved_model.load(str(target)).signatures["serving_default"]
    noise = np.random.default_rng(1).standard_normal((3, latent)).astype(np.float32)
    images = serve(noise=tf.constant(noise))["images"].numpy()
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8

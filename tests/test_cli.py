"""The mnist-gan command line (mnist_gan.cli).

- train, sample, info, presets, and exit status 2 for user mistakes;
- the look commands (``interpolate``, ``animate``, ``export``) on a tiny real run;
- a quiet, immediate command line: early errors before TensorFlow, a lazy package, hidden
  TensorFlow start-up noise (``--tf-logs``), ``info --check`` and ``device --check``.
"""

import io
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_gan.cli import main
from mnist_gan.data.images import make_grid
from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.walk import interpolate, walk_images
from tests.conftest import synthetic_digits
from tests.helpers import SRC, cli_env, heavy_modules, run_cli
from tests.runtimes import require


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """The module's one trained run, made by ``mnist-gan train``: 1 epoch of the fast preset on
    80 synthetic images (2 steps), so model.keras, a checkpoint and one grid."""
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "tiny.npz"
    x = synthetic_digits(80)
    np.savez(
        data,
        x_train=x,
        y_train=np.zeros(80, np.uint8),
        x_test=x[:10],
        y_test=np.zeros(10, np.uint8),
    )
    out = folder / "run"
    status = main(
        [
            "train",
            "--preset",
            "fast",
            "--no-jit-compile",
            "--epochs",
            "1",
            "--data",
            str(data),
            "--output-dir",
            str(out),
            "--batch-size",
            "40",
            "--sample-frequency",
            "2",
            "--seed",
            "1",
            "--quiet",
        ]  # fmt: skip
    )
    assert status == 0
    return out


def test_train_writes_a_run(trained_dir, capsys):
    assert (trained_dir / "model.keras").is_file()
    assert list((trained_dir / "checkpoints").glob("ckpt-epoch-0001.npz"))
    assert list((trained_dir / "generated_samples").glob("*.png"))


def test_sample_npy_is_uint8_28x28(trained_dir, tmp_path):
    out = tmp_path / "s.npy"
    assert main(["sample", str(trained_dir), "--num", "30", "--out", str(out), "--seed", "3"]) == 0
    samples = np.load(out)
    assert samples.shape == (30, 28, 28) and samples.dtype == np.uint8
    again = tmp_path / "again.npy"
    main(
        [
            "sample",
            str(trained_dir / "model.keras"),
            "--num",
            "30",
            "--out",
            str(again),
            "--seed",
            "3",
        ]
    )
    np.testing.assert_array_equal(np.load(again), samples)


def test_sample_from_checkpoint_matches_model(trained_dir, tmp_path):
    ckpt = next((trained_dir / "checkpoints").glob("*.npz"))
    main(["sample", str(ckpt), "--num", "8", "--out", str(tmp_path / "c.npy"), "--seed", "4"])
    out = str(tmp_path / "m.npy")
    main(["sample", str(trained_dir), "--num", "8", "--out", out, "--seed", "4"])
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), np.load(tmp_path / "m.npy"))


def test_sample_png_grid(trained_dir, tmp_path):
    out = tmp_path / "grid.png"
    assert main(["sample", str(trained_dir), "--num", "16", "--out", str(out)]) == 0
    assert Image.open(out).size == (2 * (4 * 30 + 2),) * 2


def test_sample_refuses_to_overwrite(trained_dir, tmp_path, capsys):
    out = tmp_path / "keep.npy"
    out.write_bytes(b"precious")
    assert main(["sample", str(trained_dir), "--out", str(out)]) == 2
    assert out.read_bytes() == b"precious"
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--g-lr", "0"], "g_learning_rate must be a number > 0"),
        (["train", "--d-lr", "-1"], "d_learning_rate must be a number > 0"),
        (["train", "--batch-size", "0"], "batch_size must be an integer > 0"),
        (["train", "--epochs", "-2"], "epochs must be an integer > 0"),
        (["train", "--latent-dim", "0"], "latent_dim must be an integer > 0"),
        (["train", "--preset", "nope"], "unknown preset"),
        (["train", "--ema", "0.999", "--ema-start", "-5"], "ema_start must be an integer >= 0"),
        (
            ["train", "--data", "/nonexistent/mnist.npz", "--output-dir", "{tmp}/o"],
            "does not exist",
        ),
        (["sample", "{tmp}/not-a-model.keras", "--out", "{tmp}/s.npy"], "not a saved mnist-gan"),
        (["sample", "{tmp}", "--out", "{tmp}/s.npy"], "neither model.keras nor"),
        (["sample", "{tmp}/x.keras", "--out", "{tmp}/s.jpg"], "must end in .png or .npy"),
    ],
)
def test_user_mistakes_exit_2_with_one_clear_line(argv, message, tmp_path, capsys):
    (tmp_path / "not-a-model.keras").write_text("hello")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_corrupt_data_file_via_module_entry_point(tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"\x00" * 100)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mnist_gan",
            "train",
            "--data",
            str(bad),
            "--output-dir",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "not a readable .npz" in result.stderr and "Traceback" not in result.stderr


def test_info_prints_versions(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for key in ("platform", "python", "tensorflow", "keras", "gpus"):
        assert key in out


def test_presets_lists_dcgan(capsys):
    assert main(["presets"]) == 0
    assert "dcgan" in capsys.readouterr().out


@pytest.fixture(scope="module")
def run_dir(trained_dir):
    """The trained run, by the name the sampling and export tests use."""
    return trained_dir


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


# TensorFlow's start-up lines on a machine without a GPU (TF 2.21)
TF_NOISE = ("absl::InitializeLog", "cudart_stub", "Could not find cuda drivers", "cuInit")


def assert_early_error(result: subprocess.CompletedProcess, message: str) -> None:
    """Exit 2, one ``error:`` line saying ``message``, no traceback, no TensorFlow."""
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1, result.stderr
    assert message in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert heavy_modules(result) == "", "TensorFlow was imported before the error"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    np.save(tmp_path / "good.npy", np.zeros((4, 28, 28), np.uint8))
    np.save(tmp_path / "wrong_shape.npy", np.zeros((4, 32, 32), np.uint8))
    np.save(tmp_path / "rgb.npy", np.zeros((4, 28, 28, 3), np.uint8))
    np.save(tmp_path / "text.npy", np.array(["a", "b"]))
    nan = np.zeros((4, 28, 28), np.float32)
    nan[1, 2, 3] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    (tmp_path / "taken.png").write_bytes(b"")
    (tmp_path / "model.keras").write_bytes(b"not a model")
    (tmp_path / "runs").mkdir()
    return tmp_path


EARLY_ERRORS = {
    # argparse
    "bad int": (["train", "--epochs", "x"], "invalid int value"),
    "bad choice": (["train", "--noise", "pink"], "invalid choice"),
    "no command": ([], "the following arguments are required"),
    # settings, validated by make_config before TensorFlow
    "negative epochs": (["train", "--epochs", "-1"], "epochs must be an integer > 0"),
    "bad rate": (["train", "--beta-1", "1.5"], "beta_1"),
    "unknown preset": (["train", "--preset", "nope"], "unknown preset 'nope'"),
    "bad image size": (["train", "--preset", "fast", "--image-size", "64"], "image_size"),
    "missing data": (["train", "--data", "nope.npz"], "nope.npz does not exist"),
    # sample
    "missing source": (["sample", "/nope", "--out", "x.png"], "/nope does not exist"),
    "bad out suffix": (["sample", "model.keras", "--out", "x.jpg"], "must end in .png or .npy"),
    "existing out": (["sample", "model.keras", "--out", "taken.png"], "pass --force"),
    "bad num": (["sample", "model.keras", "--num", "0"], "--num must be a positive"),
    "bad digit": (["sample", "model.keras", "--digit", "12"], "--digit must name digits"),
    # evaluate
    "missing npy": (["evaluate", "gone.npy"], "image file gone.npy does not exist"),
    "wrong shape": (["evaluate", "wrong_shape.npy"], "shaped (4, 32, 32)"),
    "wrong channels": (["evaluate", "rgb.npy"], "shaped (4, 28, 28, 3)"),
    "wrong dtype": (["evaluate", "text.npy"], "expected uint8 images"),
    "nan": (["evaluate", "nan.npy"], "1 NaN or infinite values"),
    "labels without npy": (["evaluate", "model.keras", "--labels", "l.npy"], "--labels goes"),
    "missing labels": (["evaluate", "good.npy", "--labels", "l.npy"], "l.npy does not exist"),
    "missing model": (["evaluate", "gone.keras"], "gone.keras does not exist"),
    # interpolate, animate, export
    "interpolate out": (["interpolate", "model.keras", "--out", "w.gif"], "must end in .png"),
    "interpolate source": (["interpolate", "gone.keras"], "gone.keras does not exist"),
    "animate folder": (["animate", "nowhere"], "nowhere does not exist"),
    "export out file": (["export", "model.keras", "--out", "g.onnx"], "--out is a folder"),
    "export source": (["export", "gone.keras", "--out", "art"], "gone.keras does not exist"),
}


@pytest.mark.parametrize("case", list(EARLY_ERRORS))
def test_early_errors_answer_before_tensorflow(case: str, files: Path) -> None:
    args, message = EARLY_ERRORS[case]
    assert_early_error(run_cli(*args, cwd=files), message)


@pytest.mark.parametrize(
    "args",
    [["--help"]]
    + [[c, "--help"] for c in ("train", "sample", "evaluate", "info", "presets")]
    + [[c, "--help"] for c in ("interpolate", "animate", "export")],
)
def test_help_does_not_import_tensorflow(args: list[str], tmp_path: Path) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage: mnist-gan" in result.stdout
    assert heavy_modules(result) == ""


def test_train_help_shows_preset_defaults_and_the_tf_logs_switch(tmp_path: Path) -> None:
    train = run_cli("train", "--help", cwd=tmp_path).stdout
    assert "fast 2e-03" in train.replace("\n", " ") or "fast 0.002" in train.replace("\n", " ")
    top = run_cli("--help", cwd=tmp_path).stdout
    assert "--tf-logs" in top and "MNIST_GAN_TF_LOGS" in top


def test_the_package_and_its_settings_import_without_tensorflow() -> None:
    code = textwrap.dedent(
        """
        import sys
        import mnist_gan, mnist_gan.config, mnist_gan.cli
        from mnist_gan import PRESETS, make_config, GANConfig, MNISTGANError
        from mnist_gan.models.presets import Preset, preset_defaults, settings_markdown
        mnist_gan.cli.build_parser()
        config = make_config("cfast", epochs=3)
        assert config.epochs == 3 and isinstance(PRESETS["dcgan"], Preset)
        settings_markdown()
        heavy = {m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras", "numpy"}
        print(sorted(heavy))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_public_name_still_imports_and_is_listed() -> None:
    import mnist_gan

    for name in mnist_gan.__all__:
        assert getattr(mnist_gan, name) is not None
        assert name in dir(mnist_gan)
    from mnist_gan import MNISTGAN, GANTrainer, train_gan  # noqa: F401
    from mnist_gan.gan import model

    assert MNISTGAN is model.MNISTGAN
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mnist_gan.nope  # noqa: B018
    from mnist_gan.models import rng  # submodules still import through the package

    assert rng.__name__ == "mnist_gan.models.rng"


def test_dcgan64_sizes_in_the_preset_row_match_its_builder() -> None:
    from mnist_gan.models.dcgan64 import GENERATOR_WIDTHS
    from mnist_gan.models.presets import PRESETS

    assert sorted(PRESETS["dcgan64"].image_sizes) == sorted(GENERATOR_WIDTHS)


def test_preset_rows_still_build_networks() -> None:
    from mnist_gan.models.presets import build_networks, make_config

    generator, discriminator = build_networks(make_config("cfast"))
    assert generator.output.shape[1:] == (28, 28, 1)
    assert len(discriminator.inputs) == 2


# -------------------------------------------------------------- TensorFlow's start-up lines
def _run(argv: list[str], cwd: Path, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env(**env),
        timeout=timeout,
        check=False,
    )


def _python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return _run(["-c", code], cwd, **env)


def test_info_check_is_quiet_and_passes_on_this_machine(tmp_path: Path) -> None:
    from mnist_gan.models.presets import PRESETS

    result = _run(["-m", "mnist_gan", "info", "--check"], tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for noise in TF_NOISE:
        assert noise not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("device check:"))
    checked = [line.split() for line in lines[first + 1 : -1]]
    assert [words[0] for words in checked] == list(PRESETS)
    assert all(words[-1] == "ok" for words in checked)
    assert "device check passed" in result.stdout


@pytest.fixture(scope="module")
def bare_tensorflow_stderr(tmp_path_factory) -> str:
    """What a bare TensorFlow import prints on this machine (nothing on some); one process for
    the module, as it is the same for every test that compares against it."""
    code = "import tensorflow as tf; tf.config.list_physical_devices('GPU')"
    return _python(code, tmp_path_factory.mktemp("bare")).stderr


@pytest.mark.parametrize("switch", ["env", "flag"])
def test_tf_logs_switch_shows_what_tensorflow_prints(
    switch: str, tmp_path: Path, bare_tensorflow_stderr: str
) -> None:
    # With the switch, what TensorFlow prints is shown (where it prints nothing, nothing to hide).
    expected = [noise for noise in TF_NOISE if noise in bare_tensorflow_stderr]
    code = (
        "import os, sys; from mnist_gan.cli import main; status = main(sys.argv[1:]); "
        "print('LEVEL=' + os.environ.get('TF_CPP_MIN_LOG_LEVEL', 'unset')); sys.exit(status)"
    )
    if switch == "env":
        result = _run(["-c", code, "info"], tmp_path, MNIST_GAN_TF_LOGS="1")
    else:
        result = _run(["-c", code, "--tf-logs", "info"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "LEVEL=unset" in result.stdout  # TensorFlow's own log level is left alone
    for noise in expected:
        assert noise in result.stderr


def test_a_failing_tensorflow_import_shows_what_was_caught(tmp_path: Path) -> None:
    # A fake "tensorflow" that prints to descriptor 2 and then fails, first on the path.
    fake = tmp_path / "fake"
    (fake / "tensorflow").mkdir(parents=True)
    (fake / "tensorflow" / "__init__.py").write_text(
        "import os\nos.write(2, b'native loader: libcudnn missing\\n')\n"
        "raise ImportError('broken tensorflow')\n"
    )
    code = "from mnist_gan.tflogs import import_tensorflow; import_tensorflow(show_logs=False)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**cli_env(), "PYTHONPATH": f"{fake}{os.pathsep}{SRC}"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "native loader: libcudnn missing" in result.stderr
    assert "ImportError: broken tensorflow" in result.stderr


# ------------------------------------------------------------------------- info --check
def test_compare_outputs_on_arrays() -> None:
    from mnist_gan.device import CHECK_TOLERANCE, compare_outputs

    ref = {"generator": np.linspace(-1, 1, 12).reshape(3, 4), "discriminator": np.array([3.0])}
    same = compare_outputs(ref, {k: v.copy() for k, v in ref.items()})
    assert same.ok and same.error == 0
    close = compare_outputs(ref, {**ref, "generator": ref["generator"] + 1e-4})
    assert close.ok and close.error == pytest.approx(1e-4)
    # differences are measured against the output's scale: logits of 100 may move by 0.5
    big = {"discriminator": np.array([100.0, -50.0])}
    assert compare_outputs(big, {"discriminator": np.array([100.5, -50.0])}).ok
    far = compare_outputs(ref, {**ref, "generator": ref["generator"] + 0.05})
    assert not far.ok and far.error == pytest.approx(0.05) and "generator" in far.problem
    assert CHECK_TOLERANCE < 0.05
    nan = ref["generator"].copy()
    nan[0, 0] = np.nan
    assert "NaN" in compare_outputs(ref, {**ref, "generator": nan}).problem
    assert "shape" in compare_outputs(ref, {**ref, "discriminator": np.zeros(2)}).problem
    assert "no output" in compare_outputs(ref, {"generator": ref["generator"]}).problem


def test_device_check_passes_on_the_cpu() -> None:
    from mnist_gan.device import run_device_check

    out = io.StringIO()
    assert run_device_check(presets=["mlp", "cfast"], stream=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[1].split()[0] == "mlp" and lines[1].endswith("ok")
    assert lines[2].split()[0] == "cfast" and lines[2].endswith("ok")
    assert lines[-1].startswith("device check passed")


def test_device_check_reports_a_device_that_disagrees() -> None:
    from mnist_gan.device import network_outputs, run_device_check

    calls = []

    def outputs(generator, discriminator, inputs, device):
        calls.append(device)
        result = network_outputs(generator, discriminator, inputs, "/device:CPU:0")
        if device == "/device:GPU:7":  # a device with a broken kernel
            result["generator"] = result["generator"] + 0.3
        return result

    out = io.StringIO()
    status = run_device_check(
        presets=["mlp", "fast"],
        devices=["/device:CPU:0", "/device:GPU:7"],
        outputs=outputs,
        stream=out,
    )
    text = out.getvalue()
    assert status == 1
    assert calls.count("/device:GPU:7") == 2
    bad = [line for line in text.splitlines() if "MISMATCH" in line]
    assert [line.split()[:2] for line in bad] == [
        ["mlp", "/device:GPU:7"],
        ["fast", "/device:GPU:7"],
    ]
    assert "generator differs by 0.3 of its scale" in bad[0]
    assert text.splitlines()[-1].startswith("device check FAILED: 2 preset/device pair(s)")


def test_training_cfast_prints_only_the_packages_lines(tmp_path, tiny_npz):
    # On AVX-512 CPUs TensorFlow's graph optimiser logged "E0000 ... meta_optimizer.cc ...
    # remapper failed: ... LeakyReluGrad ..." in the middle of a cfast/sfast run (issue 29).
    args = ["train", "--preset", "cfast", "--data", str(tiny_npz), "--epochs", "1"]
    result = run_cli(*args, "--progress", "epoch", "--output-dir", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).strip().splitlines()
    lines = [line for line in lines if not line.startswith("HEAVY_MODULES=")]  # run_cli's own
    ours = ("Data: ", "epoch 1/1 · ", "Done: ")
    assert lines and all(line.startswith(ours) for line in lines), lines

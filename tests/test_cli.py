"""The mnist-gan command line: train, sample, info, and exit status 2 for user mistakes."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mnist_gan.cli import main


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    from tests.conftest import synthetic_digits

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
            "--epochs",
            "1",
            "--data",
            str(data),
            "--output-dir",
            str(out),
            "--batch-size",
            "40",
            "--seed",
            "1",
            "--quiet",
        ]
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

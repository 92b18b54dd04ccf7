"""--tensorboard: event files read back (scalars at their steps, grids, resumed runs); --animate."""

import sys
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from mnist_gan import MNISTGANError
from mnist_gan.cli import build_parser
from mnist_gan.training.tensorboard import TensorBoardImages, require_tensorboard, tensorboard_dir
from mnist_gan.training.trainer import GANTrainer


def read_events(logdir: Path) -> dict[str, list[tuple[int, object]]]:
    """tag -> [(step, value)] over every event file in ``logdir``, in file then write order.

    Scalars read back as floats, images as uint8 arrays (decoded PNG).
    """
    found: dict[str, list[tuple[int, object]]] = defaultdict(list)
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                if value.metadata.plugin_data.plugin_name == "images":
                    found[value.tag].append((event.step, tf.io.decode_png(tensor[2]).numpy()))
                else:
                    found[value.tag].append((event.step, float(tensor)))
    return dict(found)


def steps(events: dict, tag: str) -> list[int]:
    return [step for step, _ in events[tag]]


class FakeGAN:
    def __init__(self, step: int) -> None:
        self.g_optimizer = SimpleNamespace(iterations=tf.Variable(step, dtype="int64"))


def test_callback_writes_every_number_of_the_logs_and_the_grid(tmp_path):
    pixels = np.full((4, 28, 28), 200, np.uint8)
    callback = TensorBoardImages(tmp_path, lambda: pixels, sample_frequency=0)
    callback.set_model(FakeGAN(5))
    callback.on_train_begin()
    logs = {"d_loss": 0.5, "g_lr": np.float32(2e-4), "eval_fd": 12.25, "note": "text"}
    callback.on_epoch_end(0, logs)
    callback.on_train_end()
    events = read_events(tmp_path)
    assert set(events) == {"epoch/d_loss", "epoch/g_lr", "epoch/eval_fd", "samples"}
    assert events["epoch/eval_fd"] == [(5, 12.25)]
    assert events["epoch/g_lr"][0][1] == pytest.approx(2e-4)
    ((step, image),) = events["samples"]
    assert step == 5 and image.shape == (2 * 30 + 2, 2 * 30 + 2, 1)
    assert image.max() == 200


def test_tensorboard_setting_flag_and_folder(tmp_path):
    parser = build_parser()
    assert parser.parse_args(["train"]).tensorboard is None
    assert parser.parse_args(["train", "--tensorboard"]).tensorboard == "tensorboard"
    assert parser.parse_args(["train", "--tensorboard", "/tmp/tb"]).tensorboard == "/tmp/tb"
    assert parser.parse_args(["train", "--animate"]).animate is True
    assert tensorboard_dir(tmp_path, "tensorboard") == tmp_path / "tensorboard"
    assert tensorboard_dir(tmp_path, "/abs/tb") == Path("/abs/tb")
    with pytest.raises(MNISTGANError, match="tensorboard must be a string that is not empty"):
        GANTrainer(tensorboard=" ")


def test_missing_tensorboard_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard -> ImportError
    with pytest.raises(MNISTGANError, match=r"pip install 'mnist-gan\[tensorboard\]'"):
        require_tensorboard()


def test_training_logs_scalars_and_grids_and_a_resume_appends(tmp_path, tiny_images, tiny_preset):
    out = tmp_path / "run"
    settings = dict(preset=tiny_preset, batch_size=40, sample_frequency=2, seed=3, output_dir=out)
    first = GANTrainer(epochs=1, tensorboard="tensorboard", animate=True, **settings)
    first.load_data(tiny_images)
    first.train(verbose=0)  # 3 steps per epoch: 96 images / 40
    second = GANTrainer(epochs=2, tensorboard="tensorboard", **settings)
    second.load_data(tiny_images)
    second.train(verbose=0)

    events = read_events(out / "tensorboard")
    for name in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "g_lr", "d_lr"):
        assert steps(events, f"epoch/{name}") == [3, 6], name
        assert steps(events, f"step/{name}") == [2, 4, 6], name
    assert [value for _, value in events["epoch/d_loss"]] == pytest.approx(second.history["d_loss"])
    assert steps(events, "samples") == [2, 3, 4, 6]  # every 2 steps and each epoch end, once
    last = events["samples"][-1][1][..., 0]
    png = np.asarray(Image.open(sorted((out / "generated_samples").glob("*.png"))[-1]))
    np.testing.assert_array_equal(last, png[::2, ::2])  # the same digits as the PNG grid

    gif = Image.open(out / "progress.gif")  # --animate: written by the first session
    assert gif.n_frames == 2  # grids at steps 2 and 3
    assert out / "progress.gif" in first.files_written
    assert out / "progress.gif" not in second.files_written

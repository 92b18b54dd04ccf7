"""GANTrainer: outputs, exact resume, atomic checkpoints, clear errors that keep earlier work;
the time budget, Ctrl-C and timed snapshots (each resumes exactly), the EMA setting on resume,
a truncated newest checkpoint set aside on resume."""

import json
import os

import keras
import numpy as np
import pytest

from mnist_gan import MNISTGANError
from mnist_gan.gan import checkpoint
from mnist_gan.gan.checkpoint import list_checkpoints
from mnist_gan.reliability.lock import RunLock
from mnist_gan.training.trainer import GANTrainer, train_gan
from tests.conftest import synthetic_digits

# The tiny preset (tests/tiny.py): these tests check what happens around the steps.
pytestmark = pytest.mark.usefixtures("tiny_preset")
FAST = {"preset": "tiny", "batch_size": 40, "sample_frequency": 2, "jit_compile": False}


def make_trainer(output_dir, images, **overrides):
    trainer = GANTrainer(output_dir=output_dir, **{**FAST, "seed": 11, **overrides})
    trainer.load_data(images)
    return trainer


def test_training_writes_grids_checkpoint_curves_and_model(tmp_path, tiny_images, caplog):
    caplog.set_level("INFO", logger="mnist_gan")
    trainer = make_trainer(tmp_path / "run", tiny_images, epochs=2)
    refusals = []

    class TryTheLock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            try:
                RunLock(tmp_path / "run").acquire()
            except MNISTGANError as err:
                refusals.append(str(err))

    history = trainer.train(callbacks=[TryTheLock()], verbose=0)
    # The run holds its folder while it trains: every other taker is refused, naming it.
    assert len(refusals) == 6 and all(f"process {os.getpid()}" in r for r in refusals)
    out = tmp_path / "run"
    grids = sorted(p.name for p in (out / "generated_samples").glob("*.png"))
    # 3 steps per epoch (96 images / 40): grids at steps 2, 4, 6 (6 is also the end).
    assert grids == [
        "epoch_001_step_000002.png",
        "epoch_002_step_000004.png",
        "epoch_002_step_000006.png",
    ]
    assert [e for e, _ in list_checkpoints(out / "checkpoints")] == [1, 2]
    assert (out / "loss_curves.png").stat().st_size > 1000
    assert (out / "model.keras").is_file()
    assert json.loads((out / "config.json").read_text())["batch_size"] == 40
    assert len(history.history["d_loss"]) == 2
    summary = caplog.records[-1].getMessage()
    assert summary.startswith("Done: 2 epoch(s), 6 steps in ") and "images/s" in summary
    written = json.loads((out / "summary.json").read_text())
    assert (written["ended"], written["global_step"], written["epochs_done"]) == ("done", 6, 2)
    samples = trainer.generate_samples(7)
    assert samples.shape == (7, 28, 28, 1) and samples.min() >= -1 and samples.max() <= 1


def test_resume_gives_the_same_weights_as_one_run(tmp_path, tiny_images, deterministic_ops):
    straight = make_trainer(tmp_path / "a", tiny_images, epochs=2)
    straight.train(verbose=0)
    first = make_trainer(tmp_path / "b", tiny_images, epochs=1)
    first.train(verbose=0)
    resumed = make_trainer(tmp_path / "b", tiny_images, epochs=2)
    resumed.train(verbose=0)
    assert resumed.completed_epochs == 2
    for a, b in zip(straight.gan.variables, resumed.gan.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for a, b in zip(straight.gan.g_optimizer.variables, resumed.gan.g_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    assert straight.history == resumed.history
    assert int(resumed.gan.d_optimizer.iterations) == 6


def test_nothing_to_do_when_already_trained(tmp_path, tiny_images, caplog):
    caplog.set_level("INFO", logger="mnist_gan")
    make_trainer(tmp_path / "r", tiny_images, epochs=1).train(verbose=0)
    before = (tmp_path / "r" / "model.keras").stat().st_mtime_ns
    make_trainer(tmp_path / "r", tiny_images, epochs=1).train(verbose=0)
    assert "Nothing to train" in caplog.text
    assert (tmp_path / "r" / "model.keras").stat().st_mtime_ns == before


def test_a_crash_while_writing_a_checkpoint_keeps_the_previous_one(
    tmp_path, tiny_images, monkeypatch
):
    make_trainer(tmp_path / "r", tiny_images, epochs=1).train(verbose=0)
    good = list_checkpoints(tmp_path / "r" / "checkpoints")
    real_savez = np.savez

    def crash_midway(handle, **arrays):
        real_savez(handle, **dict(list(arrays.items())[:3]))  # a partial file hits the disk
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.np, "savez", crash_midway)
    with pytest.raises(MNISTGANError, match="could not write .*ckpt-epoch-0002.npz.*disk full"):
        make_trainer(tmp_path / "r", tiny_images, epochs=2).train(verbose=0)
    monkeypatch.undo()
    assert list_checkpoints(tmp_path / "r" / "checkpoints") == good
    assert [p.name for p in (tmp_path / "r" / "checkpoints").iterdir()] == [good[0][1].name]
    # ...and the run resumes from it.
    resumed = make_trainer(tmp_path / "r", tiny_images, epochs=2)
    resumed.train(verbose=0)
    assert resumed.completed_epochs == 2


def test_incompatible_run_in_output_dir_is_refused_and_kept(tmp_path, tiny_images):
    make_trainer(tmp_path / "r", tiny_images, epochs=1).train(verbose=0)
    files = {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    with pytest.raises(MNISTGANError, match="latent_dim=100.*latent_dim=64"):
        make_trainer(tmp_path / "r", tiny_images, epochs=2, latent_dim=64).train(verbose=0)
    assert {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()} == files


def test_unwritable_output_dir_is_a_clear_error(tmp_path, tiny_images):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(MNISTGANError, match="not writable"):
        make_trainer(blocker / "run", tiny_images, epochs=1).train(verbose=0)
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize(
    "bad",
    [
        {"g_learning_rate": 0},
        {"d_learning_rate": -1e-4},
        {"batch_size": 0},
        {"batch_size": -5},
        {"epochs": 0},
        {"latent_dim": -1},
        {"preset": "nope"},
        {"unknown_setting": 1},
    ],
)
def test_bad_settings_are_clear_errors(bad):
    with pytest.raises(MNISTGANError):
        GANTrainer(**bad)


def test_wrongly_shaped_training_images_are_a_clear_error():
    with pytest.raises(MNISTGANError, match=r"shaped \(N, H, W\)"):
        GANTrainer().load_data(np.zeros((10, 28), np.uint8))


def test_images_of_another_size_or_colour_are_converted_with_a_note(caplog):
    caplog.set_level("INFO", logger="mnist_gan")
    colour = np.random.default_rng(0).integers(0, 256, (120, 32, 40, 3), dtype=np.uint8)
    images = GANTrainer().load_data(colour)
    assert images.shape == (120, 28, 28) and images.dtype == np.uint8
    assert "converted 120 3-channel training images to grayscale" in caplog.text
    assert "resized 120 training images from 40x32 to 28x28" in caplog.text


def test_limit_and_train_gan(tmp_path, tiny_npz):
    trainer = train_gan(
        epochs=1,
        data_path=str(tiny_npz),
        limit=50,
        output_dir=tmp_path / "t",
        batch_size=25,
        preset="tiny",
    )
    assert len(trainer.train_images) == 50
    assert int(trainer.gan.g_optimizer.iterations) == 2


def run(output_dir, images, **overrides):
    overrides = {"preset": "tiny", "jit_compile": False, **overrides}
    trainer = GANTrainer(output_dir=output_dir, batch_size=24, seed=5, **overrides)
    trainer.load_data(images)
    trainer.train(verbose=0)
    return trainer


def assert_same_state(a, b):
    for x, y in zip(a.gan.variables, b.gan.variables):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=x.path)


def test_time_budget_stops_mid_epoch_and_resumes_exactly(
    tmp_path, tiny_images, caplog, deterministic_ops
):
    caplog.set_level("INFO", logger="mnist_gan")
    straight = run(tmp_path / "a", tiny_images, epochs=2, ema_decay=0.9)
    stopped = run(tmp_path / "b", tiny_images, epochs=2, ema_decay=0.9, minutes=1e-6)
    assert "minute budget after 0 epoch(s) + 1 steps" in caplog.text
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["ended"] == "time budget"
    assert int(stopped.gan.g_optimizer.iterations) == 1
    names = [p.name for _, p in list_checkpoints(tmp_path / "b" / "checkpoints")]
    assert names == ["ckpt-epoch-0000-step-000001.npz"]
    assert (tmp_path / "b" / "model.keras").is_file()
    assert list((tmp_path / "b" / "generated_samples").glob("*step_000001.png"))
    resumed = run(tmp_path / "b", tiny_images, epochs=2, ema_decay=0.9)
    assert int(resumed.gan.g_optimizer.iterations) == 8  # 4 steps per epoch
    assert_same_state(straight, resumed)
    assert straight.history["g_loss"][1] == resumed.history["g_loss"][1]


def test_the_fast_familys_new_settings_resume_exactly(tmp_path, tiny_images, deterministic_ops):
    # sub-pixel networks and lazy R1 (every 3rd step: the pattern must continue after a stop)
    settings = {"preset": "fast", "epochs": 2, "resample": "subpixel", "r1_interval": 3}
    straight = run(tmp_path / "a", tiny_images, **settings)
    run(tmp_path / "b", tiny_images, minutes=1e-6, **settings)
    resumed = run(tmp_path / "b", tiny_images, **settings)
    assert int(resumed.gan.d_optimizer.iterations) == 8
    assert_same_state(straight, resumed)


def test_interrupt_saves_the_current_step(tmp_path, tiny_images, deterministic_ops):

    class CtrlC(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.g_optimizer.iterations) == 6:
                raise KeyboardInterrupt

    straight = run(tmp_path / "a", tiny_images, epochs=2)
    trainer = GANTrainer(
        output_dir=tmp_path / "b", preset="tiny", batch_size=24, seed=5, epochs=2, jit_compile=False
    )
    trainer.load_data(tiny_images)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(callbacks=[CtrlC()], verbose=0)
    latest = list_checkpoints(tmp_path / "b" / "checkpoints")[-1][1]
    assert latest.name == "ckpt-epoch-0001-step-000002.npz"
    assert_same_state(straight, run(tmp_path / "b", tiny_images, epochs=2))


def test_ema_setting_must_match_to_resume(tmp_path, tiny_images):
    run(tmp_path / "r", tiny_images, epochs=1)
    with pytest.raises(MNISTGANError, match="ema_decay"):
        run(tmp_path / "r", tiny_images, epochs=2, ema_decay=0.999)


@pytest.mark.parametrize("minutes", [0, -1])
def test_bad_budget_is_a_clear_error(minutes):
    with pytest.raises(MNISTGANError, match="minutes"):
        GANTrainer(minutes=minutes)


def test_snapshots_every_n_minutes_continue_across_resume(tmp_path, tiny_images):
    from mnist_gan.training.callbacks import SnapshotCallback

    run(tmp_path / "s", tiny_images, epochs=2, snapshot_minutes=1e-7, minutes=1e-6)
    assert len(list((tmp_path / "s" / "snapshots").glob("minute_*.keras"))) == 1
    resumed = run(tmp_path / "s", tiny_images, epochs=2)
    assert resumed.previous_train_seconds > 0  # carried over from the first session
    assert resumed.train_seconds() > resumed.previous_train_seconds
    # 5 minutes already trained, snapshots every 2: the next one is at minute 6, not minute 2.
    assert SnapshotCallback(tmp_path, 2.0, previous_seconds=300).next_mark == 360


def test_a_truncated_newest_checkpoint_is_set_aside_and_the_one_before_used(tmp_path, caplog):
    images = synthetic_digits(80)
    trainer = GANTrainer(
        output_dir=tmp_path, preset="tiny", batch_size=40, epochs=2, seed=1, jit_compile=False
    )
    trainer.load_data(images)
    trainer.train(verbose=0)
    (_, older), (_, newest) = list_checkpoints(tmp_path / "checkpoints")
    newest.write_bytes(newest.read_bytes()[:1000])  # power loss mid-copy
    resumed = GANTrainer(
        output_dir=tmp_path, preset="tiny", batch_size=40, epochs=3, seed=1, jit_compile=False
    )
    resumed.load_data(images)
    resumed.train(verbose=0)
    assert str(newest) in caplog.text and "unreadable" in caplog.text
    assert newest.with_name(newest.name + ".unreadable").is_file()  # kept, not deleted
    assert older.is_file() and resumed.completed_epochs == 3
    assert int(resumed.gan.g_optimizer.iterations) == 2 * 2 + 2  # resumed after epoch 1

"""What real machines do to a run, injected for real: signals to a trainer process, a second
trainer on the same folder, a truncated checkpoint on disk, a diverging run."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from mnist_gan import MNISTGANError
from mnist_gan.gan.checkpoint import list_checkpoints
from mnist_gan.training.trainer import GANTrainer
from tests.conftest import synthetic_digits


def train_command(data, out, epochs):
    return [
        sys.executable, "-m", "mnist_gan", "train", "--preset", "fast", "--no-jit-compile",
        "--data", str(data), "--output-dir", str(out), "--epochs", str(epochs),
        "--batch-size", "50", "--seed", "3", "--sample-frequency", "0",
    ]  # fmt: skip


def start(command):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def wait_for(predicate, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_checkpoints_the_current_step_and_exits_conventionally(
    tmp_path, tiny_npz, signum, status
):
    out = tmp_path / "run"
    proc = start(train_command(tiny_npz, out, 400))
    wait_for(lambda: list_checkpoints(out / "checkpoints"))  # training is under way
    sent = time.time()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    assert time.time() - sent < 30  # well within the usual grace period
    assert signal.Signals(signum).name in stderr and "rerun the same command" in stderr
    newest = list_checkpoints(out / "checkpoints")[-1][1]
    assert newest.name.startswith("ckpt-epoch-")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["global_step"] >= 3
    # stdout is a pipe: one line per epoch, no progress-bar repaints.
    assert "\r" not in stdout and stdout.count("epoch ") >= 1
    # The same command resumes from where the signal stopped it.
    again = subprocess.run(
        [*train_command(tiny_npz, out, summary["epochs_done"] + 1)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert f"Resuming from {newest}" in again.stdout


def test_a_second_trainer_on_the_same_folder_is_refused(tmp_path, tiny_npz):
    out = tmp_path / "run"
    first = start(train_command(tiny_npz, out, 400))
    try:
        wait_for(lambda: list_checkpoints(out / "checkpoints"))
        second = subprocess.run(
            train_command(tiny_npz, out, 400), capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 2
        last = second.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and f"process {first.pid}" in last
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 143


def test_a_truncated_newest_checkpoint_is_set_aside_and_the_one_before_used(tmp_path, caplog):
    images = synthetic_digits(80)
    trainer = GANTrainer(output_dir=tmp_path, batch_size=40, epochs=2, seed=1, jit_compile=False)
    trainer.load_data(images)
    trainer.train(verbose=0)
    (_, older), (_, newest) = list_checkpoints(tmp_path / "checkpoints")
    newest.write_bytes(newest.read_bytes()[:1000])  # power loss mid-copy
    resumed = GANTrainer(output_dir=tmp_path, batch_size=40, epochs=3, seed=1, jit_compile=False)
    resumed.load_data(images)
    resumed.train(verbose=0)
    assert str(newest) in caplog.text and "unreadable" in caplog.text
    assert newest.with_name(newest.name + ".unreadable").is_file()  # kept, not deleted
    assert older.is_file() and resumed.completed_epochs == 3
    assert int(resumed.gan.g_optimizer.iterations) == 2 * 2 + 2  # resumed after epoch 1


def test_divergence_stops_with_a_clear_error_and_saves_no_nan(tmp_path):
    trainer = GANTrainer(
        output_dir=tmp_path, batch_size=40, epochs=5, seed=1, jit_compile=False,
        g_learning_rate=1e30, d_learning_rate=1e30, sample_frequency=1,
    )  # fmt: skip
    trainer.load_data(synthetic_digits(80))
    with pytest.raises(MNISTGANError, match=r"training diverged: \w+ became nan at step \d+"):
        trainer.train(verbose=0)
    assert not (tmp_path / "model.keras").exists()
    for _, path in list_checkpoints(tmp_path / "checkpoints"):
        with np.load(path) as archive:
            assert all(np.isfinite(archive[k]).all() for k in archive.files if k != "__header__")


class PoisonOnce(keras.callbacks.Callback):
    """A fault injected for real: at global step ``at`` (every time it comes round when
    ``always``), one generator weight becomes NaN, as after an overflow."""

    def __init__(self, at, always=False):
        super().__init__()
        self.at, self.always, self.fired = at, always, 0

    def on_train_batch_begin(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations) == self.at and (self.always or not self.fired):
            kernel = self.model.generator.trainable_variables[0]
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))
            self.fired += 1


def rollback_trainer(out, **settings):
    trainer = GANTrainer(
        output_dir=out, batch_size=40, epochs=3, seed=1, jit_compile=False,
        on_divergence="rollback", **settings,
    )  # fmt: skip
    trainer.load_data(synthetic_digits(80))
    return trainer


def test_rollback_reloads_the_last_good_checkpoint_with_lower_rates(tmp_path, caplog):
    trainer = rollback_trainer(tmp_path)
    trainer.train(callbacks=[PoisonOnce(at=3)], verbose=0)  # step 3: in the second epoch
    assert trainer.completed_epochs == 3 and int(trainer.gan.g_optimizer.iterations) == 6
    (record,) = json.loads((tmp_path / "history.json").read_text())["rollbacks"]
    assert record["step"] >= 3 and record["resumed_from"].endswith("ckpt-epoch-0001.npz")
    assert record["g_learning_rate"] == pytest.approx(1e-4)  # dcgan's 2e-4, halved
    assert "rolled back to" in caplog.text
    assert all(np.isfinite(v.numpy()).all() for v in trainer.gan.weights)


def test_rollbacks_are_bounded(tmp_path):
    trainer = rollback_trainer(tmp_path, max_rollbacks=2)
    with pytest.raises(MNISTGANError, match="2 rollbacks did not help"):
        trainer.train(callbacks=[PoisonOnce(at=3, always=True)], verbose=0)
    assert len(json.loads((tmp_path / "history.json").read_text())["rollbacks"]) == 2
    assert not (tmp_path / "model.keras").exists()

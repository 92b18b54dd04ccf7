"""DivergenceGuard stops real fits that go NaN; all_finite; the user message; a diverging
trainer run saves no NaN, and ``--on-divergence rollback`` reloads with lower rates, boundedly."""

import json
import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan import MNISTGANError
from mnist_gan.gan.checkpoint import list_checkpoints
from mnist_gan.reliability.divergence import DivergenceGuard, all_finite, divergence_message
from mnist_gan.training.trainer import GANTrainer
from tests.conftest import synthetic_digits


class NaNAtStep(keras.Model):
    """A GAN-shaped toy: real training, and g_loss turns NaN from global step ``k`` on."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.k = k

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self(data)))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        step = self.optimizer.iterations  # 1-based number of the step just taken
        g_loss = tf.where(step >= self.k, tf.constant(np.nan, loss.dtype), loss)
        return {"d_loss": loss, "g_loss": g_loss}


def _data(n: int = 400) -> np.ndarray:
    return np.random.default_rng(0).random((n, 4)).astype("float32")


@pytest.mark.parametrize(("k", "every"), [(7, 5), (13, 1), (5, 4)])
def test_guard_stops_within_check_every_steps_and_names_step_and_loss(k, every, caplog):
    model = NaNAtStep(k)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    guard = DivergenceGuard(check_every=every)
    with caplog.at_level(logging.WARNING, logger="mnist_gan"):
        model.fit(_data(), epochs=50, batch_size=4, verbose=0, callbacks=[guard])
    assert guard.diverged is not None
    assert guard.diverged["loss"] == "g_loss"
    assert np.isnan(guard.diverged["value"])
    step = guard.diverged["step"]
    assert k <= step < k + every
    assert step % every == 0 or every == 1
    assert int(model.optimizer.iterations.numpy()) == step  # fit stopped right there
    assert any("g_loss" in r.getMessage() for r in caplog.records)


def test_guard_with_a_huge_learning_rate_on_a_plain_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
    x = _data()
    guard = DivergenceGuard(check_every=3, keys=("loss",))
    model.fit(x, x.sum(axis=1, keepdims=True), epochs=50, batch_size=4, verbose=0,
              callbacks=[guard])  # fmt: skip
    assert guard.diverged is not None and guard.diverged["loss"] == "loss"
    assert not np.isfinite(guard.diverged["value"])
    assert guard.diverged["step"] == int(model.optimizer.iterations.numpy())
    assert guard.diverged["step"] % 3 == 0 and guard.diverged["step"] < 100  # not 50 epochs
    assert not all_finite(model.weights)


def test_epoch_end_catches_what_the_sparse_check_missed():
    model = NaNAtStep(3)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    guard = DivergenceGuard(check_every=1000)
    model.fit(_data(40), epochs=20, batch_size=4, verbose=0, callbacks=[guard])
    assert guard.diverged is not None and guard.diverged["step"] == 10  # end of epoch 1


def test_healthy_training_is_left_alone():
    model = NaNAtStep(10**9)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    guard = DivergenceGuard(check_every=2)
    history = model.fit(_data(40), epochs=3, batch_size=4, verbose=0, callbacks=[guard])
    assert guard.diverged is None
    assert len(history.history["d_loss"]) == 3
    assert all_finite(model.weights)


def test_check_every_is_validated():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="check_every"):
            DivergenceGuard(check_every=bad)


def test_all_finite():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert all_finite(model.weights)
    assert all_finite([])
    assert all_finite([np.arange(3)])  # integers are ignored
    assert not all_finite([np.ones(2), np.array([1.0, np.inf])])
    model.layers[0].bias.assign([0.0, np.nan])
    assert not all_finite(model.weights)
    assert all_finite(model.layers[0].kernel for _ in range(1))  # any iterable


def test_divergence_message_names_step_loss_and_remedies():
    text = divergence_message({"step": 1234, "loss": "d_loss", "value": float("inf")}, 2e-4, 1e-4)
    assert "step 1234" in text and "d_loss became inf" in text
    assert "--g-lr 0.0001 --d-lr 5e-05" in text
    assert "--r1-gamma" in text and "--g-lr" in text
    assert "--r1-gamma" in text and "custom networks" in text


def test_divergence_stops_with_a_clear_error_and_saves_no_nan(tmp_path, tiny_preset):
    trainer = GANTrainer(
        output_dir=tmp_path, preset=tiny_preset, batch_size=40, epochs=5, seed=1, jit_compile=False,
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
        output_dir=out, preset="tiny", batch_size=40, epochs=3, seed=1, jit_compile=False,
        on_divergence="rollback", **settings,
    )  # fmt: skip
    trainer.load_data(synthetic_digits(80))
    return trainer


def test_rollback_reloads_the_last_good_checkpoint_with_lower_rates(tmp_path, caplog, tiny_preset):
    trainer = rollback_trainer(tmp_path)
    trainer.train(callbacks=[PoisonOnce(at=3)], verbose=0)  # step 3: in the second epoch
    assert trainer.completed_epochs == 3 and int(trainer.gan.g_optimizer.iterations) == 6
    (record,) = json.loads((tmp_path / "history.json").read_text())["rollbacks"]
    assert record["step"] >= 3 and record["resumed_from"].endswith("ckpt-epoch-0001.npz")
    assert record["g_learning_rate"] == pytest.approx(1e-4)  # the declared 2e-4 (dcgan's), halved
    assert "rolled back to" in caplog.text
    assert all(np.isfinite(v.numpy()).all() for v in trainer.gan.weights)


def test_rollbacks_are_bounded(tmp_path, tiny_preset):
    trainer = rollback_trainer(tmp_path, max_rollbacks=2)
    with pytest.raises(MNISTGANError, match="2 rollbacks did not help"):
        trainer.train(callbacks=[PoisonOnce(at=3, always=True)], verbose=0)
    assert len(json.loads((tmp_path / "history.json").read_text())["rollbacks"]) == 2
    assert not (tmp_path / "model.keras").exists()

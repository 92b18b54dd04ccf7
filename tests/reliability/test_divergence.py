"""DivergenceGuard stops real fits that go NaN; all_finite; the user message."""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan.reliability.divergence import DivergenceGuard, all_finite, divergence_message


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

"""The generator EMA: the schedule as a pure function, the update's arithmetic, sampling from
the average, save/load (resuming with it: tests/training/test_trainer.py)."""

import keras
import numpy as np
import pytest

from mnist_gan import MNISTGAN, MNISTGANError
from mnist_gan.gan.ema import RAMPUP, ema_decay


@pytest.mark.parametrize(
    ("updates", "start", "expected"),
    [
        (1, 0, 1 - 1 / (1 + RAMPUP)),
        (3, 5, 0.0),  # before the start: a copy
        (5, 5, 0.0),
        (6, 5, 1 - 1 / (1 + RAMPUP)),
        (10**6, 0, 0.999),  # capped at the decay
    ],
)
def test_decay_schedule(updates, start, expected):
    assert float(ema_decay(np.int64(updates), 0.999, start)) == pytest.approx(expected, rel=1e-5)


def toy_gan(ema_decay=0.9, ema_start=0):
    z = keras.Input((4,))
    h = keras.layers.Dense(8, name="hidden")(z)
    h = keras.layers.BatchNormalization(name="bn")(h)
    x = keras.layers.Dense(784, activation="tanh", name="out")(h)
    generator = keras.Model(z, keras.layers.Reshape((28, 28, 1))(x))
    image = keras.Input((28, 28, 1))
    logit = keras.layers.Dense(1)(keras.layers.Flatten()(image))
    return MNISTGAN(
        4, generator, keras.Model(image, logit), ema_decay=ema_decay, ema_start=ema_start, seed=0
    )


def test_ema_update_follows_the_formula_with_warm_up():
    gan = toy_gan(0.9)
    start = [v.numpy().copy() for v in gan.ema_generator.trainable_variables]
    live = [np.full(v.shape, 2.0, "float32") for v in gan.generator.trainable_variables]
    for v, value in zip(gan.generator.trainable_variables, live):
        v.assign(value)
    gan.generator.get_layer("bn").moving_mean.assign(np.full(8, 5.0, "float32"))
    gan.update_ema()
    d1 = min(0.9, 1 - 1 / 1.05)  # warm-up: 1 - 1 / (1 + 0.05 n) after n = 1 update
    for averaged, s, w in zip(gan.ema_generator.trainable_variables, start, live):
        np.testing.assert_allclose(averaged.numpy(), d1 * s + (1 - d1) * w, rtol=1e-6)
    gan.update_ema()
    d2 = min(0.9, 1 - 1 / 1.1)
    for averaged, s, w in zip(gan.ema_generator.trainable_variables, start, live):
        expected = d2 * (d1 * s + (1 - d1) * w) + (1 - d2) * w
        np.testing.assert_allclose(averaged.numpy(), expected, rtol=1e-5)
    # Batch-norm statistics are copied, not averaged.
    np.testing.assert_array_equal(gan.ema_generator.get_layer("bn").moving_mean.numpy(), 5.0)
    # After many updates the decay is capped at ema_decay.
    gan.ema_updates.assign(10_000)
    before = gan.ema_generator.trainable_variables[0].numpy().copy()
    gan.update_ema()
    np.testing.assert_allclose(
        gan.ema_generator.trainable_variables[0].numpy(), 0.9 * before + 0.1 * 2.0, rtol=1e-6
    )


def test_ema_copies_the_generator_until_its_start_then_ramps_up_from_there():
    gan = toy_gan(0.9, ema_start=3)
    for step in range(1, 4):
        for v in gan.generator.trainable_variables:
            v.assign(np.full(v.shape, float(step), "float32"))
        gan.update_ema()
        for averaged, live in zip(
            gan.ema_generator.trainable_variables, gan.generator.trainable_variables
        ):
            np.testing.assert_array_equal(averaged.numpy(), live.numpy())  # an exact copy
    for v in gan.generator.trainable_variables:
        v.assign(np.full(v.shape, 10.0, "float32"))
    gan.update_ema()  # the first averaging update: 1 update after the start
    d1 = 1 - 1 / 1.05
    for averaged in gan.ema_generator.trainable_variables:
        np.testing.assert_allclose(averaged.numpy(), d1 * 3.0 + (1 - d1) * 10.0, rtol=1e-6)


def test_ema_start_defaults_round_trips_and_is_validated():
    assert MNISTGAN(ema_decay=0.999).config.ema_start == 10_000
    assert MNISTGAN(preset="fast").config.ema_start == 0
    gan = MNISTGAN(ema_decay=0.999, ema_start=123)
    assert MNISTGAN.from_config(gan.get_config()).config.ema_start == 123
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(MNISTGANError, match="ema_start"):
            MNISTGAN(ema_decay=0.999, ema_start=bad)


def test_sampling_uses_the_ema_generator(tiny_images):
    gan = toy_gan(0.5)
    gan.compile()
    gan.fit(tiny_images, batch_size=32, epochs=1, verbose=0)
    assert int(gan.ema_updates) == 3
    z = np.random.default_rng(0).normal(size=(4, 4)).astype("float32")
    np.testing.assert_allclose(gan.predict(z, verbose=0), gan.ema_generator(z), atol=1e-6)
    assert not np.allclose(gan.ema_generator(z), gan.generator(z))


def test_ema_off_by_default_and_validated():
    assert MNISTGAN().ema_generator is None
    with pytest.raises(MNISTGANError, match="ema_decay"):
        MNISTGAN(ema_decay=1.0)


def test_ema_model_saves_and_loads(tmp_path, tiny_images):
    gan = MNISTGAN(ema_decay=0.99, seed=0)
    gan.compile()
    gan.fit(tiny_images[:32], batch_size=16, epochs=1, verbose=0)
    gan.save(tmp_path / "ema.keras")
    loaded = keras.models.load_model(tmp_path / "ema.keras")
    assert loaded.config.ema_decay == 0.99 and int(loaded.ema_updates) == 2
    np.testing.assert_array_equal(loaded.generate(8, seed=2), gan.generate(8, seed=2))

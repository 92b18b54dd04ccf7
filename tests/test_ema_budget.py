"""Generator EMA (arithmetic, sampling, save/load/resume) and the training time budget."""

import json

import keras
import numpy as np
import pytest

from mnist_gan import MNISTGAN, MNISTGANError
from mnist_gan.checkpoint import list_checkpoints
from mnist_gan.trainer import GANTrainer


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


def run(output_dir, images, **overrides):
    overrides.setdefault("jit_compile", False)
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


def test_interrupt_saves_the_current_step(tmp_path, tiny_images, deterministic_ops):

    class CtrlC(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.g_optimizer.iterations) == 6:
                raise KeyboardInterrupt

    straight = run(tmp_path / "a", tiny_images, epochs=2)
    trainer = GANTrainer(
        output_dir=tmp_path / "b", batch_size=24, seed=5, epochs=2, jit_compile=False
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
    from mnist_gan.callbacks import SnapshotCallback

    run(tmp_path / "s", tiny_images, epochs=2, snapshot_minutes=1e-7, minutes=1e-6)
    assert len(list((tmp_path / "s" / "snapshots").glob("minute_*.keras"))) == 1
    resumed = run(tmp_path / "s", tiny_images, epochs=2)
    assert resumed.previous_train_seconds > 0  # carried over from the first session
    assert resumed.train_seconds() > resumed.previous_train_seconds
    # 5 minutes already trained, snapshots every 2: the next one is at minute 6, not minute 2.
    assert SnapshotCallback(tmp_path, 2.0, previous_seconds=300).next_mark == 360

"""MNISTGAN (mnist_gan.gan.model): the default DCGAN's behaviour, update modes, losses, save/load;
the fused discriminator call; speed settings (XLA) that change speed only, never the weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan import MNISTGAN, MNISTGANError, make_optimizer
from mnist_gan.cli import build_parser
from mnist_gan.data.pipeline import scale_images
from mnist_gan.gan.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import op_determinism, synthetic_digits


def test_call_and_predict_return_images():
    gan = MNISTGAN()
    z = np.random.default_rng(0).normal(size=(3, 100)).astype("float32")
    images = gan.predict(z, verbose=0)
    assert images.shape == (3, 28, 28, 1)
    assert images.min() >= -1 and images.max() <= 1
    np.testing.assert_allclose(images, gan(z), atol=1e-6)


def test_default_compile_is_the_designs_setup():
    gan = MNISTGAN()
    gan.compile()
    for opt, lr in ((gan.g_optimizer, 2e-4), (gan.d_optimizer, 2e-5)):
        assert isinstance(opt, keras.optimizers.Adam)
        assert opt.beta_1 == 0.5 and opt.beta_2 == 0.999
        schedule = opt._learning_rate
        assert isinstance(schedule, keras.optimizers.schedules.ExponentialDecay)
        assert schedule.decay_steps == 1000 and schedule.decay_rate == 0.96 and schedule.staircase
        assert float(schedule(0)) == pytest.approx(lr)
    assert isinstance(gan.loss_fn, keras.losses.BinaryCrossentropy)
    assert gan.loss_fn.get_config()["from_logits"]


def test_learning_rate_schedule_is_staircase_on_optimizer_steps():
    opt = make_optimizer(2e-4, 0.96, 1000, 0.5, 0.999)
    schedule = opt._learning_rate
    assert float(schedule(999)) == pytest.approx(2e-4)
    assert float(schedule(1000)) == pytest.approx(2e-4 * 0.96)
    assert float(schedule(2500)) == pytest.approx(2e-4 * 0.96**2)


def test_fit_reports_tracker_metrics_and_learning_rates(tiny_images):
    gan = MNISTGAN(seed=0)
    gan.compile()
    history = gan.fit(tiny_images, batch_size=32, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "d_acc_real", "d_acc_fake", "g_lr", "d_lr"}
    assert [m.name for m in gan.metrics] == ["d_loss", "g_loss", "d_acc_real", "d_acc_fake"]
    assert history.history["g_lr"][0] == pytest.approx(2e-4)
    assert history.history["d_lr"][0] == pytest.approx(2e-5)
    for key in ("d_acc_real", "d_acc_fake"):
        assert 0.0 <= history.history[key][0] <= 1.0
    assert int(gan.g_optimizer.iterations) == int(gan.d_optimizer.iterations) == 3


def _weights(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def _changed(before, model):
    return any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))


def test_generator_step_changes_only_generator_weights(tiny_images):
    # Discriminator LR 0: any change of discriminator weights would come from the G step.
    gan = MNISTGAN(seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.Adam(1e-3))
    d_before, g_before = _weights(gan.discriminator), _weights(gan.generator)
    gan.fit(tiny_images[:32], batch_size=32, epochs=1, verbose=0)
    assert not _changed(d_before, gan.discriminator)
    assert _changed(g_before, gan.generator)


def test_discriminator_step_changes_only_discriminator_weights(tiny_images):
    gan = MNISTGAN(seed=0)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.Adam(1e-3))
    d_before, g_before = _weights(gan.discriminator), _weights(gan.generator)
    gan.fit(tiny_images[:32], batch_size=32, epochs=1, verbose=0)
    assert _changed(d_before, gan.discriminator)
    assert not _changed(g_before, gan.generator)


def test_discriminator_learns_real_from_fake(tiny_images):
    gan = MNISTGAN(seed=0)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.Adam(2e-3))
    history = gan.fit(tiny_images, batch_size=32, epochs=4, verbose=0)
    assert history.history["d_loss"][-1] < history.history["d_loss"][0]
    assert history.history["d_acc_real"][-1] > 0.9 and history.history["d_acc_fake"][-1] > 0.9


@pytest.mark.parametrize(
    "make_batch",
    [
        lambda x: x,  # uint8 (N, 28, 28)
        lambda x: (x.astype("float64") - 127.5) / 127.5,  # float64, already scaled
        lambda x: (x[..., None], np.zeros(len(x), "int64")),  # (images, labels)
        lambda x: x.reshape(len(x), 784),  # flat
    ],
    ids=["uint8", "float64", "with-labels", "flat"],
)
def test_train_step_accepts_common_batch_forms(tiny_images, make_batch):
    gan = MNISTGAN(seed=0)
    gan.compile()
    data = make_batch(tiny_images[:16])
    batch = tuple(map(tf.constant, data)) if isinstance(data, tuple) else tf.constant(data)
    logs = gan.train_step(batch)
    assert np.isfinite(float(logs["d_loss"])) and np.isfinite(float(logs["g_loss"]))


def test_uint8_and_prescaled_float_batches_are_the_same_images(tiny_images):
    gan = MNISTGAN()
    from_uint8 = gan.prepare_real_images(tiny_images[:4])
    from_float = gan.prepare_real_images((tiny_images[:4].astype("float64") - 127.5) / 127.5)
    np.testing.assert_allclose(from_uint8, from_float, atol=1e-6)
    assert from_uint8.shape == (4, 28, 28, 1) and from_uint8.dtype == tf.float32


def test_wrong_image_shape_is_a_clear_error():
    gan = MNISTGAN()
    gan.compile()
    with pytest.raises(MNISTGANError, match=r"expects grayscale images shaped .*got .*32, 32, 3"):
        gan.fit(np.zeros((8, 32, 32, 3), "uint8"), batch_size=4, epochs=1, verbose=0)


def test_save_and_load_give_identical_generator_outputs(tmp_path, tiny_images):
    gan = MNISTGAN(seed=0)
    gan.compile()
    gan.fit(tiny_images[:32], batch_size=16, epochs=1, verbose=0)  # BN statistics move
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, MNISTGAN)
    assert loaded.get_config()["latent_dim"] == 100 and loaded.config.pixel_range == (-1.0, 1.0)
    z = np.random.default_rng(3).normal(size=(8, 100)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(z, verbose=0), gan.predict(z, verbose=0))
    np.testing.assert_array_equal(loaded.generate(8, seed=5), gan.generate(8, seed=5))


def test_config_round_trip_keeps_every_argument():
    gan = MNISTGAN(latent_dim=16, noise="uniform", seed=7, d_loss_reduction="mean")
    clone = MNISTGAN.from_config(gan.get_config())
    for key in ("latent_dim", "noise", "seed", "d_loss_reduction", "pixel_range", "preset"):
        assert clone.get_config()[key] == gan.get_config()[key]
    assert clone.generator.input_shape == (None, 16)


def test_generate_is_reproducible_with_a_seed():
    gan = MNISTGAN()
    a, b = gan.generate(5, seed=1), gan.generate(5, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, 28, 28, 1) and a.dtype == np.float32
    assert not np.array_equal(a, gan.generate(5, seed=2))


@pytest.mark.parametrize("bad", [{"latent_dim": 0}, {"latent_dim": -3}, {"noise": "cauchy"}])
def test_bad_model_arguments_are_clear_errors(bad):
    with pytest.raises(MNISTGANError):
        MNISTGAN(**bad)


def _toy_gan(update, **kwargs):
    z = keras.Input((4,))
    image = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784, activation="tanh")(z))
    x = keras.Input((28, 28, 1))
    logit = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    return MNISTGAN(
        4, keras.Model(z, image), keras.Model(x, logit), update=update, seed=1, **kwargs
    )


@pytest.mark.parametrize("update", ["simultaneous", "alternating"])
def test_update_modes_follow_their_definition(update, tiny_images):
    gan = _toy_gan(update)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    g0 = [w.numpy() for w in gan.generator.trainable_weights]
    d0 = [w.numpy() for w in gan.discriminator.trainable_weights]
    state = gan.seed_generator.state.numpy()
    real = gan.prepare_real_images(tiny_images[:8])
    gan.train_step(tf.constant(tiny_images[:8]))

    # Replay the same noise on a copy holding the old weights.
    ref = _toy_gan(update)
    for w, v in zip(ref.generator.trainable_weights + ref.discriminator.trainable_weights, g0 + d0):
        w.assign(v)
    ref.seed_generator.state.assign(state)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    z = ref.sample_noise(8)
    with tf.GradientTape(persistent=True) as tape:
        fake_logits = ref.discriminator(ref.generator(z))
        d_loss = bce(tf.ones((8, 1)), ref.discriminator(real)) + bce(tf.zeros((8, 1)), fake_logits)
        g_loss = bce(tf.ones((8, 1)), fake_logits)  # simultaneous: same pass, old discriminator
    d_grads = tape.gradient(d_loss, ref.discriminator.trainable_weights)
    expected_d = [v - 0.1 * g.numpy() for v, g in zip(d0, d_grads)]
    if update == "simultaneous":
        g_grads = tape.gradient(g_loss, ref.generator.trainable_weights)
    else:
        for w, v in zip(ref.discriminator.trainable_weights, expected_d):
            w.assign(v)
        z2 = ref.sample_noise(8)
        with tf.GradientTape() as g_tape:
            g_loss = bce(tf.ones((8, 1)), ref.discriminator(ref.generator(z2)))
        g_grads = g_tape.gradient(g_loss, ref.generator.trainable_weights)
    expected_g = [v - 0.1 * g.numpy() for v, g in zip(g0, g_grads)]
    for w, e in zip(gan.discriminator.trainable_weights, expected_d):
        np.testing.assert_allclose(w.numpy(), e, rtol=1e-4, atol=1e-6)
    for w, e in zip(gan.generator.trainable_weights, expected_g):
        np.testing.assert_allclose(w.numpy(), e, rtol=1e-4, atol=1e-6)


def test_small_requests_see_new_weights(tiny_images):
    gan = MNISTGAN(seed=0)
    gan.compile()
    before = gan.generate(2, seed=1)
    gan.fit(tiny_images[:16], batch_size=16, epochs=1, verbose=0)
    after = gan.generate(2, seed=1)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, gan.generate(20, seed=1)[:2], atol=2e-5)


def test_hinge_loss_and_r1_penalty_follow_their_definitions(tiny_images):
    gamma = 0.5
    gan = _toy_gan("simultaneous", loss="hinge", r1_gamma=gamma)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    g0 = [w.numpy() for w in gan.generator.trainable_weights]
    d0 = [w.numpy() for w in gan.discriminator.trainable_weights]
    state = gan.seed_generator.state.numpy()
    real = gan.prepare_real_images(tiny_images[:8])
    # A linear discriminator's input gradient is its kernel for every image.
    kernel = gan.discriminator.trainable_weights[0].numpy()
    _, penalty = gan._real_logits(real)
    np.testing.assert_allclose(float(penalty), gamma / 2 * np.sum(kernel**2), rtol=1e-5)
    gan.train_step(tf.constant(tiny_images[:8]))

    ref = _toy_gan("simultaneous")
    for w, v in zip(ref.generator.trainable_weights + ref.discriminator.trainable_weights, g0 + d0):
        w.assign(v)
    ref.seed_generator.state.assign(state)
    z = ref.sample_noise(8)
    with tf.GradientTape(persistent=True) as tape:
        fake_logits = ref.discriminator(ref.generator(z))
        real_logits = ref.discriminator(real)
        d_loss = tf.reduce_mean(tf.nn.relu(1 - real_logits)) + tf.reduce_mean(
            tf.nn.relu(1 + fake_logits)
        )
        g_loss = -tf.reduce_mean(fake_logits)
    d_grads = [g.numpy() for g in tape.gradient(d_loss, ref.discriminator.trainable_weights)]
    d_grads[0] += gamma * kernel  # d/dw of gamma/2 |w|^2
    g_grads = tape.gradient(g_loss, ref.generator.trainable_weights)
    for w, v, g in zip(gan.discriminator.trainable_weights, d0, d_grads):
        np.testing.assert_allclose(w.numpy(), v - 0.1 * g, rtol=1e-4, atol=1e-6)
    for w, v, g in zip(gan.generator.trainable_weights, g0, g_grads):
        np.testing.assert_allclose(w.numpy(), v - 0.1 * g.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("every", [1, 3])
def test_lazy_r1_adds_the_scaled_penalty_on_every_kth_step(every, tiny_images, monkeypatch):
    from mnist_gan.gan import losses

    applied = []  # (discriminator step, gamma) of every penalty computed
    penalty = losses.r1_penalty

    def spy(gradients, gamma):
        applied.append((int(gan.d_optimizer.iterations), gamma))
        return penalty(gradients, gamma)

    monkeypatch.setattr(losses, "r1_penalty", spy)
    gan = _toy_gan("simultaneous", r1_gamma=0.5, r1_interval=every)
    gan.compile(run_eagerly=True)  # a Python spy sees each step, not one trace
    gan.fit(tiny_images[:56], batch_size=8, epochs=1, verbose=0)  # 7 steps
    assert applied == [(step, 0.5 * every) for step in range(0, 7, every)]


def test_lazy_r1_traced_matches_eager(tiny_images, deterministic_ops):
    def train(eager):
        keras.utils.set_random_seed(0)
        gan = _toy_gan("simultaneous", r1_gamma=0.5, r1_interval=3)
        gan.compile(run_eagerly=eager)
        gan.fit(tiny_images[:56], batch_size=8, epochs=1, verbose=0)
        return gan

    eager, traced = train(True), train(False)
    for a, b in zip(eager.discriminator.weights, traced.discriminator.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_loss_and_r1_settings_round_trip_and_are_validated():
    gan = MNISTGAN(preset="fast", loss="hinge", r1_gamma=0.1)
    clone = MNISTGAN.from_config(gan.get_config())
    assert (clone.config.loss, clone.config.r1_gamma) == ("hinge", 0.1)
    with pytest.raises(MNISTGANError, match="loss"):
        MNISTGAN(preset="fast", loss="wasserstein")
    with pytest.raises(MNISTGANError, match="r1_gamma"):
        MNISTGAN(preset="fast", r1_gamma=-1.0)


@pytest.fixture
def xla_allowed():
    """Op determinism off for the test (Keras turns XLA off while it is on), then restored."""
    with op_determinism(False):
        yield


@pytest.mark.parametrize("preset", ["dcgan", "mlp", "fast", "cfast"])
def test_xla_on_and_off_train_to_the_same_weights(preset, xla_allowed):
    def two_steps(jit):
        keras.utils.set_random_seed(0)
        gan = MNISTGAN(preset=preset, seed=0, precision="float32")  # XLA vs not, not bfloat16
        # SGD, not Adam: Adam's first updates are lr * sign(g) for any |g| above its epsilon, so
        # a weight whose gradient is rounding noise moves by +-lr on one kernel choice and -+lr on
        # the other (2 lr = 4e-4 for dcgan, seen on an AMD EPYC). SGD keeps differences at
        # lr * (rounding of g), and a changed noise draw would still move weights by ~lr * g.
        gan.compile(
            g_optimizer=keras.optimizers.SGD(0.01),
            d_optimizer=keras.optimizers.SGD(0.01),
            jit_compile=jit,
        )
        images = scale_images(synthetic_digits(64, 3), gan.config.pixel_range)
        data = (images, np.arange(64) % 10) if gan.conditional else images
        history = gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(32), verbose=0)
        return gan, history.history

    plain, plain_logs = two_steps(False)
    xla, xla_logs = two_steps(True)
    assert xla.uses_xla and not plain.uses_xla
    for name in ("d_loss", "g_loss"):
        np.testing.assert_allclose(xla_logs[name], plain_logs[name], rtol=1e-5)
    for a, b in zip(plain.weights, xla.weights, strict=True):
        # Float reordering only: lr 0.01 times gradients that agree to ~1e-6 of their scale.
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5, err_msg=a.path)


def test_compile_takes_the_presets_xla_setting_unless_told(xla_allowed):
    for preset in ("dcgan", "mlp", "conv"):
        gan = MNISTGAN(preset=preset)
        gan.compile()
        assert gan.jit_compile == gan.config.jit_compile
    gan = MNISTGAN(preset="fast")
    gan.compile(jit_compile=not gan.config.jit_compile)
    assert gan.jit_compile != gan.config.jit_compile


def one_step(fused, **settings):
    keras.utils.set_random_seed(0)
    gan = MNISTGAN(
        preset="fast", seed=0, fused_discriminator=fused, precision="float32", **settings
    )
    gan.compile(jit_compile=False)
    images = scale_images(synthetic_digits(32, 2))
    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=1, verbose=0)
    return gan


@pytest.mark.parametrize(
    "settings", [{}, {"r1_gamma": 0.0, "update": "alternating", "loss": "hinge"}]
)
def test_fused_and_separate_calls_give_the_same_weights(settings):
    separate, fused = one_step(False, **settings), one_step(True, **settings)
    for a, b in zip(separate.variables, fused.variables):
        np.testing.assert_allclose(
            a.numpy(), b.numpy(), rtol=1e-4, atol=2e-5, err_msg=a.path
        )  # Adam magnifies float noise


def test_the_option_reaches_cli_keras_file_and_checkpoint(tmp_path):
    assert build_parser().parse_args(["train", "--fused-discriminator"]).fused_discriminator
    gan = one_step(True)
    gan.save(tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras").config.fused_discriminator
    save_checkpoint(gan, tmp_path / "c.npz", 1, {"config": gan.config.to_dict()})
    restored = MNISTGAN(config=gan.config)
    restored.compile()
    assert load_checkpoint(restored, tmp_path / "c.npz")["meta"]["config"]["fused_discriminator"]

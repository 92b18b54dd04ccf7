"""The five presets: pinned layer tables, defaults, one training step each, save/load, CLI."""

import keras
import numpy as np
import pytest

from mnist_gan import MNISTGAN, MNISTGANError, make_config
from mnist_gan.cli import build_parser, main
from mnist_gan.models.presets import PRESETS, build_networks
from tests.conftest import synthetic_digits

# Every preset, with dcgan64's cheap 32x32 variant as a sixth case.
CASES = {
    "dcgan": {},
    "mlp": {},
    "conv": {},
    "mlp-bn": {},
    "dcgan64": {},
    "dcgan64-32": {"image_size": 32},
    "fast": {},
    # The recipe before issue 29 (stride-2 kernels), still reachable by settings.
    "fast-strided": {"resample": "strided"},
}


def preset_of(case):
    return {"dcgan64-32": "dcgan64", "fast-strided": "fast"}.get(case, case)


def layer_table(model):
    return [(layer.name, tuple(layer.output.shape), layer.count_params()) for layer in model.layers]


def trainable_count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


# (layer table, total params, trainable params) of (generator, discriminator), by hand:
# Dense n->m: (n + 1) m; Conv k x k, c -> f: k*k*c*f (+ f with bias); BatchNorm: 4 per channel,
# half of them (moving mean/variance) not trainable.
EXPECTED = {
    "dcgan": (
        (
            [
                ("z", (None, 100), 0),
                ("project", (None, 1008), 101_808),
                ("reshape", (None, 3, 3, 112), 0),
                ("deconv1", (None, 7, 7, 56), 156_856),
                ("bn1", (None, 7, 7, 56), 224),
                ("lrelu1", (None, 7, 7, 56), 0),
                ("deconv2", (None, 14, 14, 28), 39_228),
                ("bn2", (None, 14, 14, 28), 112),
                ("lrelu2", (None, 14, 14, 28), 0),
                ("deconv3", (None, 28, 28, 1), 701),
                ("image", (None, 28, 28, 1), 0),
            ],
            298_929,
            298_761,
        ),
        (
            [
                ("image", (None, 28, 28, 1), 0),
                ("conv1", (None, 14, 14, 64), 1_664),
                ("lrelu1", (None, 14, 14, 64), 0),
                ("drop1", (None, 14, 14, 64), 0),
                ("conv2", (None, 7, 7, 128), 204_928),
                ("lrelu2", (None, 7, 7, 128), 0),
                ("drop2", (None, 7, 7, 128), 0),
                ("flatten", (None, 6272), 0),
                ("logit", (None, 1), 6_273),
            ],
            212_865,
            212_865,
        ),
    ),
    "mlp": (
        (
            [
                ("z", (None, 100), 0),
                ("dense1", (None, 256), 25_856),
                ("relu1", (None, 256), 0),
                ("dense2", (None, 512), 131_584),
                ("relu2", (None, 512), 0),
                ("dense3", (None, 1024), 525_312),
                ("relu3", (None, 1024), 0),
                ("dense_out", (None, 784), 803_600),
                ("reshape", (None, 28, 28, 1), 0),
                ("image", (None, 28, 28, 1), 0),
            ],
            1_486_352,
            1_486_352,
        ),
        (
            [
                ("image", (None, 28, 28, 1), 0),
                ("flatten", (None, 784), 0),
                ("dense1", (None, 1024), 803_840),
                ("lrelu1", (None, 1024), 0),
                ("drop1", (None, 1024), 0),
                ("dense2", (None, 512), 524_800),
                ("lrelu2", (None, 512), 0),
                ("drop2", (None, 512), 0),
                ("dense3", (None, 256), 131_328),
                ("lrelu3", (None, 256), 0),
                ("logit", (None, 1), 257),
            ],
            1_460_225,
            1_460_225,
        ),
    ),
    "conv": (
        (
            [
                ("z", (None, 100), 0),
                ("project", (None, 4900), 494_900),
                ("reshape", (None, 7, 7, 100), 0),
                ("deconv1", (None, 14, 14, 256), 409_856),
                ("bn1", (None, 14, 14, 256), 1_024),
                ("relu1", (None, 14, 14, 256), 0),
                ("deconv2", (None, 28, 28, 128), 524_416),
                ("bn2", (None, 28, 28, 128), 512),
                ("relu2", (None, 28, 28, 128), 0),
                ("deconv3", (None, 28, 28, 1), 1_153),
                ("image", (None, 28, 28, 1), 0),
            ],
            1_431_861,
            1_431_093,
        ),
        (
            [
                ("image", (None, 28, 28, 1), 0),
                ("conv1", (None, 14, 14, 64), 1_088),
                ("lrelu1", (None, 14, 14, 64), 0),
                ("conv2", (None, 7, 7, 128), 131_200),
                ("bn2", (None, 7, 7, 128), 512),
                ("lrelu2", (None, 7, 7, 128), 0),
                # PyTorch padding 1 on 7x7: floor((7 + 2 - 4) / 2) + 1 = 3
                ("pad3", (None, 9, 9, 128), 0),
                ("conv3", (None, 3, 3, 256), 524_544),
                ("lrelu3", (None, 3, 3, 256), 0),
                ("flatten", (None, 2304), 0),
                ("logit", (None, 1), 2_305),
            ],
            659_649,
            659_393,
        ),
    ),
    "mlp-bn": (
        (
            [
                ("z", (None, 64), 0),
                ("dense1", (None, 128), 8_320),
                ("bn1", (None, 128), 512),
                ("relu1", (None, 128), 0),
                ("dense2", (None, 256), 33_024),
                ("bn2", (None, 256), 1_024),
                ("relu2", (None, 256), 0),
                ("dense3", (None, 512), 131_584),
                ("bn3", (None, 512), 2_048),
                ("relu3", (None, 512), 0),
                ("dense4", (None, 1024), 525_312),
                ("bn4", (None, 1024), 4_096),
                ("relu4", (None, 1024), 0),
                ("dense_out", (None, 784), 803_600),
                ("reshape", (None, 28, 28, 1), 0),
                ("image", (None, 28, 28, 1), 0),
            ],
            1_509_520,
            1_505_680,
        ),
        (
            [
                ("image", (None, 28, 28, 1), 0),
                ("flatten", (None, 784), 0),
                ("dense1", (None, 1024), 803_840),
                ("lrelu1", (None, 1024), 0),
                ("dense2", (None, 512), 524_800),
                ("lrelu2", (None, 512), 0),
                ("dense3", (None, 256), 131_328),
                ("lrelu3", (None, 256), 0),
                ("logit", (None, 1), 257),
            ],
            1_460_225,
            1_460_225,
        ),
    ),
    "dcgan64": (
        (
            [
                ("z", (None, 100), 0),
                ("reshape", (None, 1, 1, 100), 0),
                ("deconv1", (None, 4, 4, 512), 819_200),
                ("bn1", (None, 4, 4, 512), 2_048),
                ("relu1", (None, 4, 4, 512), 0),
                ("deconv2", (None, 8, 8, 256), 2_097_152),
                ("bn2", (None, 8, 8, 256), 1_024),
                ("relu2", (None, 8, 8, 256), 0),
                ("deconv3", (None, 16, 16, 128), 524_288),
                ("bn3", (None, 16, 16, 128), 512),
                ("relu3", (None, 16, 16, 128), 0),
                ("deconv4", (None, 32, 32, 64), 131_072),
                ("bn4", (None, 32, 32, 64), 256),
                ("relu4", (None, 32, 32, 64), 0),
                ("deconv5", (None, 64, 64, 1), 1_024),
                ("image", (None, 64, 64, 1), 0),
            ],
            3_576_576,
            3_574_656,
        ),
        (
            [
                ("image", (None, 64, 64, 1), 0),
                ("conv1", (None, 32, 32, 64), 1_024),
                ("lrelu1", (None, 32, 32, 64), 0),
                ("conv2", (None, 16, 16, 128), 131_072),
                ("bn2", (None, 16, 16, 128), 512),
                ("lrelu2", (None, 16, 16, 128), 0),
                ("conv3", (None, 8, 8, 256), 524_288),
                ("bn3", (None, 8, 8, 256), 1_024),
                ("lrelu3", (None, 8, 8, 256), 0),
                ("conv4", (None, 4, 4, 512), 2_097_152),
                ("bn4", (None, 4, 4, 512), 2_048),
                ("lrelu4", (None, 4, 4, 512), 0),
                ("logit_conv", (None, 1, 1, 1), 8_192),
                ("logit", (None, 1), 0),
            ],
            2_765_312,
            2_763_520,
        ),
    ),
    "dcgan64-32": (
        (
            [
                ("z", (None, 100), 0),
                ("reshape", (None, 1, 1, 100), 0),
                ("deconv1", (None, 4, 4, 256), 409_600),
                ("bn1", (None, 4, 4, 256), 1_024),
                ("relu1", (None, 4, 4, 256), 0),
                ("deconv2", (None, 8, 8, 128), 524_288),
                ("bn2", (None, 8, 8, 128), 512),
                ("relu2", (None, 8, 8, 128), 0),
                ("deconv3", (None, 16, 16, 64), 131_072),
                ("bn3", (None, 16, 16, 64), 256),
                ("relu3", (None, 16, 16, 64), 0),
                ("deconv4", (None, 32, 32, 1), 1_024),
                ("image", (None, 32, 32, 1), 0),
            ],
            1_067_776,
            1_066_880,
        ),
        (
            [
                ("image", (None, 32, 32, 1), 0),
                ("conv1", (None, 16, 16, 64), 1_024),
                ("lrelu1", (None, 16, 16, 64), 0),
                ("conv2", (None, 8, 8, 128), 131_072),
                ("bn2", (None, 8, 8, 128), 512),
                ("lrelu2", (None, 8, 8, 128), 0),
                ("conv3", (None, 4, 4, 256), 524_288),
                ("bn3", (None, 4, 4, 256), 1_024),
                ("lrelu3", (None, 4, 4, 256), 0),
                ("logit_conv", (None, 1, 1, 1), 4_096),
                ("logit", (None, 1), 0),
            ],
            662_016,
            661_248,
        ),
    ),
    "fast": (
        (
            [
                ("z", (None, 100), 0),
                ("project", (None, 3136), 313_600),
                ("reshape", (None, 7, 7, 64), 0),
                ("bn0", (None, 7, 7, 64), 256),
                ("lrelu0", (None, 7, 7, 64), 0),
                ("deconv1", (None, 7, 7, 128), 32_768),
                ("deconv1_shuffle", (None, 14, 14, 32), 0),
                ("bn1", (None, 14, 14, 32), 128),
                ("lrelu1", (None, 14, 14, 32), 0),
                ("deconv2", (None, 14, 14, 4), 516),
                ("deconv2_shuffle", (None, 28, 28, 1), 0),
                ("image", (None, 28, 28, 1), 0),
            ],
            347_268,
            347_076,
        ),
        (
            [
                ("image", (None, 28, 28, 1), 0),
                ("conv1_unshuffle", (None, 14, 14, 4), 0),
                ("conv1", (None, 14, 14, 32), 544),
                ("lrelu1", (None, 14, 14, 32), 0),
                ("conv2_unshuffle", (None, 7, 7, 128), 0),
                ("conv2", (None, 7, 7, 64), 32_832),
                ("lrelu2", (None, 7, 7, 64), 0),
                ("flatten", (None, 3136), 0),
                ("logit", (None, 1), 3_137),
            ],
            36_513,
            36_513,
        ),
    ),
    "fast-strided": (
        (
            [
                ("z", (None, 100), 0),
                ("project", (None, 3136), 313_600),
                ("reshape", (None, 7, 7, 64), 0),
                ("bn0", (None, 7, 7, 64), 256),
                ("lrelu0", (None, 7, 7, 64), 0),
                ("deconv1", (None, 14, 14, 32), 32_768),
                ("bn1", (None, 14, 14, 32), 128),
                ("lrelu1", (None, 14, 14, 32), 0),
                ("deconv2", (None, 28, 28, 1), 513),
                ("image", (None, 28, 28, 1), 0),
            ],
            347_265,
            347_073,
        ),
        (
            [
                ("image", (None, 28, 28, 1), 0),
                ("conv1", (None, 14, 14, 32), 544),
                ("lrelu1", (None, 14, 14, 32), 0),
                ("conv2", (None, 7, 7, 64), 32_832),
                ("lrelu2", (None, 7, 7, 64), 0),
                ("flatten", (None, 3136), 0),
                ("logit", (None, 1), 3_137),
            ],
            36_513,
            36_513,
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_layer_tables_are_pinned(case):
    config = make_config(preset_of(case), **CASES[case])
    generator, discriminator = build_networks(config)
    for model, (table, total, trainable) in zip((generator, discriminator), EXPECTED[case]):
        assert layer_table(model) == table, model.name
        assert model.count_params() == total, model.name
        assert trainable_count(model) == trainable, model.name
        assert sum(params for _, _, params in table) == total

    # float32 images in the preset's range at its size; float32 logits (no squashing layer)
    side = config.image_size
    z = np.random.default_rng(0).normal(size=(2, config.latent_dim)).astype("float32")
    images = generator(z)
    assert tuple(images.shape) == (2, side, side, 1) and images.dtype == "float32"
    low, high = config.pixel_range
    assert float(np.min(images)) >= low and float(np.max(images)) <= high
    logits = discriminator(images)
    assert tuple(logits.shape) == (2, 1) and logits.dtype == "float32"
    last = discriminator.layers[-1]
    assert getattr(last, "activation", keras.activations.linear) is keras.activations.linear


def test_every_preset_has_a_row_and_a_builder():
    assert list(PRESETS) == [
        "dcgan", "mlp", "conv", "mlp-bn", "dcgan64", "fast", "cgan", "cfast", "sfast",
    ]  # fmt: skip
    for row in PRESETS.values():
        assert row.description and row.origin and callable(row.build)


# The training defaults, per preset (fields not listed keep GANConfig's defaults).
DEFAULTS = {
    "dcgan": dict(
        batch_size=100, epochs=50, g_learning_rate=2e-4, d_learning_rate=2e-5,
        lr_decay_rate=0.96, lr_decay_steps=1000, beta_1=0.5, noise="normal", latent_dim=100,
        pixel_range=(-1.0, 1.0), image_size=28, d_loss_reduction="sum",
    ),
    "mlp": dict(
        batch_size=128, epochs=100, g_learning_rate=2e-4, d_learning_rate=2e-4,
        lr_decay_rate=1.0, beta_1=0.5, noise="uniform", latent_dim=100,
        pixel_range=(-1.0, 1.0), image_size=28, d_loss_reduction="mean",
        sample_frequency=0, sample_every_epochs=10,
    ),
    "conv": dict(
        batch_size=128, g_learning_rate=2e-4, d_learning_rate=2e-4, lr_decay_rate=1.0,
        beta_1=0.5, noise="normal", latent_dim=100, pixel_range=(-1.0, 1.0), image_size=28,
    ),
    "mlp-bn": dict(
        batch_size=128, epochs=500, g_learning_rate=1e-5, d_learning_rate=1e-5,
        lr_decay_rate=1.0, noise="normal", latent_dim=64, pixel_range=(0.0, 1.0),
        image_size=28, sample_frequency=300, sample_every_epochs=0,
    ),
    "dcgan64": dict(
        batch_size=128, g_learning_rate=2e-4, d_learning_rate=2e-4, lr_decay_rate=1.0,
        beta_1=0.5, noise="normal", latent_dim=100, pixel_range=(-1.0, 1.0), image_size=64,
    ),
    "fast": dict(
        batch_size=64, g_learning_rate=2e-3, d_learning_rate=2e-3, lr_decay_rate=1.0,
        beta_1=0.0, beta_2=0.99, r1_gamma=0.5, loss="bce", update="simultaneous",
        ema_decay=0.999, ema_start=0, jit_compile=False,
    ),
    # keras-io conditional_gan.py: z 128, [0, 1] pixels, Adam 3e-4 (default betas), batch 64.
    "cgan": dict(
        num_classes=10, latent_dim=128, pixel_range=(0.0, 1.0), batch_size=64, epochs=20,
        g_learning_rate=3e-4, d_learning_rate=3e-4, lr_decay_rate=1.0, beta_1=0.9,
        beta_2=0.999, update="alternating", d_loss_reduction="mean", fused_discriminator=True,
    ),
    "cfast": dict(
        num_classes=10, g_conditioning="both", batch_size=64, g_learning_rate=2e-3,
        d_learning_rate=2e-3, beta_1=0.0, beta_2=0.99, r1_gamma=0.5, update="simultaneous",
        ema_decay=0.999,
    ),
    # cfast's settings on k-means clusters of the images, never the labels (num_classes 0).
    "sfast": dict(
        num_classes=0, clusters=100, cluster_pca_dims=50, g_conditioning="both", batch_size=64,
        g_learning_rate=2e-3, d_learning_rate=2e-3, beta_1=0.0, beta_2=0.99, r1_gamma=0.5,
        update="simultaneous", ema_decay=0.999, ema_start=0,
    ),
}  # fmt: skip


@pytest.mark.parametrize("preset", list(PRESETS))
def test_preset_defaults(preset):
    config = make_config(preset)
    assert config.preset == preset
    for name, value in DEFAULTS[preset].items():
        assert getattr(config, name) == value, name


def test_make_config_mlp_defaults_and_overrides():
    config = make_config("mlp")
    assert (config.noise, config.d_loss_reduction, config.batch_size) == ("uniform", "mean", 128)
    assert (config.g_learning_rate, config.d_learning_rate, config.lr_decay_rate) == (
        2e-4,
        2e-4,
        1.0,
    )
    assert (config.sample_frequency, config.sample_every_epochs) == (0, 10)
    changed = make_config("mlp", batch_size=64, noise="normal", epochs=3)
    assert (changed.batch_size, changed.noise, changed.epochs) == (64, "normal", 3)
    assert changed.g_learning_rate == 2e-4  # the rest keeps the preset's value


def test_image_size_is_checked_with_the_settings():
    with pytest.raises(MNISTGANError, match="64 or 32"):
        make_config("dcgan64", image_size=48)
    for preset in ("dcgan", "mlp", "conv", "mlp-bn", "fast"):
        with pytest.raises(MNISTGANError, match="image_size 28"):
            make_config(preset, image_size=64)
    assert build_networks(make_config("dcgan64", image_size=32))[0].output_shape[1] == 32


def test_mlp_bn_scales_real_data_to_unit_range():
    gan = MNISTGAN(preset="mlp-bn")
    real = gan.prepare_real_images(np.array([[[0] * 28] * 28, [[255] * 28] * 28], np.uint8))
    assert float(np.min(real[0])) == 0.0 and float(np.max(real[1])) == 1.0


def test_mnistgan_takes_the_presets_latent_dim_by_default():
    gan = MNISTGAN(preset="mlp-bn")
    assert gan.config.latent_dim == 64 and gan.generator.input_shape == (None, 64)


# ------------------------------------------------------------------ one step, then save/load
def make_gan(case):
    return MNISTGAN(preset=preset_of(case), seed=0, **CASES[case])


@pytest.fixture(scope="module")
def trained():
    """One training epoch of two batches per case, built and fitted on first use."""
    cache = {}

    def get(case):
        if case not in cache:
            keras.utils.set_random_seed(0)
            gan = make_gan(case)
            gan.compile()
            # two small batches keep this cheap; dcgan64 at 64x64 is the heavy one
            batch = 2 if case == "dcgan64" else 4
            before_g = [np.array(w) for w in gan.generator.trainable_weights]
            before_d = [np.array(w) for w in gan.discriminator.trainable_weights]
            history = gan.fit(synthetic_digits(2 * batch), batch_size=batch, epochs=1, verbose=0)
            cache[case] = (gan, history.history, before_g, before_d)
        return cache[case]

    return get


@pytest.mark.parametrize("case", list(CASES))
def test_one_training_step(case, trained):
    gan, history, before_g, before_d = trained(case)
    for key in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "g_lr", "d_lr"):
        assert np.isfinite(history[key][0]), key
    config = make_config(preset_of(case))
    assert history["g_lr"][0] == pytest.approx(config.g_learning_rate)
    assert history["d_lr"][0] == pytest.approx(config.d_learning_rate)
    assert int(gan.g_optimizer.iterations) == 2 and int(gan.d_optimizer.iterations) == 2
    for before, model in ((before_g, gan.generator), (before_d, gan.discriminator)):
        changed = [
            not np.array_equal(b, np.array(w)) for b, w in zip(before, model.trainable_weights)
        ]
        assert all(changed), model.name


@pytest.mark.parametrize("case", list(CASES))
def test_save_load_round_trip(case, trained, tmp_path):
    gan, *_ = trained(case)
    path = tmp_path / "m.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, MNISTGAN)
    for name in ("preset", "latent_dim", "noise", "pixel_range", "image_size", "d_loss_reduction"):
        assert getattr(loaded.config, name) == getattr(gan.config, name), name
    assert layer_table(loaded.generator) == layer_table(gan.generator)
    assert layer_table(loaded.discriminator) == layer_table(gan.discriminator)
    expected = gan.generate(16, seed=1)
    got = loaded.generate(16, seed=1)
    assert got.shape == (16, 28, 28, 1)  # every preset hands out MNIST-sized images
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_reloaded_mlp_bn_samples_in_unit_range(trained, tmp_path):
    gan, *_ = trained("mlp-bn")
    gan.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.config.pixel_range == (0.0, 1.0) and loaded.config.latent_dim == 64
    images = loaded.generate(64, seed=2)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert images.min() < 0.5 < images.max()  # a sigmoid output, not a tanh clipped to [0, 1]
    assert loaded.generator.layers[-1].activation is keras.activations.sigmoid


def test_reloaded_mlp_draws_uniform_noise(trained, tmp_path):
    gan, *_ = trained("mlp")
    gan.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.config.noise == "uniform" and loaded.config.d_loss_reduction == "mean"
    z = np.asarray(loaded.sample_noise(4000, seed=3))
    assert z.shape == (4000, 100)
    assert z.min() >= -1.0 and z.max() <= 1.0
    assert z.min() < -0.99 and z.max() > 0.99
    assert np.std(z) == pytest.approx(1 / np.sqrt(3), abs=0.01)  # U(-1, 1), not N(0, 1)


# ------------------------------------------------------------------ CLI
def test_cli_presets_lists_every_design(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    designs = out.split("\n\n")[0]
    rows = [line.split()[0] for line in designs.splitlines()[2:] if line.strip()]
    assert rows == [
        "dcgan", "mlp", "conv", "mlp-bn", "dcgan64", "fast", "cgan", "cfast", "sfast",
    ]  # fmt: skip
    assert "1,486,352" in out and "3,576,576" in out  # parameter counts are listed


def test_cli_image_size_flag_reaches_the_config():
    from mnist_gan.training.trainer import GANTrainer

    args = build_parser().parse_args(["train", "--preset", "dcgan64", "--image-size", "32"])
    assert args.image_size == 32
    assert GANTrainer(preset="dcgan64", image_size=args.image_size).config.image_size == 32
    assert build_parser().parse_args(["train"]).image_size is None

"""The ``tiny`` preset: the declared defaults' recipe on two networks of a few hundred weights.

Tests of orchestration (the trainer, callbacks, checkpoints, resume, signals, divergence, the
distributed trainer) check what happens around a step, not what a preset's networks learn, so
they build these: a step traces and runs in a fraction of a full network's time. It has the
parts that orchestration must carry: batch norm (moving statistics in checkpoints, synchronised
under a strategy), a transposed convolution and a convolution. It is registered only by the
tests (``tiny_preset`` fixture in ``tests/conftest.py``; ``python -m tests.tiny_cli`` for a real
``mnist-gan`` process), never shipped.
"""

from typing import Any

from mnist_gan.config import GANConfig
from mnist_gan.models.presets import PRESETS, Preset, output_activation

NAME = "tiny"


def build_tiny_networks(config: GANConfig) -> tuple[Any, Any]:
    """(generator, discriminator): z -> Dense 7x7x4 + BN -> ConvT 4x4/4 -> 28x28x1; D a
    Conv 4x4/4 with 4 filters and one logit. Layers are named, as in the real builders:
    checkpoints match weights by layer name."""
    import keras

    z = keras.Input((config.latent_dim,))
    x = keras.layers.Dense(7 * 7 * 4, name="g_dense")(z)
    x = keras.layers.BatchNormalization(name="g_bn")(x)
    x = keras.layers.ReLU(name="g_relu")(x)
    x = keras.layers.Reshape((7, 7, 4), name="g_reshape")(x)
    image = keras.layers.Conv2DTranspose(
        1, 4, strides=4, padding="same", activation=output_activation(config), name="g_out"
    )(x)
    generator = keras.Model(z, image, name="generator")
    seen = keras.Input((config.image_size, config.image_size, 1))
    y = keras.layers.Conv2D(4, 4, strides=4, padding="same", name="d_conv")(seen)
    y = keras.layers.LeakyReLU(0.2, name="d_lrelu")(y)
    y = keras.layers.Flatten(name="d_flatten")(y)
    discriminator = keras.Model(
        seen, keras.layers.Dense(1, name="d_logit")(y), name="discriminator"
    )
    return generator, discriminator


TINY = Preset(
    "tiny networks for the tests (the declared defaults' recipe)",
    "tests/tiny.py",
    build_tiny_networks,
    {},
)


def register() -> None:
    """Add ``tiny`` to the preset table of this process (for a subprocess: ``tests.tiny_cli``)."""
    PRESETS[NAME] = TINY

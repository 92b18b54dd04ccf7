"""The ``fast`` preset: a slim DCGAN chosen for the best digits per CPU-minute.

Generator: z -> Dense 7x7x64 -> BN + LeakyReLU -> up 32 (14x14) -> BN + LeakyReLU -> up 1
(28x28) -> tanh. Discriminator: down 32 -> LeakyReLU -> down 64 -> LeakyReLU -> Flatten -> Dense 1
(logit). "up" and "down" are 4x4 stride-2 (transposed) convolutions with ``resample="strided"``
and their stride-1 sub-pixel / space-to-depth forms with ``"subpixel"``
(:mod:`mnist_gan.models.resample`). About 2 and 1.7 million multiply-accumulates per image
either way: a quarter of the ``dcgan`` discriminator's cost, so several times more steps fit in
a minute.
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_gan.models.common import full_precision
from mnist_gan.models.resample import downsample, upsample


def build_fast_generator(
    latent_dim: int = 100,
    output_activation: str = "tanh",
    width: int = 64,
    resample: str = "strided",
) -> keras.Model:
    """Functional generator ``(batch, latent_dim)`` -> ``(batch, 28, 28, 1)``."""
    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(7 * 7 * width, use_bias=False, name="project")(z)
    x = layers.Reshape((7, 7, width), name="reshape")(x)
    x = layers.BatchNormalization(name="bn0")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu0")(x)
    x = upsample(x, width // 2, resample, "deconv1", use_bias=False)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu1")(x)
    x = upsample(x, 1, resample, "deconv2")
    image = layers.Activation(output_activation, dtype=full_precision(), name="image")(x)
    return keras.Model(z, image, name="fast_generator")


def build_fast_discriminator(width: int = 32, resample: str = "strided") -> keras.Model:
    """Functional discriminator ``(batch, 28, 28, 1)`` -> ``(batch, 1)`` logits (no BN)."""
    image = keras.Input(shape=(28, 28, 1), name="image")
    # built before the logit layer: same init draws
    features = fast_features(image, width, resample)
    logit = layers.Dense(1, dtype=full_precision(), name="logit")(features)
    return keras.Model(image, logit, name="fast_discriminator")


def fast_features(
    image: keras.KerasTensor, width: int = 32, resample: str = "strided"
) -> keras.KerasTensor:
    """The discriminator's features: two halvings (4x4 stride 2, or space-to-depth and 2x2)
    with LeakyReLU 0.2, flattened."""
    x = downsample(image, width, resample, "conv1")
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu1")(x)
    x = downsample(x, 2 * width, resample, "conv2")
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu2")(x)
    return layers.Flatten(name="flatten")(x)

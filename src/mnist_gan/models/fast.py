"""The ``fast`` preset: a slim DCGAN chosen for the best digits per CPU-minute.

Generator: z -> Dense 7x7x64 -> BN + LeakyReLU -> ConvT 32, 4x4, stride 2 (14x14) -> BN +
LeakyReLU -> ConvT 1, 4x4, stride 2 (28x28) -> tanh. Discriminator: Conv 32, 4x4, stride 2 ->
LeakyReLU -> Conv 64, 4x4, stride 2 -> LeakyReLU -> Flatten -> Dense 1 (logit). About 2 and
1.7 million multiply-accumulates per image: a quarter of the ``dcgan`` discriminator's cost,
so several times more steps fit in a minute.
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_gan.models.common import full_precision


def build_fast_generator(
    latent_dim: int = 100, output_activation: str = "tanh", width: int = 64
) -> keras.Model:
    """Functional generator ``(batch, latent_dim)`` -> ``(batch, 28, 28, 1)``."""
    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(7 * 7 * width, use_bias=False, name="project")(z)
    x = layers.Reshape((7, 7, width), name="reshape")(x)
    x = layers.BatchNormalization(name="bn0")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu0")(x)
    x = layers.Conv2DTranspose(
        width // 2, 4, strides=2, padding="same", use_bias=False, name="deconv1"
    )(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu1")(x)
    x = layers.Conv2DTranspose(1, 4, strides=2, padding="same", name="deconv2")(x)
    image = layers.Activation(output_activation, dtype=full_precision(), name="image")(x)
    return keras.Model(z, image, name="fast_generator")


def build_fast_discriminator(width: int = 32) -> keras.Model:
    """Functional discriminator ``(batch, 28, 28, 1)`` -> ``(batch, 1)`` logits (no BN)."""
    image = keras.Input(shape=(28, 28, 1), name="image")
    features = fast_features(image, width)  # built before the logit layer: same init draws
    logit = layers.Dense(1, dtype=full_precision(), name="logit")(features)
    return keras.Model(image, logit, name="fast_discriminator")


def fast_features(image: keras.KerasTensor, width: int = 32) -> keras.KerasTensor:
    """The discriminator's features: two 4x4 stride-2 convs with LeakyReLU 0.2, flattened."""
    x = layers.Conv2D(width, 4, strides=2, padding="same", name="conv1")(image)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu1")(x)
    x = layers.Conv2D(2 * width, 4, strides=2, padding="same", name="conv2")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu2")(x)
    return layers.Flatten(name="flatten")(x)

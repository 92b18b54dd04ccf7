"""The default design: a DCGAN sized for 28x28 MNIST.

Generator: z -> Dense 1008 -> 3x3x112 -> ConvT 56 (valid, 7x7) -> BN + LeakyReLU
-> ConvT 28 (stride 2, 14x14) -> BN + LeakyReLU -> ConvT 1 (stride 2, 28x28) -> tanh.
Discriminator: Conv 64 (stride 2) -> LeakyReLU -> Dropout 0.3 -> Conv 128 (stride 2)
-> LeakyReLU -> Dropout 0.3 -> Flatten -> Dense 1 (a logit, no sigmoid).
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_gan.models import rng
from mnist_gan.models.common import full_precision


def build_dcgan_generator(latent_dim: int = 100, output_activation: str = "tanh") -> keras.Model:
    """Functional generator mapping ``(batch, latent_dim)`` noise to ``(batch, 28, 28, 1)``."""
    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(3 * 3 * 112, name="project")(z)
    x = layers.Reshape((3, 3, 112), name="reshape")(x)
    x = layers.Conv2DTranspose(56, 5, strides=1, padding="valid", name="deconv1")(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu1")(x)
    x = layers.Conv2DTranspose(28, 5, strides=2, padding="same", name="deconv2")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu2")(x)
    x = layers.Conv2DTranspose(1, 5, strides=2, padding="same", name="deconv3")(x)
    # float32 output even under mixed precision: images leave the model in a fixed range.
    image = layers.Activation(output_activation, dtype=full_precision(), name="image")(x)
    return keras.Model(z, image, name="dcgan_generator")


def build_dcgan_discriminator(image_size: int = 28) -> keras.Model:
    """Functional discriminator mapping ``(batch, 28, 28, 1)`` images to ``(batch, 1)`` logits."""
    image = keras.Input(shape=(image_size, image_size, 1), name="image")
    x = layers.Conv2D(64, 5, strides=2, padding="same", name="conv1")(image)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu1")(x)
    x = rng.Dropout(0.3, name="drop1")(x)
    x = layers.Conv2D(128, 5, strides=2, padding="same", name="conv2")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu2")(x)
    x = rng.Dropout(0.3, name="drop2")(x)
    x = layers.Flatten(name="flatten")(x)
    logit = layers.Dense(1, dtype=full_precision(), name="logit")(x)
    return keras.Model(image, logit, name="dcgan_discriminator")

"""The ``conv`` design: a plain convolutional GAN at 28x28, written the PyTorch way.

Generator: z (100) -> Dense 7*7*100 (linear, no activation) -> Reshape 7x7x100
-> ConvT 256, 4x4, stride 2, padding 1 (14x14) -> BN -> ReLU
-> ConvT 128, 4x4, stride 2, padding 1 (28x28) -> BN -> ReLU
-> ConvT 1, 3x3, stride 1, padding 1 (28x28) -> tanh.

The design says only that z is "projected to a 7x7x100 map"; this package reads that as one
linear ``Dense(4900)`` (with bias, no normalisation or activation) followed by a reshape, so the
first transposed convolution sees a 7x7 map with 100 channels.

Discriminator: Conv 64, 4x4, stride 2, padding 1 (14x14) -> LeakyReLU(0.2)
-> Conv 128, 4x4, stride 2, padding 1 (7x7) -> BN -> LeakyReLU(0.2)
-> Conv 256, 4x4, stride 2, padding 1 (3x3) -> LeakyReLU(0.2) -> Flatten (2304) -> Dense 1 (logit).

PyTorch padding 1 in Keras: for a 4x4 stride-2 (transposed) convolution on an even side,
Keras ``padding="same"`` pads exactly one pixel on each side, i.e. PyTorch's ``padding=1``
(7 -> 14 -> 28, 28 -> 14 -> 7); a 3x3 stride-1 ``"same"`` is also padding 1. On the odd 7x7 map,
``"same"`` would pad 1 before and 2 after and give 4x4, whereas PyTorch's padding 1 gives
``floor((7 + 2 - 4) / 2) + 1 = 3``; so the third convolution is an explicit ``ZeroPadding2D(1)``
plus a ``"valid"`` convolution, as in the original. Layers keep PyTorch's default biases and
BatchNorm momentum/epsilon, and Keras's default initialisers (the design names none).
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_gan.models.common import full_precision, torch_batch_norm


def build_conv_generator(latent_dim: int = 100, output_activation: str = "tanh") -> keras.Model:
    """``conv`` generator: ``(batch, latent_dim)`` noise to ``(batch, 28, 28, 1)`` images."""
    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(7 * 7 * 100, name="project")(z)
    x = layers.Reshape((7, 7, 100), name="reshape")(x)
    x = layers.Conv2DTranspose(256, 4, strides=2, padding="same", name="deconv1")(x)
    x = torch_batch_norm("bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.Conv2DTranspose(128, 4, strides=2, padding="same", name="deconv2")(x)
    x = torch_batch_norm("bn2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.Conv2DTranspose(1, 3, strides=1, padding="same", name="deconv3")(x)
    image = layers.Activation(output_activation, dtype=full_precision(), name="image")(x)
    return keras.Model(z, image, name="conv_generator")


def build_conv_discriminator() -> keras.Model:
    """``conv`` discriminator: ``(batch, 28, 28, 1)`` images to ``(batch, 1)`` logits."""
    image = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(64, 4, strides=2, padding="same", name="conv1")(image)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu1")(x)
    x = layers.Conv2D(128, 4, strides=2, padding="same", name="conv2")(x)
    x = torch_batch_norm("bn2")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu2")(x)
    x = layers.ZeroPadding2D(1, name="pad3")(x)  # PyTorch padding=1 on the odd 7x7 map
    x = layers.Conv2D(256, 4, strides=2, padding="valid", name="conv3")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="lrelu3")(x)
    x = layers.Flatten(name="flatten")(x)
    logit = layers.Dense(1, dtype=full_precision(), name="logit")(x)
    return keras.Model(image, logit, name="conv_discriminator")

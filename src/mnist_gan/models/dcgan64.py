"""The ``dcgan64`` design: the classic DCGAN (Radford et al., 2015) as in the PyTorch DCGAN
tutorial, applied to MNIST resized to 64x64 (one grey channel instead of three colours).

Generator (image_size 64): z (100) -> Reshape 1x1x100
-> ConvT 512, 4x4, stride 1, valid (4x4) -> BN -> ReLU
-> ConvT 256, 4x4, stride 2, padding 1 (8x8) -> BN -> ReLU
-> ConvT 128 (16x16) -> BN -> ReLU -> ConvT 64 (32x32) -> BN -> ReLU
-> ConvT 1 (64x64) -> tanh.

Discriminator (image_size 64): Conv 64, 4x4, stride 2, padding 1 (32x32) -> LeakyReLU(0.2)
-> Conv 128 (16x16) -> BN -> LeakyReLU -> Conv 256 (8x8) -> BN -> LeakyReLU
-> Conv 512 (4x4) -> BN -> LeakyReLU -> Conv 1, 4x4, valid (1x1) -> Flatten -> 1 logit
(the tutorial's final Sigmoid is folded into the from-logits loss).

``image_size=32`` is the cheaper variant: the widest block of each network is dropped
(generator 256 at 4x4 -> 128 -> 64 -> 1 at 32x32; discriminator 64 -> 128 -> 256 -> logit),
the usual DCGAN layout for 32x32 images.

As in the tutorial: every (transposed) convolution has ``bias=False``; convolution kernels are
initialised N(0, 0.02), BatchNorm scales N(1, 0.02) and offsets 0, with PyTorch's BatchNorm
momentum and epsilon. A 4x4 stride-2 layer with
PyTorch's padding 1 on an even side is exactly Keras's ``padding="same"``.
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_gan.errors import MNISTGANError
from mnist_gan.models.common import full_precision, torch_batch_norm

# Channels of the (transposed) convolutions, widest first, for each supported image side.
GENERATOR_WIDTHS = {64: (512, 256, 128, 64), 32: (256, 128, 64)}
DISCRIMINATOR_WIDTHS = {64: (64, 128, 256, 512), 32: (64, 128, 256)}


def _kernel_init() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _batch_norm(name: str) -> layers.BatchNormalization:
    return torch_batch_norm(name, keras.initializers.RandomNormal(mean=1.0, stddev=0.02))


def _check_size(image_size: int) -> None:
    if image_size not in GENERATOR_WIDTHS:
        raise MNISTGANError(f"dcgan64 works at image_size 64 or 32, got {image_size!r}")


def build_dcgan64_generator(
    latent_dim: int = 100, output_activation: str = "tanh", image_size: int = 64
) -> keras.Model:
    """Generator mapping ``(batch, latent_dim)`` noise to ``(batch, S, S, 1)``, S = image_size."""
    _check_size(image_size)
    widths = GENERATOR_WIDTHS[image_size]
    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Reshape((1, 1, latent_dim), name="reshape")(z)
    for i, filters in enumerate(widths, start=1):
        x = layers.Conv2DTranspose(
            filters,
            4,
            strides=1 if i == 1 else 2,
            padding="valid" if i == 1 else "same",
            use_bias=False,
            kernel_initializer=_kernel_init(),
            name=f"deconv{i}",
        )(x)
        x = _batch_norm(f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
    x = layers.Conv2DTranspose(
        1,
        4,
        strides=2,
        padding="same",
        use_bias=False,
        kernel_initializer=_kernel_init(),
        name=f"deconv{len(widths) + 1}",
    )(x)
    image = layers.Activation(output_activation, dtype=full_precision(), name="image")(x)
    return keras.Model(z, image, name=f"dcgan{image_size}_generator")


def build_dcgan64_discriminator(image_size: int = 64) -> keras.Model:
    """Discriminator mapping ``(batch, S, S, 1)`` images (S = image_size) to ``(batch, 1)``
    logits."""
    _check_size(image_size)
    image = keras.Input(shape=(image_size, image_size, 1), name="image")
    x = image
    for i, filters in enumerate(DISCRIMINATOR_WIDTHS[image_size], start=1):
        x = layers.Conv2D(
            filters,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=_kernel_init(),
            name=f"conv{i}",
        )(x)
        if i > 1:
            x = _batch_norm(f"bn{i}")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"lrelu{i}")(x)
    x = layers.Conv2D(
        1,
        4,
        strides=1,
        padding="valid",
        use_bias=False,
        kernel_initializer=_kernel_init(),
        dtype=full_precision(),
        name="logit_conv",
    )(x)
    logit = layers.Flatten(dtype=full_precision(), name="logit")(x)
    return keras.Model(image, logit, name=f"dcgan{image_size}_discriminator")

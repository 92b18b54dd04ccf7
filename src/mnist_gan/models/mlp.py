"""Fully connected designs: the ``mlp`` GAN and the batch-normalised ``mlp-bn`` GAN.

``mlp`` (the classic Keras/PyTorch "vanilla GAN" on MNIST):
generator z (100, uniform in [-1, 1]) -> Dense 256 ReLU -> 512 ReLU -> 1024 ReLU -> 784 tanh
-> 28x28x1; discriminator 784 -> Dense 1024 LeakyReLU(0.2) -> Dropout 0.3 -> 512 LeakyReLU(0.2)
-> Dropout 0.3 -> 256 LeakyReLU(0.2) -> Dense 1 (a logit).

``mlp-bn`` (the "first GAN" of the Coursera GANs specialisation, widened discriminator):
generator z (64, normal) -> 128 -> 256 -> 512 -> 1024, each Dense + BatchNorm + ReLU -> 784
sigmoid -> 28x28x1 in [0, 1]; discriminator 784 -> 1024 -> 512 -> 256, each Dense +
LeakyReLU(0.2) -> Dense 1 (a logit).

Dense layers keep PyTorch's ``nn.Linear`` default of a bias, BatchNorm keeps PyTorch's momentum and
epsilon, and initialisers are Keras's defaults.
The last Dense of each generator is linear; the image is reshaped to 28x28x1 and then passed
through the float32 output activation, which is the same maths as activating the 784 vector.
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_gan.models import rng
from mnist_gan.models.common import full_precision, torch_batch_norm

IMAGE_SHAPE = (28, 28, 1)


def build_mlp_generator(latent_dim: int = 100, output_activation: str = "tanh") -> keras.Model:
    """``mlp`` generator: ``(batch, latent_dim)`` noise to ``(batch, 28, 28, 1)`` images."""
    z = keras.Input(shape=(latent_dim,), name="z")
    x = z
    for i, units in enumerate((256, 512, 1024), start=1):
        x = layers.Dense(units, name=f"dense{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
    x = layers.Dense(28 * 28, name="dense_out")(x)
    x = layers.Reshape(IMAGE_SHAPE, name="reshape")(x)
    image = layers.Activation(output_activation, dtype=full_precision(), name="image")(x)
    return keras.Model(z, image, name="mlp_generator")


def build_mlp_discriminator(dropout: float = 0.3, name: str = "mlp_discriminator") -> keras.Model:
    """``mlp`` discriminator: ``(batch, 28, 28, 1)`` images to ``(batch, 1)`` logits.

    ``dropout`` follows the first two hidden layers; 0 leaves the Dropout layers out, which
    is the ``mlp-bn`` discriminator (see :func:`build_mlp_bn_discriminator`).
    """
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = layers.Flatten(name="flatten")(image)
    for i, units in enumerate((1024, 512, 256), start=1):
        x = layers.Dense(units, name=f"dense{i}")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"lrelu{i}")(x)
        if dropout and i < 3:
            x = rng.Dropout(dropout, name=f"drop{i}")(x)
    logit = layers.Dense(1, dtype=full_precision(), name="logit")(x)
    return keras.Model(image, logit, name=name)


def build_mlp_bn_generator(latent_dim: int = 64, output_activation: str = "sigmoid") -> keras.Model:
    """``mlp-bn`` generator: four Dense + BatchNorm + ReLU blocks, then 784 -> 28x28x1."""
    z = keras.Input(shape=(latent_dim,), name="z")
    x = z
    for i, units in enumerate((128, 256, 512, 1024), start=1):
        x = layers.Dense(units, name=f"dense{i}")(x)
        x = torch_batch_norm(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
    x = layers.Dense(28 * 28, name="dense_out")(x)
    x = layers.Reshape(IMAGE_SHAPE, name="reshape")(x)
    image = layers.Activation(output_activation, dtype=full_precision(), name="image")(x)
    return keras.Model(z, image, name="mlp_bn_generator")


def build_mlp_bn_discriminator() -> keras.Model:
    """``mlp-bn`` discriminator: 784 -> 1024 -> 512 -> 256 (LeakyReLU 0.2) -> 1 logit."""
    return build_mlp_discriminator(dropout=0.0, name="mlp_bn_discriminator")

"""Network builders, one module per design family; each returns a functional ``keras.Model``.

Which builder a preset uses is registered with its settings row in :mod:`mnist_gan.presets`;
the GAN that trains a pair lives in :mod:`mnist_gan.models.gan`.
"""

from mnist_gan.models.conv import build_conv_discriminator, build_conv_generator
from mnist_gan.models.dcgan import build_dcgan_discriminator, build_dcgan_generator
from mnist_gan.models.dcgan64 import build_dcgan64_discriminator, build_dcgan64_generator
from mnist_gan.models.fast import build_fast_discriminator, build_fast_generator
from mnist_gan.models.mlp import (
    build_mlp_bn_discriminator,
    build_mlp_bn_generator,
    build_mlp_discriminator,
    build_mlp_generator,
)

__all__ = [
    "build_dcgan_generator",
    "build_dcgan_discriminator",
    "build_fast_generator",
    "build_fast_discriminator",
    "build_mlp_generator",
    "build_mlp_discriminator",
    "build_conv_generator",
    "build_conv_discriminator",
    "build_mlp_bn_generator",
    "build_mlp_bn_discriminator",
    "build_dcgan64_generator",
    "build_dcgan64_discriminator",
]

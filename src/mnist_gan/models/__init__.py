"""Network builders, one module per design family, and the GAN model that wraps a pair.

``BUILDERS[preset]`` is a function ``(config) -> (generator, discriminator)``; adding a preset
is one builder here plus one row in ``mnist_gan.config.PRESETS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import keras

from mnist_gan.errors import MNISTGANError
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

if TYPE_CHECKING:
    from mnist_gan.config import GANConfig


def _output_activation(pixel_range: tuple[float, float]) -> str:
    return "sigmoid" if tuple(pixel_range) == (0.0, 1.0) else "tanh"


def _dcgan(config: GANConfig) -> tuple[keras.Model, keras.Model]:
    return (
        build_dcgan_generator(config.latent_dim, _output_activation(config.pixel_range)),
        build_dcgan_discriminator(config.image_size),
    )


def _require_mnist_size(config: GANConfig) -> None:
    if config.image_size != 28:
        raise MNISTGANError(
            f"preset {config.preset!r} works at image_size 28 only, got {config.image_size}"
        )


def _mlp(config: GANConfig) -> tuple[keras.Model, keras.Model]:
    _require_mnist_size(config)
    return (
        build_mlp_generator(config.latent_dim, _output_activation(config.pixel_range)),
        build_mlp_discriminator(),
    )


def _conv(config: GANConfig) -> tuple[keras.Model, keras.Model]:
    _require_mnist_size(config)
    return (
        build_conv_generator(config.latent_dim, _output_activation(config.pixel_range)),
        build_conv_discriminator(),
    )


def _mlp_bn(config: GANConfig) -> tuple[keras.Model, keras.Model]:
    _require_mnist_size(config)
    return (
        build_mlp_bn_generator(config.latent_dim, _output_activation(config.pixel_range)),
        build_mlp_bn_discriminator(),
    )


def _dcgan64(config: GANConfig) -> tuple[keras.Model, keras.Model]:
    return (
        build_dcgan64_generator(
            config.latent_dim, _output_activation(config.pixel_range), config.image_size
        ),
        build_dcgan64_discriminator(config.image_size),
    )


def _fast(config: GANConfig) -> tuple[keras.Model, keras.Model]:
    _require_mnist_size(config)
    return (
        build_fast_generator(config.latent_dim, _output_activation(config.pixel_range)),
        build_fast_discriminator(),
    )


BUILDERS: dict[str, Callable[[GANConfig], tuple[keras.Model, keras.Model]]] = {
    "dcgan": _dcgan,
    "mlp": _mlp,
    "conv": _conv,
    "mlp-bn": _mlp_bn,
    "dcgan64": _dcgan64,
    "fast": _fast,
}


def build_networks(config: GANConfig) -> tuple[keras.Model, keras.Model]:
    """Build the (generator, discriminator) pair that ``config.preset`` names."""
    return BUILDERS[config.preset](config)


__all__ = [
    "BUILDERS",
    "build_networks",
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

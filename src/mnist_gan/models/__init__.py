"""Network builders, one module per design family, and the GAN model that wraps a pair.

``BUILDERS[preset]`` is a function ``(config) -> (generator, discriminator)``; adding a preset
is one builder here plus one row in ``mnist_gan.config.PRESETS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import keras

from mnist_gan.models.dcgan import build_dcgan_discriminator, build_dcgan_generator

if TYPE_CHECKING:
    from mnist_gan.config import GANConfig


def _output_activation(pixel_range: tuple[float, float]) -> str:
    return "sigmoid" if tuple(pixel_range) == (0.0, 1.0) else "tanh"


def _dcgan(config: GANConfig) -> tuple[keras.Model, keras.Model]:
    return (
        build_dcgan_generator(config.latent_dim, _output_activation(config.pixel_range)),
        build_dcgan_discriminator(config.image_size),
    )


BUILDERS: dict[str, Callable[[GANConfig], tuple[keras.Model, keras.Model]]] = {
    "dcgan": _dcgan,
}


def build_networks(config: GANConfig) -> tuple[keras.Model, keras.Model]:
    """Build the (generator, discriminator) pair that ``config.preset`` names."""
    return BUILDERS[config.preset](config)


__all__ = [
    "BUILDERS",
    "build_networks",
    "build_dcgan_generator",
    "build_dcgan_discriminator",
]

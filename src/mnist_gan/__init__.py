"""mnist-gan: Generative Adversarial Networks on MNIST with Keras 3 / TensorFlow."""

from mnist_gan.config import PRESETS, GANConfig, make_config
from mnist_gan.errors import MNISTGANError
from mnist_gan.models.gan import MNISTGAN, make_optimizer, make_optimizers

__version__ = "0.1.0"

__all__ = [
    "MNISTGAN",
    "GANConfig",
    "MNISTGANError",
    "PRESETS",
    "make_config",
    "make_optimizer",
    "make_optimizers",
]

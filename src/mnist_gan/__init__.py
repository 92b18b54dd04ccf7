"""mnist-gan: Generative Adversarial Networks on MNIST with Keras 3 / TensorFlow."""

from mnist_gan.config import GANConfig
from mnist_gan.data import load_mnist, make_dataset
from mnist_gan.device import print_device_info
from mnist_gan.errors import MNISTGANError
from mnist_gan.logs import log_to_console
from mnist_gan.models.gan import MNISTGAN, build_gan, make_optimizer, make_optimizers
from mnist_gan.presets import PRESETS, make_config
from mnist_gan.trainer import GANTrainer, train_gan

__version__ = "0.1.0"

__all__ = [
    "MNISTGAN",
    "GANTrainer",
    "train_gan",
    "load_mnist",
    "make_dataset",
    "print_device_info",
    "log_to_console",
    "GANConfig",
    "MNISTGANError",
    "PRESETS",
    "make_config",
    "make_optimizer",
    "make_optimizers",
    "build_gan",
]

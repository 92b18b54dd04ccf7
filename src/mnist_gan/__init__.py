"""mnist-gan: Generative Adversarial Networks on MNIST with Keras 3 / TensorFlow.

The names below are imported on first use (PEP 562), so ``import mnist_gan.config``, the
command line's parser and its argument checks run without importing TensorFlow; ``from
mnist_gan import MNISTGAN`` imports it then.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "MNISTGAN": "mnist_gan.gan.model",
    "GANTrainer": "mnist_gan.training.trainer",
    "train_gan": "mnist_gan.training.trainer",
    "load_mnist": "mnist_gan.data.sources",
    "make_dataset": "mnist_gan.data.pipeline",
    "print_device_info": "mnist_gan.device",
    "log_to_console": "mnist_gan.logs",
    "GANConfig": "mnist_gan.config",
    "MNISTGANError": "mnist_gan.errors",
    "PRESETS": "mnist_gan.models.presets",
    "make_config": "mnist_gan.models.presets",
    "make_optimizer": "mnist_gan.gan.optimizers",
    "make_optimizers": "mnist_gan.gan.optimizers",
    "build_gan": "mnist_gan.gan.model",
}

__all__ = list(_EXPORTS)

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ serves these
    from mnist_gan.config import GANConfig  # noqa: F401
    from mnist_gan.data.pipeline import make_dataset  # noqa: F401
    from mnist_gan.data.sources import load_mnist  # noqa: F401
    from mnist_gan.device import print_device_info  # noqa: F401
    from mnist_gan.errors import MNISTGANError  # noqa: F401
    from mnist_gan.gan.model import MNISTGAN, build_gan  # noqa: F401
    from mnist_gan.gan.optimizers import make_optimizer, make_optimizers  # noqa: F401
    from mnist_gan.logs import log_to_console  # noqa: F401
    from mnist_gan.models.presets import PRESETS, make_config  # noqa: F401
    from mnist_gan.training.trainer import GANTrainer, train_gan  # noqa: F401


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first access and cache the value here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mnist_gan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

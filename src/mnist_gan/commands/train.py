"""``mnist-gan train``: the settings as flags, the early checks, the run."""

from __future__ import annotations

import argparse
from typing import Any


def train_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The declared settings as given by ``mnist-gan train``'s flags (unset: None)."""
    from mnist_gan.config import SETTINGS

    settings = {name: getattr(args, name) for name in SETTINGS if hasattr(args, name)}
    settings["preset"] = settings["preset"] or "dcgan"
    return settings


def check_train(args: argparse.Namespace) -> None:
    """Settings, output folder lock and data, checked before TensorFlow loads (the data is
    read, converted and kept on ``args.dataset`` for :func:`run_train`)."""
    from mnist_gan.data.datasets import config_for_data, load_dataset
    from mnist_gan.models.presets import make_config
    from mnist_gan.reliability.lock import RunLock

    settings = train_settings(args)
    config = make_config(settings.pop("preset"), **settings)
    RunLock(config.output_dir).check_free()  # a busy folder is refused before TensorFlow loads
    # The data is read, converted and checked against the preset before TensorFlow loads.
    args.dataset = load_dataset(config.data_path, config.data_labels)
    config_for_data(config, args.dataset, {k for k, v in settings.items() if v is not None})


def run_train(args: argparse.Namespace) -> int:
    """Train with ``args``' settings on the checked data; the trainer's exit status."""
    from mnist_gan.training.trainer import GANTrainer

    settings = train_settings(args)
    trainer = GANTrainer(preset=settings.pop("preset"), **settings)
    trainer.load_data(args.dataset)
    trainer.train(progress="none" if args.quiet else args.progress)
    return trainer.exit_status

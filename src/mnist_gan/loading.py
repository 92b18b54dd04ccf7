"""Open a trained GAN from a ``.keras`` file, a checkpoint, or a training output folder."""

from __future__ import annotations

import os
from pathlib import Path

from mnist_gan.errors import MNISTGANError
from mnist_gan.models.gan import MNISTGAN, build_gan


def load_gan(path: str | os.PathLike[str]) -> MNISTGAN:
    """Load a saved ``.keras`` MNISTGAN; :class:`MNISTGANError` if it is not one."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise MNISTGANError(f"model file {path} does not exist")
    try:
        model = keras.models.load_model(path)
    except Exception as err:  # noqa: BLE001 - any failure means "not a usable model"
        raise MNISTGANError(
            f"{path} is not a saved mnist-gan model ({type(err).__name__}: {str(err)[:200]})"
        ) from None
    if not isinstance(model, MNISTGAN):
        raise MNISTGANError(f"{path} holds a {type(model).__name__}, not an MNISTGAN")
    return model


def load_from_checkpoint(path: str | os.PathLike[str]) -> MNISTGAN:
    """Rebuild the run's model from a training checkpoint and restore its weights."""
    from mnist_gan.checkpoint import load_checkpoint, read_checkpoint_header
    from mnist_gan.presets import make_config

    saved = dict(read_checkpoint_header(path)["meta"]["config"])
    config = make_config(saved.pop("preset"), **saved)
    gan = build_gan(config)
    load_checkpoint(gan, path)
    return gan


def load_generator_model(source: str | os.PathLike[str]) -> MNISTGAN:
    """A model to sample from: a ``.keras`` file, a checkpoint ``.npz``, or an output folder.

    For a folder, its final ``model.keras`` is used, or else its newest checkpoint (so an
    interrupted run can still be sampled).
    """
    from mnist_gan.checkpoint import list_checkpoints

    source = Path(source)
    if source.is_dir():
        if (source / "model.keras").is_file():
            return load_gan(source / "model.keras")
        found = list_checkpoints(source / "checkpoints")
        if found:
            return load_from_checkpoint(found[-1][1])
        raise MNISTGANError(f"{source} holds neither model.keras nor checkpoints/ckpt-epoch-*.npz")
    if source.suffix == ".npz":
        return load_from_checkpoint(source)
    return load_gan(source)

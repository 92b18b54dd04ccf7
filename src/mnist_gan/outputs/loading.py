"""Open a trained GAN from a ``.keras`` file, a checkpoint, a training output folder, a preset
folder, or the name of a pretrained preset shipped in the package."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.model import MNISTGAN, build_gan

log = logging.getLogger("mnist_gan")


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
    from mnist_gan.config import saved_settings
    from mnist_gan.gan.checkpoint import load_checkpoint, read_checkpoint_header
    from mnist_gan.models.presets import make_config

    meta = read_checkpoint_header(path)["meta"]
    saved = saved_settings(dict(meta["config"]))
    config = make_config(saved.pop("preset"), **saved)
    gan = build_gan(config, data=meta.get("data"))
    load_checkpoint(gan, path)
    return gan


def load_generator_model(source: str | os.PathLike[str]) -> MNISTGAN:
    """A model to sample from: a ``.keras`` file, a checkpoint ``.npz``, an output folder, a
    preset folder (:mod:`mnist_gan.gan.pretrained`), or a shipped preset's name (``"cfast"``).

    For an output folder, its final ``model.keras`` is used, or else its newest checkpoint (so
    an interrupted run can still be sampled). A local file or folder named like a shipped preset
    wins, with a note logged as a warning.
    """
    from mnist_gan.gan import shipped
    from mnist_gan.gan.checkpoint import list_checkpoints

    text = os.fspath(source)
    note = shipped.shadowed_note(text)
    if note:
        log.warning(note)
    elif not Path(text).exists():
        if shipped.is_shipped_name(text):
            return MNISTGAN.from_preset(text)
        if Path(text).name == text and not Path(text).suffix:  # a name, not a path
            raise MNISTGANError(shipped.missing_source_message(text))
    source = Path(text)
    if source.is_dir():
        if shipped.is_preset_folder(source):
            return MNISTGAN.from_preset(source)
        if (source / "model.keras").is_file():
            return load_gan(source / "model.keras")
        found = list_checkpoints(source / "checkpoints")
        if found:
            return load_from_checkpoint(found[-1][1])
        raise MNISTGANError(
            f"{source} holds neither model.keras nor checkpoints/ckpt-epoch-*.npz, nor a preset"
        )
    if source.suffix == ".npz":
        return load_from_checkpoint(source)
    return load_gan(source)

"""Training checkpoints: every variable of both networks and both optimizers, plus the epoch.

A checkpoint is one ``.npz`` written to a temporary name and renamed into place, so a crash
mid-write never leaves a broken checkpoint under a real name. It stores variables by position
(with their paths and shapes checked on load), the finished epoch count, the run's settings and
the per-epoch history, which is all ``GANTrainer.train()`` needs to resume exactly.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_gan.errors import MNISTGANError

if TYPE_CHECKING:
    from mnist_gan.models.gan import MNISTGAN

# ckpt-epoch-0003.npz: 3 epochs done; ckpt-epoch-0003-step-000120.npz: 3 epochs + 120 steps
# (a run stopped mid-epoch by its time budget).
CHECKPOINT_PATTERN = re.compile(r"^ckpt-epoch-(\d{4,})(?:-step-(\d{6,}))?\.npz$")


def checkpoint_variables(gan: MNISTGAN) -> dict[str, list[Any]]:
    """The variable groups a checkpoint holds (BN statistics and RNG states included)."""
    if gan.g_optimizer is None or gan.d_optimizer is None:
        raise MNISTGANError("the model must be compiled before saving or loading a checkpoint")
    groups = {
        "generator": list(gan.generator.variables),
        "discriminator": list(gan.discriminator.variables),
        "g_optimizer": list(gan.g_optimizer.variables),
        "d_optimizer": list(gan.d_optimizer.variables),
        "noise": [gan.seed_generator.state],
    }
    if gan.ema_generator is not None:
        groups["ema"] = [*gan.ema_generator.variables, gan.ema_updates]
    return groups


def save_checkpoint(
    gan: MNISTGAN,
    path: str | os.PathLike[str],
    epoch: int,
    meta: dict[str, Any],
    step_in_epoch: int = 0,
) -> Path:
    """Write a checkpoint after ``epoch`` finished epochs plus ``step_in_epoch`` steps of the
    next one; ``meta`` must be JSON-serialisable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    layout: dict[str, list[list[Any]]] = {}
    for group, variables in checkpoint_variables(gan).items():
        layout[group] = []
        for i, variable in enumerate(variables):
            value = np.asarray(variable.numpy())
            arrays[f"{group}/{i}"] = value
            layout[group].append([variable.path, list(value.shape)])
    header = {
        "epoch": int(epoch),
        "step_in_epoch": int(step_in_epoch),
        "layout": layout,
        "meta": meta,
    }
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def read_checkpoint_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The epoch, layout and meta of a checkpoint, without touching any model."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return json.loads(archive["__header__"].tobytes().decode())
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise MNISTGANError(f"checkpoint {path} is unreadable ({err})") from None


def load_checkpoint(gan: MNISTGAN, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Restore every checkpointed variable into a compiled ``gan``; return the header."""
    header = read_checkpoint_header(path)
    groups = checkpoint_variables(gan)
    try:
        with np.load(path, allow_pickle=False) as archive:
            values = {key: archive[key] for key in archive.files if key != "__header__"}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise MNISTGANError(f"checkpoint {path} is unreadable ({err})") from None
    # Check everything before assigning anything, so a mismatch leaves the model untouched.
    for group, variables in groups.items():
        saved = header["layout"].get(group, [])
        if len(saved) != len(variables):
            raise MNISTGANError(
                f"checkpoint {path} does not match this model: {group} has {len(saved)} "
                f"saved variables, the model has {len(variables)}"
            )
        for i, variable in enumerate(variables):
            if tuple(values[f"{group}/{i}"].shape) != tuple(variable.shape):
                raise MNISTGANError(
                    f"checkpoint {path} does not match this model: {variable.path} has shape "
                    f"{tuple(variable.shape)}, saved {tuple(values[f'{group}/{i}'].shape)}"
                )
    for group, variables in groups.items():
        for i, variable in enumerate(variables):
            variable.assign(values[f"{group}/{i}"])
    return header


def list_checkpoints(folder: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(finished epochs, path)`` of every checkpoint in ``folder``, oldest first.

    Mid-epoch checkpoints sort after the full-epoch one they continue.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = CHECKPOINT_PATTERN.match(entry.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2) or 0), entry))
    return [(epoch, path) for epoch, _, path in sorted(found)]


def checkpoint_path(folder: str | os.PathLike[str], epoch: int, step_in_epoch: int = 0) -> Path:
    """The file name of the checkpoint taken after ``epoch`` epochs (+ ``step_in_epoch``)."""
    suffix = f"-step-{step_in_epoch:06d}" if step_in_epoch else ""
    return Path(folder) / f"ckpt-epoch-{epoch:04d}{suffix}.npz"

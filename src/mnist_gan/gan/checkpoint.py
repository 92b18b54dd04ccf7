"""Training checkpoints: every variable of both networks and both optimizers, plus the epoch.

A checkpoint is one ``.npz`` written atomically (:func:`mnist_gan.files.atomic_write`). Each
array is stored under ``group/name``: the group (generator, discriminator, g_optimizer,
d_optimizer, noise, ema) and the variable's path inside it (``deconv1/kernel``,
``deconv1_kernel_momentum``). Loading matches variables by that name, never by position, and
checks every name and shape before assigning anything. A JSON header holds the epoch, the
step within it, the run's settings and the per-epoch history: all ``GANTrainer.train()`` needs
to resume exactly. Checkpoints of the earlier positional layout load too (their header listed
each position's path).
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
from mnist_gan.files import atomic_write

if TYPE_CHECKING:
    from mnist_gan.gan.model import MNISTGAN

FORMAT = 2  # 1: arrays stored by position (before 2026-11-29); 2: by name
# ckpt-epoch-0003.npz: 3 epochs done; ckpt-epoch-0003-step-000120.npz: 3 epochs + 120 steps
# (a run stopped mid-epoch by its time budget or a signal).
CHECKPOINT_PATTERN = re.compile(r"^ckpt-epoch-(\d{4,})(?:-step-(\d{6,}))?\.npz$")
HEADER = "__header__"
# Groups whose owner's name is generated per process ("adam_1", "seed_generator_3"): their
# variables are named relative to the owner.
OWNER_RELATIVE = ("g_optimizer", "d_optimizer", "noise")
# Dropout's RNG state lives in a SeedGenerator whose name is numbered per process: such a
# variable is named by the layer that owns it instead ("drop1/seed_generator/...").
AUTO_NUMBERED = re.compile(r"seed_generator_\d+")


def checkpoint_variables(gan: MNISTGAN) -> dict[str, dict[str, Any]]:
    """The variables a checkpoint holds, by group and name (BN statistics and RNG included)."""
    if gan.g_optimizer is None or gan.d_optimizer is None:
        raise MNISTGANError("the model must be compiled before saving or loading a checkpoint")
    groups = {
        "generator": named_variables(gan.generator),
        "discriminator": named_variables(gan.discriminator),
        "g_optimizer": [(_owner_relative(v.path), v) for v in gan.g_optimizer.variables],
        "d_optimizer": [(_owner_relative(v.path), v) for v in gan.d_optimizer.variables],
        "noise": [(_owner_relative(gan.seed_generator.state.path), gan.seed_generator.state)],
    }
    if gan.cluster_draw is not None:  # sfast's sampling frequencies
        groups["clusters"] = [("frequencies", gan.cluster_draw.frequencies)]
    if gan.ema_generator is not None:
        groups["ema"] = [*named_variables(gan.ema_generator), ("ema_updates", gan.ema_updates)]
    named: dict[str, dict[str, Any]] = {}
    for group, variables in groups.items():
        named[group] = {}
        for name, variable in variables:
            if name in named[group]:
                raise MNISTGANError(
                    f"two variables of the {group} are both named {name!r}; give the layers "
                    "unique names so checkpoints can tell them apart"
                )
            named[group][name] = variable
    return named


def named_variables(model: Any) -> list[tuple[str, Any]]:
    """``(name, variable)`` for every variable of ``model``, in ``model.variables`` order."""
    owner = {id(v): layer.name for layer in model.layers for v in layer.variables}
    named = []
    for variable in model.variables:
        path, layer = AUTO_NUMBERED.sub("seed_generator", variable.path), owner.get(id(variable))
        named.append(
            (path if layer is None or path.startswith(f"{layer}/") else f"{layer}/{path}", variable)
        )
    return named


def _owner_relative(path: str) -> str:
    return path.split("/", 1)[-1]


def _same_up_to_numbering(a: str, b: str) -> bool:
    def generic(p: str) -> str:
        return re.sub(r"_\d+(?=/|$)", "", p)

    return generic(a) == generic(b)


def save_checkpoint(
    gan: MNISTGAN,
    path: str | os.PathLike[str],
    epoch: int,
    meta: dict[str, Any],
    step_in_epoch: int = 0,
) -> Path:
    """Write a checkpoint after ``epoch`` finished epochs plus ``step_in_epoch`` steps of the
    next one; ``meta`` must be JSON-serialisable."""
    arrays = {
        f"{group}/{name}": np.asarray(variable.numpy())
        for group, variables in checkpoint_variables(gan).items()
        for name, variable in variables.items()
    }
    header = {"format": FORMAT, "epoch": int(epoch), "step_in_epoch": int(step_in_epoch)}
    header["meta"] = meta
    arrays[HEADER] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with atomic_write(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return Path(path)


def read_checkpoint_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The epoch, step, meta (settings, seed, history) of a checkpoint, without any model."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(archive[HEADER].tobytes().decode())
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise MNISTGANError(f"checkpoint {path} is unreadable ({err})") from None
    if not isinstance(header, dict) or not {"epoch", "meta"} <= set(header):
        raise MNISTGANError(f"checkpoint {path} has no valid header")
    return header


def load_checkpoint(gan: MNISTGAN, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Restore every checkpointed variable into a compiled ``gan`` by name; return the header.

    Every name and shape is checked first, so a mismatch leaves the model untouched.
    """
    header = read_checkpoint_header(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            stored = {key: archive[key] for key in archive.files if key != HEADER}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise MNISTGANError(f"checkpoint {path} is unreadable ({err})") from None
    groups = checkpoint_variables(gan)
    if header.get("format", 1) == 1:
        stored = _positional_to_named(stored, header, groups, path)
    plan = []
    for group, variables in groups.items():
        saved = {key.split("/", 1)[1] for key in stored if key.split("/", 1)[0] == group}
        missing, extra = sorted(set(variables) - saved), sorted(saved - set(variables))
        if missing or extra:
            raise MNISTGANError(
                f"checkpoint {path} does not match this model's {group}: "
                + "; ".join(
                    part
                    for part in (
                        f"missing {', '.join(missing[:5])}" if missing else "",
                        f"unexpected {', '.join(extra[:5])}" if extra else "",
                    )
                    if part
                )
            )
        for name, variable in variables.items():
            value = stored[f"{group}/{name}"]
            if tuple(value.shape) != tuple(variable.shape):
                raise MNISTGANError(
                    f"checkpoint {path} does not match this model: {group} {name} has shape "
                    f"{tuple(variable.shape)}, saved {tuple(value.shape)}"
                )
            plan.append((variable, value))
    for variable, value in plan:
        variable.assign(value)
    gan.sampler.clear()
    return header


def _positional_to_named(
    stored: dict[str, np.ndarray], header: dict[str, Any], groups: dict[str, dict], path: Any
) -> dict[str, np.ndarray]:
    """Arrays of a format-1 checkpoint (``group/index``, in ``variables`` order) renamed to
    this model's names, after checking each position's saved path names the same variable."""
    renamed = {}
    try:
        for group, variables in groups.items():
            entries = header["layout"][group]
            if len(entries) != len(variables):
                raise MNISTGANError(
                    f"checkpoint {path} does not match this model: {group} has "
                    f"{len(entries)} saved variables, the model has {len(variables)}"
                )
            for index, ((saved_path, _), (name, variable)) in enumerate(
                zip(entries, variables.items())
            ):
                if not _same_up_to_numbering(saved_path, variable.path):
                    raise MNISTGANError(
                        f"checkpoint {path} does not match this model: position {index} of "
                        f"{group} holds {saved_path}, the model has {variable.path} there"
                    )
                renamed[f"{group}/{name}"] = stored[f"{group}/{index}"]
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, MNISTGANError):
            raise
        raise MNISTGANError(f"checkpoint {path} has an unreadable layout ({err})") from None
    return renamed


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

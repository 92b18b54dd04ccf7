"""Finding and describing presets, without TensorFlow: the ones shipped in the package, a
folder named on the command line, and what their ``metadata.json`` says.

A preset folder holds ``config.json``, ``metadata.json`` and ``model.weights.npz``
(:mod:`mnist_gan.gan.pretrained` reads and writes them). Shipped presets live inside the installed
package (``mnist_gan/pretrained_presets/NAME``, read with :mod:`importlib.resources`: no
network). A local path of the same name as a shipped preset wins, with a note.
"""

from __future__ import annotations

import json
import logging
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnist_gan.errors import MNISTGANError

if TYPE_CHECKING:
    from importlib.abc import Traversable

log = logging.getLogger("mnist_gan")

CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE = "config.json", "metadata.json", "model.weights.npz"
PRESET_FILES = (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE)
# Where shipped presets live inside the installed package (setup.cfg package_data).
SHIPPED_DIR: Traversable = resources.files("mnist_gan") / "pretrained_presets"


def shipped_names() -> list[str]:
    """Names of the presets whose weights ship in this install, sorted ([] when none do)."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(
        entry.name
        for entry in SHIPPED_DIR.iterdir()
        if entry.is_dir() and entry.joinpath(METADATA_FILE).is_file()
    )


def shipped_metadata() -> dict[str, dict[str, Any]]:
    """``{name: metadata.json}`` of every shipped preset (unreadable metadata: ``{}``)."""
    found = {}
    for name in shipped_names():
        try:
            found[name] = json.loads(SHIPPED_DIR.joinpath(name, METADATA_FILE).read_text())
        except (OSError, ValueError):
            found[name] = {}
    return found


def is_preset_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder holding a preset's metadata and weights."""
    path = Path(path)
    return (path / METADATA_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def is_shipped_name(source: Any) -> bool:
    """Whether ``source`` (a str) names a preset shipped in this install."""
    return isinstance(source, str) and source in shipped_names()


def shadowed_note(source: Any) -> str | None:
    """The note for a local file or folder named like a shipped preset (it wins), else None."""
    if not is_shipped_name(source) or not Path(source).exists():
        return None
    kind = "folder" if Path(source).is_dir() else "file"
    return (
        f"note: using the local {kind} {source!r}, not the shipped preset {source!r} (run from "
        "another folder, or rename it, to use the shipped one)"
    )


def missing_source_message(source: Any) -> str:
    """The error for a source that is neither a local path nor a shipped preset."""
    names = shipped_names()
    shipped = (
        f"shipped presets: {', '.join(names)}"
        if names
        else "this install ships no pretrained presets yet"
    )
    from mnist_gan.models.presets import PRESETS

    if str(source) in PRESETS:
        return (
            f"{source} does not exist here, and preset {str(source)!r} ships no pretrained "
            f"weights ({shipped}); train it with `mnist-gan train --preset {source}`"
        )
    return f"{source} does not exist here and is not a shipped preset ({shipped})"


def resolve_preset(name_or_dir: str | os.PathLike[str]) -> tuple[Traversable, str]:
    """The preset folder ``name_or_dir`` means, and how to describe it in messages.

    A local path is used when it exists (a shipped name included: a note is logged); else a
    shipped preset's name. Raises :class:`MNISTGANError` for a local path that is not a preset
    folder, or an unknown name (the message lists the shipped names).
    """
    path = Path(name_or_dir)
    if path.exists():
        note = shadowed_note(name_or_dir)  # a str only: loading passes a Path after its note
        if note:
            log.warning(note)
        if not is_preset_folder(path):
            raise MNISTGANError(
                f"{path} is not a preset folder (it needs {', '.join(PRESET_FILES)}; write one "
                "with gan.save_to_preset(DIR) or scripts/make_pretrained.py)"
            )
        return path, str(path)
    if is_shipped_name(str(name_or_dir)):
        return SHIPPED_DIR.joinpath(str(name_or_dir)), f"shipped preset {str(name_or_dir)!r}"
    raise MNISTGANError(missing_source_message(name_or_dir))


def read_preset_metadata(name_or_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """A preset's ``metadata.json`` (versions, settings, command, minutes, scores, sha256)."""
    folder, where = resolve_preset(name_or_dir)
    return read_json(folder, METADATA_FILE, where)


def headline(metadata: dict[str, Any]) -> str:
    """A preset's scores in a few words ("FD 1.86, labels 99.0%"), for ``mnist-gan presets``."""
    scores = metadata.get("scores") or {}
    parts = []
    if isinstance(scores.get("frechet_distance"), int | float):
        parts.append(f"FD {scores['frechet_distance']:.2f}")
    if isinstance(scores.get("label_accuracy"), int | float):
        parts.append(f"labels {scores['label_accuracy']:.1%}")
    elif isinstance(scores.get("classifier_score"), int | float):
        parts.append(f"CS {scores['classifier_score']:.2f}")
    return ", ".join(parts) or "no scores"


def read_json(folder: Traversable, filename: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(folder.joinpath(filename).read_text())
    except (OSError, ValueError) as err:
        raise MNISTGANError(f"{where}: {filename} is missing or unreadable ({err})") from None
    if not isinstance(value, dict):
        raise MNISTGANError(f"{where}: {filename} does not hold a JSON object")
    return value


def display(entry: Traversable) -> str:
    return str(entry) if isinstance(entry, Path) else f"{entry.name} ({entry})"

"""Fine-tuning: start a new run from the weights of a trained one (``--init-from``).

:func:`initialize_from` reads any source :func:`~mnist_gan.outputs.loading.load_generator_model`
accepts (a shipped preset's name, a preset folder, a ``.keras`` model, a checkpoint, an output
folder) and copies its networks' weights with :mod:`mnist_gan.gan.pretrained`'s helpers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.pretrained import assign_network_weights, network_weights
from mnist_gan.outputs.loading import load_generator_model

if TYPE_CHECKING:
    from mnist_gan.gan.model import MNISTGAN

# Settings that must agree for weights to fit (the shapes and what they mean); the EMA may be
# switched on or off: see initialize_from.
SHAPE_SETTINGS = (
    "preset",
    "latent_dim",
    "noise",
    "pixel_range",
    "image_size",
    "num_classes",
    "g_conditioning",
)


def initialize_from(gan: MNISTGAN, source: str | os.PathLike[str]) -> str:
    """Copy the generator, EMA generator and discriminator weights of ``source`` (a shipped
    preset's name, a preset folder, a ``.keras`` model, a checkpoint or an output folder)
    into ``gan``; return a line saying what was copied.

    Raises :class:`MNISTGANError` when ``source``'s network settings differ from ``gan``'s.
    Without an EMA in ``source``, ``gan``'s EMA starts from ``source``'s generator.
    Optimizer state starts fresh.
    """
    donor = load_generator_model(source)
    mine, theirs = gan.config.to_dict(), donor.config.to_dict()
    for key in SHAPE_SETTINGS:
        if mine[key] != theirs[key]:
            raise MNISTGANError(
                f"--init-from {source} was trained with {key}={theirs[key]!r}, but this run asks "
                f"for {key}={mine[key]!r}; fine-tuning needs the same networks"
            )
    arrays = network_weights(donor)
    groups, copied = ("generator", "discriminator"), ["generator", "discriminator"]
    if gan.ema_generator is not None:
        groups += ("ema",)
        if donor.ema_generator is None:
            arrays |= {
                "ema/" + key.split("/", 1)[1]: value
                for key, value in arrays.items()
                if key.startswith("generator/")
            }
            arrays["ema/ema_updates"] = np.zeros((), np.int64)
            copied.append("EMA generator (from its generator)")
        else:
            copied.append("EMA generator")
    assign_network_weights(gan, arrays, f"--init-from {source}", groups)
    return f"Initialized the {', '.join(copied)} from {source}"


def unused_note(source: str) -> str:
    """Why ``init_from`` is not applied to a run that resumes from its own checkpoint."""
    return (
        f"init_from {source} not used: the run's own checkpoint wins (it already started from "
        "those weights, or another --output-dir starts afresh)"
    )

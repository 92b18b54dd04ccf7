"""The models a server offers: named once at start-up, never by a request.

:class:`ModelShelf` opens every shipped pretrained preset and every source named on the command
line (a run folder, a preset folder or a ``.keras`` file) under a short name, and answers for
each what a page or a client needs to know (design, classes, data, scores). Sampling and walks
go through one lock per model: concurrent requests never interleave on a model's sampler, and
each request's seed alone decides its images.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnist_gan.errors import MNISTGANError

log = logging.getLogger("mnist_gan")


@dataclass
class ServedModel:
    """One model on offer: its name, the loaded GAN, where it came from and its scores."""

    name: str
    gan: Any
    source: str
    scores: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def classes(self) -> list[str]:
        """The class names a conditional model draws by ([] when it draws no chosen class)."""
        return list(self.gan.class_names) if self.gan.conditional else []

    def describe(self) -> dict[str, Any]:
        """What ``/api/models`` says of the model."""
        card = self.gan.data_card or {"name": "MNIST", "sha256": None, "classes": []}
        config = self.gan.config
        return {
            "name": self.name,
            "preset": config.preset,
            "source": self.source,
            "conditional": self.gan.conditional,
            "classes": self.classes,
            "data": {"name": card.get("name"), "sha256": card.get("sha256")},
            "scores": self.scores,
            "latent_dim": int(config.latent_dim),
        }

    def label_index(self, label: str | None) -> int | None:
        """The class index ``label`` (a name or a number) means; None for no label. Raises
        :class:`MNISTGANError` for a label this model cannot take."""
        if label is None or label == "":
            return None
        if not self.gan.conditional:
            raise MNISTGANError(f"model {self.name!r} is unconditional: it takes no label")
        return self.gan.class_index(label)

    def sample(self, n: int, seed: int, label: int | None) -> tuple[np.ndarray, np.ndarray | None]:
        """uint8 ``(n, 28, 28)`` images from ``seed`` (of class ``label``, or balanced classes
        for a conditional model without one) and the class of each (None: unconditional)."""
        from mnist_gan.data.images import to_uint8

        with self.lock:
            images, labels = self.gan.generate(n, seed=seed, labels=label, return_labels=True)
        return to_uint8(images, self.gan.config.pixel_range), labels

    def walk(self, seed: int, to_seed: int, steps: int, labels: Any) -> np.ndarray:
        """uint8 ``(steps, 28, 28)``: the walk from the noise of ``seed`` to that of
        ``to_seed`` (the first frame is ``sample(1, seed)``'s image)."""
        from mnist_gan.gan.walk import seed_walk

        with self.lock:
            return seed_walk(self.gan, seed=seed, to_seed=to_seed, steps=steps, labels=labels)


class UnknownModelError(LookupError):
    """A request named a model the server does not offer."""


class ModelShelf:
    """The served models by name, in the order they were offered."""

    def __init__(self, models: Sequence[ServedModel]) -> None:
        self.models = {model.name: model for model in models}

    @property
    def names(self) -> list[str]:
        """The names a request may ask for."""
        return list(self.models)

    def get(self, name: str) -> ServedModel:
        """The model called ``name``; :class:`UnknownModelError` when there is none."""
        if name not in self.models:
            raise UnknownModelError(name)
        return self.models[name]


def open_shelf(sources: Sequence[str] = (), shipped: bool = True) -> ModelShelf:
    """Open the shipped pretrained presets (with ``shipped``) and each of ``sources``.

    A source's name is its folder or file name (a shipped preset's name for a shipped preset),
    with ``-2``, ``-3`` ... added where two would clash. Raises :class:`MNISTGANError` for a
    source that cannot be opened, before the server starts.
    """
    from mnist_gan.gan import shipped
    from mnist_gan.gan.model import MNISTGAN
    from mnist_gan.outputs.loading import load_generator_model

    offered: list[ServedModel] = []
    if shipped:
        for name, metadata in shipped.shipped_metadata().items():
            gan = MNISTGAN.from_preset(name)
            offered.append(ServedModel(name, gan, f"shipped preset {name}", _scores(metadata)))
    for source in sources:
        gan = load_generator_model(source)
        path = Path(source)
        name = _unique(path.stem if path.suffix == ".keras" else path.name or str(source), offered)
        offered.append(ServedModel(name, gan, str(path), _source_scores(path)))
    if not offered:
        raise MNISTGANError("nothing to serve: no preset ships with this install, no SOURCE given")
    return ModelShelf(offered)


def _unique(name: str, offered: list[ServedModel]) -> str:
    taken = {model.name for model in offered}
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    return candidate


SHOWN_SCORES = ("frechet_distance", "label_accuracy", "min_label_accuracy", "recall", "precision")


def _scores(metadata: dict[str, Any]) -> dict[str, Any]:
    scores = metadata.get("scores") or {}
    shown = {key: scores[key] for key in SHOWN_SCORES if isinstance(scores.get(key), int | float)}
    if "frechet_distance" in shown:
        shown["scored_in"] = (metadata.get("provenance") or {}).get("feature_network") or (
            "the package's evaluator on its training data's test split"
        )
    return shown


def _source_scores(path: Path) -> dict[str, Any]:
    """Scores recorded beside a source: a preset folder's metadata, or a run's best eval."""
    for candidate in (path / "metadata.json", path / "best_eval.json"):
        try:
            record = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        return _scores(record if "scores" in record else {"scores": record})
    return {}

"""``mnist-gan evaluate``: score a model, output folder or ``.npy`` of images; print a table.

A model is scored against the data it trained on (its data card); scoring it against other
data needs ``--other-data``, and the report says so. An ``.npy`` of images carries no card: it
is scored against ``--data`` (default MNIST, said in the report). Every report names the data,
the feature network (and how well it knows the data's classes) and shows that data's
real-vs-real floor and noise baseline beside the model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_gan.data.datasets import ImageDataset, check_labels, load_dataset
from mnist_gan.errors import MNISTGANError
from mnist_gan.evaluation import baselines
from mnist_gan.evaluation import evaluate as ev
from mnist_gan.files import write_text

LABELS = {
    "frechet_distance": "Fréchet distance",
    "kid": "KID",
    "kid_std": "KID std over subsets",
    "classifier_score": "classifier score (1-K)",
    "mean_max_confidence": "mean max confidence",
    "class_entropy": "class entropy (0-1)",
    "smallest_class_share": "smallest class share",
    "precision": "precision (k=3)",
    "recall": "recall (k=3)",
}


@dataclass
class Scored:
    """What ``evaluate`` scores: uint8 images, the class each was drawn for (None when
    unconditional), where they came from, the data to score them against and why that data."""

    images: np.ndarray
    labels: np.ndarray | None
    description: str
    data: ImageDataset
    data_note: str

    def __iter__(self):  # noqa: ANN204 - unpacks as the (images, description, labels) of before
        return iter((self.images, self.description, self.labels))


def load_source_images(
    source: str | os.PathLike[str],
    num: int,
    seed: int,
    labels_path: Any = None,
    data_path: Any = None,
    other_data: bool = False,
) -> Scored:
    """The images to score and the data to score them against.

    ``source``: a ``.npy`` of uint8 images ``(N, 28, 28)`` / ``(N, 28, 28, 1)`` (its first
    ``num``; ``labels_path`` an ``.npy`` of their classes), scored against ``data_path``
    (default MNIST); else anything :func:`mnist_gan.outputs.loading.load_generator_model`
    opens (``num`` samples seeded by ``seed``; a conditional model draws balanced classes),
    scored against the data it trained on. A model scored against ``data_path`` holding other
    data needs ``other_data``.
    """
    from mnist_gan.data.images import to_uint8

    path = Path(source)
    given = None if data_path is None else load_dataset(data_path)
    if path.suffix == ".npy":
        from mnist_gan.outputs.checks import read_image_array

        images = read_image_array(path)[:num]
        labels = None if labels_path is None else _read_labels(Path(labels_path), len(images))
        data = given if given is not None else ev.mnist()
        note = "given with --data" if given is not None else "MNIST (no --data given)"
        return Scored(images, labels, f"{len(images):,} images from {path}", data, note)
    if labels_path is not None:
        raise MNISTGANError("--labels goes with an .npy of images; a model supplies its own")
    from mnist_gan.outputs.loading import load_generator_model

    gan = load_generator_model(path)
    card = gan.data_card or {"name": "MNIST (not recorded)", "sha256": ev.MNIST_SHA256}
    trained = f"{card['name']} ({str(card['sha256'])[:8]})"
    if given is None:
        data, note = ev.data_of(gan), "the data it trained on"
    elif given.sha256 == card["sha256"]:
        data, note = given, "the data it trained on (given with --data)"
    elif not other_data:
        raise MNISTGANError(
            f"{source} was trained on {trained}, not on {given.title}: pass --other-data to "
            "score it against that data anyway (the report will say so)"
        )
    else:
        data = given
        note = f"OTHER DATA than it trained on ({trained}), as --other-data asked"
    images, labels = gan.generate(num, seed=seed, return_labels=True)
    if data.sha256 != card["sha256"]:
        labels = None  # its classes are not this data's classes
    description = f"{num:,} samples from {path} (seed {seed})"
    return Scored(to_uint8(images, gan.config.pixel_range), labels, description, data, note)


def _read_labels(path: Path, count: int) -> np.ndarray:
    """Classes, one integer per image, from an ``.npy`` file; MNISTGANError when unusable."""
    try:
        labels = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, MemoryError) as err:
        raise MNISTGANError(f"{path} is not a readable .npy array ({err})") from None
    if labels.size < count:
        raise MNISTGANError(f"{path} holds {labels.size} labels for {count} images")
    return check_labels(np.asarray(labels).reshape(-1)[:count], count, str(path))


def format_conditional(result: dict[str, Any], names: tuple[str, ...]) -> str:
    """The label accuracy and per-class Fréchet distance lines of a conditional model."""
    per_class = enumerate(result["label_accuracy_per_class"])
    accuracy = "  ".join(f"{names[c]}:{a:.1%}" for c, a in per_class if a is not None)
    intra = "  ".join(
        f"{names[c]}:{v:.1f}" for c, v in enumerate(result["intra_fd_per_class"]) if v is not None
    )
    return (
        f"label accuracy (the feature network agrees with the requested class): "
        f"{result['label_accuracy']:.2%}, lowest class {result['min_label_accuracy']:.2%}\n"
        f"  per class: {accuracy}\n"
        f"intra-FD (each class against that class's test images): mean "
        f"{result['intra_fd_mean']:.2f}, min {result['intra_fd_min']:.2f}, max "
        f"{result['intra_fd_max']:.2f}\n  per class: {intra}"
    )


def format_table(
    result: dict[str, Any], baselines: dict[str, dict[str, Any]], names: tuple[str, ...] = ()
) -> str:
    """The metrics of ``result`` beside each baseline's, one row per metric (a metric left out
    in this feature space shows as n/a)."""
    columns = list(baselines)
    header = f"{'metric':<26} {'better':<7} {'this':>11}" + "".join(f" {n:>14}" for n in columns)
    rows = [header, "-" * len(header)]
    for key, higher in ev.SCALAR_METRICS.items():
        cells = "".join(f" {_number(baselines[n][key]):>14}" for n in columns)
        better = "higher" if higher else "lower"
        rows.append(f"{LABELS[key]:<26} {better:<7} {_number(result[key]):>11}{cells}")
    if result.get("class_histogram") is not None:
        labels = names or tuple(str(c) for c in range(len(result["class_histogram"])))
        shares = "  ".join(f"{labels[c]}: {s:.1%}" for c, s in enumerate(result["class_histogram"]))
        rows.append(f"predicted classes: {shares}")
    return "\n".join(rows)


def run_evaluate(
    source: str | os.PathLike[str],
    num: int = ev.NUM_SAMPLES,
    seed: int = ev.SEED,
    json_path: str | os.PathLike[str] | None = None,
    labels_path: str | os.PathLike[str] | None = None,
    data_path: str | os.PathLike[str] | None = None,
    other_data: bool = False,
) -> int:
    """Score ``source`` with the protocol, print the report, optionally write JSON; returns 0."""
    from mnist_gan.evaluation.features import feature_network

    if isinstance(num, bool) or not isinstance(num, int) or num < 2:
        raise MNISTGANError(f"--num must be an integer >= 2, got {num!r}")
    if seed < 0:
        raise MNISTGANError(f"--seed must be >= 0, got {seed}")
    json_file = Path(json_path) if json_path is not None else None
    if json_file is not None:
        try:
            json_file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise MNISTGANError(f"cannot write {json_file} ({err.strerror or err})") from None

    scored = load_source_images(source, num, seed, labels_path, data_path, other_data)
    data, network = scored.data, feature_network(scored.data)
    result = ev.evaluate_images(scored.images, seed=seed, labels=scored.labels, data=data)
    n = result["num_samples"]
    floors = {
        "real data": baselines.real_baseline(n, seed, data=data),
        "uniform noise": baselines.noise_baseline(n, seed, data=data),
    }
    floor = floors["real data"]["num_samples"]
    print(f"Sample quality of {scored.description}")
    test = len(data.x_test)
    print(f"data: {data.title}, {scored.data_note}; reference: its test split ({test:,})")
    print(f"feature network: {network.describe()}")
    if n != ev.NUM_SAMPLES:
        print(
            f"note: {n:,} images; the protocol uses {ev.NUM_SAMPLES:,}, so compare only with "
            f"numbers at N = {n:,} (the baselines below use N = {n:,})"
        )
    print(
        f"real data = {floor:,} training images of {data.name} (the floor), uniform noise = "
        f"{n:,} random-pixel images"
    )
    print()
    print(format_table(result, floors, network.classes))
    if "label_accuracy" in result:
        print(format_conditional(result, network.classes))

    if json_file is not None:
        record = {
            "source": str(source),
            "description": scored.description,
            "data": {**data.card(), "why": scored.data_note},
            "protocol": {
                "reference": f"{data.title} test split ({len(data.x_test)} images)",
                "feature_network": network.describe(),
                "feature_network_kind": network.kind,
                "feature_network_test_accuracy": network.test_accuracy,
                "feature_network_sha256_16": network.key,
                "num_samples": n,
                "seed": seed,
                "kid_subsets": ev.KID_SUBSETS,
                "kid_subset_size": ev.KID_SUBSET_SIZE,
                "precision_recall_k": ev.PR_K,
            },
            "metrics": result,
            "baselines": {
                "real_data": floors["real data"],
                "uniform_noise": floors["uniform noise"],
            },
        }
        write_text(json_file, json.dumps(record, indent=2) + "\n")
        print(f"\nWrote {json_file}")
    return 0


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"

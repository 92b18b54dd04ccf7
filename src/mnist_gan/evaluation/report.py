"""``mnist-gan evaluate``: score a model, output folder or ``.npy`` of images; print a table."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.evaluation import evaluate as ev
from mnist_gan.files import write_text

LABELS = {
    "frechet_distance": "Fréchet distance",
    "kid": "KID",
    "kid_std": "KID std over subsets",
    "classifier_score": "classifier score (1-10)",
    "mean_max_confidence": "mean max confidence",
    "class_entropy": "class entropy (0-1)",
    "smallest_class_share": "smallest class share",
    "precision": "precision (k=3)",
    "recall": "recall (k=3)",
}


def load_source_images(
    source: str | os.PathLike[str], num: int, seed: int, labels_path: Any = None
) -> tuple[Any, str, Any]:
    """uint8 images ``(N, 28, 28)`` to score, a description of where they came from, and the
    digit each was generated for (None when unconditional).

    ``source``: a ``.npy`` of uint8 images ``(N, 28, 28)`` / ``(N, 28, 28, 1)`` (its first
    ``num`` are used, or all when it holds fewer; ``labels_path`` an ``.npy`` of their digits),
    else anything :func:`mnist_gan.outputs.loading.load_generator_model` opens (``num`` samples,
    seeded by ``seed``; a conditional model draws balanced digits).
    """
    from mnist_gan.data.images import to_uint8

    path = Path(source)
    if path.suffix == ".npy":
        from mnist_gan.outputs.checks import read_image_array

        images = read_image_array(path)
        images = images[:num]
        labels = None if labels_path is None else _read_labels(Path(labels_path), len(images))
        return images, f"{len(images):,} images from {path}", labels
    if labels_path is not None:
        raise MNISTGANError("--labels goes with an .npy of images; a model supplies its own")
    from mnist_gan.outputs.loading import load_generator_model

    gan = load_generator_model(path)
    images, labels = gan.generate(num, seed=seed, return_labels=True)
    images = to_uint8(images, gan.config.pixel_range)
    return images, f"{num:,} samples from {path} (seed {seed})", labels


def _read_labels(path: Path, count: int) -> np.ndarray:
    """Digits 0..9, one per image, from an ``.npy`` file; MNISTGANError when unusable."""
    try:
        labels = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, MemoryError) as err:
        raise MNISTGANError(f"{path} is not a readable .npy array ({err})") from None
    labels = np.asarray(labels).reshape(-1) if labels.dtype.kind in "iu" else None
    if labels is None or len(labels) < count or labels.min() < 0 or labels.max() > 9:
        raise MNISTGANError(f"{path} must hold {count} integer digits 0..9, one per image")
    return labels[:count]


def format_conditional(result: dict[str, Any]) -> str:
    """The label accuracy and per-digit Fréchet distance lines of a conditional model."""
    per_digit = enumerate(result["label_accuracy_per_digit"])
    accuracy = "  ".join(f"{d}:{a:.1%}" for d, a in per_digit if a is not None)
    intra = "  ".join(
        f"{d}:{v:.1f}" for d, v in enumerate(result["intra_fd_per_digit"]) if v is not None
    )
    return (
        f"label accuracy (classifier agrees with the requested digit): "
        f"{result['label_accuracy']:.2%}, lowest digit {result['min_label_accuracy']:.2%}\n"
        f"  per digit: {accuracy}\n"
        f"intra-FD (each digit against that digit's test images): mean "
        f"{result['intra_fd_mean']:.2f}, min {result['intra_fd_min']:.2f}, max "
        f"{result['intra_fd_max']:.2f}\n  per digit: {intra}"
    )


def format_table(result: dict[str, Any], baselines: dict[str, dict[str, Any]]) -> str:
    """The metrics of ``result`` beside each baseline's, one row per metric."""
    names = list(baselines)
    header = f"{'metric':<26} {'better':<7} {'this':>11}" + "".join(f" {n:>14}" for n in names)
    rows = [header, "-" * len(header)]
    for key, higher in ev.SCALAR_METRICS.items():
        cells = "".join(f" {_number(baselines[n][key]):>14}" for n in names)
        better = "higher" if higher else "lower"
        rows.append(f"{LABELS[key]:<26} {better:<7} {_number(result[key]):>11}{cells}")
    digits = "  ".join(f"{d}:{share:.1%}" for d, share in enumerate(result["class_histogram"]))
    rows.append(f"predicted digits: {digits}")
    return "\n".join(rows)


def run_evaluate(
    source: str | os.PathLike[str],
    num: int = ev.NUM_SAMPLES,
    seed: int = ev.SEED,
    json_path: str | os.PathLike[str] | None = None,
    labels_path: str | os.PathLike[str] | None = None,
) -> int:
    """Score ``source`` with the protocol, print the table, optionally write JSON; returns 0."""
    from mnist_gan.evaluation.classifier import WEIGHTS_PATH, classifier_info, weights_hash

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

    images, description, labels = load_source_images(source, num, seed, labels_path)
    result = ev.evaluate_images(images, seed=seed, labels=labels)
    n = result["num_samples"]
    baselines = {
        "real data": ev.real_baseline(n, seed),
        "uniform noise": ev.noise_baseline(n, seed),
    }
    info = classifier_info()
    accuracy = info.get("test_accuracy")
    print(f"Sample quality of {description}")
    print(
        f"reference: MNIST test split (10,000); feature space: {WEIGHTS_PATH.name} "
        f"({weights_hash()}" + (f", test accuracy {accuracy:.2%})" if accuracy is not None else ")")
    )
    if n != ev.NUM_SAMPLES:
        print(
            f"note: {n:,} images; the protocol uses {ev.NUM_SAMPLES:,}, so compare only with "
            f"numbers at N = {n:,} (the baselines below use N = {n:,})"
        )
    print(f"real data = {n:,} MNIST training images, uniform noise = {n:,} random-pixel images")
    print()
    print(format_table(result, baselines))
    if labels is not None:
        print(format_conditional(result))

    if json_file is not None:
        record = {
            "source": str(source),
            "description": description,
            "protocol": {
                "reference": "MNIST test split (10,000 images)",
                "num_samples": n,
                "seed": seed,
                "kid_subsets": ev.KID_SUBSETS,
                "kid_subset_size": ev.KID_SUBSET_SIZE,
                "precision_recall_k": ev.PR_K,
                "classifier_weights_sha256_16": weights_hash(),
                "classifier_test_accuracy": accuracy,
            },
            "metrics": result,
            "baselines": {
                "real_data": baselines["real data"],
                "uniform_noise": baselines["uniform noise"],
            },
        }
        write_text(json_file, json.dumps(record, indent=2) + "\n")
        print(f"\nWrote {json_file}")
    return 0


def _number(value: float) -> str:
    return f"{value:.4g}"

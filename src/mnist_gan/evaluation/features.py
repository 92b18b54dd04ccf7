"""The feature network a dataset is scored in: its own classifier, trained once and cached.

* MNIST: the classifier shipped in the package (99.22 % on MNIST's test split).
* Any other labelled dataset: the same architecture (:func:`.classifier.build_classifier`)
  trained on that dataset's training split the first time it is needed, cached by the data's
  content hash (``$MNIST_GAN_CACHE/features/``), with its accuracy on the dataset's test split
  recorded beside the weights and shown in every report.
* An unlabelled dataset: nothing to train a classifier on, so the MNIST classifier's features
  serve as a named fallback. Numbers in that space compare only with each other (other models
  scored on the same data the same way), and the class-based metrics are left out.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_gan.data.datasets import ImageDataset
from mnist_gan.errors import MNISTGANError
from mnist_gan.evaluation import classifier
from mnist_gan.files import write_text

log = logging.getLogger("mnist_gan")

EPOCHS = 5  # the shipped MNIST classifier's recipe (scripts/train_classifier.py)
BATCH = 128
LEARNING_RATE = 1e-3
SEED = 0
RECIPE_VERSION = 1  # part of the cache name: a new recipe trains anew


@dataclass(frozen=True)
class FeatureNetwork:
    """A classifier whose 128-d features and class probabilities score samples.

    ``kind`` is ``"shipped"`` (MNIST's), ``"trained"`` (a dataset's own) or ``"fallback"``
    (MNIST's, for a dataset without labels); ``title`` says which, for reports.
    """

    weights: Path
    kind: str
    title: str
    classes: tuple[str, ...]
    test_accuracy: float | None

    @property
    def key(self) -> str:
        """The weights' hash: keys every cache computed in this feature space."""
        return classifier.weights_hash(self.weights)

    @property
    def class_metrics(self) -> bool:
        """Whether its class probabilities mean the data's classes (not for a fallback)."""
        return self.kind != "fallback"

    def features_and_probs(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        """float64 features ``(N, 128)`` and class probabilities of uint8 images."""
        return classifier.features_and_probs(images, weights=self.weights)

    def describe(self) -> str:
        """One line: what the network is and how well it knows its classes."""
        accuracy = "" if self.test_accuracy is None else f", {self.test_accuracy:.2%} on "
        accuracy += "its test split" if accuracy else ""
        return f"{self.title}{accuracy}"


def shipped_network() -> FeatureNetwork:
    """The MNIST classifier shipped in the package."""
    info = classifier.classifier_info()
    return FeatureNetwork(
        classifier.WEIGHTS_PATH,
        "shipped",
        f"MNIST digit classifier shipped in the package ({classifier.WEIGHTS_PATH.name})",
        tuple(str(d) for d in range(10)),
        info.get("test_accuracy"),
    )


def cache_folder() -> Path:
    """Where trained feature networks are kept (``$MNIST_GAN_CACHE/features``)."""
    from mnist_gan.data.imagefiles import cache_folder as datasets

    return datasets().parent / "features"


def feature_network(data: ImageDataset, train: bool = True) -> FeatureNetwork:
    """The feature network ``data`` is scored in (module docstring); trains and caches a
    labelled dataset's own the first time (``train=False`` raises instead)."""
    if data.is_mnist:
        return shipped_network()
    if not data.labelled:
        shipped = shipped_network()
        title = (
            f"fallback: the MNIST digit classifier's features ({data.name} has no labels to "
            "train its own classifier on; these numbers compare only with other models "
            f"scored on {data.title} this way)"
        )
        return FeatureNetwork(shipped.weights, "fallback", title, (), None)
    stem = cache_folder() / f"{data.sha256[:32]}-v{RECIPE_VERSION}"
    weights, record = stem.with_suffix(".weights.npz"), stem.with_suffix(".json")
    if not (weights.is_file() and record.is_file()):
        if not train:
            raise MNISTGANError(f"no feature network for {data.title} yet")
        train_feature_network(data, weights, record)
    info = json.loads(record.read_text())
    title = (
        f"{data.name} classifier (the evaluator's architecture trained on its "
        f"{info['train_images']:,} training images, cached as {weights.name})"
    )
    return FeatureNetwork(weights, "trained", title, data.class_names, info["test_accuracy"])


def train_feature_network(data: ImageDataset, weights: Path, record: Path) -> None:
    """Train :func:`.classifier.build_classifier` on ``data``'s training split (the shipped
    classifier's recipe: Adam 1e-3, batch 128, 5 epochs, seed 0), measure it on the test
    split and write the weights and their record."""
    import keras

    log.info(
        "Training a feature network for %s on its %d training images (once; cached)",
        data.title,
        len(data.x_train),
    )
    keras.utils.set_random_seed(SEED)
    model = classifier.build_classifier(len(data.class_names))
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    start = time.perf_counter()
    x = classifier.prepare_images(data.x_train)
    model.fit(x, data.y_train, batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = None
    if len(data.x_test):
        logits = model.predict(classifier.prepare_images(data.x_test), verbose=0)
        accuracy = float(np.mean(np.argmax(logits, axis=1) == data.y_test))
    classifier.save_classifier_weights(model, weights)
    info = {
        "data": data.card(),
        "train_images": int(len(data.x_train)),
        "test_accuracy": accuracy,
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "learning_rate": LEARNING_RATE,
        "seed": SEED,
        "train_seconds": round(seconds, 1),
        "weights_sha256_16": classifier.weights_hash(weights),
    }
    write_text(record, json.dumps(info, indent=1) + "\n")
    shown = "no test split" if accuracy is None else f"{accuracy:.2%} on its test split"
    log.info("Feature network for %s: %s (%.0f s)", data.title, shown, seconds)

"""Score generated images against a dataset's test split, in that dataset's feature space.

The protocol (every number this package reports uses it unless it says otherwise):

* Data: the data the model trained on (MNIST by default; any :class:`ImageDataset`).
* Feature extractor: the dataset's feature network (:mod:`mnist_gan.evaluation.features`:
  MNIST's shipped classifier, a labelled dataset's own classifier, or a named fallback for
  unlabelled data), its 128-d ``features`` layer for the Fréchet distance, KID and
  precision/recall, its softmax for the classifier score, confidence and class histogram.
* Reference: the dataset's **test** split (MNIST: 10,000 images). Their features, mean,
  covariance and k-NN radii are computed once and cached as
  ``reference-<data hash>-<network hash>-v<version>.npz`` in ``$MNIST_GAN_CACHE``.
* Samples: N = 10,000 generated images, ``gan.generate(10000, seed=0)``, converted with
  ``mnist_gan.data.images.to_uint8(images, gan.config.pixel_range)``.
* KID: 100 subsets of 1,000 (seed 0). Precision/recall: k = 3, all N samples against the
  whole test split. Classifier score: one split over all N.
* Baselines: *real data* = N training images of the same dataset drawn with
  ``numpy.random.default_rng(0)`` (:func:`real_baseline_images`), scored exactly like samples:
  the floor, the best a perfect generator can expect at this N (not 0: two finite samples of
  one distribution still differ); *uniform noise* = N images of independent uniform pixels
  0..255 from ``default_rng(0)`` (:func:`noise_images`). A model's numbers lie between them.

Numbers computed with other N (the training callback's cheap setting, for example), on other
data or in another feature network are comparable only with each other.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from mnist_gan.data.datasets import MNIST_SHA256, ImageDataset, load_dataset
from mnist_gan.errors import MNISTGANError
from mnist_gan.evaluation import metrics
from mnist_gan.files import atomic_write

log = logging.getLogger("mnist_gan")

NUM_SAMPLES = 10_000
SEED = 0
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
PR_K = 3
CACHE_VERSION = 1

# Scalar results, in the order tables print them; True where higher is better.
SCALAR_METRICS: dict[str, bool] = {
    "frechet_distance": False,
    "kid": False,
    "kid_std": False,
    "classifier_score": True,
    "mean_max_confidence": True,
    "class_entropy": True,
    "smallest_class_share": True,
    "precision": True,
    "recall": True,
}


@dataclasses.dataclass
class ReferenceStatistics:
    """Classifier statistics of a reference image set (by default the MNIST test split).

    ``features`` ``(N, 128)``, their mean ``mu`` and covariance ``sigma``, and ``radii``: each
    image's distance to its ``k``-th nearest neighbour in feature space (for precision).
    """

    features: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    radii: np.ndarray
    k: int = PR_K
    source: str = ""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to ``path`` (``.npz``) atomically."""
        path = Path(path)
        with atomic_write(path) as tmp:
            np.savez(
                tmp,
                features=self.features.astype(np.float32),
                mu=self.mu,
                sigma=self.sigma,
                radii=self.radii,
                k=np.int64(self.k),
                source=np.str_(self.source),
                version=np.int64(CACHE_VERSION),
            )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReferenceStatistics:
        """Read what :meth:`save` wrote; :class:`MNISTGANError` if unreadable or outdated."""
        try:
            with np.load(path, allow_pickle=False) as f:
                if int(f["version"]) != CACHE_VERSION:
                    raise MNISTGANError(f"{path}: cache version {int(f['version'])}")
                return cls(
                    features=f["features"].astype(np.float64),
                    mu=f["mu"],
                    sigma=f["sigma"],
                    radii=f["radii"],
                    k=int(f["k"]),
                    source=str(f["source"]),
                )
        except (OSError, KeyError, ValueError) as err:
            raise MNISTGANError(f"cannot read reference statistics {path} ({err})") from None


def compute_reference_statistics(
    images: np.ndarray, k: int = PR_K, source: str = "custom", network: Any = None
) -> ReferenceStatistics:
    """Reference statistics of any image set (uint8 ``(N, 28, 28)``) in ``network``'s feature
    space (None: MNIST's shipped classifier); no caching.

    Use it to score against another reference, or with a few synthetic images in tests.
    """
    features, _ = _network(network).features_and_probs(images)
    mu, sigma = metrics.feature_statistics(features)
    return ReferenceStatistics(features, mu, sigma, metrics.knn_radii(features, k), k, source)


def _network(network: Any) -> Any:
    from mnist_gan.evaluation.features import shipped_network

    return shipped_network() if network is None else network


_MNIST: dict[str, ImageDataset] = {}


def mnist() -> ImageDataset:
    """MNIST as a dataset, loaded once per process (the default data of every score)."""
    if "data" not in _MNIST:
        _MNIST["data"] = load_dataset()
    return _MNIST["data"]


def cache_path(data: ImageDataset, network: Any, what: str) -> Path:
    """Where a statistic of ``data`` in ``network``'s space is cached (``$MNIST_GAN_CACHE``)."""
    from mnist_gan.data.sources import package_cache_path

    name = f"{what}-{data.sha256[:16]}-{network.key}-v{CACHE_VERSION}"
    return package_cache_path().parent / name


def reference_statistics(
    use_cache: bool = True, data: ImageDataset | None = None
) -> ReferenceStatistics:
    """Statistics of ``data``'s test split (default: MNIST's 10,000) in its feature network's
    space: the protocol's reference, cached on disk.

    The first call runs the feature network over the test split (training the network first for
    a new labelled dataset: :func:`mnist_gan.evaluation.features.feature_network`); later calls
    read the cache, keyed by the data's and the network's hashes, so new weights or changed
    data never meet stale statistics. An unwritable cache folder only costs the speed-up.
    """
    from mnist_gan.evaluation.features import feature_network

    data = mnist() if data is None else data
    if len(data.x_test) < 2:
        raise MNISTGANError(
            f"{data.title} has no test split to score against ({data.split}); score with --data "
            "pointing at the data files"
        )
    network = feature_network(data)
    path = cache_path(data, network, "reference").with_suffix(".npz")
    if use_cache and path.is_file():
        try:
            return ReferenceStatistics.load(path)
        except MNISTGANError as err:
            log.warning("recomputing reference statistics: %s", err)
    source = f"{data.title} test split ({len(data.x_test):,})"
    stats = compute_reference_statistics(data.x_test, PR_K, source, network)
    if use_cache:
        try:
            stats.save(path)
        except (OSError, MNISTGANError) as err:
            log.warning("could not cache reference statistics at %s (%s)", path, err)
    return stats


# The metrics that read the network's classes: left out (None) in a fallback feature space.
CLASS_METRICS = ("classifier_score", "mean_max_confidence", "class_entropy", "smallest_class_share")


def evaluate_features(
    features: np.ndarray,
    probs: np.ndarray,
    reference: ReferenceStatistics,
    *,
    seed: int = SEED,
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
    class_metrics: bool = True,
) -> dict[str, Any]:
    """All metrics from already-extracted ``features`` ``(N, 128)`` and ``probs`` ``(N, K)``.

    Returns the :data:`SCALAR_METRICS` as floats, plus ``num_samples`` and
    ``class_histogram`` (a list of K shares). Without ``class_metrics`` (a fallback feature
    network, whose classes are not the data's) those of :data:`CLASS_METRICS` and the
    histogram are None.
    """
    mu, sigma = metrics.feature_statistics(features)
    kid_mean, kid_std = metrics.kid(
        features, reference.features, kid_subsets, kid_subset_size, seed
    )
    histogram = metrics.class_histogram(probs)
    precision, recall = metrics.precision_recall(
        reference.features, features, k=reference.k, real_radii=reference.radii
    )
    result = {
        "num_samples": int(len(features)),
        "frechet_distance": metrics.frechet_distance(mu, sigma, reference.mu, reference.sigma),
        "kid": kid_mean,
        "kid_std": kid_std,
        "classifier_score": metrics.classifier_score(probs),
        "mean_max_confidence": metrics.mean_max_confidence(probs),
        "class_entropy": metrics.normalised_entropy(histogram),
        "smallest_class_share": metrics.smallest_class_share(histogram),
        "precision": precision,
        "recall": recall,
        "class_histogram": [round(float(h), 6) for h in histogram],
    }
    if not class_metrics:
        result.update(dict.fromkeys((*CLASS_METRICS, "class_histogram")))
    return result


def conditional_metrics(
    features: np.ndarray,
    probs: np.ndarray,
    labels: np.ndarray,
    reference_features: np.ndarray,
    reference_labels: np.ndarray,
) -> dict[str, Any]:
    """Label accuracy (overall and per class) and per-class Fréchet distance (intra-FD) of
    samples generated for ``labels``; the reference is split by ``reference_labels``."""
    classes = probs.shape[1]
    accuracy, per_class = metrics.label_accuracy(probs, labels, classes)
    intra = metrics.intra_frechet_distances(
        features, labels, reference_features, reference_labels, classes
    )
    finite = intra[np.isfinite(intra)]
    return {
        "label_accuracy": accuracy,
        "min_label_accuracy": float(np.nanmin(per_class)),
        # None for a class that was not requested (valid JSON, unlike NaN)
        "label_accuracy_per_class": [
            None if np.isnan(a) else round(float(a), 6) for a in per_class
        ],
        "intra_fd_mean": float(finite.mean()) if len(finite) else float("nan"),
        "intra_fd_min": float(finite.min()) if len(finite) else float("nan"),
        "intra_fd_max": float(finite.max()) if len(finite) else float("nan"),
        "intra_fd_per_class": [None if np.isnan(d) else round(float(d), 4) for d in intra],
    }


def reference_labels(data: ImageDataset | None = None) -> np.ndarray:
    """The classes of the reference images (``data``'s test split; default MNIST's), in the
    order of :func:`reference_statistics`."""
    return (mnist() if data is None else data).y_test


def evaluate_images(
    images: np.ndarray,
    num_samples: int | None = None,
    seed: int = SEED,
    *,
    reference: ReferenceStatistics | None = None,
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
    labels: np.ndarray | None = None,
    reference_digits: np.ndarray | None = None,
    data: ImageDataset | None = None,
) -> dict[str, Any]:
    """Score uint8 images ``(N, 28, 28)`` (or ``(N, 28, 28, 1)``) against ``data`` (None:
    MNIST) in its feature network's space.

    ``num_samples`` keeps the first that many images (None: all; the protocol is 10,000).
    ``seed`` fixes the KID subsets. ``reference`` defaults to :func:`reference_statistics`
    (``data``'s test split); pass :func:`compute_reference_statistics` of other images to score
    against those instead. Returns the dict of :func:`evaluate_features`; with ``labels`` (the
    class each image was generated for) also :func:`conditional_metrics`, the reference split by
    ``reference_digits`` (None: ``data``'s test labels). Class metrics need a feature network
    trained on the data's classes (not the fallback of unlabelled data).
    """
    from mnist_gan.evaluation.features import feature_network

    images = np.asarray(images)
    if num_samples is not None:
        if num_samples < 2:
            raise MNISTGANError(f"num_samples must be at least 2, got {num_samples}")
        if len(images) < num_samples:
            raise MNISTGANError(f"asked to score {num_samples} images but got {len(images)}")
        images = images[:num_samples]
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)[: len(images)]
        if len(labels) != len(images):
            raise MNISTGANError(f"{len(labels)} labels for {len(images)} images")
    if len(images) < 2:
        raise MNISTGANError("need at least 2 images to evaluate")
    data = mnist() if data is None else data
    network = feature_network(data)
    reference = reference if reference is not None else reference_statistics(data=data)
    features, probs = network.features_and_probs(images)
    result = evaluate_features(
        features,
        probs,
        reference,
        seed=seed,
        kid_subsets=kid_subsets,
        kid_subset_size=kid_subset_size,
        class_metrics=network.class_metrics,
    )
    if labels is not None and network.class_metrics:
        classes = reference_digits if reference_digits is not None else data.y_test
        result.update(conditional_metrics(features, probs, labels, reference.features, classes))
    return result


def evaluate_model(
    gan: Any,
    num_samples: int = NUM_SAMPLES,
    seed: int = SEED,
    *,
    reference: ReferenceStatistics | None = None,
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
    data: ImageDataset | None = None,
) -> dict[str, Any]:
    """Generate ``num_samples`` images with ``gan.generate(n, seed=seed)`` and score them
    against ``data``: by default the data the model trained on (:func:`data_of`).

    ``gan`` is an :class:`~mnist_gan.gan.model.MNISTGAN` (anything with ``generate`` and
    ``config.pixel_range``). Defaults are the protocol: 10,000 samples, seed 0.
    """
    from mnist_gan.data.images import to_uint8

    data = data if data is not None else data_of(gan)
    images, labels = gan.generate(num_samples, seed=seed, return_labels=True)
    return evaluate_images(
        to_uint8(images, gan.config.pixel_range),
        seed=seed,
        reference=reference,
        kid_subsets=kid_subsets,
        kid_subset_size=kid_subset_size,
        labels=labels,
        data=data,
    )


def data_of(gan: Any) -> ImageDataset:
    """The dataset ``gan`` was trained on, by its data card: MNIST, or the card's source read
    again when its content hash still matches; :class:`MNISTGANError` asking for the data
    otherwise (nothing is scored against data it did not train on without being told)."""
    card = getattr(gan, "data_card", None)
    if card is None or card.get("sha256") == MNIST_SHA256:
        return mnist()
    source = card.get("source")
    if source and Path(source).exists():
        data = load_dataset(source)
        if data.sha256 == card["sha256"]:
            return data
    raise MNISTGANError(
        f"this model was trained on {card.get('name')} ({str(card.get('sha256'))[:8]}), which "
        f"is not at {source!r} any more: give that data (--data PATH, or "
        "evaluate_model(gan, data=load_dataset(PATH)))"
    )

"""Score generated digits against the MNIST test set in the pinned classifier's feature space.

The protocol (every number this package reports uses it unless it says otherwise):

* Feature extractor: the shipped classifier (``mnist_gan.evaluation.classifier``), its 128-d
  ``features`` layer for the Fréchet distance, KID and precision/recall, its softmax for the
  classifier score, confidence and class histogram.
* Reference: the 10,000 images of the MNIST **test** split. Their features, mean, covariance
  and k-NN radii are computed once and cached as ``reference-test-<weights hash>.npz`` beside
  the MNIST cache (``mnist_gan.data.sources.package_cache_path().parent``, ``$MNIST_GAN_CACHE``).
* Samples: N = 10,000 generated images, ``gan.generate(10000, seed=0)``, converted with
  ``mnist_gan.data.images.to_uint8(images, gan.config.pixel_range)``.
* KID: 100 subsets of 1,000 (seed 0). Precision/recall: k = 3, all N samples against all
  10,000 test images. Classifier score: one split over all N.
* Baselines: *real data* = 10,000 training images drawn with ``numpy.random.default_rng(0)``
  (:func:`real_baseline_images`), scored exactly like samples; *uniform noise* = 10,000 images
  of independent uniform pixels 0..255 from ``default_rng(0)`` (:func:`noise_images`). A model's
  numbers lie between these two; the real-data row is the best a perfect generator can expect
  at this N (not 0: two finite samples of one distribution still differ).

Numbers computed with other N (the training callback's cheap setting, for example) are biased
(the Fréchet distance grows as N shrinks) and are comparable only with each other.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.evaluation import metrics
from mnist_gan.files import atomic_write, write_text

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
    images: np.ndarray, k: int = PR_K, source: str = "custom"
) -> ReferenceStatistics:
    """Reference statistics of any image set (uint8 ``(N, 28, 28)``); no caching.

    Use it to score against another reference, or with a few synthetic images in tests.
    """
    features, _ = _features_and_probs(images)
    mu, sigma = metrics.feature_statistics(features)
    return ReferenceStatistics(features, mu, sigma, metrics.knn_radii(features, k), k, source)


def reference_cache_path() -> Path:
    """Where the test-set statistics for the shipped classifier weights are cached."""
    from mnist_gan.data.sources import package_cache_path
    from mnist_gan.evaluation.classifier import weights_hash

    return package_cache_path().parent / f"reference-test-{weights_hash()}.npz"


def reference_statistics(use_cache: bool = True) -> ReferenceStatistics:
    """Statistics of the 10,000 MNIST test images (the protocol's reference), cached on disk.

    The first call loads MNIST (``mnist_gan.data.sources.load_mnist``) and runs the classifier (some
    seconds); later calls read the cache, which is keyed by the classifier weights' hash so new
    weights never meet stale statistics. An unwritable cache folder only costs the speed-up.
    """
    path = reference_cache_path()
    if use_cache and path.is_file():
        try:
            return ReferenceStatistics.load(path)
        except MNISTGANError as err:
            log.warning("recomputing reference statistics: %s", err)
    from mnist_gan.data.sources import load_mnist

    _, (x_test, _) = load_mnist()
    stats = compute_reference_statistics(x_test, PR_K, source="MNIST test split (10,000)")
    if use_cache:
        try:
            stats.save(path)
        except OSError as err:
            log.warning("could not cache reference statistics at %s (%s)", path, err)
    return stats


def evaluate_features(
    features: np.ndarray,
    probs: np.ndarray,
    reference: ReferenceStatistics,
    *,
    seed: int = SEED,
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
) -> dict[str, Any]:
    """All metrics from already-extracted ``features`` ``(N, 128)`` and ``probs`` ``(N, 10)``.

    Returns the :data:`SCALAR_METRICS` as floats, plus ``num_samples`` and
    ``class_histogram`` (a list of 10 shares).
    """
    mu, sigma = metrics.feature_statistics(features)
    kid_mean, kid_std = metrics.kid(
        features, reference.features, kid_subsets, kid_subset_size, seed
    )
    histogram = metrics.class_histogram(probs)
    precision, recall = metrics.precision_recall(
        reference.features, features, k=reference.k, real_radii=reference.radii
    )
    return {
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


def conditional_metrics(
    features: np.ndarray,
    probs: np.ndarray,
    labels: np.ndarray,
    reference_features: np.ndarray,
    reference_labels: np.ndarray,
) -> dict[str, Any]:
    """Label accuracy (overall and per digit) and per-digit Fréchet distance (intra-FD) of
    samples generated for ``labels``; the reference is split by ``reference_labels``."""
    accuracy, per_digit = metrics.label_accuracy(probs, labels)
    intra = metrics.intra_frechet_distances(features, labels, reference_features, reference_labels)
    finite = intra[np.isfinite(intra)]
    return {
        "label_accuracy": accuracy,
        "min_label_accuracy": float(np.nanmin(per_digit)),
        # None for a digit that was not requested (valid JSON, unlike NaN)
        "label_accuracy_per_digit": [
            None if np.isnan(a) else round(float(a), 6) for a in per_digit
        ],
        "intra_fd_mean": float(finite.mean()) if len(finite) else float("nan"),
        "intra_fd_min": float(finite.min()) if len(finite) else float("nan"),
        "intra_fd_max": float(finite.max()) if len(finite) else float("nan"),
        "intra_fd_per_digit": [None if np.isnan(d) else round(float(d), 4) for d in intra],
    }


def reference_labels() -> np.ndarray:
    """The digits of the reference images, in the order of :func:`reference_statistics`."""
    from mnist_gan.data.sources import load_mnist

    _, (_, y_test) = load_mnist()
    return y_test


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
) -> dict[str, Any]:
    """Score uint8 images ``(N, 28, 28)`` (or ``(N, 28, 28, 1)``) against the reference.

    ``num_samples`` keeps the first that many images (None: all; the protocol is 10,000).
    ``seed`` fixes the KID subsets. ``reference`` defaults to :func:`reference_statistics`
    (the MNIST test split); pass :func:`compute_reference_statistics` of other images to score
    against those instead. Returns the dict of :func:`evaluate_features`; with ``labels`` (the
    digit each image was generated for) also :func:`conditional_metrics`, the reference split by
    ``reference_digits`` (None: the MNIST test labels).
    """
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
    reference = reference if reference is not None else reference_statistics()
    features, probs = _features_and_probs(images)
    result = evaluate_features(
        features,
        probs,
        reference,
        seed=seed,
        kid_subsets=kid_subsets,
        kid_subset_size=kid_subset_size,
    )
    if labels is not None:
        digits = reference_digits if reference_digits is not None else reference_labels()
        result.update(conditional_metrics(features, probs, labels, reference.features, digits))
    return result


def evaluate_model(
    gan: Any,
    num_samples: int = NUM_SAMPLES,
    seed: int = SEED,
    *,
    reference: ReferenceStatistics | None = None,
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
) -> dict[str, Any]:
    """Generate ``num_samples`` images with ``gan.generate(n, seed=seed)`` and score them.

    ``gan`` is an :class:`~mnist_gan.gan.model.MNISTGAN` (anything with ``generate`` and
    ``pixel_range``). Defaults are the protocol: 10,000 samples, seed 0, MNIST test reference.
    """
    from mnist_gan.data.images import to_uint8

    images, labels = gan.generate(num_samples, seed=seed, return_labels=True)
    return evaluate_images(
        to_uint8(images, gan.config.pixel_range),
        seed=seed,
        reference=reference,
        kid_subsets=kid_subsets,
        kid_subset_size=kid_subset_size,
        labels=labels,
    )


# ---------------------------------------------------------------------------- baselines
def real_baseline_images(num_samples: int = NUM_SAMPLES, seed: int = SEED) -> np.ndarray:
    """``num_samples`` MNIST training images (uint8), drawn without replacement by ``seed``."""
    from mnist_gan.data.sources import load_mnist

    (x_train, _), _ = load_mnist()
    if not 2 <= num_samples <= len(x_train):
        raise MNISTGANError(f"num_samples must be in 2..{len(x_train)}, got {num_samples}")
    order = np.random.default_rng(seed).choice(len(x_train), num_samples, replace=False)
    return x_train[np.sort(order)]


def noise_images(num_samples: int = NUM_SAMPLES, seed: int = SEED) -> np.ndarray:
    """``num_samples`` uint8 images of independent uniform pixels 0..255 (``default_rng(seed)``)."""
    if num_samples < 2:
        raise MNISTGANError(f"num_samples must be at least 2, got {num_samples}")
    return np.random.default_rng(seed).integers(0, 256, (num_samples, 28, 28), dtype=np.uint8)


def real_baseline(
    num_samples: int = NUM_SAMPLES, seed: int = SEED, use_cache: bool = True
) -> dict[str, Any]:
    """The metrics of :func:`real_baseline_images` vs the test set (the best to expect)."""
    return _cached_baseline("real", real_baseline_images, num_samples, seed, use_cache)


def noise_baseline(
    num_samples: int = NUM_SAMPLES, seed: int = SEED, use_cache: bool = True
) -> dict[str, Any]:
    """The metrics of :func:`noise_images` vs the test set (what a useless generator gets)."""
    return _cached_baseline("noise", noise_images, num_samples, seed, use_cache)


def _cached_baseline(
    kind: str, make_images: Any, num_samples: int, seed: int, use_cache: bool
) -> dict[str, Any]:
    path = reference_cache_path().with_name(
        reference_cache_path().stem.replace("reference-test", f"baseline-{kind}")
        + f"-n{num_samples}-s{seed}-v{CACHE_VERSION}.json"
    )
    if use_cache and path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    result = evaluate_images(make_images(num_samples, seed), seed=seed)
    if use_cache:
        try:
            write_text(path, json.dumps(result, indent=1))
        except MNISTGANError as err:
            log.warning("could not cache the %s baseline at %s (%s)", kind, path, err)
    return result


def _features_and_probs(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from mnist_gan.evaluation.classifier import features_and_probs

    return features_and_probs(images)

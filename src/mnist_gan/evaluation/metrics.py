"""Sample-quality metrics as small pure numpy functions (no TensorFlow, no model).

Every function takes arrays that a feature extractor already produced: ``features`` are
``(N, D)`` float arrays (here the classifier's 128-d feature layer), ``probs`` are ``(N, K)``
class probabilities whose rows sum to 1. They follow the published definitions:

* :func:`frechet_distance` - Fréchet distance between two Gaussians (Heusel et al. 2017, FID),
  computed like TF-GAN / pytorch-fid, including their handling of near-singular products.
* :func:`kid` - Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² estimate
  with the cubic polynomial kernel, averaged over random subsets.
* :func:`classifier_score` - the Inception-Score formula exp(E_x[KL(p(y|x) || p(y))]) with an
  MNIST classifier (TF-GAN's ``mnist_score``); 1 (worst) .. number of classes (best).
* :func:`mean_max_confidence`, :func:`class_histogram`, :func:`normalised_entropy`,
  :func:`smallest_class_share` - how sure the classifier is and how evenly the digits are
  covered (a collapsed GAN has a low entropy and a smallest share near 0).
* :func:`precision_recall` - the k-NN manifold precision and recall of Kynkäänniemi et al.
  2019 (k = 3), with chunked distances so 10k x 10k sets fit in memory.
"""

from __future__ import annotations

import warnings

import numpy as np

from mnist_gan.errors import MNISTGANError


# ---------------------------------------------------------------------------- Fréchet distance
def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` (unbiased, ``N - 1``) of ``(N, D)`` features."""
    x = _as_2d(features, "features")
    if len(x) < 2:
        raise MNISTGANError("feature statistics need at least 2 samples")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    eps: float = 1e-6,
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``d² = ||mu1 - mu2||² + Tr(sigma1 + sigma2 - 2 sqrtm(sigma1 @ sigma2))``. As in pytorch-fid
    and TF-GAN, the matrix square root comes from ``scipy.linalg.sqrtm``; when the product is
    near-singular (the root is not finite, or has a non-negligible imaginary part) ``eps`` is
    added to both diagonals and the root recomputed; a tiny imaginary residue from round-off is
    dropped. The result is clamped at 0. Lower is better; 0 for identical Gaussians.
    """
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise MNISTGANError(
            f"frechet_distance: shapes do not match: mu {mu1.shape} / {mu2.shape}, "
            f"sigma {sigma1.shape} / {sigma2.shape}"
        )
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)) or _imag_too_large(covmean):
        offset = np.eye(d) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    try:
        from scipy.linalg import sqrtm
    except ImportError:  # pragma: no cover - scipy is a dependency; keep numpy-only installs going
        return _sqrtm_numpy(matrix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular-matrix chatter; handled by the caller
        return sqrtm(matrix)


def _sqrtm_numpy(matrix: np.ndarray) -> np.ndarray:
    """Principal square root by eigendecomposition (fallback when scipy is not installed)."""
    values, vectors = np.linalg.eig(matrix)
    root = vectors @ np.diag(np.sqrt(values.astype(complex))) @ np.linalg.pinv(vectors)
    return root


def _imag_too_large(matrix: np.ndarray, atol: float = 1e-3) -> bool:
    return bool(np.iscomplexobj(matrix) and not np.allclose(np.diagonal(matrix).imag, 0, atol=atol))


# ---------------------------------------------------------------------------- KID
def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel ``k(x, y) = (x·y / d + 1)³`` for all row pairs: ``(n, d), (m, d) -> (n, m)``."""
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² between samples ``x`` (m, d) and ``y`` (n, d) with :func:`polynomial_kernel`.

    ``sum_{i≠j} k(x_i, x_j) / (m(m-1)) + sum_{i≠j} k(y_i, y_j) / (n(n-1)) - 2 mean k(x_i, y_j)``;
    can be slightly negative when the two distributions are equal.
    """
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise MNISTGANError("MMD needs at least 2 samples in each set")
    k_xx = polynomial_kernel(x, x)
    k_yy = polynomial_kernel(y, y)
    k_xy = polynomial_kernel(x, y)
    term_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    term_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(term_xx + term_yy - 2.0 * k_xy.mean())


def kid(
    features_a: np.ndarray,
    features_b: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance: ``(mean, std)`` of :func:`mmd2_unbiased` over random subsets.

    Each of ``num_subsets`` rounds draws ``subset_size`` rows (without replacement) from each
    set; ``subset_size`` is capped at the smaller set's size. ``seed`` fixes the draws. Lower is
    better; about 0 (possibly slightly negative) for samples of the same distribution.
    """
    a = _as_2d(features_a, "features_a")
    b = _as_2d(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise MNISTGANError(f"kid: feature sizes differ ({a.shape[1]} vs {b.shape[1]})")
    if num_subsets < 1 or subset_size < 2:
        raise MNISTGANError("kid: num_subsets must be >= 1 and subset_size >= 2")
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        values[i] = mmd2_unbiased(x, y)
    return float(values.mean()), float(values.std())


# ---------------------------------------------------------------------------- class predictions
def classifier_score(probs: np.ndarray) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))`` over all rows of ``probs`` (one split).

    ``p(y)`` is the mean of the rows. Between 1 (every image gets the same prediction) and K,
    the number of classes (confident predictions spread evenly over all classes). Terms with
    ``p(y|x) = 0`` contribute 0.
    """
    p = _probs(probs)
    marginal = p.mean(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def mean_max_confidence(probs: np.ndarray) -> float:
    """Mean over images of the top class probability (1: the classifier is always sure)."""
    return float(_probs(probs).max(axis=1).mean())


def class_histogram(probs_or_labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Share of images per predicted class, ``(num_classes,)`` summing to 1.

    Accepts ``(N, K)`` probabilities (each image counts for its arg-max class) or ``(N,)``
    integer labels in ``0 .. num_classes - 1``.
    """
    x = np.asarray(probs_or_labels)
    if x.ndim == 2:
        labels = x.argmax(axis=1)
        num_classes = max(num_classes, x.shape[1])
    elif x.ndim == 1 and np.issubdtype(x.dtype, np.integer):
        labels = x
    else:
        raise MNISTGANError(
            f"class_histogram takes (N, K) probabilities or (N,) integer labels, got {x.shape} "
            f"{x.dtype}"
        )
    if labels.size == 0:
        raise MNISTGANError("class_histogram: no predictions")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise MNISTGANError(f"labels must be in 0..{num_classes - 1}")
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    return counts / counts.sum()


def normalised_entropy(histogram: np.ndarray) -> float:
    """Entropy of a class histogram divided by ``log K``: 1 for uniform, 0 for one class."""
    h = np.asarray(histogram, dtype=np.float64)
    h = h / h.sum()
    nonzero = h[h > 0]
    return float(-(nonzero * np.log(nonzero)).sum() / np.log(len(h)))


def smallest_class_share(histogram: np.ndarray) -> float:
    """The smallest entry of a class histogram (0.1 for perfectly even digits, 0 when a digit
    is never produced: the mode-collapse signal)."""
    h = np.asarray(histogram, dtype=np.float64)
    return float((h / h.sum()).min())


# ---------------------------------------------------------------------------- precision / recall
def label_accuracy(
    probs: np.ndarray, requested: np.ndarray, num_classes: int = 10
) -> tuple[float, np.ndarray]:
    """Share of samples the classifier assigns to the digit they were asked for: overall, and
    per requested digit (``(num_classes,)``, NaN for a digit never requested)."""
    predicted = np.argmax(_probs(probs), axis=1)
    requested = np.asarray(requested).reshape(-1)
    if requested.shape != predicted.shape:
        raise MNISTGANError(f"{len(requested)} labels for {len(predicted)} samples")
    hits = predicted == requested
    per_class = np.array(
        [
            hits[requested == c].mean() if np.any(requested == c) else np.nan
            for c in range(num_classes)
        ]
    )
    return float(hits.mean()), per_class


def intra_frechet_distances(
    features: np.ndarray,
    labels: np.ndarray,
    reference_features: np.ndarray,
    reference_labels: np.ndarray,
    num_classes: int = 10,
) -> np.ndarray:
    """Fréchet distance of each digit's samples to that digit's reference images (intra-FD,
    Miyato & Koyama 2018), ``(num_classes,)``; NaN for a digit with fewer than 2 samples."""
    labels, reference_labels = np.asarray(labels).reshape(-1), np.asarray(reference_labels)
    distances = np.full(num_classes, np.nan)
    for c in range(num_classes):
        mine, theirs = features[labels == c], reference_features[reference_labels == c]
        if len(mine) >= 2 and len(theirs) >= 2:
            distances[c] = frechet_distance(*feature_statistics(mine), *feature_statistics(theirs))
    return distances


def knn_radii(features: np.ndarray, k: int = 3, chunk_size: int = 1000) -> np.ndarray:
    """Distance from each row to its k-th nearest *other* row, ``(N,)`` (Euclidean)."""
    x = _as_2d(features, "features")
    if not 1 <= k < len(x):
        raise MNISTGANError(f"k must be between 1 and N - 1 = {len(x) - 1}, got {k}")
    radii = np.empty(len(x))
    for start in range(0, len(x), chunk_size):
        d2 = _squared_distances(x[start : start + chunk_size], x)
        # Index 0 after partitioning is the point itself (distance 0), so the k-th neighbour
        # is at index k.
        radii[start : start + chunk_size] = np.partition(d2, k, axis=1)[:, k]
    return np.sqrt(radii)


def precision_recall(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    k: int = 3,
    chunk_size: int = 1000,
    real_radii: np.ndarray | None = None,
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019): ``(precision, recall)``.

    Each set's manifold is the union of balls around its points with radius = distance to the
    k-th nearest neighbour in the same set. Precision: share of fake samples inside the real
    manifold (are the samples realistic?). Recall: share of real samples inside the fake
    manifold (is the variety covered?). Both in [0, 1], higher is better; 1/1 for identical
    sets. Distances are computed ``chunk_size`` rows at a time (float64, ``chunk_size x N``
    memory). ``real_radii`` may pass precomputed ``knn_radii(real_features, k)``.
    """
    real = _as_2d(real_features, "real_features")
    fake = _as_2d(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise MNISTGANError(f"feature sizes differ ({real.shape[1]} vs {fake.shape[1]})")
    r_real = knn_radii(real, k, chunk_size) if real_radii is None else np.asarray(real_radii)
    if r_real.shape != (len(real),):
        raise MNISTGANError(f"real_radii has shape {r_real.shape}, expected ({len(real)},)")
    r_fake = knn_radii(fake, k, chunk_size)
    r2_real, r2_fake = r_real**2, r_fake**2
    fake_inside = np.zeros(len(fake), dtype=bool)
    real_inside = np.zeros(len(real), dtype=bool)
    for start in range(0, len(fake), chunk_size):
        stop = start + chunk_size
        d2 = _squared_distances(fake[start:stop], real)  # (chunk, n_real)
        fake_inside[start:stop] = (d2 <= r2_real[None, :]).any(axis=1)
        real_inside |= (d2 <= r2_fake[start:stop, None]).any(axis=0)
    return float(fake_inside.mean()), float(real_inside.mean())


# ---------------------------------------------------------------------------- helpers
def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0)


def _as_2d(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise MNISTGANError(f"{name} must be a non-empty (N, D) array, got shape {x.shape}")
    return x


def _probs(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise MNISTGANError(f"probs must be a non-empty (N, K) array, got shape {p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise MNISTGANError("probs rows must be non-negative and sum to 1")
    return p

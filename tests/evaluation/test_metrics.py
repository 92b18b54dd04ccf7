"""The sample-quality metrics against direct numpy/scipy reference computations (fast)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial.distance
import scipy.stats

from mnist_gan.errors import MNISTGANError
from mnist_gan.evaluation import metrics


def random_gaussian(rng: np.random.Generator, d: int) -> tuple[np.ndarray, np.ndarray]:
    a = rng.normal(size=(d, d))
    return rng.normal(size=d), a @ a.T + 0.1 * np.eye(d)


# ---------------------------------------------------------------------------- Fréchet distance
def test_frechet_distance_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    mu1, s1 = random_gaussian(rng, 6)
    mu2, s2 = random_gaussian(rng, 6)
    # d^2 = |mu1-mu2|^2 + Tr(s1 + s2 - 2 (s1^1/2 s2 s1^1/2)^1/2), the symmetric form.
    r1 = scipy.linalg.sqrtm(s1).real
    expected = (
        np.sum((mu1 - mu2) ** 2)
        + np.trace(s1)
        + np.trace(s2)
        - 2 * np.trace(scipy.linalg.sqrtm(r1 @ s2 @ r1).real)
    )
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert metrics.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_of_1d_gaussians_is_closed_form() -> None:
    # For N(m1, v1), N(m2, v2): (m1 - m2)^2 + (sqrt(v1) - sqrt(v2))^2.
    value = metrics.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]])
    assert value == pytest.approx(4.0 + 1.0)


def test_frechet_distance_of_identical_statistics_is_zero() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 8))
    mu, sigma = metrics.feature_statistics(x)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_survives_singular_covariances() -> None:
    # Fewer samples than dimensions and dead (always zero) features: rank-deficient sigmas,
    # as ReLU features give. The eps retry must keep the result finite and non-negative.
    rng = np.random.default_rng(2)
    a = np.maximum(rng.normal(size=(20, 64)), 0)
    b = np.maximum(rng.normal(size=(20, 64)) + 0.5, 0)
    a[:, :10] = 0
    b[:, :10] = 0
    value = metrics.frechet_distance(*metrics.feature_statistics(a), *metrics.feature_statistics(b))
    assert np.isfinite(value) and value > 0


def test_feature_statistics_are_mean_and_unbiased_covariance() -> None:
    x = np.random.default_rng(3).normal(size=(50, 4))
    mu, sigma = metrics.feature_statistics(x)
    centred = x - x.mean(0)
    np.testing.assert_allclose(mu, x.mean(0))
    np.testing.assert_allclose(sigma, centred.T @ centred / 49)


def test_frechet_distance_rejects_mismatched_shapes() -> None:
    with pytest.raises(MNISTGANError):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


# ---------------------------------------------------------------------------- KID
def brute_force_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (float(a @ b) / d + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_unbiased_matches_a_brute_force_loop() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 5)), rng.normal(size=(9, 5)) + 0.3
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(brute_force_mmd2(x, y), rel=1e-10)


def test_kid_averages_the_unbiased_mmd_over_seeded_subsets() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(12, 3)), rng.normal(size=(10, 3)) + 1.0
    mean, std = metrics.kid(a, b, num_subsets=4, subset_size=6, seed=7)
    draws = np.random.default_rng(7)
    values = []
    for _ in range(4):
        x = a[draws.choice(12, 6, replace=False)]
        y = b[draws.choice(10, 6, replace=False)]
        values.append(brute_force_mmd2(x, y))
    assert mean == pytest.approx(np.mean(values), rel=1e-10)
    assert std == pytest.approx(np.std(values), rel=1e-8)
    assert metrics.kid(a, b, 4, 6, seed=7) == (mean, std)  # the seed fixes the subsets


def test_kid_is_near_zero_for_one_distribution_and_large_for_two() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same, _ = metrics.kid(a, b, num_subsets=5, subset_size=200)
    different, _ = metrics.kid(a, b + 2.0, num_subsets=5, subset_size=200)
    assert abs(same) < 0.02 < different


def test_kid_caps_the_subset_size_at_the_smaller_set() -> None:
    rng = np.random.default_rng(8)
    mean, std = metrics.kid(rng.normal(size=(5, 2)), rng.normal(size=(30, 2)), 3, 1000)
    assert np.isfinite(mean) and np.isfinite(std)


# ---------------------------------------------------------------------------- class predictions
def test_classifier_score_is_the_number_of_classes_for_confident_even_predictions() -> None:
    probs = np.eye(10)[np.arange(1000) % 10]
    assert metrics.classifier_score(probs) == pytest.approx(10.0)


def test_classifier_score_is_one_for_identical_predictions() -> None:
    assert metrics.classifier_score(np.tile([0.7, 0.2, 0.1] + [0.0] * 7, (50, 1))) == pytest.approx(
        1.0
    )
    assert metrics.classifier_score(np.eye(10)[np.full(50, 3)]) == pytest.approx(1.0)


def test_classifier_score_matches_the_kl_formula() -> None:
    rng = np.random.default_rng(9)
    logits = rng.normal(size=(40, 10)) * 3
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    py = p.mean(0)
    kl = [scipy.stats.entropy(row, py) for row in p]  # KL(p(y|x) || p(y))
    assert metrics.classifier_score(p) == pytest.approx(np.exp(np.mean(kl)), rel=1e-10)


def test_mean_max_confidence() -> None:
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]])
    assert metrics.mean_max_confidence(probs) == pytest.approx((0.9 + 0.6 + 0.5) / 3)


def test_class_histogram_entropy_and_smallest_share() -> None:
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    histogram = metrics.class_histogram(labels, num_classes=4)
    np.testing.assert_allclose(histogram, [0.5, 0.3, 0.2, 0.0])
    entropy = -(0.5 * np.log(0.5) + 0.3 * np.log(0.3) + 0.2 * np.log(0.2)) / np.log(4)
    assert metrics.normalised_entropy(histogram) == pytest.approx(entropy)
    assert metrics.smallest_class_share(histogram) == 0.0
    # From probabilities: each row counts for its arg-max class.
    probs = np.eye(10)[labels] * 0.8 + 0.02
    np.testing.assert_allclose(metrics.class_histogram(probs), list(histogram) + [0.0] * 6)


def test_even_classes_have_entropy_one_and_share_one_tenth() -> None:
    histogram = metrics.class_histogram(np.arange(100) % 10)
    assert metrics.normalised_entropy(histogram) == pytest.approx(1.0)
    assert metrics.smallest_class_share(histogram) == pytest.approx(0.1)
    assert metrics.normalised_entropy(metrics.class_histogram(np.zeros(10, int))) == pytest.approx(
        0.0
    )


def test_bad_probabilities_are_rejected() -> None:
    with pytest.raises(MNISTGANError):
        metrics.classifier_score(np.full((3, 10), 0.5))
    with pytest.raises(MNISTGANError):
        metrics.class_histogram(np.array([0.5, 1.5]))


# ---------------------------------------------------------------------------- precision / recall
def brute_force_precision_recall(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    d_rr = scipy.spatial.distance.cdist(real, real)
    d_ff = scipy.spatial.distance.cdist(fake, fake)
    d_fr = scipy.spatial.distance.cdist(fake, real)
    r_real = np.sort(d_rr, axis=1)[:, k]  # column 0 is the point itself
    r_fake = np.sort(d_ff, axis=1)[:, k]
    precision = np.mean([(d_fr[i] <= r_real).any() for i in range(len(fake))])
    recall = np.mean([(d_fr[:, j] <= r_fake).any() for j in range(len(real))])
    return float(precision), float(recall)


def test_knn_radii_match_a_sorted_distance_matrix() -> None:
    x = np.random.default_rng(10).normal(size=(37, 4))
    expected = np.sort(scipy.spatial.distance.cdist(x, x), axis=1)[:, 3]
    np.testing.assert_allclose(metrics.knn_radii(x, k=3, chunk_size=8), expected, rtol=1e-8)


def test_precision_recall_match_a_brute_force_computation() -> None:
    rng = np.random.default_rng(11)
    real = rng.normal(size=(60, 5))
    fake = rng.normal(size=(45, 5)) * 1.5 + 0.5
    expected = brute_force_precision_recall(real, fake, k=3)
    assert metrics.precision_recall(real, fake, k=3, chunk_size=7) == pytest.approx(expected)
    assert 0 < expected[0] < 1 and 0 < expected[1] < 1  # the case is not trivial


def test_precision_recall_of_identical_sets_is_one() -> None:
    x = np.random.default_rng(12).normal(size=(100, 8))
    assert metrics.precision_recall(x, x.copy()) == (1.0, 1.0)


def test_precision_recall_of_far_apart_sets_is_zero() -> None:
    rng = np.random.default_rng(13)
    real, fake = rng.normal(size=(80, 8)), rng.normal(size=(80, 8)) + 100.0
    assert metrics.precision_recall(real, fake) == (0.0, 0.0)


def test_precision_recall_see_mode_collapse_as_low_recall() -> None:
    rng = np.random.default_rng(14)
    real = rng.normal(size=(300, 2))
    collapsed = rng.normal(size=(300, 2)) * 0.05  # all samples in one small, realistic spot
    precision, recall = metrics.precision_recall(real, collapsed)
    assert precision > 0.9 and recall < 0.2


def test_precision_recall_accept_precomputed_real_radii() -> None:
    rng = np.random.default_rng(15)
    real, fake = rng.normal(size=(50, 3)), rng.normal(size=(40, 3))
    radii = metrics.knn_radii(real, 3)
    assert metrics.precision_recall(real, fake, real_radii=radii) == metrics.precision_recall(
        real, fake
    )


def test_numpy_square_root_fallback_agrees_with_scipy() -> None:
    rng = np.random.default_rng(16)
    _, s1 = random_gaussian(rng, 5)
    _, s2 = random_gaussian(rng, 5)
    root = metrics._sqrtm_numpy(s1 @ s2)
    np.testing.assert_allclose(root @ root, s1 @ s2, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(np.trace(root).real, np.trace(scipy.linalg.sqrtm(s1 @ s2)).real)

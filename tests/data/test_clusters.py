"""Clustering for sfast's pseudo-labels (mnist_gan.data.clusters): separated groups recovered
deterministically, a renamed clustering matched back, frequencies."""

import numpy as np
import pytest

from mnist_gan import MNISTGANError
from mnist_gan.data.clusters import (
    assign_clusters,
    cluster_frequencies,
    cluster_ids,
    fit_clusters,
    match_ids,
)


def blobs(per_group: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images of 3 well separated shapes (a square in one of 3 corners) with pixel noise,
    and each image's true group."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(3), per_group)
    images = rng.integers(0, 40, (len(groups), 28, 28)).astype(np.uint8)
    for i, g in enumerate(groups):
        y, x = [(2, 2), (2, 16), (16, 9)][g]
        images[i, y : y + 10, x : x + 10] = 220
    order = rng.permutation(len(groups))
    return images[order], groups[order]


# ------------------------------------------------------------------ the pseudo-labels
def test_clustering_recovers_separated_groups_deterministically():
    images, groups = blobs()
    ids = cluster_ids(images, 3, seed=1, pca_dims=5)
    assert ids.dtype == np.int32 and sorted(set(ids)) == [0, 1, 2]
    # The same partition as the truth, whatever the names.
    np.testing.assert_array_equal(match_ids(groups, ids, 3), groups)
    np.testing.assert_array_equal(cluster_ids(images, 3, seed=1, pca_dims=5), ids)
    # New images of the same shapes land in their group's cluster.
    fresh, fresh_groups = blobs(10, seed=7)
    clustering = fit_clusters(images, 3, seed=1, pca_dims=5)
    assert clustering.k == 3 and clustering.axes.shape == (5, 784)
    assigned = assign_clusters(clustering, fresh, chunk=7)  # chunks cross group boundaries
    np.testing.assert_array_equal(match_ids(fresh_groups, assigned, 3), fresh_groups)
    with pytest.raises(MNISTGANError, match="cannot make 100 clusters of 90 images"):
        fit_clusters(images, 100, seed=0)


def test_matching_maps_a_renamed_clustering_back_and_frequencies_sum_to_one():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 6, 500)
    renamed = rng.permutation(6)[ids]
    np.testing.assert_array_equal(match_ids(ids, renamed, 6), ids)
    # A few images moved: the renaming still keeps the most images' ids.
    noisy = renamed.copy()
    noisy[:20] = (noisy[:20] + 1) % 6
    assert (match_ids(ids, noisy, 6) == ids).mean() >= 0.96
    with pytest.raises(MNISTGANError, match="cannot match"):
        match_ids(ids, ids[:3], 6)
    freqs = cluster_frequencies(np.array([0, 0, 1, 3]), 5)
    np.testing.assert_allclose(freqs, [0.5, 0.25, 0, 0.25, 0])
    assert freqs.dtype == np.float32 and freqs.sum() == pytest.approx(1.0)

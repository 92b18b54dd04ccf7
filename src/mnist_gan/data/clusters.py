"""Pseudo-labels for the ``sfast`` preset: cluster the training images without their labels.

The self-conditioned GAN (Liu et al., CVPR 2020) trains a conditional GAN on cluster ids in
place of the dataset's labels. Here the clustering is the cheap first version: PCA of the
pixels (from an SVD of a seeded subsample), then k-means (``scipy.cluster.vq.kmeans2``,
k-means++ start) in that space. Everything is a pure function of the images and the seed.
:func:`match_ids` renames a new clustering's ids to agree with an old one (Hungarian matching
on their overlap), so ids stay stable when a run is re-clustered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.optimize import linear_sum_assignment

from mnist_gan.errors import MNISTGANError

PCA_SAMPLE = 10_000  # images the principal axes are estimated from (MNIST's 60k need no more)


@dataclass(frozen=True)
class Clustering:
    """A fitted clustering: ``mean`` (D,) and ``axes`` (dims, D) of the PCA, ``centers``
    (k, dims) in PCA space. :func:`assign_clusters` maps images to ids with it."""

    mean: np.ndarray
    axes: np.ndarray
    centers: np.ndarray

    @property
    def k(self) -> int:
        """The number of clusters."""
        return int(self.centers.shape[0])


def _flat(images: np.ndarray) -> np.ndarray:
    """``(N, ...)`` images as float64 ``(N, D)`` rows scaled to [0, 1] (uint8 or float)."""
    x = np.asarray(images)
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    return x.reshape(len(x), -1).astype(np.float64) / scale


def fit_clusters(images: np.ndarray, k: int, seed: int, pca_dims: int = 50) -> Clustering:
    """Cluster ``images`` ((N, H, W[, 1]), uint8 or float) into ``k`` groups, deterministically.

    PCA to ``pca_dims`` dimensions (capped by the data's rank) from up to 10,000 images drawn
    with ``seed``, then k-means++ and 20 Lloyd iterations seeded by ``seed``. A cluster may end
    up empty on pathological data; its frequency is then 0 and it is never sampled.
    Raises :class:`MNISTGANError` when there are fewer images than clusters.
    """
    x = _flat(images)
    if k < 1 or len(x) < k:
        raise MNISTGANError(f"cannot make {k} clusters of {len(x)} images")
    rng = np.random.default_rng([seed, 0x5FA57])
    sample = x if len(x) <= PCA_SAMPLE else x[np.sort(rng.choice(len(x), PCA_SAMPLE, False))]
    mean = sample.mean(axis=0)
    centred = sample - mean
    # The principal axes from the D x D scatter matrix: on 10,000 MNIST images an order of
    # magnitude faster than an SVD of the images themselves (the axes' signs do not matter).
    values, vectors = np.linalg.eigh(centred.T @ centred)
    rank = int((values > values.max() * 1e-10).sum())
    axes = vectors[:, ::-1][:, : max(1, min(pca_dims, rank))].T
    projected = (x - mean) @ axes.T
    centers, _ = kmeans2(projected, k, iter=20, minit="++", rng=rng, missing="warn")
    return Clustering(mean, axes, centers)


def assign_clusters(clustering: Clustering, images: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """The int32 id (0..k-1) of the nearest cluster centre of each image, ``(N,)``."""
    x = _flat(images)
    ids = np.empty(len(x), np.int32)
    squared_centers = (clustering.centers**2).sum(axis=1)
    for start in range(0, len(x), chunk):  # bounded memory at k = 100 on 60k images
        p = (x[start : start + chunk] - clustering.mean) @ clustering.axes.T
        distances = squared_centers[None, :] - 2.0 * p @ clustering.centers.T
        ids[start : start + chunk] = distances.argmin(axis=1)
    return ids


def cluster_ids(images: np.ndarray, k: int, seed: int, pca_dims: int = 50) -> np.ndarray:
    """int32 ``(N,)`` cluster ids of ``images`` (:func:`fit_clusters` then
    :func:`assign_clusters`); the same images and seed always give the same ids."""
    return assign_clusters(fit_clusters(images, k, seed, pca_dims), images)


def match_ids(reference: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """``ids`` renamed so they agree with ``reference`` (both int ``(N,)`` in 0..k-1, of the
    same images) as far as a one-to-one renaming can: the Hungarian assignment maximising the
    number of images that keep their id. A permuted copy of ``reference`` maps back exactly."""
    reference, ids = np.asarray(reference), np.asarray(ids)
    if reference.shape != ids.shape:
        raise MNISTGANError(f"cannot match {ids.shape} ids to {reference.shape} reference ids")
    overlap = np.zeros((k, k), np.int64)
    np.add.at(overlap, (ids, reference), 1)
    new, old = linear_sum_assignment(overlap, maximize=True)
    rename = np.empty(k, np.int32)
    rename[new] = old
    return rename[ids]


def cluster_frequencies(ids: np.ndarray, k: int) -> np.ndarray:
    """float32 ``(k,)`` share of images in each cluster; sums to 1."""
    ids = np.asarray(ids).reshape(-1)
    if ids.size == 0:
        raise MNISTGANError("no cluster ids to count")
    counts = np.bincount(ids, minlength=k).astype(np.float64)
    return (counts / counts.sum()).astype(np.float32)

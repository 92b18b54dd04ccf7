"""The two baselines every score is shown beside, for the data it is scored against.

*Real data* (:func:`real_baseline`): N training images of the same dataset, drawn without
replacement with ``numpy.random.default_rng(seed)``, scored exactly like samples against the test
split: the floor, the best a perfect generator can expect at this N. *Uniform noise*
(:func:`noise_baseline`): N images of independent uniform pixels, what a useless generator gets.
Both are cached per dataset, feature network, N and seed beside the reference statistics.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np

from mnist_gan.data.datasets import ImageDataset
from mnist_gan.errors import MNISTGANError
from mnist_gan.evaluation.evaluate import NUM_SAMPLES, SEED, cache_path, evaluate_images, mnist
from mnist_gan.files import write_text

log = logging.getLogger("mnist_gan")


def real_baseline_images(
    num_samples: int = NUM_SAMPLES, seed: int = SEED, data: ImageDataset | None = None
) -> np.ndarray:
    """``num_samples`` training images of ``data`` (None: MNIST), uint8, drawn without
    replacement by ``seed`` (all of them when there are fewer)."""
    x_train = (mnist() if data is None else data).x_train
    if num_samples < 2:
        raise MNISTGANError(f"num_samples must be at least 2, got {num_samples}")
    count = min(num_samples, len(x_train))
    order = np.random.default_rng(seed).choice(len(x_train), count, replace=False)
    return x_train[np.sort(order)]


def noise_images(num_samples: int = NUM_SAMPLES, seed: int = SEED) -> np.ndarray:
    """``num_samples`` uint8 images of independent uniform pixels 0..255 (``default_rng(seed)``)."""
    if num_samples < 2:
        raise MNISTGANError(f"num_samples must be at least 2, got {num_samples}")
    return np.random.default_rng(seed).integers(0, 256, (num_samples, 28, 28), dtype=np.uint8)


def real_baseline(
    num_samples: int = NUM_SAMPLES,
    seed: int = SEED,
    use_cache: bool = True,
    data: ImageDataset | None = None,
) -> dict[str, Any]:
    """The metrics of :func:`real_baseline_images` vs the test split: the floor, the best to
    expect at this N on this data."""
    images = real_baseline_images(num_samples, seed, data)
    return _cached_baseline("real", images, seed, use_cache, data)


def noise_baseline(
    num_samples: int = NUM_SAMPLES,
    seed: int = SEED,
    use_cache: bool = True,
    data: ImageDataset | None = None,
) -> dict[str, Any]:
    """The metrics of :func:`noise_images` vs the test split (what a useless generator gets)."""
    return _cached_baseline("noise", noise_images(num_samples, seed), seed, use_cache, data)


def _cached_baseline(
    kind: str, images: np.ndarray, seed: int, use_cache: bool, data: ImageDataset | None
) -> dict[str, Any]:
    from mnist_gan.evaluation.features import feature_network

    data = mnist() if data is None else data
    stem = cache_path(data, feature_network(data), f"baseline-{kind}")
    path = stem.with_name(f"{stem.name}-n{len(images)}-s{seed}.json")
    if use_cache and path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    result = evaluate_images(images, seed=seed, data=data)
    if use_cache:
        try:
            write_text(path, json.dumps(result, indent=1))
        except MNISTGANError as err:
            log.warning("could not cache the %s baseline at %s (%s)", kind, path, err)
    return result

"""The tf.data pipelines that feed training, and the one pixel scaling they and the model share.

:func:`make_dataset` for ``gan.fit``; :func:`make_epoch_dataset` for resumable runs (the
trainer); :func:`as_image_batch_tf` is the model's own input handling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mnist_gan.data.images import MNIST_SIDE
from mnist_gan.errors import MNISTGANError

if TYPE_CHECKING:  # TensorFlow loads on first use, not with this module
    import tensorflow as tf


def scale_pixels(pixels, pixel_range: tuple[float, float] = (-1.0, 1.0)):
    """Float pixel values 0..255 (numpy array or tensor) to ``pixel_range``.

    The one place pixels are scaled: the data pipelines, the model's own input handling and
    the numpy helper below all call it, so training and evaluation see the same numbers.
    """
    low, high = pixel_range
    if (low, high) == (-1.0, 1.0):
        return (pixels - 127.5) / 127.5
    return pixels / 255.0 * (high - low) + low


def scale_images(images: np.ndarray, pixel_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """uint8 pixels to float32 in ``pixel_range``; (x - 127.5) / 127.5 for [-1, 1]."""
    return scale_pixels(np.asarray(images, dtype=np.float32), pixel_range)


def make_dataset(
    images: np.ndarray,
    batch_size: int = 100,
    *,
    limit: int | None = None,
    seed: int | None = None,
    pixel_range: tuple[float, float] = (-1.0, 1.0),
    shuffle: bool = True,
):
    """A ``tf.data.Dataset`` of float32 ``(B, 28, 28, 1)`` batches in ``pixel_range``.

    Shuffles (reshuffled every epoch, reproducibly for a given ``seed``), batches, prefetches;
    ``limit`` keeps the first N images for quick runs. Use it with
    ``gan.fit(make_dataset(x_train), epochs=...)``.

    The images are scaled once and held as one float32 tensor (188 MB for MNIST's 60,000); only
    their indices go through the shuffle buffer, so a batch is one gather, as in the trainer's
    pipeline. Against shuffling the images themselves: 2-3 % less time per ``dcgan`` step, no
    difference for ``mlp`` and ``fast`` (docs/speed.md).
    """
    import tensorflow as tf

    x = tf.constant(scale_images(as_image_batch(images, limit), pixel_range))
    order = tf.data.Dataset.range(int(x.shape[0]))
    if shuffle:
        order = order.shuffle(int(x.shape[0]), seed=seed, reshuffle_each_iteration=True)
    return _prefetched(order.batch(batch_size).map(lambda idx: tf.gather(x, idx)))


def make_epoch_dataset(
    images: np.ndarray,
    batch_size: int,
    *,
    first_epoch: int,
    last_epoch: int,
    seed: int,
    limit: int | None = None,
    pixel_range: tuple[float, float] = (-1.0, 1.0),
    labels: np.ndarray | None = None,
    resident: str = "float32",
):
    """Batches for epochs ``first_epoch .. last_epoch - 1`` back to back, for resumable runs.

    With ``labels`` (one int per image) the batches are ``(images, labels)`` pairs.

    Epoch ``e``'s order is a stateless shuffle keyed by ``(seed, e)``, so the batches of epoch
    3 are the same whether training ran 0..5 in one go or resumed at 3. Use with
    ``fit(..., steps_per_epoch=steps_per_epoch(n, batch_size), initial_epoch=first_epoch)``.

    ``resident="float32"`` keeps the images scaled to ``pixel_range`` once, as float32 (4 bytes a
    pixel: 188 MB for MNIST's 60,000), so a batch is one gather; ``"uint8"`` keeps the raw bytes
    and scales each batch after the gather (a quarter of the memory, slower on a small CPU: see
    docs/speed.md). Both give the same numbers.
    """
    import tensorflow as tf

    pixels = as_image_batch(images, limit)
    if resident == "float32":
        pixels = scale_images(pixels, pixel_range)  # same formula as _scale_tf: same values
    elif resident != "uint8":
        raise ValueError(f"resident must be 'float32' or 'uint8', got {resident!r}")
    x = tf.constant(pixels)  # resident: no per-epoch copy
    count = int(x.shape[0])

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    ds = tf.data.Dataset.range(first_epoch, last_epoch).flat_map(epoch_batches)
    if labels is None:
        ds = ds.map(lambda idx: _scale_tf(tf.gather(x, idx), pixel_range))
    else:
        y = tf.constant(np.asarray(labels, np.int32)[: int(count)])
        if int(y.shape[0]) != count:
            raise MNISTGANError(f"{count} images but {int(y.shape[0])} labels")
        ds = ds.map(lambda idx: (_scale_tf(tf.gather(x, idx), pixel_range), tf.gather(y, idx)))
    return _prefetched(ds)


# Batches a pipeline keeps ready ahead of the step. A batch is one gather from memory (well under
# a millisecond against a step of tens), so two in flight keep any step fed.
PREFETCH_BATCHES = 2


def _prefetched(dataset):
    """``dataset`` with :data:`PREFETCH_BATCHES` prefetched and tf.data's autotuning off."""
    return without_autotune(dataset.prefetch(PREFETCH_BATCHES))


def without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` with tf.data's autotuning off; the elements and their order are unchanged.

    Why off: an autotuned iterator runs a model thread that sleeps up to 60 s between tuning
    passes, and the iterator's destructor waits for that thread. When the thread misses the
    cancellation's wake-up (a race, frequent on a busy 2-core machine), freeing the iterator
    after ``fit`` (at a garbage collection, often much later) froze the process for the rest of
    the sleep: 5 to 41 s in the test suite (TensorFlow 2.21, docs/tests.md). This module's
    pipelines only gather from memory, which needs no tuning.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def steps_per_epoch(num_images: int, batch_size: int) -> int:
    """Batches per epoch (the last, smaller batch included)."""
    return -(-num_images // batch_size)


def as_image_batch(images: np.ndarray, limit: int | None = None) -> np.ndarray:
    """``images`` (first ``limit``) as ``(N, 28, 28, 1)``; MNISTGANError for other shapes."""
    x = np.asarray(images)
    if limit is not None:
        x = x[:limit]
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != (MNIST_SIDE, MNIST_SIDE, 1):
        raise MNISTGANError(f"expected images shaped (N, 28, 28) or (N, 28, 28, 1), got {x.shape}")
    if len(x) == 0:
        raise MNISTGANError("no images to train on")
    return x


def as_image_batch_tf(images, pixel_range: tuple[float, float], image_size: int = MNIST_SIDE):
    """A batch as float32 ``(B, S, S, 1)`` in ``pixel_range``, S = ``image_size``, for the model.

    Integer pixels are scaled from [0, 255]; float input is taken as already scaled (cast to
    float32, so float64 numpy data works). Accepts ``(B, 28, 28)``, ``(B, 28, 28, 1)`` or flat
    ``(B, 784)``, and batches already at ``image_size``; resizes 28 to ``image_size``.
    """
    import tensorflow as tf

    x = _scale_tf(tf.convert_to_tensor(images), pixel_range)
    shape = x.shape
    if shape.rank == 2 and shape[-1] == MNIST_SIDE * MNIST_SIDE:
        x = tf.reshape(x, (-1, MNIST_SIDE, MNIST_SIDE, 1))
    elif shape.rank == 3:
        x = x[..., None]
    side = x.shape[1]
    if (
        x.shape.rank != 4
        or x.shape[-1] != 1
        or x.shape[1] != x.shape[2]
        or side not in (MNIST_SIDE, image_size)
    ):
        raise MNISTGANError(
            f"MNISTGAN expects grayscale images shaped (batch, 28, 28), (batch, 28, 28, 1) "
            f"or (batch, 784); got a batch shaped {tuple(shape)}"
        )
    if side != image_size:
        x = tf.image.resize(x, (image_size, image_size), method="bilinear")
    return x


def _scale_tf(batch, pixel_range: tuple[float, float]):
    import tensorflow as tf

    x = tf.cast(batch, tf.float32)
    return scale_pixels(x, pixel_range) if batch.dtype.is_integer else x

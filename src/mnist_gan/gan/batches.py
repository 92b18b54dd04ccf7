"""What a training batch holds, as the train step reads it: real images in the model's pixel
range, and the labels (cgan, cfast) or cluster ids (sfast) a model is conditioned on."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from mnist_gan.config import GANConfig
from mnist_gan.data.pipeline import as_image_batch_tf
from mnist_gan.errors import MNISTGANError
from mnist_gan.models.common import full_precision


def real_images(data: Any, config: GANConfig) -> tf.Tensor:
    """A batch (images, or (images, labels)) as float32 ``(B, S, S, 1)`` in the pixel range
    (float64 when Keras's policy computes in float64, as the generator's output then does).

    See :func:`mnist_gan.data.pipeline.as_image_batch_tf` for the accepted shapes and dtypes.
    """
    images = data[0] if isinstance(data, tuple | list) else data
    batch = as_image_batch_tf(images, config.pixel_range, config.image_size)
    return tf.cast(batch, full_precision())


def batch_ids(data: Any, config: GANConfig) -> tf.Tensor | None:
    """The batch's int32 labels for a conditional model, its cluster ids for sfast; None for an
    unconditional one. :class:`MNISTGANError` when a batch lacks what the model needs."""
    if config.clusters > 0:
        if not isinstance(data, tuple | list) or len(data) < 2 or data[1] is None:
            raise MNISTGANError(
                f"preset {config.preset!r} trains on (images, cluster_ids) batches "
                "(mnist_gan.data.clusters.cluster_ids); GANTrainer makes them from the images"
            )
        return tf.reshape(tf.cast(data[1], "int32"), (-1,))
    if config.num_classes == 0:
        return None
    if not isinstance(data, tuple | list) or len(data) < 2 or data[1] is None:
        raise MNISTGANError(
            f"preset {config.preset!r} is conditional: fit it on (images, labels) "
            "batches, e.g. gan.fit(x_train, y_train) or a dataset of (image, label) pairs"
        )
    return tf.reshape(tf.cast(data[1], "int32"), (-1,))

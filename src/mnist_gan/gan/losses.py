"""The GAN losses as pure functions of logits: testable without a model, called by
``MNISTGAN.train_step``.

``kind`` is the config's ``loss``: ``"bce"`` (the non-saturating logistic loss: D labels real 1
and fake 0, G wants its fakes labelled 1) or ``"hinge"`` (D: ``relu(1 - real) + relu(1 + fake)``,
G: ``-fake``). ``reduction`` is the config's ``d_loss_reduction``: D's loss as
``loss(real) + loss(fake)`` (``"sum"``) or their mean (``"mean"``).

``cross_entropy(labels, logits)`` is the batch-mean binary cross-entropy on logits; the default
is Keras's ``BinaryCrossentropy(from_logits=True)``, and ``MNISTGAN.compile(loss_fn=...)`` passes
its own. Under a distribution strategy a hand-written mean (hinge, R1) is divided by the replica
count like Keras's own losses are (:func:`mnist_gan.gan.distribute.scale_term`); outside one that is
the identity.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import tensorflow as tf

from mnist_gan.gan import distribute

CrossEntropy = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


@functools.cache
def _keras_cross_entropy() -> keras.losses.Loss:
    return keras.losses.BinaryCrossentropy(from_logits=True)


def _cross_entropy(cross_entropy: CrossEntropy | None) -> CrossEntropy:
    return _keras_cross_entropy() if cross_entropy is None else cross_entropy


def discriminator_loss(
    real_logits: tf.Tensor,
    fake_logits: tf.Tensor,
    kind: str = "bce",
    reduction: str = "sum",
    cross_entropy: CrossEntropy | None = None,
) -> tf.Tensor:
    """D's scalar loss for logits on a real and a fake batch (real -> 1, fake -> 0).

    ``kind`` is ``"bce"`` or ``"hinge"``, ``reduction`` ``"sum"`` or ``"mean"`` (module
    docstring). The R1 penalty is separate (:func:`r1_penalty`).
    """
    if kind == "hinge":
        loss = distribute.scale_term(
            tf.reduce_mean(tf.nn.relu(1.0 - real_logits))
            + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
        )
    else:
        xent = _cross_entropy(cross_entropy)
        loss = xent(tf.ones_like(real_logits), real_logits) + xent(
            tf.zeros_like(fake_logits), fake_logits
        )
    return loss / 2.0 if reduction == "mean" else loss


def generator_loss(
    fake_logits: tf.Tensor, kind: str = "bce", cross_entropy: CrossEntropy | None = None
) -> tf.Tensor:
    """G's scalar loss for D's logits on its fakes: the non-saturating ``-log sigmoid(fake)``
    averaged (``"bce"``), or ``-mean(fake)`` (``"hinge"``)."""
    if kind == "hinge":
        return distribute.scale_term(-tf.reduce_mean(fake_logits))
    return _cross_entropy(cross_entropy)(tf.ones_like(fake_logits), fake_logits)


def r1_penalty(input_gradients: tf.Tensor, gamma: float) -> tf.Tensor:
    """The R1 penalty ``gamma/2 * mean over images of ||dD(x)/dx||^2``, given D's input
    gradients on the real images, shape ``(B, H, W, C)``."""
    squared_norms = tf.reduce_sum(tf.square(input_gradients), axis=[1, 2, 3])
    return distribute.scale_term(0.5 * gamma * tf.reduce_mean(squared_norms))

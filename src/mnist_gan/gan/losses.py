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
from typing import Any

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


def logits_and_r1(
    discriminate: Callable[[tf.Tensor], tf.Tensor],
    images: tf.Tensor,
    gamma: float,
    every: int = 1,
    d_step: Any = 0,
    n_real: Any = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """``discriminate(images)`` and the R1 penalty on the real images among them (all, or the
    first ``n_real``); 0 when ``gamma`` is 0.

    Lazy R1 (``every`` k > 1, StyleGAN2): the penalty times k on the discriminator steps
    ``d_step`` that are a multiple of k, 0 on the others, which skip its double backward (the
    logits are computed either way, so only the penalty sits under the condition).
    """
    if gamma <= 0:
        return discriminate(images), tf.zeros((), images.dtype)
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = discriminate(images)
        # The sum's gradient holds each image's own input gradient while D treats images
        # independently (batch norm in training mode couples them: then an approximation).
        total = tf.reduce_sum(logits if n_real is None else logits[:n_real])

    def penalty(scale: float) -> tf.Tensor:
        grads = tape.gradient(total, images)
        return r1_penalty(grads if n_real is None else grads[:n_real], gamma * scale)

    if every == 1:
        return logits, penalty(1)
    due = tf.equal(d_step % every, 0)
    return logits, tf.cond(due, lambda: penalty(every), lambda: tf.zeros((), images.dtype))

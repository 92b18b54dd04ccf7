"""The generator's exponential moving average (EMA) and its schedule.

``ema = d * ema + (1 - d) * weights`` after every generator step. For the first ``start``
updates ``d = 0``: the average is a copy of the generator (BigGAN's ``ema_start``: early
generators drift or hop between modes, and averaging them was measured to hurt). Then, ``m``
updates after the start, ``d = min(decay, 1 - 1 / (1 + m * RAMPUP))``: the average spans at
most the last 5 % of the averaging so far (StyleGAN2-ADA's ramp-up), so it is never dominated
by the weights it started from (0.999 is reached about 20,000 updates after the start).
Batch-norm moving statistics are not averaged but copied from the generator each step: they
describe the activations of weights close to the average, and averaging them again would lag
twice.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mnist_gan.models.precision import without_bfloat16

RAMPUP = 0.05  # the EMA's horizon is at most this fraction of the averaging steps so far


def make_ema_generator(generator: keras.Model) -> keras.Model:
    """A copy of ``generator`` (same layer names, same weights) to hold the average.

    It computes in float32 even when the live generator computes in bfloat16 (``precision``):
    it only samples, so bfloat16 would save no training time, and float32 samples are the same
    on every CPU and export to ONNX."""
    ema = keras.models.clone_model(generator, clone_function=_in_float32)
    ema.set_weights(generator.get_weights())
    return ema


def _in_float32(layer: keras.layers.Layer) -> keras.layers.Layer:
    # The same rewrite that loads a bfloat16 model on a CPU without it, on one layer's config.
    return layer.__class__.from_config(without_bfloat16(layer.get_config()))


def ema_decay(updates: tf.Tensor, decay: float, start: int) -> tf.Tensor:
    """The decay used at update number ``updates`` (counted from 1)."""
    m = tf.maximum(tf.cast(updates - start, "float32"), 0.0)
    return tf.minimum(decay, 1.0 - 1.0 / (1.0 + m * RAMPUP))


def update_ema(
    ema: keras.Model, live: keras.Model, updates: keras.Variable, decay: float, start: int
) -> None:
    """Count one update in ``updates`` and move ``ema`` towards ``live`` by the schedule."""
    updates.assign_add(1)
    d = ema_decay(updates, decay, start)
    for averaged, current in zip(ema.trainable_variables, live.trainable_variables):
        averaged.assign(d * averaged + (1.0 - d) * current)
    for averaged, current in zip(ema.non_trainable_variables, live.non_trainable_variables):
        averaged.assign(current)

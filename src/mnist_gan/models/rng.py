"""Random draws that give the same numbers with XLA on and off.

For a given seed, TensorFlow's stateless random kernels and XLA's compute the same Philox bits.
They differ only in how those bits become floats. So ``jit_compile`` would change a seeded run's
noise and dropout masks, and with them every weight after the first step. These functions take
the bits from the kernel both agree on, then build the floats with ordinary ops, using
TensorFlow's CPU recipe: the low 23 bits as the mantissa of a float in [1, 2), and Box-Muller
on pairs. The result is the same floats as ``tf.random.stateless_uniform`` /
``stateless_normal`` (and hence ``keras.random``). Under XLA it matches them within the last
bit of ``log``/``sin``/``cos``. ``tests/models/test_rng.py`` checks both.

Turning XLA on or off is therefore a speed setting only: a preset trains to the same weights
either way (``tests/gan/test_model.py``).
"""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf

from mnist_gan.models.common import full_precision

PHILOX = 1  # tensorflow's Algorithm enum; what the stateless kernels use on CPU and GPU


def seed_pair(seed: keras.random.SeedGenerator | int | tf.Tensor) -> tf.Tensor:
    """The int32 ``[2]`` seed ``keras.random`` derives from ``seed``: a SeedGenerator is
    advanced by one draw (as ``keras.random.normal(..., seed=generator)`` would), an int ``s``
    means ``[s, 0]``, a tensor is taken as is."""
    if isinstance(seed, keras.random.SeedGenerator):
        value = seed.next()
    elif isinstance(seed, int):
        value = tf.constant([seed, 0], tf.int64)
    else:
        value = tf.convert_to_tensor(seed)
    if value.dtype == tf.int32:
        return value
    return tf.cast(tf.math.floormod(value, tf.int32.max - 1), tf.int32)  # keras's _cast_seed


def _bits(shape: Any, seed: tf.Tensor) -> tf.Tensor:
    key, counter = tf.raw_ops.StatelessRandomGetKeyCounter(seed=seed)
    return tf.raw_ops.StatelessRandomUniformFullIntV2(
        shape=shape, key=key, counter=counter, alg=PHILOX, dtype=tf.uint32
    )


def _unit_floats(bits: tf.Tensor) -> tf.Tensor:
    """uint32 bits -> float32 in [0, 1): the low 23 bits as the mantissa of 1.x, minus 1."""
    mantissa = tf.bitwise.bitwise_and(bits, tf.constant(0x7FFFFF, tf.uint32))
    one_x = tf.bitwise.bitwise_or(mantissa, tf.constant(0x3F800000, tf.uint32))
    return tf.bitcast(one_x, tf.float32) - 1.0


def uniform(shape: Any, seed: tf.Tensor, minval: float = 0.0, maxval: float = 1.0) -> tf.Tensor:
    """float32 U[minval, maxval) of ``shape``: ``tf.random.stateless_uniform``'s numbers."""
    unit = _unit_floats(_bits(shape, seed))
    return unit * tf.constant(maxval - minval, tf.float32) + tf.constant(minval, tf.float32)


def normal(shape: Any, seed: tf.Tensor) -> tf.Tensor:
    """float32 N(0, 1) of ``shape``: ``tf.random.stateless_normal``'s numbers.

    The kernel turns each consecutive pair of 32-bit words (u, v) into
    ``sqrt(-2 log u) * (sin 2 pi v, cos 2 pi v)``, with u floored at 1e-7.
    """
    shape = tf.convert_to_tensor(shape, tf.int32)
    count = tf.reduce_prod(shape)
    pairs = tf.reshape(_unit_floats(_bits(tf.reshape(count + count % 2, [1]), seed)), [-1, 2])
    u = tf.maximum(pairs[:, 0], tf.constant(1.0e-7, tf.float32))
    angle = tf.constant(2.0 * math.pi, tf.float32) * pairs[:, 1]
    radius = tf.sqrt(tf.constant(-2.0, tf.float32) * tf.math.log(u))
    values = tf.reshape(tf.stack([tf.sin(angle) * radius, tf.cos(angle) * radius], axis=1), [-1])
    return tf.reshape(values[:count], shape)


def noise(shape: Any, kind: str, seed: tf.Tensor, xla: bool = False) -> tf.Tensor:
    """Latent noise: ``"normal"`` N(0, 1) or ``"uniform"`` U(-1, 1), the same with XLA on or off.

    ``xla`` says whether the caller is compiled with XLA. Only then is the normal noise built
    from the bits, because XLA's own normal kernel gives other numbers. Without XLA the CPU
    kernel is used as it is: the bit route matches it only to within a few ulps of
    ``sin``/``log``, and a seeded run without XLA keeps its exact numbers.
    """
    if kind == "uniform":
        return uniform(shape, seed, -1.0, 1.0)
    if xla:
        return normal(shape, seed)
    # float64 where that is Keras's floatx (the regression pins' float64 runs), else float32
    return tf.random.stateless_normal(shape, seed, dtype=full_precision())


@keras.saving.register_keras_serializable(package="mnist_gan")
class Dropout(keras.layers.Dropout):
    """``keras.layers.Dropout`` with masks that do not depend on XLA (same masks as Keras's
    layer without XLA: same seed stream, same comparison, same scaling)."""

    def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
        if not training or self.rate <= 0:
            return inputs
        if self.rate >= 1:
            return tf.zeros_like(inputs)
        if self.noise_shape is not None:  # not used by this package's networks
            return super().call(inputs, training=training)
        keep = uniform(tf.shape(inputs), seed_pair(self.seed_generator)) >= self.rate
        scaled = inputs * tf.constant(1 / (1 - self.rate), inputs.dtype)
        return tf.where(keep, scaled, tf.zeros((), inputs.dtype))

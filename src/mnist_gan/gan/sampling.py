"""Turning noise into MNIST-sized images, fast at every batch size.

:class:`Sampler` serves ``MNISTGAN.generate``. Up to :attr:`Sampler.SMALL_BATCH_MAX` images of
an unconditional generator that is sampled again and again with unchanged weights run in ONNX
Runtime (:mod:`mnist_gan.gan.onnx_path`: 0.1-0.2 ms for one image, where a TensorFlow call
costs about half a millisecond before any maths); everything else runs through one compiled
TensorFlow function per chunk. Both compute the same function of the same noise (float32
rounding aside).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mnist_gan.data.images import MNIST_SIDE
from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.onnx_path import compile_onnx_generator


def numpy_noise(n: int, latent_dim: int, noise: str, seed: int, index: int = 0) -> np.ndarray:
    """``(n, latent_dim)`` float32 noise, a pure function of ``(seed, index)``."""
    rng = np.random.default_rng([seed, index])
    if noise == "uniform":
        return rng.uniform(-1.0, 1.0, (n, latent_dim)).astype(np.float32)
    return rng.standard_normal((n, latent_dim), dtype=np.float32)


def check_request(num_samples: Any, use_ema: bool | None, has_ema: bool) -> None:
    """:class:`MNISTGANError` for a count that is not a positive int, or the EMA generator
    asked of a model without one."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
        raise MNISTGANError(f"num_samples must be a positive integer, got {num_samples!r}")
    if use_ema and not has_ema:
        raise MNISTGANError("this model has no EMA generator (train with ema_decay > 0)")


def resolve_labels(labels: Any, n: int, num_classes: int, seed: int) -> np.ndarray | None:
    """The int32 labels of ``n`` samples: None for an unconditional model (``num_classes`` 0).

    ``labels`` may be one int (all samples), a sequence of ``n`` ints, or None: balanced, ``n //
    num_classes`` of each digit in order, the remainder drawn at random from ``seed``.
    Raises :class:`MNISTGANError` for labels given to an unconditional model, a label outside
    ``0 .. num_classes - 1`` or a count that is not ``n``.
    """
    if num_classes == 0:
        if labels is not None:
            raise MNISTGANError("this model is unconditional: it takes no labels (no --digit)")
        return None
    if labels is None:
        rest = np.random.default_rng([seed, 1 << 20]).integers(0, num_classes, n % num_classes)
        return np.concatenate([np.repeat(np.arange(num_classes), n // num_classes), rest]).astype(
            np.int32
        )
    values = np.asarray(labels)
    if values.ndim == 0:
        values = np.full(n, values)
    if values.ndim != 1 or len(values) != n:
        raise MNISTGANError(f"got {values.size} labels for {n} samples; give one label or {n}")
    if (
        not np.issubdtype(values.dtype, np.integer)
        or values.min() < 0
        or values.max() >= num_classes
    ):
        raise MNISTGANError(f"labels must be integers in 0..{num_classes - 1}, got {labels!r}")
    return values.astype(np.int32)


def to_mnist_size(images: Any, pixel_range: tuple[float, float]) -> tf.Tensor:
    """``(B, S, S, 1)`` images resized to 28x28 (area; no-op at 28), clipped to ``pixel_range``."""
    images = tf.cast(images, "float32")
    if images.shape[1] != MNIST_SIDE:
        images = tf.image.resize(images, (MNIST_SIDE, MNIST_SIDE), method="area")
    low, high = pixel_range
    return tf.clip_by_value(images, low, high)


def _read_bytes(variable: keras.Variable) -> bytes:
    """A variable's value as bytes through one eager read (``keras.Variable.numpy()`` adds a
    second op: 57 against 22 us here, in a path whose budget is 1 ms)."""
    return variable.value.value().numpy().tobytes()  # keras.Variable -> tf.Variable -> tensor


class Sampler:
    """Generates images from one GAN's generators; holds the compiled functions it reuses.

    The ONNX Runtime copy of a generator is made on its :attr:`REPEATS_BEFORE_EXPORT`-th small
    request in a row with unchanged weights (the export costs a second or more, which a
    training loop that samples once per change would pay every time), and dropped when the
    generator's last trainable weight changes (every training step and every weight load changes
    it; a checkpoint restore also calls :meth:`clear`).
    """

    SMALL_BATCH_MAX = 16
    REPEATS_BEFORE_EXPORT = 3

    def __init__(
        self,
        latent_dim: int,
        noise: str,
        pixel_range: tuple[float, float],
    ) -> None:
        self.latent_dim = latent_dim
        self.noise = noise
        self.pixel_range = pixel_range
        # id(generator) -> [weight fingerprint, small requests seen with it, ONNX forward or
        # None, the variable read for the fingerprint]
        self._small: dict[int, list[Any]] = {}
        self._compiled: dict[int, Callable] = {}

    def generate(
        self,
        generator: keras.Model,
        num_samples: int,
        seed: int,
        batch_size: int,
        labels: np.ndarray | None = None,
    ) -> np.ndarray:
        """``num_samples`` float32 ``(N, 28, 28, 1)`` images in the pixel range, from ``seed``
        (and ``labels``, one per sample, for a conditional generator)."""
        chunks = []
        for index, start in enumerate(range(0, num_samples, batch_size)):
            n = min(batch_size, num_samples - start)
            z = numpy_noise(n, self.latent_dim, self.noise, seed, index)
            small = n <= self.SMALL_BATCH_MAX and labels is None
            forward = self._onnx_forward(generator) if small else None
            if forward is not None:
                low, high = self.pixel_range
                chunks.append(np.clip(forward(z), low, high))
            elif labels is None:
                chunks.append(self._compiled_sampler(generator)(tf.constant(z)).numpy())
            else:
                inputs = [tf.constant(z), tf.constant(labels[start : start + n])]
                chunks.append(self._compiled_sampler(generator)(inputs).numpy())
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=0)

    def clear(self) -> None:
        """Forget the ONNX Runtime copies (call after changing weights outside training)."""
        self._small.clear()

    def _onnx_forward(self, generator: keras.Model) -> Callable | None:
        """The ONNX Runtime copy of ``generator`` once it has earned one, else None."""
        try:
            if generator.output.shape[1] != MNIST_SIDE:
                return None
        except (AttributeError, ValueError):  # a model never called (no symbolic output)
            return None
        entry = self._small.get(id(generator))
        # Every optimizer (or EMA) step and every load moves the last trainable weight: one read
        # tells a stale copy, where comparing all weights would cost more than the forward.
        last = (
            entry[3]
            if entry is not None
            else (generator.trainable_variables or generator.variables)[-1]
        )
        fingerprint = _read_bytes(last)
        if entry is None or entry[0] != fingerprint:
            entry = [fingerprint, 0, None, last]
            self._small[id(generator)] = entry
        entry[1] += 1
        if entry[1] == self.REPEATS_BEFORE_EXPORT:
            entry[2] = compile_onnx_generator(generator)
        return entry[2]

    def _compiled_sampler(self, generator: keras.Model) -> Callable:
        sampler = self._compiled.get(id(generator))
        if sampler is None:

            @tf.function(reduce_retracing=True)
            def sampler(inputs: Any) -> tf.Tensor:
                return to_mnist_size(generator(inputs, training=False), self.pixel_range)

            self._compiled[id(generator)] = sampler
        return sampler

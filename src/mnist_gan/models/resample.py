"""Changing resolution in the ``fast`` family: stride-2 convolutions, or stride-1 ones around a
pixel shuffle.

``resample="strided"`` is the original design: a 4x4 stride-2 transposed convolution doubles the
side, a 4x4 stride-2 convolution halves it. oneDNN runs a transposed convolution, and the input
gradient of every strided convolution, with its data-gradient kernel, which ran at 53-57 GFLOP/s
on this CPU against 125-154 for the others (docs/speed.md); at stride 1 it runs them as forward
convolutions.

``resample="subpixel"`` keeps every convolution at stride 1 with the same weights per output
and the same multiply-adds:

* up (Shi et al. 2016): a 2x2 convolution to ``4 * filters`` channels, then depth-to-space.
  Each output pixel sees a 2x2 window of the input, as under the 4x4 stride-2 transposed
  convolution; the four phases of a channel start equal (ICNR, Aitken et al. 2017:
  :class:`PhaseTiled`), so the first images are not checkerboards.
* down: space-to-depth, then a 2x2 convolution over the ``4 * channels`` planes, which is a 4x4
  stride-2 convolution with its kernel regrouped (``tests/models/test_resample.py``).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import layers

BLOCK = 2  # every resampling here halves or doubles the side


@keras.saving.register_keras_serializable(package="mnist_gan")
class DepthToSpace(layers.Layer):
    """``(B, H, W, 4C)`` -> ``(B, 2H, 2W, C)``: output pixel ``(2i + p, 2j + q)`` of channel
    ``c`` is input channel ``(2p + q) * C + c`` at ``(i, j)`` (TensorFlow's order)."""

    def call(self, inputs: Any) -> Any:
        return tf.nn.depth_to_space(inputs, BLOCK)

    def compute_output_shape(self, shape: tuple) -> tuple:
        b, h, w, c = shape
        return (b, None if h is None else h * BLOCK, None if w is None else w * BLOCK, c // 4)


@keras.saving.register_keras_serializable(package="mnist_gan")
class SpaceToDepth(layers.Layer):
    """``(B, H, W, C)`` -> ``(B, H/2, W/2, 4C)``, the inverse of :class:`DepthToSpace`."""

    def call(self, inputs: Any) -> Any:
        return tf.nn.space_to_depth(inputs, BLOCK)

    def compute_output_shape(self, shape: tuple) -> tuple:
        b, h, w, c = shape
        return (b, None if h is None else h // BLOCK, None if w is None else w // BLOCK, 4 * c)


@keras.saving.register_keras_serializable(package="mnist_gan")
class PhaseTiled(keras.initializers.Initializer):
    """ICNR: a kernel ``(kh, kw, in, 4 * out)`` whose four phases start as one draw of ``base``
    for ``(kh, kw, in, out)``, so depth-to-space first gives a nearest-neighbour upsampling."""

    def __init__(self, base: str | dict = "glorot_uniform") -> None:
        self.base = base

    def __call__(self, shape: tuple, dtype: Any = None) -> Any:
        kh, kw, channels_in, channels_out = shape
        draw = keras.initializers.get(self.base)((kh, kw, channels_in, channels_out // 4), dtype)
        return keras.ops.tile(draw, (1, 1, 1, 4))

    def get_config(self) -> dict[str, Any]:
        return {"base": self.base}


def upsample(
    x: keras.KerasTensor, filters: int, resample: str, name: str, use_bias: bool = True
) -> keras.KerasTensor:
    """Double the side of ``x`` to ``filters`` channels (the layer holding the weights is named
    ``name``): a 4x4 stride-2 transposed convolution, or its sub-pixel form (module docstring)."""
    if resample == "strided":
        return layers.Conv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=use_bias, name=name
        )(x)
    x = layers.Conv2D(
        4 * filters,
        2,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=PhaseTiled(),
        name=name,
    )(x)
    return DepthToSpace(name=f"{name}_shuffle")(x)


def downsample(x: keras.KerasTensor, filters: int, resample: str, name: str) -> keras.KerasTensor:
    """Halve the side of ``x`` to ``filters`` channels (the layer holding the weights is named
    ``name``): a 4x4 stride-2 convolution, or space-to-depth and a 2x2 stride-1 convolution."""
    if resample == "strided":
        return layers.Conv2D(filters, 4, strides=2, padding="same", name=name)(x)
    x = SpaceToDepth(name=f"{name}_unshuffle")(x)
    return layers.Conv2D(filters, 2, padding="same", name=name)(x)

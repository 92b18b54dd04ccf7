"""A numpy forward pass for small generator batches: sub-millisecond single-image sampling.

Calling a TensorFlow function costs about half a millisecond on a small CPU before any maths
happens; a one-image forward pass of the ``dcgan`` or ``mlp`` generator is a few hundred
microseconds of numpy. :func:`compile_numpy_generator` turns a functional Keras generator made of
the layers below into a plain numpy function (weights copied at compile time), or returns None
when it meets anything else, so callers fall back to TensorFlow.

Supported: Input, Dense, Reshape, Conv2DTranspose (``same``/``valid``, any stride),
BatchNormalization (inference), LeakyReLU, ReLU, Activation (linear, relu, tanh, sigmoid).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

NumpyForward = Callable[[np.ndarray], np.ndarray]


def _activation(name: str) -> Callable[[np.ndarray], np.ndarray] | None:
    return {
        "linear": lambda x: x,
        "relu": lambda x: np.maximum(x, 0.0),
        "tanh": np.tanh,
        "sigmoid": lambda x: 0.5 * (np.tanh(0.5 * x) + 1.0),  # stable logistic
    }.get(name)


def _conv_transpose(layer: Any) -> NumpyForward | None:
    if layer.data_format != "channels_last" or tuple(layer.dilation_rate) != (1, 1):
        return None
    if getattr(layer, "output_padding", None) not in (None, (None, None)):
        return None
    kernel = np.asarray(layer.kernel.numpy(), np.float32)  # (kh, kw, out, in)
    kh, kw, out_ch, in_ch = kernel.shape
    sh, sw = layer.strides
    # (in, kh * kw * out): one matmul gives every input pixel's contribution to its patch.
    weights = kernel.transpose(3, 0, 1, 2).reshape(in_ch, kh * kw * out_ch)
    bias = None if layer.bias is None else np.asarray(layer.bias.numpy(), np.float32)
    activation = _activation(layer.activation.__name__)
    padding = layer.padding
    if activation is None:
        return None

    def forward(x: np.ndarray) -> np.ndarray:
        n, h, w, _ = x.shape
        patches = (x.reshape(-1, in_ch) @ weights).reshape(n, h, w, kh, kw, out_ch)
        full_h, full_w = (h - 1) * sh + kh, (w - 1) * sw + kw
        canvas = np.zeros((n, full_h, full_w, out_ch), np.float32)
        for a in range(kh):
            for b in range(kw):
                canvas[:, a : a + (h - 1) * sh + 1 : sh, b : b + (w - 1) * sw + 1 : sw] += patches[
                    :, :, :, a, b
                ]
        if padding == "same":  # TensorFlow's crop: (k - s) // 2 before, the rest after
            top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
            canvas = canvas[:, top : top + h * sh, left : left + w * sw]
        if bias is not None:
            canvas = canvas + bias
        return activation(canvas)

    return forward


def _layer_forward(layer: Any) -> NumpyForward | None:
    import keras

    kind = type(layer)
    if kind is keras.layers.InputLayer:
        return lambda x: x
    if kind is keras.layers.Dense:
        kernel = np.asarray(layer.kernel.numpy(), np.float32)
        bias = None if layer.bias is None else np.asarray(layer.bias.numpy(), np.float32)
        activation = _activation(layer.activation.__name__)
        if activation is None:
            return None
        if bias is None:
            return lambda x: activation(x @ kernel)
        return lambda x: activation(x @ kernel + bias)
    if kind is keras.layers.Reshape:
        shape = tuple(layer.target_shape)
        return lambda x: x.reshape((x.shape[0], *shape))
    if kind is keras.layers.Conv2DTranspose:
        return _conv_transpose(layer)
    if kind is keras.layers.BatchNormalization:
        if layer.axis not in (-1, len(layer.input.shape) - 1):
            return None
        gamma = layer.gamma.numpy() if layer.scale else 1.0
        beta = layer.beta.numpy() if layer.center else 0.0
        scale = gamma / np.sqrt(layer.moving_variance.numpy() + layer.epsilon)
        shift = beta - layer.moving_mean.numpy() * scale
        scale, shift = np.float32(scale), np.float32(shift)
        return lambda x: x * scale + shift
    if kind is keras.layers.LeakyReLU:
        slope = np.float32(layer.negative_slope)
        return lambda x: np.where(x > 0, x, slope * x)
    if kind is keras.layers.ReLU:
        if layer.max_value is not None or layer.threshold != 0 or layer.negative_slope != 0:
            return None
        return lambda x: np.maximum(x, 0.0)
    if kind is keras.layers.Activation:
        return _activation(layer.activation.__name__)
    return None


def compile_numpy_generator(model: Any) -> NumpyForward | None:
    """A numpy function computing ``model(z, training=False)`` for a sequential-shaped
    functional model of supported layers, or None (use TensorFlow then).

    The weights are copied now: compile again after they change.
    """
    layers = list(model.layers)
    for previous, layer in zip(layers, layers[1:]):
        inbound = layer._inbound_nodes
        if len(inbound) != 1 or len(inbound[0].input_tensors) != 1:
            return None
        if inbound[0].input_tensors[0] is not previous.output:
            return None
    steps = [_layer_forward(layer) for layer in layers]
    if any(step is None for step in steps):
        return None

    def forward(z: np.ndarray) -> np.ndarray:
        x = np.asarray(z, np.float32)
        for step in steps:
            x = step(x)
        return x.astype(np.float32, copy=False)

    return forward

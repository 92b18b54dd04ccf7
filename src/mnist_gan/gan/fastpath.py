"""A numpy forward pass for small generator batches: sub-millisecond single-image sampling.

Calling a TensorFlow function costs about half a millisecond on a small CPU before any maths
happens; a one-image forward pass of the ``dcgan``, ``mlp`` or ``fast`` generator is a few
hundred microseconds of numpy or less. :func:`compile_numpy_generator` turns a functional Keras
generator made of the layers below into a plain numpy function (weights copied at compile
time), or returns None when it meets anything else, so callers fall back to TensorFlow.

Supported: Input, Dense, Reshape, Conv2DTranspose (``same``/``valid``, any stride, with or
without bias), BatchNormalization (inference), LeakyReLU, ReLU, Activation (linear, relu,
tanh, sigmoid).

How it is fast (all decided at compile time, in float64, then stored as float32):

* Affine layers with nothing non-linear between them are merged: BatchNormalization folds into
  the preceding Dense or Conv2DTranspose (scaled weights, shifted bias), Reshape is free on
  flattened channels-last vectors, and a run of affine layers whose combined map from its
  flattened input to its flattened output is small (at most :data:`DENSE_LIMIT` entries)
  becomes one matrix. ``dcgan``'s Dense -> Reshape -> ConvT -> BN is one 100x2744 matrix.
* Any other transposed convolution is one GEMM on a sub-pixel im2col: an output of stride
  ``s`` splits into ``s x s`` phases, each a stride-1 convolution of the (undilated) input with
  ``ceil(k / s)^2`` taps; one gather builds the ``ceil(k / s)^2 * Cin`` windows of all output
  blocks, one matmul against a ``(ceil(k/s)^2 Cin, s^2 Cout)`` matrix computes every phase,
  and a reshape/transpose interleaves the phases (depth-to-space) and crops the padding.
* Element-wise activations run in place on arrays the forward pass owns.
* BLAS runs single-threaded during the call when ``threadpoolctl`` is importable: these
  matrices are far too small to gain from threads, and a second BLAS thread that has to wait
  for a busy core turns tens of microseconds into tens of milliseconds at the tail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

NumpyForward = Callable[[np.ndarray], np.ndarray]

#: Largest affine block (input size x output size, in float32 entries) stored as one matrix.
DENSE_LIMIT = 1 << 19

#: BLAS threads during a forward call (via threadpoolctl when installed); None: leave as is.
#: One thread: the GEMMs here take microseconds, and waiting for a second thread on a busy
#: machine is what makes the tail latency (p99 of 10-40 ms with two threads on 2 shared cores).
BLAS_THREADS: int | None = 1


# ------------------------------------------------------------------------------ affine layers
@dataclass
class _Affine:
    """``y = f(x)`` on flattened channels-last vectors ``(n, prod(in_shape))``.

    kind ``dense``: ``x @ weight + bias`` (weight ``(D_in, D_out)``); ``pointwise``: the same on
    the last axis of every position (a Dense on a rank > 2 input); ``conv_t``: a transposed
    convolution with weight ``(kh, kw, out, in)``; ``diag``: ``x * scale + shift`` per channel.
    Parameters are float64 until :meth:`_Affine.runtime`; bias/shift are per output channel
    except for ``dense``, where they have one entry per output element.
    """

    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    strides: tuple[int, int] = (1, 1)
    padding: str = "valid"

    @property
    def d_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def d_out(self) -> int:
        return int(np.prod(self.out_shape))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Reference float64 evaluation on ``(n, d_in)``; used to merge layers."""
        n = x.shape[0]
        if self.kind == "dense":
            y = x @ self.weight
        elif self.kind == "pointwise":
            y = x.reshape(-1, self.weight.shape[0]) @ self.weight
        elif self.kind == "diag":
            y = x.reshape(-1, self.in_shape[-1]) * self.weight
        else:
            y = _conv_transpose_scatter(
                x.reshape(n, *self.in_shape), self.weight, self.strides, self.padding
            )
        y = y.reshape(n, -1) if self.bias is None else (y.reshape(-1, self.bias.size) + self.bias)
        return y.reshape(n, self.d_out)

    def fold_diag(self, diag: _Affine) -> bool:
        """Absorb a following per-channel scale and shift; False when the channels differ."""
        channels = diag.in_shape[-1]
        if self.kind == "dense":
            if self.d_out % channels:
                return False
            reps = self.d_out // channels
            scale, shift = np.tile(diag.weight, reps), np.tile(diag.bias, reps)
            self.weight = self.weight * scale
            self.bias = shift if self.bias is None else self.bias * scale + shift
        elif self.out_shape[-1] == channels:
            axis = 2 if self.kind == "conv_t" else -1  # conv_t weight: (kh, kw, out, in)
            shape = [1] * self.weight.ndim
            shape[axis] = channels
            self.weight = self.weight * diag.weight.reshape(shape)
            self.bias = diag.bias if self.bias is None else self.bias * diag.weight + diag.bias
        else:
            return False
        self.out_shape = (
            self.out_shape[:-1] + (channels,) if self.kind != "dense" else diag.out_shape
        )
        return True

    def as_dense(self) -> _Affine:
        eye = np.eye(self.d_in)
        offset = self.apply(np.zeros((1, self.d_in)))
        return _Affine("dense", self.in_shape, self.out_shape, self.apply(eye) - offset, offset[0])

    def then(self, other: _Affine) -> _Affine:
        """This block followed by ``other``, as one dense matrix."""
        first = self if self.kind == "dense" else self.as_dense()
        offset = other.apply(np.zeros((1, other.d_in)))
        weight = other.apply(first.weight) - offset
        bias = other.apply(first.bias[None] if first.bias is not None else np.zeros((1, self.d_in)))
        if first.bias is None:
            bias = offset
        return _Affine("dense", self.in_shape, other.out_shape, weight, bias[0])

    def runtime(self) -> Callable[[np.ndarray], np.ndarray]:
        """The float32 step ``(n, d_in) -> (n, d_out)`` (returns a new array)."""
        if self.kind == "dense":
            weight = np.ascontiguousarray(self.weight, np.float32)
            if self.bias is None:
                return lambda x: x @ weight
            bias = self.bias.astype(np.float32)

            def dense(x: np.ndarray) -> np.ndarray:
                y = x @ weight
                y += bias
                return y

            return dense
        if self.kind == "pointwise":
            weight = np.ascontiguousarray(self.weight, np.float32)
            cin, d_out = weight.shape[0], self.d_out
            bias = None if self.bias is None else self.bias.astype(np.float32)

            def pointwise(x: np.ndarray) -> np.ndarray:
                y = x.reshape(-1, cin) @ weight
                if bias is not None:
                    y += bias
                return y.reshape(x.shape[0], d_out)

            return pointwise
        if self.kind == "diag":
            scale, shift = self.weight.astype(np.float32), self.bias.astype(np.float32)
            channels, d = scale.size, self.d_in

            def diag(x: np.ndarray) -> np.ndarray:
                y = x.reshape(-1, channels) * scale
                y += shift
                return y.reshape(x.shape[0], d)

            return diag
        return _subpixel_conv_transpose(self)


def _conv_transpose_scatter(
    x: np.ndarray, kernel: np.ndarray, strides: tuple[int, int], padding: str
) -> np.ndarray:
    """Reference transposed convolution (no bias): every input pixel adds its kernel patch."""
    n, h, w, _ = x.shape
    kh, kw, out_ch, in_ch = kernel.shape
    sh, sw = strides
    (top, out_h), (left, out_w) = _crop(h, kh, sh, padding), _crop(w, kw, sw, padding)
    patches = np.einsum("nhwi,abOi->nhwabO", x, kernel)
    full_h = max((h - 1) * sh + kh, top + out_h)
    full_w = max((w - 1) * sw + kw, left + out_w)
    canvas = np.zeros((n, full_h, full_w, out_ch), x.dtype)
    for a in range(kh):
        for b in range(kw):
            canvas[:, a : a + (h - 1) * sh + 1 : sh, b : b + (w - 1) * sw + 1 : sw] += patches[
                :, :, :, a, b
            ]
    return canvas[:, top : top + out_h, left : left + out_w]


def _crop(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """(offset into the full ``(size - 1) * stride + kernel`` output, output length): Keras's
    ``deconv_output_length`` without output_padding, and TensorFlow's SAME crop."""
    if padding == "same":
        return max(kernel - stride, 0) // 2, size * stride
    return 0, size * stride + max(kernel - stride, 0)


def _subpixel_conv_transpose(op: _Affine) -> Callable[[np.ndarray], np.ndarray]:
    """One gather + one GEMM + one depth-to-space copy (see the module docstring)."""
    kernel = op.weight  # (kh, kw, out, in), float64
    kh, kw, out_ch, in_ch = kernel.shape
    h, w, _ = op.in_shape
    sh, sw = op.strides
    axes = []  # per spatial axis: (taps T, first block q0, blocks, pad before, padded size, crop)
    for size, k, s in ((h, kh, sh), (w, kw, sw)):
        offset, out_len = _crop(size, k, s, op.padding)
        taps = -(-k // s)
        q0, q1 = offset // s, (offset + out_len - 1) // s
        before = max(taps - 1 - q0, 0)
        padded = before + max(q1 + 1, size)
        axes.append((taps, q0, q1 - q0 + 1, before, padded, offset - q0 * s, out_len))
    (th, q0h, nqh, bh, ph, ch, oh), (tw, q0w, nqw, bw, pw, cw, ow) = axes
    # Block (qy, qx) reads padded rows qy - th + 1 + bh .. qy + bh (window index m' = 0..th-1
    # is input row qy - (th - 1 - m')); phase ry uses tap (th - 1 - m') * sh + ry when < kh.
    big = np.zeros((th, tw, in_ch, sh, sw, out_ch))
    for mh in range(th):
        for ry in range(sh):
            ty = (th - 1 - mh) * sh + ry
            if ty >= kh:
                continue
            for mw in range(tw):
                for rx in range(sw):
                    tx = (tw - 1 - mw) * sw + rx
                    if tx < kw:
                        big[mh, mw, :, ry, rx, :] = kernel[ty, tx].T
    big = np.ascontiguousarray(big.reshape(th * tw * in_ch, sh * sw * out_ch), np.float32)
    rows = (np.arange(nqh) + q0h - th + 1 + bh)[:, None, None, None, None]
    cols = (np.arange(nqw) + q0w - tw + 1 + bw)[None, :, None, None, None]
    win_h = np.arange(th)[None, None, :, None, None]
    win_w = np.arange(tw)[None, None, None, :, None]
    chan = np.arange(in_ch)[None, None, None, None, :]
    index = ((rows + win_h) * pw + (cols + win_w)) * in_ch + chan  # into the padded input
    index = index.reshape(-1).astype(np.intp)
    if index.size == ph * pw * in_ch and np.array_equal(index, np.arange(index.size)):
        index = None  # 1x1 windows over an unpadded input: nothing to gather
    bias = None if op.bias is None else op.bias.astype(np.float32)
    needs_pad = (ph, pw) != (h, w)
    d_out = oh * ow * out_ch

    def forward(x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        if needs_pad:
            xp = np.zeros((n, ph, pw, in_ch), np.float32)
            xp[:, bh : bh + h, bw : bw + w] = x.reshape(n, h, w, in_ch)
            x = xp
        x = x.reshape(n, -1)
        windows = x if index is None else np.take(x, index, axis=1)
        y = windows.reshape(n * nqh * nqw, -1) @ big
        y = y.reshape(n, nqh, nqw, sh, sw, out_ch).transpose(0, 1, 3, 2, 4, 5)
        y = y.reshape(n, nqh * sh, nqw * sw, out_ch)[:, ch : ch + oh, cw : cw + ow]
        out = np.empty((n, oh, ow, out_ch), np.float32)
        if bias is None:
            out[...] = y
        else:
            np.add(y, bias, out=out)
        return out.reshape(n, d_out)

    return forward


# ------------------------------------------------------------------------ element-wise layers
def _activation(name: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """In-place element-wise activations (the caller passes an array it owns)."""

    def relu(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0, out=x)

    def tanh(x: np.ndarray) -> np.ndarray:
        return np.tanh(x, out=x)

    def sigmoid(x: np.ndarray) -> np.ndarray:  # stable logistic: (tanh(x / 2) + 1) / 2
        x *= 0.5
        np.tanh(x, out=x)
        x += 1.0
        x *= 0.5
        return x

    return {"linear": lambda x: x, "relu": relu, "tanh": tanh, "sigmoid": sigmoid}.get(name)


def _leaky_relu(slope: float) -> Callable[[np.ndarray], np.ndarray]:
    slope32 = np.float32(slope)
    if 0.0 <= slope <= 1.0:  # max(x, slope * x) is x for x > 0 and slope * x otherwise
        return lambda x: np.maximum(x, x * slope32, out=x)
    return lambda x: np.where(x > 0, x, slope32 * x)


# ----------------------------------------------------------------------------- layer parsing
def _layer_step(layer: Any, shape: tuple[int, ...]) -> tuple[str, Any, tuple[int, ...]] | None:
    """("affine", _Affine, out_shape) | ("act", fn, shape) | ("skip", None, out_shape)."""
    import keras

    kind = type(layer)
    if kind is keras.layers.InputLayer:
        return "skip", None, shape
    if kind is keras.layers.Reshape:
        target = tuple(layer.target_shape)
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1]))
            target = tuple(int(np.prod(shape)) // known if d == -1 else d for d in target)
        if int(np.prod(target)) != int(np.prod(shape)):
            return None
        return "skip", None, target
    if kind in (keras.layers.Dense, keras.layers.Conv2DTranspose):
        activation = _activation(layer.activation.__name__)
        if activation is None:
            return None
        kernel = np.asarray(layer.kernel.numpy(), np.float64)
        bias = None if layer.bias is None else np.asarray(layer.bias.numpy(), np.float64)
        if kind is keras.layers.Dense:
            out_shape = shape[:-1] + (kernel.shape[1],)
            if len(shape) == 1:
                op = _Affine("dense", shape, out_shape, kernel, bias)
            else:
                op = _Affine("pointwise", shape, out_shape, kernel, bias)
        else:
            if layer.data_format != "channels_last" or tuple(layer.dilation_rate) != (1, 1):
                return None
            if getattr(layer, "output_padding", None) not in (None, (None, None)):
                return None
            if len(shape) != 3 or layer.padding not in ("same", "valid"):
                return None
            kh, kw, out_ch, _ = kernel.shape
            sh, sw = (int(s) for s in layer.strides)
            out_h = _crop(shape[0], kh, sh, layer.padding)[1]
            out_w = _crop(shape[1], kw, sw, layer.padding)[1]
            op = _Affine(
                "conv_t", shape, (out_h, out_w, out_ch), kernel, bias, (sh, sw), layer.padding
            )
        return (
            "affine",
            (op, activation if layer.activation.__name__ != "linear" else None),
            (op.out_shape),
        )
    if kind is keras.layers.BatchNormalization:
        axis = layer.axis[0] if isinstance(layer.axis, (list, tuple)) else layer.axis
        if np.ndim(layer.axis) > 0 and len(layer.axis) != 1 or axis not in (-1, len(shape)):
            return None
        channels = shape[-1]
        gamma = layer.gamma.numpy() if layer.scale else np.ones(channels)
        beta = layer.beta.numpy() if layer.center else np.zeros(channels)
        variance = np.asarray(layer.moving_variance.numpy(), np.float64)
        scale = np.asarray(gamma, np.float64) / np.sqrt(variance + layer.epsilon)
        shift = np.asarray(beta, np.float64) - layer.moving_mean.numpy() * scale
        return "affine", (_Affine("diag", shape, shape, scale, shift), None), shape
    if kind is keras.layers.LeakyReLU:
        return "act", _leaky_relu(float(layer.negative_slope)), shape
    if kind is keras.layers.ReLU:
        if layer.max_value is not None or layer.threshold != 0 or layer.negative_slope != 0:
            return None
        return "act", _activation("relu"), shape
    if kind is keras.layers.Activation:
        activation = _activation(layer.activation.__name__)
        return None if activation is None else ("act", activation, shape)
    return None


def _merge(ops: list[_Affine]) -> list[_Affine]:
    """Fold per-channel affines into their predecessor; merge small runs into one matrix."""
    merged: list[_Affine] = []
    for op in ops:
        if merged:
            last = merged[-1]
            if op.kind == "diag" and last.kind != "diag" and last.fold_diag(op):
                continue
            if last.d_in * op.d_out <= DENSE_LIMIT:
                merged[-1] = last.then(op)
                continue
        merged.append(op)
    return [
        op.as_dense() if op.kind != "dense" and op.d_in * op.d_out <= DENSE_LIMIT else op
        for op in merged
    ]


def _blas_controllers() -> list[Any]:
    """threadpoolctl's controllers of the BLAS libraries loaded here ([] without threadpoolctl)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    return list(ThreadpoolController().select(user_api="blas").lib_controllers)


def _limit_blas_threads() -> tuple[Callable[[], list[int]], Callable[[list[int]], None]] | None:
    """(limit to :data:`BLAS_THREADS` -> previous counts, restore), or None when not needed."""
    if BLAS_THREADS is None:
        return None
    controllers = [c for c in _blas_controllers() if c.get_num_threads() > BLAS_THREADS]
    if not controllers:
        return None

    def limit() -> list[int]:
        previous = [c.get_num_threads() for c in controllers]
        for c in controllers:
            c.set_num_threads(BLAS_THREADS)
        return previous

    def restore(previous: list[int]) -> None:
        for c, count in zip(controllers, previous):
            c.set_num_threads(count)

    return limit, restore


def compile_numpy_generator(model: Any) -> NumpyForward | None:
    """A numpy function computing ``model(z, training=False)`` for a sequential-shaped
    functional model of supported layers, or None (use TensorFlow then).

    The weights are copied now: compile again after they change.
    """
    layers = list(model.layers)
    for previous, layer in zip(layers, layers[1:]):
        try:  # Keras refuses .input for a layer called more than once
            feeds_on_previous = layer.input is previous.output
        except (AttributeError, ValueError):
            return None
        if not feeds_on_previous:  # a branch, a merge or several inputs: not a chain
            return None
    input_shape = tuple(model.inputs[0].shape[1:])
    if len(model.inputs) != 1 or None in input_shape:
        return None
    shape: tuple[int, ...] = input_shape
    # Stages: runs of affine ops, then element-wise activations.
    stages: list[tuple[str, Any]] = []
    pending: list[_Affine] = []
    for layer in layers:
        step = _layer_step(layer, shape)
        if step is None:
            return None
        what, value, shape = step
        if what == "affine":
            op, activation = value
            pending.append(op)
            if activation is not None:
                stages.append(("affine", pending))
                stages.append(("act", activation))
                pending = []
        elif what == "act":
            if pending:
                stages.append(("affine", pending))
                pending = []
            stages.append(("act", value))
    if pending:
        stages.append(("affine", pending))
    out_shape = shape

    steps: list[Callable[[np.ndarray], np.ndarray]] = []
    plan: list[str] = []  # what runs, for tests and benchmarks
    nbytes = 0
    owned = False  # may element-wise steps write into the current array?
    for what, value in stages:
        if what == "affine":
            for op in _merge(value):
                steps.append(op.runtime())
                plan.append(f"{op.kind} {op.d_in}->{op.d_out}")
                nbytes += sum(a.size * 4 for a in (op.weight, op.bias) if a is not None)
            owned = True
        elif owned:
            steps.append(value)
            plan.append("activation")
        else:
            activation = value
            steps.append(lambda x, activation=activation: activation(x.copy()))
            plan.append("activation")
            owned = True
    blas = _limit_blas_threads()

    def run(z: np.ndarray) -> np.ndarray:
        x = np.asarray(z, np.float32)
        x = x.reshape(x.shape[0], -1)
        for step in steps:
            x = step(x)
        if not owned:
            x = x.copy()
        return x.reshape(x.shape[0], *out_shape)

    forward = run
    if blas is not None:
        limit, restore = blas

        def forward(z: np.ndarray) -> np.ndarray:
            previous = limit()
            try:
                return run(z)
            finally:
                restore(previous)

    # Weights held (float32 bytes; conv_t holds its sub-pixel matrix, counted as its kernel).
    forward.plan, forward.nbytes = plan, nbytes  # type: ignore[attr-defined]
    return forward

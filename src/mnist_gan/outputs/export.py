"""Export a generator as a standalone inference artifact that returns uint8 MNIST images.

Every format gets the same endpoint, built once as a Keras functional wrapper around the
generator and then written with Keras's own ``Model.export`` (Keras 3.15, TensorFlow backend):

* inputs ``noise``: float32 ``(batch, latent_dim)``, and for a conditional (2-input)
  generator ``label``: int32 ``(batch,)`` with digits 0..9;
* output: uint8 ``(batch, 28, 28)``, the generator's images area-resized to 28 when its side
  is not 28 and converted as :func:`mnist_gan.data.images.to_uint8` does
  (see :func:`mnist_gan.gan.render.render_uint8`, the reference these exports reproduce).

Formats and where they land in ``out_dir``:

* ``"saved_model"`` -> ``out_dir/saved_model/`` (``format="tf_saved_model"``). Load with
  ``tf.saved_model.load(path).signatures["serving_default"](noise=..., label=...)``, which
  returns ``{"images": uint8}`` (as does ``.serve``, taking the same tensors).
* ``"onnx"`` -> ``out_dir/generator.onnx`` (Keras converts with ``tf2onnx``; needs the
  ``tf2onnx`` and ``onnx`` packages, run it with ``onnxruntime``). Feed ``{"noise": ...,
  "label": ...}``.
* ``"litert"`` -> ``out_dir/generator.tflite`` (Keras uses ``tf.lite.TFLiteConverter``,
  built-in ops only). Run with ``ai_edge_litert.interpreter.Interpreter``:
  ``get_signature_runner("serving_default")(noise=..., label=...)["images"]``.

``fixed_batch`` bakes a static batch size into the inputs (mobile delegates want static
shapes); otherwise the batch axis is dynamic.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from mnist_gan.data.images import MNIST_SIDE
from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.render import area_resize_matrix, inspect_generator
from mnist_gan.outputs.checks import ARTIFACT_NAMES

FORMATS = ("saved_model", "onnx", "litert")
_KERAS_FORMAT = {"saved_model": "tf_saved_model", "onnx": "onnx", "litert": "litert"}
_ARTIFACT = ARTIFACT_NAMES  # (declared where the CLI checks --out without Keras)


class _ToMNISTUint8(layers.Layer):
    """Float ``(batch, S, S[, 1])`` in ``pixel_range`` -> uint8 ``(batch, 28, 28)``."""

    def __init__(self, side: int, pixel_range: tuple[float, float], **kwargs):
        super().__init__(**kwargs)
        self.side = side
        self.low, self.high = (float(v) for v in pixel_range)
        self.resize = None if side == MNIST_SIDE else area_resize_matrix(side)

    def call(self, images):
        x = ops.cast(images, "float32")
        if len(x.shape) == 4:
            x = x[..., 0]
        if self.resize is not None:
            matrix = ops.convert_to_tensor(self.resize)
            x = ops.matmul(ops.matmul(matrix, x), ops.transpose(matrix))
        x = (x - self.low) / (self.high - self.low)
        x = ops.clip(ops.round(x * 255.0), 0.0, 255.0)
        return ops.cast(x, "uint8")

    def compute_output_spec(self, images):
        return keras.KerasTensor((images.shape[0], MNIST_SIDE, MNIST_SIDE), dtype="uint8")


def build_uint8_endpoint(
    generator: keras.Model,
    *,
    pixel_range: tuple[float, float] = (-1.0, 1.0),
    fixed_batch: int | None = None,
) -> keras.Model:
    """The functional model every export writes: ``noise[, label]`` -> ``{"images": uint8}``.

    Inputs are named ``noise`` (float32 ``(batch, latent_dim)``) and, for a 2-input
    generator, ``label`` (int32 ``(batch,)``); ``batch`` is ``fixed_batch`` or dynamic.
    The generator's weights are shared, not copied.
    """
    if fixed_batch is not None and (
        isinstance(fixed_batch, bool) or not isinstance(fixed_batch, int) or fixed_batch < 1
    ):
        raise MNISTGANError(f"fixed_batch must be a positive int or None, got {fixed_batch!r}")
    low, high = pixel_range
    if not high > low:
        raise MNISTGANError(f"pixel_range must be (low, high) with high > low, got {pixel_range}")
    info = inspect_generator(generator)
    noise = keras.Input(
        shape=(info.latent_dim,), batch_size=fixed_batch, dtype="float32", name="noise"
    )
    inputs = [noise]
    feed = [noise]
    if info.label_index is not None:
        label = keras.Input(shape=(), batch_size=fixed_batch, dtype="int32", name="label")
        inputs.append(label)
        label_in = label if info.label_shape == () else layers.Reshape((1,))(label)
        feed = [noise, noise]
        feed[info.label_index] = label_in
    images = generator(feed if len(feed) > 1 else feed[0], training=False)
    uint8 = _ToMNISTUint8(info.side, (low, high), name="to_mnist_uint8")(images)
    model = keras.Model(inputs, {"images": uint8}, name="generator_uint8")
    # Keras's ONNX/LiteRT exporters read the input signature off a model that has been called.
    batch = fixed_batch or 1
    model([np.zeros((batch, *t.shape[1:]), t.dtype) for t in inputs], training=False)
    return model


def export_generator(
    generator: keras.Model,
    out_dir: str | os.PathLike[str],
    *,
    fmt: str,
    pixel_range: tuple[float, float] = (-1.0, 1.0),
    fixed_batch: int | None = None,
) -> Path:
    """Write ``generator`` as a standalone ``fmt`` artifact in ``out_dir``; return its path.

    ``fmt`` is one of ``"saved_model"``, ``"onnx"``, ``"litert"`` (see the module docstring
    for file names and how to call each). The artifact takes ``noise`` float32
    ``(batch, latent_dim)`` (plus ``label`` int32 ``(batch,)`` for a 2-input generator) and
    returns uint8 ``(batch, 28, 28)`` in the same pixels as
    ``render_uint8(generator, noise, labels, pixel_range=pixel_range)`` (up to one grey level
    of float rounding). ``pixel_range`` is the generator's output range. ``fixed_batch`` makes
    the batch axis static. An existing artifact of the same name is replaced only once the
    new one is complete. Raises MNISTGANError for an unknown format, a generator of the
    wrong shape, or a missing converter package.
    """
    if fmt not in FORMATS:
        raise MNISTGANError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        for package in ("tf2onnx", "onnx"):
            try:
                __import__(package)
            except ImportError as exc:
                raise MNISTGANError(
                    f"ONNX export needs the {package!r} package: pip install {package}"
                ) from exc
    model = build_uint8_endpoint(generator, pixel_range=pixel_range, fixed_batch=fixed_batch)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / _ARTIFACT[fmt]
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=out_dir))
    try:
        staged = staging / target.name
        # An explicit signature: Keras would otherwise relax the batch axis to None.
        signature = [
            [
                keras.InputSpec(shape=(fixed_batch, *t.shape[1:]), dtype=t.dtype, name=t.name)
                for t in model.inputs
            ]
        ]
        model.export(
            str(staged), format=_KERAS_FORMAT[fmt], verbose=False, input_signature=signature
        )
        if not staged.exists():  # pragma: no cover - an exporter that wrote elsewhere
            raise MNISTGANError(f"{fmt} export wrote nothing at {staged}")
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(staged, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target

"""Generator outputs as MNIST-sized uint8 pixels: the reference that exports must reproduce.

A generator here is any functional ``keras.Model`` with either one input, noise
``(batch, latent_dim)`` float, or two inputs, noise plus an integer class label
``(batch,)`` (or ``(batch, 1)``) in 0..9. Its output is ``(batch, S, S, 1)`` (or
``(batch, S, S)``) in ``pixel_range``. :func:`render_uint8` turns that into uint8
``(batch, 28, 28)``: area-resized to 28 when ``S != 28`` (the same weights as
``tf.image.resize(..., method="area")``, written as two small matrix products so every export
format can run them), then converted exactly as :func:`mnist_gan.images.to_uint8` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.images import MNIST_SIDE, to_uint8


@dataclass(frozen=True)
class GeneratorInputs:
    """Where a generator takes its noise and (optionally) its label, and its image side.

    ``noise_index`` / ``label_index`` index ``generator.inputs``; ``label_index`` is None for
    an unconditional generator. ``label_shape`` is the label input's shape without the batch
    axis (``()`` or ``(1,)``). ``side`` is the square output's side in pixels.
    """

    latent_dim: int
    noise_index: int
    label_index: int | None
    label_shape: tuple[int, ...]
    side: int


def _is_label_input(tensor: keras.KerasTensor) -> bool:
    name = (getattr(tensor, "name", "") or "").lower()
    return "int" in str(tensor.dtype) or "label" in name


def inspect_generator(generator: keras.Model) -> GeneratorInputs:
    """Check ``generator``'s inputs and output and say where noise and label go.

    Raises MNISTGANError for anything other than one float noise input ``(batch, latent_dim)``
    plus at most one integer (or ``label``-named) input ``(batch,)``/``(batch, 1)``, and an
    output ``(batch, S, S[, 1])``.
    """
    inputs = list(getattr(generator, "inputs", None) or [])
    if len(inputs) not in (1, 2):
        raise MNISTGANError(
            f"a generator needs 1 input (noise) or 2 (noise, label); "
            f"{getattr(generator, 'name', generator)!r} has {len(inputs)}"
        )
    label_index = None
    if len(inputs) == 2:
        is_label = [_is_label_input(t) for t in inputs]
        if is_label.count(True) != 1:
            raise MNISTGANError(
                "cannot tell the label input from the noise input of a 2-input generator: "
                f"inputs {[(t.name, t.dtype, t.shape) for t in inputs]}; give the label input "
                "an integer dtype or a name containing 'label'"
            )
        label_index = is_label.index(True)
    noise_index = 0 if label_index != 0 else 1
    noise_shape = tuple(inputs[noise_index].shape)
    if len(noise_shape) != 2 or noise_shape[1] is None:
        raise MNISTGANError(f"the noise input must be (batch, latent_dim), got {noise_shape}")
    label_shape: tuple[int, ...] = ()
    if label_index is not None:
        label_shape = tuple(inputs[label_index].shape[1:])
        if label_shape not in ((), (1,)):
            raise MNISTGANError(
                f"the label input must be (batch,) or (batch, 1), got "
                f"{tuple(inputs[label_index].shape)}"
            )
    out_shape = tuple(generator.outputs[0].shape) if generator.outputs else ()
    if not (
        len(out_shape) in (3, 4)
        and out_shape[1] is not None
        and out_shape[1] == out_shape[2]
        and (len(out_shape) == 3 or out_shape[3] == 1)
    ):
        raise MNISTGANError(
            f"the generator must output square one-channel images (batch, S, S, 1), got {out_shape}"
        )
    return GeneratorInputs(int(noise_shape[1]), noise_index, label_index, label_shape, out_shape[1])


def area_resize_matrix(src: int, dst: int = MNIST_SIDE) -> np.ndarray:
    """float32 ``(dst, src)`` matrix ``A`` with ``A @ img @ A.T`` = area resize of ``img``.

    Row ``i`` averages the source pixels under the output pixel's span
    ``[i * src/dst, (i+1) * src/dst)``, each weighted by its overlap: the weights of
    ``tf.image.resize(method="area")`` (no half-pixel centres). ``src == dst`` gives identity.
    """
    if src < 1 or dst < 1:
        raise MNISTGANError(f"resize sizes must be positive, got {src} -> {dst}")
    scale = src / dst
    matrix = np.zeros((dst, src), np.float64)
    for i in range(dst):
        start, end = i * scale, (i + 1) * scale
        for j in range(int(np.floor(start)), min(int(np.ceil(end)), src)):
            matrix[i, j] = max(0.0, min(j + 1.0, end) - max(float(j), start))
    return (matrix / scale).astype(np.float32)


def resize_to_mnist(images: np.ndarray) -> np.ndarray:
    """Float ``(N, S, S[, 1])`` images area-resized to float32 ``(N, 28, 28)``."""
    x = np.asarray(images, np.float32)
    if x.ndim == 4:
        x = x[..., 0]
    if x.shape[1] == MNIST_SIDE and x.shape[2] == MNIST_SIDE:
        return x
    matrix = area_resize_matrix(x.shape[1])
    return np.matmul(np.matmul(matrix, x), matrix.T)


def generator_feed(
    generator: keras.Model, noise: np.ndarray, labels: np.ndarray | int | None = None
) -> list[np.ndarray]:
    """The list of arrays to call ``generator`` with, in its input order.

    ``labels`` is required for a 2-input generator (an int is broadcast to the batch) and
    must be None for a 1-input one.
    """
    info = inspect_generator(generator)
    noise = np.asarray(noise, np.float32)
    if noise.ndim != 2 or noise.shape[1] != info.latent_dim:
        raise MNISTGANError(f"noise must be (batch, {info.latent_dim}), got {tuple(noise.shape)}")
    if info.label_index is None:
        if labels is not None:
            raise MNISTGANError("labels were given but the generator has no label input")
        return [noise]
    if labels is None:
        raise MNISTGANError("this generator is conditional: pass labels (ints 0..9)")
    label_array = np.broadcast_to(np.asarray(labels, np.int32), (noise.shape[0],))
    label_array = label_array.reshape((noise.shape[0], *info.label_shape))
    feed: list[np.ndarray] = [noise, noise]
    feed[info.label_index] = label_array
    return feed


def render_uint8(
    generator: keras.Model,
    noise: np.ndarray,
    labels: np.ndarray | int | None = None,
    *,
    pixel_range: tuple[float, float] = (-1.0, 1.0),
    batch_size: int = 256,
) -> np.ndarray:
    """Run ``generator`` (inference mode) on ``noise`` and return uint8 ``(N, 28, 28)``.

    ``labels``: for a 2-input generator, an int or an int array ``(N,)``. Output side ``S``
    other than 28 is area-resized first; pixels then go through
    :func:`mnist_gan.images.to_uint8` with ``pixel_range``.
    """
    feed = generator_feed(generator, noise, labels)
    chunks = []
    for start in range(0, feed[0].shape[0], batch_size):
        part = [x[start : start + batch_size] for x in feed]
        out = generator(part if len(part) > 1 else part[0], training=False)
        chunks.append(keras.ops.convert_to_numpy(out).astype(np.float32))
    images = np.concatenate(chunks) if chunks else np.zeros((0, MNIST_SIDE, MNIST_SIDE))
    return to_uint8(resize_to_mnist(images), pixel_range)

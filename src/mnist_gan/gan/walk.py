"""Latent-space walks: spherical interpolation between noise vectors, and the digits on the way.

Gaussian noise lives near a sphere of radius ``sqrt(latent_dim)``; a straight line between two
samples cuts through the low-density middle, so walks use :func:`slerp` (White, "Sampling
Generative Networks", 2016), which keeps to the sphere.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.render import inspect_generator, render_uint8

NOISE_KINDS = ("normal", "uniform")
_PARALLEL_EPS = 1e-6


def slerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Spherical interpolation from ``a`` (t=0) to ``b`` (t=1) along the last axis.

    ``a`` and ``b`` are ``(..., D)`` and broadcast against each other (rows are pairs);
    ``t`` is a number or an array, and the result has shape ``t.shape + broadcast(a, b).shape``
    (a scalar ``t`` adds no axis). Formula: ``sin((1-t)w)/sin(w) * a + sin(t w)/sin(w) * b``
    with ``w`` the angle between ``a`` and ``b``; for unit vectors every point is a unit
    vector, and the endpoints are returned exactly. When ``a`` and ``b`` are (anti)parallel
    or one is zero (``sin(w) < 1e-6``) the formula is ill-conditioned and the result is the
    linear ``(1-t) a + t b`` instead. Values of ``t`` outside [0, 1] extrapolate. The result
    is float64 unless both inputs are float32.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    out_dtype = np.float32 if a.dtype == b.dtype == np.float32 else np.float64
    a64, b64 = np.broadcast_arrays(a.astype(np.float64), b.astype(np.float64))
    if a64.ndim == 0:
        raise MNISTGANError("slerp needs vectors (..., D), got scalars")
    t = np.asarray(t, np.float64)
    t_shape = t.shape
    t = t.reshape(t_shape + (1,) * a64.ndim)  # t axes first, then the vectors' axes

    norm_a = np.linalg.norm(a64, axis=-1, keepdims=True)
    norm_b = np.linalg.norm(b64, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(a64 * b64, axis=-1, keepdims=True) / (norm_a * norm_b)
    cos = np.clip(np.nan_to_num(cos, nan=1.0), -1.0, 1.0)
    omega = np.arccos(cos)
    sin_omega = np.sin(omega)
    degenerate = sin_omega < _PARALLEL_EPS
    safe_sin = np.where(degenerate, 1.0, sin_omega)
    weight_a = np.where(degenerate, 1.0 - t, np.sin((1.0 - t) * omega) / safe_sin)
    weight_b = np.where(degenerate, t, np.sin(t * omega) / safe_sin)
    return (weight_a * a64 + weight_b * b64).astype(out_dtype)


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise MNISTGANError(f"{name} must be a positive int, got {value!r}")


def latent_walk(
    latent_dim: int, *, rows: int, steps: int, seed: int, noise: str = "normal"
) -> np.ndarray:
    """float32 ``(rows * steps, latent_dim)`` noise: ``rows`` walks of ``steps`` points each.

    Row ``r`` occupies ``[r*steps, (r+1)*steps)`` and goes by :func:`slerp` from one random
    endpoint (first point) to another (last point) at evenly spaced ``t``; ``steps=1`` gives
    just the start. ``noise`` is the generator's training noise: ``"normal"`` (N(0, 1)) or
    ``"uniform"`` (U(-1, 1); the walk is clipped to [-1, 1], since a spherical path between
    two points of the cube can leave it). The same arguments always give the same array.
    """
    _check_positive("latent_dim", latent_dim)
    _check_positive("rows", rows)
    _check_positive("steps", steps)
    if noise not in NOISE_KINDS:
        raise MNISTGANError(f"noise must be one of {NOISE_KINDS}, got {noise!r}")
    rng = np.random.default_rng(seed)
    if noise == "normal":
        start, end = rng.standard_normal((2, rows, latent_dim))
    else:
        start, end = rng.uniform(-1.0, 1.0, (2, rows, latent_dim))
    walk = slerp(start, end, np.linspace(0.0, 1.0, steps))  # (steps, rows, D)
    if noise == "uniform":
        walk = np.clip(walk, -1.0, 1.0)
    return np.ascontiguousarray(walk.transpose(1, 0, 2).reshape(rows * steps, latent_dim)).astype(
        np.float32
    )


def walk_labels(
    labels: int | Sequence[int], *, rows: int, steps: int, num_classes: int = 10
) -> np.ndarray:
    """int32 ``(rows * steps,)`` labels for a conditional walk laid out like :func:`latent_walk`.

    ``labels`` is one class (every image) or a pair ``(from_class, to_class)``, each in
    ``0 .. num_classes - 1``: in each row the first ``ceil(steps / 2)`` images get
    ``from_class`` and the rest ``to_class``.
    """
    _check_positive("rows", rows)
    _check_positive("steps", steps)
    if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
        pair = (int(labels), int(labels))
    elif (
        isinstance(labels, (tuple, list))
        and len(labels) == 2
        and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in labels)
    ):
        pair = (int(labels[0]), int(labels[1]))
    else:
        raise MNISTGANError(f"labels must be a class or a (from, to) pair, got {labels!r}")
    if not all(0 <= d < num_classes for d in pair):
        raise MNISTGANError(f"labels must be classes 0..{num_classes - 1}, got {labels!r}")
    row = np.where(np.arange(steps) < (steps + 1) // 2, pair[0], pair[1])
    return np.tile(row, rows).astype(np.int32)


def walk_images(
    generator: keras.Model,
    latent_dim: int,
    *,
    rows: int,
    steps: int,
    seed: int,
    noise: str = "normal",
    pixel_range: tuple[float, float] = (-1.0, 1.0),
    labels: int | Sequence[int] | None = None,
    num_classes: int = 10,
) -> np.ndarray:
    """uint8 ``(rows * steps, 28, 28)``: ``generator`` run on :func:`latent_walk` noise.

    Lay the result out as a grid with ``steps`` columns (e.g.
    ``save_grid(images, path)`` after reshaping, or ``make_grid(images, ncols=steps)``).
    Images are area-resized to 28 if the generator's side differs and converted with
    ``pixel_range`` like :func:`mnist_gan.data.images.to_uint8` (see
    :func:`mnist_gan.gan.render.render_uint8`).

    ``labels`` is for a 2-input (noise, int label) generator and required there: one digit
    for every image, or ``(from_digit, to_digit)``. Labels are integers, so a digit-to-digit
    walk cannot blend classes: the noise walks as usual while the first half of each row
    (``ceil(steps / 2)`` images) is drawn as ``from_digit`` and the rest as ``to_digit``,
    which shows the same style carried from one digit to the other. Raises MNISTGANError if
    ``latent_dim`` does not match the generator, or labels are given to an unconditional
    generator / missing for a conditional one.
    """
    info = inspect_generator(generator)
    if latent_dim != info.latent_dim:
        raise MNISTGANError(
            f"latent_dim {latent_dim} does not match the generator's noise input "
            f"({info.latent_dim})"
        )
    z = latent_walk(latent_dim, rows=rows, steps=steps, seed=seed, noise=noise)
    return _render(generator, z, labels, rows, steps, pixel_range, num_classes)


def _render(generator, z, labels, rows, steps, pixel_range, num_classes):  # noqa: ANN001, ANN202
    """The walk ``z`` through ``generator`` (``labels`` checked as in :func:`walk_images`)."""
    info = inspect_generator(generator)
    if info.label_index is None and labels is not None:
        raise MNISTGANError("labels were given but the generator has no label input")
    if info.label_index is not None and labels is None:
        raise MNISTGANError(
            "this generator is conditional: pass labels (a class or a (from, to) pair)"
        )
    array = None
    if labels is not None:
        array = walk_labels(labels, rows=rows, steps=steps, num_classes=num_classes)
    return render_uint8(generator, z, array, pixel_range=pixel_range)


def interpolate(
    gan,
    *,
    rows: int = 4,
    steps: int = 8,
    seed: int = 0,
    labels: int | Sequence[int] | None = None,
) -> np.ndarray:
    """uint8 ``(rows * steps, 28, 28)``: latent walks through a trained GAN's sampling generator.

    ``gan`` is anything with ``sampling_generator`` (the EMA copy when there is one) and a
    ``config`` holding ``latent_dim``, ``noise`` and ``pixel_range``, such as an
    :class:`~mnist_gan.gan.model.MNISTGAN`. Row ``r`` is images ``[r*steps, (r+1)*steps)``;
    ``labels`` is for a conditional generator (see :func:`walk_images`). The same arguments
    always give the same pixels.
    """
    config = gan.config
    return walk_images(
        gan.sampling_generator,
        int(config.latent_dim),
        rows=rows,
        steps=steps,
        seed=seed,
        noise=config.noise,
        pixel_range=tuple(config.pixel_range),
        labels=labels,
        num_classes=config.num_classes or 10,
    )


def seed_walk(
    gan, *, seed: int, to_seed: int, steps: int, labels: int | Sequence[int] | None = None
) -> np.ndarray:
    """uint8 ``(steps, 28, 28)``: one walk from the noise ``gan.generate(1, seed=seed)`` draws
    to the noise of ``to_seed`` (so the first frame is that sample), by :func:`slerp`; for a
    conditional model ``labels`` as in :func:`walk_images`."""
    from mnist_gan.gan.sampling import numpy_noise

    _check_positive("steps", steps)
    config = gan.config
    ends = [numpy_noise(1, config.latent_dim, config.noise, s)[0] for s in (seed, to_seed)]
    z = slerp(ends[0], ends[1], np.linspace(0.0, 1.0, steps)).astype(np.float32)
    if config.noise == "uniform":
        z = np.clip(z, -1.0, 1.0)
    pixel_range = tuple(config.pixel_range)
    classes = config.num_classes or 10
    return _render(gan.sampling_generator, z, labels, 1, steps, pixel_range, classes)


def is_conditional(generator: keras.Model) -> bool:
    """Whether ``generator`` takes a class label besides its noise."""
    return inspect_generator(generator).label_index is not None

"""``sfast``'s sampling side: an unconditional generator made of a cluster-conditional one.

``sfast`` trains ``cfast``'s networks on cluster ids (:mod:`mnist_gan.data.clusters`). A user must
see a model of noise alone, so the cluster id is drawn *from the noise*: the first coordinate
``z0`` is turned into a uniform ``u`` (the normal CDF, or ``(z0 + 1) / 2`` for uniform noise),
the id is the cluster whose slice of the cumulative frequencies holds ``u``, and ``z0`` is
replaced by ``u``'s position inside that slice mapped back to the noise distribution. That map
is measure-preserving: the id follows the real cluster frequencies and the new ``z0`` is again
N(0, 1) (or U(-1, 1)), independent of the id, just as in training. So ``generate``, the sample
grids, interpolation and exports all take noise only and stay reproducible from their seeds.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from mnist_gan.errors import MNISTGANError
from mnist_gan.models.common import full_precision

# Keeps the inverse CDF finite where float32 rounds u onto a slice's edge.
_EDGE = 1e-6


@keras.saving.register_keras_serializable(package="mnist_gan")
class ClusterDraw(keras.layers.Layer):
    """Noise ``(batch, latent_dim)`` -> ``[noise', cluster_ids]`` with ids drawn from the
    non-trainable weight ``frequencies`` ``(clusters,)`` (set it with ``.assign``)."""

    def __init__(self, clusters: int, noise: str = "normal", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clusters = int(clusters)
        self.noise = noise
        self.frequencies = self.add_weight(
            shape=(self.clusters,),
            initializer=keras.initializers.Constant(1.0 / self.clusters),
            trainable=False,
            name="frequencies",
        )

    def call(self, z: Any) -> list[Any]:
        z0 = ops.cast(z[:, 0], full_precision())
        if self.noise == "uniform":
            u = (z0 + 1.0) / 2.0
        else:
            u = 0.5 * (1.0 + ops.erf(z0 / math.sqrt(2.0)))
        share = ops.cast(self.frequencies, full_precision())
        share = share / ops.sum(share)
        upper = ops.cumsum(share)
        lower = upper - share
        # The id is how many slice ends lie at or below u (the last end, 1, never counts).
        ids = ops.sum(ops.cast(u[:, None] >= upper[None, :-1], "int32"), axis=1)
        ids = ops.minimum(ids, self.clusters - 1)
        width = ops.take(share, ids)
        inside = (u - ops.take(lower, ids)) / ops.maximum(width, 1e-12)
        inside = ops.clip(inside, _EDGE, 1.0 - _EDGE)
        if self.noise == "uniform":
            fresh = 2.0 * inside - 1.0
        else:
            fresh = math.sqrt(2.0) * ops.erfinv(2.0 * inside - 1.0)
        z = ops.concatenate([ops.cast(fresh[:, None], z.dtype), z[:, 1:]], axis=1)
        return [z, ids]

    def set_frequencies(self, frequencies: Any) -> None:
        """The share of training images in each cluster (>= 0, not all 0; normalised here)."""
        values = np.asarray(frequencies, np.float32).reshape(-1)
        if values.shape != (self.clusters,):
            raise MNISTGANError(
                f"cluster frequencies go to an sfast model, one per cluster; got {values.shape}"
            )
        if not (np.all(values >= 0) and values.sum() > 0):
            raise MNISTGANError("cluster frequencies must be >= 0 and not all 0")
        self.frequencies.assign(values / values.sum())

    def compute_output_spec(self, z: Any) -> list[keras.KerasTensor]:
        return [
            keras.KerasTensor(z.shape, dtype=z.dtype),
            keras.KerasTensor((z.shape[0],), dtype="int32"),
        ]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "clusters": self.clusters, "noise": self.noise}


def unconditional_view(generator: keras.Model, draw: ClusterDraw) -> keras.Model:
    """A one-input model ``noise -> images`` that shares ``generator``'s (``[z, cluster_id]``
    -> images) and ``draw``'s weights: ids are drawn from the noise by ``draw``."""
    latent_dim = int(generator.inputs[0].shape[-1])
    z = keras.Input(shape=(latent_dim,), name="z")
    images = generator(draw(z))
    return keras.Model(z, images, name=f"{generator.name}_unconditional")


class NoiseOnlyViews:
    """The noise-only views (:func:`unconditional_view`) of a model's generators, made once per
    generator. A plain holder, so Keras does not track the views as layers of the model."""

    def __init__(self, draw: ClusterDraw | None) -> None:
        self.draw = draw
        self.models: dict[int, keras.Model] = {}

    def view(self, generator: keras.Model) -> keras.Model:
        """``generator``'s noise-only view (the same object on every call)."""
        if id(generator) not in self.models:
            self.models[id(generator)] = unconditional_view(generator, self.draw)
        return self.models[id(generator)]

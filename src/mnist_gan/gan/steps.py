"""The global step: how many training steps a model has taken, read the one way everywhere."""

from __future__ import annotations

from typing import Any

import keras


def global_step(model: Any) -> int | None:
    """Steps taken so far: the GAN's generator optimizer's ``iterations`` (both optimizers step
    once per batch, and checkpoints restore it), or a plain Keras model's ``optimizer``'s; None
    when the model has neither (not compiled)."""
    for attr in ("g_optimizer", "optimizer"):
        iterations = getattr(getattr(model, attr, None), "iterations", None)
        if iterations is not None:
            return int(keras.ops.convert_to_numpy(iterations))
    return None

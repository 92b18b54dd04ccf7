"""Cheap detection of a diverged run (NaN or infinite losses or weights).

:class:`DivergenceGuard` looks at the losses Keras already hands to callbacks, every
``check_every`` steps and at each epoch end, and stops ``fit`` when one is not finite, recording
where in ``diverged``. The trainer then refuses to save the weights (:func:`all_finite` checks
them in one fused reduction) and reports :func:`divergence_message`.

Cost: in Keras 3 with the TensorFlow backend, ``fit`` already converts every step's logs to
Python floats before any callback sees them (``CallbackList`` runs ``pythonify_logs``, a
``.numpy()`` per value, synchronously, since the TF backend disables async callback dispatch),
so reading them here adds no device-to-host sync, only a few ``isfinite`` checks on floats. With
``steps_per_execution = k`` callbacks (and this check) run once per ``k`` steps.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import keras
import numpy as np

from mnist_gan.gan.steps import global_step

log = logging.getLogger("mnist_gan")

DEFAULT_KEYS = ("d_loss", "g_loss")


def _non_finite(logs: dict[str, Any] | None, keys: Sequence[str]) -> tuple[str, float] | None:
    """The first of ``keys`` in ``logs`` whose value is NaN or infinite, with that value."""
    for key in keys:
        if not logs or key not in logs:
            continue
        try:
            value = np.asarray(logs[key], dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if not np.all(np.isfinite(value)):
            return key, float(value.flat[0]) if value.size else math.nan
    return None


class DivergenceGuard(keras.callbacks.Callback):
    """Stops ``fit`` when a watched loss is NaN or infinite.

    Checks ``keys`` (default ``d_loss`` and ``g_loss``; absent keys are skipped) on every
    ``check_every``-th ``on_train_batch_end`` and on every ``on_epoch_end``. On a non-finite value
    it sets ``model.stop_training = True`` and records ``diverged = {"step", "loss", "value"}``:
    ``step`` is the optimizer's global step when it was detected (the GAN's
    ``g_optimizer.iterations``, else ``model.optimizer.iterations``), at most ``check_every``
    steps after the loss first went bad. ``diverged`` stays None while training is healthy.
    Put it before the checkpoint callback so its ``on_epoch_end`` runs first.
    """

    def __init__(self, check_every: int = 10, keys: Sequence[str] = DEFAULT_KEYS) -> None:
        super().__init__()
        if isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 1:
            raise ValueError(f"check_every must be an integer >= 1, got {check_every!r}")
        self.check_every = check_every
        self.keys = tuple(keys)
        self.diverged: dict[str, Any] | None = None
        self._calls = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._calls += 1
        if self._calls % self.check_every == 0:
            self._check(logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(logs)

    def _check(self, logs: dict[str, Any] | None) -> None:
        if self.diverged is not None:
            self.model.stop_training = True
            return
        bad = _non_finite(logs, self.keys)
        if bad is None:
            return
        name, value = bad
        self.diverged = {"step": self._global_step(), "loss": name, "value": value}
        self.model.stop_training = True
        log.warning("%s is %s at step %d: stopping training", name, value, self.diverged["step"])

    def _global_step(self) -> int:
        try:
            step = global_step(self.model)
        except Exception:  # noqa: BLE001 - fall back to our own count
            step = None
        return self._calls if step is None else step


_all_finite_fn = None


def all_finite(variables: Iterable[Any]) -> bool:
    """Whether every floating-point value in ``variables`` (Keras or TF variables, tensors,
    arrays) is finite; integer ones (e.g. step counters) are ignored, an empty list is True.

    One ``tf.function`` call reduces all of them on the device (``reduce_all`` over
    ``is_finite``), so there is a single host sync for the whole model; use it before saving,
    e.g. ``all_finite(gan.weights)``.
    """
    import tensorflow as tf

    global _all_finite_fn
    tensors = []
    for variable in variables:
        value = getattr(variable, "value", variable)  # a Keras Variable's backing tf.Variable
        if not isinstance(value, (tf.Variable, tf.Tensor)):
            value = tf.convert_to_tensor(value)
        if value.dtype.is_floating:
            tensors.append(value)
    if not tensors:
        return True
    if _all_finite_fn is None:

        @tf.function(reduce_retracing=True)
        def reduce(values: list[Any]) -> tf.Tensor:
            flags = [tf.reduce_all(tf.math.is_finite(v)) for v in values]
            return tf.reduce_all(tf.stack(flags))

        _all_finite_fn = reduce
    return bool(_all_finite_fn(tensors).numpy())


def divergence_message(info: dict[str, Any], g_lr: float, d_lr: float) -> str:
    """What to tell the user after :class:`DivergenceGuard` fired: the step, the loss and its
    value, that the non-finite weights were not saved, and what to try next (with the current
    learning rates halved as a concrete suggestion)."""
    step, name, value = info.get("step"), info.get("loss", "a loss"), info.get("value")
    return (
        f"training diverged: {name} became {value} at step {step}; the non-finite weights were "
        "not saved (the last checkpoint is the newest good state). Try:\n"
        f"  - lower learning rates, e.g. --g-lr {g_lr / 2:.3g} --d-lr {d_lr / 2:.3g} "
        f"(now {g_lr:.3g} / {d_lr:.3g}), or --on-divergence rollback to do that from the "
        "last good checkpoint automatically;\n"
        "  - an R1 gradient penalty on the discriminator, e.g. --r1-gamma 1;\n"
        "  - with custom networks, check them for ops that can overflow (exp, log or division "
        "without an epsilon, a missing final activation)."
    )

"""TensorBoard logs of a run: every scalar of the train step and the evaluation, and the grids.

:class:`TensorBoardImages` writes, with ``tf.summary`` and an explicit step (the generator
optimizer's ``iterations``, the global step that checkpoints restore):

- ``epoch/<name>`` at each epoch end: every number in the epoch's logs (``d_loss``,
  ``g_loss``, ``d_acc_real``, ``d_acc_fake``, ``g_lr``, ``d_lr`` and, with ``eval_every``, the
  evaluation report's ``eval_*`` values such as the Fréchet distance);
- ``step/<name>`` every ``sample_frequency`` steps: the same logs as the train step reports
  them at that step (Keras' running means since the epoch began);
- ``samples``: the fixed-noise grid (the same digits as ``generated_samples/*.png``) at each
  epoch end and every ``sample_frequency`` steps.

A resumed run appends new event files to the same folder and continues at the restored step.
Writing needs the ``tensorboard`` package (``pip install 'mnist-gan[tensorboard]'``): since
TensorFlow 2.16 ``tf.summary.scalar``/``image`` are implemented there.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mnist_gan.data.images import make_grid
from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.steps import global_step
from mnist_gan.training.callbacks import StepMultiples

log = logging.getLogger("mnist_gan")


def require_tensorboard() -> None:
    """Raise :class:`MNISTGANError` with the install command when ``tensorboard`` is missing."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise MNISTGANError(
            "--tensorboard needs the tensorboard package: pip install 'mnist-gan[tensorboard]' "
            "(or pip install -r requirements.txt)"
        ) from None


def tensorboard_dir(output_dir: str | os.PathLike[str], setting: str) -> Path:
    """Where the ``tensorboard`` setting puts the logs: relative paths are inside the run's
    output folder (``"tensorboard"`` -> ``OUTPUT/tensorboard``), absolute ones are kept."""
    return Path(output_dir) / Path(setting).expanduser()


class TensorBoardImages(keras.callbacks.Callback):
    """Writes the run's scalars and fixed-noise grids to TensorBoard event files in ``logdir``.

    ``images`` returns the uint8 ``(N, 28, 28)`` fixed-noise batch now, or None to skip (e.g.
    :meth:`mnist_gan.training.callbacks.SampleGridCallback.fixed_noise_images`). Scalars and
    images are written at the global step ``model.g_optimizer.iterations`` (see the module
    docstring).
    """

    def __init__(
        self,
        logdir: str | os.PathLike[str],
        images: Callable[[], np.ndarray | None],
        sample_frequency: int = 100,
    ) -> None:
        require_tensorboard()
        super().__init__()
        self.logdir = Path(logdir)
        self.images = images
        self.sample_frequency = sample_frequency
        self._writer: Any = None
        self._multiples = StepMultiples()
        self._last_image_step = -1

    def _step(self) -> int:
        return global_step(self.model)

    def _write(self, prefix: str, logs: dict[str, Any] | None, image: bool) -> None:
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.logdir))
        step = self._step()
        with self._writer.as_default(step=step):
            for name, value in (logs or {}).items():
                number = _number(value)
                if number is not None:
                    tf.summary.scalar(f"{prefix}/{name}", number)
            if image and step != self._last_image_step:
                pixels = self.images()
                if pixels is not None:
                    grid = make_grid(pixels)
                    tf.summary.image("samples", grid[None, :, :, None])
                    self._last_image_step = step
        self._writer.flush()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._multiples.start(self._step(), self.sample_frequency)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._multiples.crossed(self._step, self.sample_frequency):
            self._write("step", logs, image=True)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._write("epoch", logs, image=True)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _number(value: Any) -> float | None:
    """``value`` as a finite-or-not float if it is a number (tensor or scalar), else None."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if array.shape != () or not np.issubdtype(array.dtype, np.number):
        return None
    return float(array)

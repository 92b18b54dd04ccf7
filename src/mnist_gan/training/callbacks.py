"""Callbacks the trainer wires into ``fit()``: sample grids, checkpoints, loss curves."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mnist_gan.data.images import save_grid, save_loss_curves, to_uint8
from mnist_gan.files import atomic_write, write_text
from mnist_gan.gan.checkpoint import checkpoint_path, list_checkpoints, save_checkpoint
from mnist_gan.gan.steps import global_step
from mnist_gan.reliability.divergence import all_finite

log = logging.getLogger("mnist_gan")


def _finite(model: keras.Model) -> bool:
    """Whether every weight is finite; logs why nothing is saved when not (divergence)."""
    if all_finite(model.weights):
        return True
    log.warning("not saving: the weights are not finite (training diverged)")
    return False


class StepMultiples:
    """Tells, batch by batch, when the global step has crossed a multiple of a frequency since
    training (re)started: once per multiple passed, also when one batch runs several steps
    (``steps_per_execution``), and never for a frequency of 0."""

    def __init__(self) -> None:
        self._bucket = 0

    def start(self, step: int, frequency: int) -> None:
        """Count from ``step`` (the step training starts or resumes at)."""
        self._bucket = step // max(frequency, 1)

    def crossed(self, step: Callable[[], int], frequency: int) -> bool:
        """Whether ``step()`` (read only when ``frequency`` is set) is past the next multiple."""
        if not frequency:
            return False
        bucket = step() // frequency
        if bucket <= self._bucket:
            return False
        self._bucket = bucket
        return True


class SampleGridCallback(keras.callbacks.Callback):
    """Saves a PNG grid of images from one fixed noise batch as training goes.

    A grid is written every ``sample_frequency`` optimizer steps (0: off), every
    ``every_epochs`` epochs (0: off) and once at the end of training, to
    ``output_dir/epoch_EEE_step_SSSSSS.png``; the step is the global step (it continues across
    resumed runs). Because the noise is fixed, successive grids show the same digits improving.
    A conditional model's grid has one row per digit and one noise vector per column (the
    first ``num_samples // num_classes``), so a column shows one style across the digits.
    """

    def __init__(
        self,
        output_dir: str | os.PathLike[str],
        sample_frequency: int = 100,
        num_samples: int = 64,
        seed: int = 1234,
        every_epochs: int = 0,
    ) -> None:
        super().__init__()
        self.output_dir = Path(output_dir)
        self.sample_frequency = sample_frequency
        self.every_epochs = every_epochs
        self.num_samples = num_samples
        self.seed = seed
        self.written: list[Path] = []
        self._noise: np.ndarray | None = None
        self._pixels_at: tuple[int, np.ndarray] | None = None
        self._epoch = 0
        self._last_step = -1
        self._multiples = StepMultiples()

    def _global_step(self) -> int:
        return global_step(self.model)

    def fixed_noise_images(self) -> np.ndarray | None:
        """uint8 ``(num_samples, 28, 28)``: the fixed noise batch through the generator now.

        None (with a warning) when the generator's output is not finite. Other callbacks
        (TensorBoard) call this to show the same digits as the PNG grids.
        """
        gan = self.model
        step = self._global_step()
        if self._pixels_at is not None and self._pixels_at[0] == step:
            return self._pixels_at[1]  # the grid and TensorBoard at one step: one forward pass
        if self._noise is None:
            self._noise = np.asarray(
                gan.sample_noise(self.num_samples, seed=keras.random.SeedGenerator(self.seed))
            )
        inputs: Any = self._noise
        columns = self.grid_columns()
        if columns is not None:  # conditional: a row per digit, a noise vector per column
            classes = gan.config.num_classes
            inputs = [
                np.tile(self._noise[:columns], (classes, 1)),
                np.repeat(np.arange(classes, dtype=np.int32), columns),
            ]
        images = gan.to_mnist_size(gan.sampling_generator(inputs, training=False))
        if not np.isfinite(images).all():
            log.warning("no grid at step %d: the generator's output is not finite", step)
            return None
        pixels = to_uint8(images, gan.config.pixel_range)
        self._pixels_at = (step, pixels)
        return pixels

    def grid_columns(self) -> int | None:
        """Columns of a conditional model's grid (one noise vector each); None otherwise."""
        if not self.model.conditional:
            return None
        return max(1, self.num_samples // self.model.config.num_classes)

    def save_now(self) -> Path | None:
        """Draw the fixed noise batch through the generator and save the grid now."""
        step = self._global_step()
        if step == self._last_step:
            return None
        pixels = self.fixed_noise_images()
        if pixels is None:
            return None
        path = self.output_dir / f"epoch_{self._epoch + 1:03d}_step_{step:06d}.png"
        save_grid(pixels, path, ncols=self.grid_columns())
        self.written.append(path)
        self._last_step = step
        return path

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._multiples.start(self._global_step(), self.sample_frequency)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._multiples.crossed(self._global_step, self.sample_frequency):
            self.save_now()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.every_epochs and (epoch + 1) % self.every_epochs == 0:
            self.save_now()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.save_now()


class CheckpointCallback(keras.callbacks.Callback):
    """After every epoch: append the epoch's logs to ``history`` and write a checkpoint.

    An epoch cut short (``model.stop_training`` set mid-epoch, e.g. by the time budget) is
    saved as a mid-epoch checkpoint instead, and its partial logs are not added to the history.
    Keeps the newest ``keep`` checkpoints in ``folder``; older ones are removed only after the
    new one is safely on disk. ``meta()`` supplies the run settings stored beside the weights.
    Call :meth:`begin_phase` before each ``fit`` with the steps of its first epoch already done.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        history: dict[str, list[float]],
        meta: Callable[[], dict[str, Any]],
        keep: int = 3,
        steps_per_epoch: int | None = None,
    ) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.history = history
        self.meta = meta
        self.keep = keep
        self.steps_per_epoch = steps_per_epoch
        self.steps_done = 0
        self.latest: Path | None = None
        self.completed_epochs = 0
        self.step_in_epoch = 0
        self._epoch_start = 0
        self._current_epoch = 0
        self._in_epoch = False

    def begin_phase(self, steps_done: int) -> None:
        """The next ``fit`` starts ``steps_done`` steps into its first epoch (a resumed run)."""
        self.steps_done = steps_done

    def _iterations(self) -> int:
        return global_step(self.model)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_start = self._iterations()
        self._current_epoch = epoch
        self._in_epoch = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        done = self.steps_done + self._iterations() - self._epoch_start
        self.steps_done = 0
        self._in_epoch = False
        if not _finite(self.model):
            return
        if self.steps_per_epoch is not None and done < self.steps_per_epoch:
            self.completed_epochs, self.step_in_epoch = epoch, done
        else:
            self.completed_epochs, self.step_in_epoch = epoch + 1, 0
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
        meta = dict(self.meta(), history=self.history)
        path = checkpoint_path(self.folder, self.completed_epochs, self.step_in_epoch)
        self.latest = save_checkpoint(
            self.model, path, self.completed_epochs, meta, step_in_epoch=self.step_in_epoch
        )
        for _, old in list_checkpoints(self.folder)[: -self.keep]:
            old.unlink(missing_ok=True)
        write_text(self.folder.parent / "history.json", json.dumps(self.history, indent=1))

    def save_interrupted(self) -> Path | None:
        """Checkpoint the current step after an interruption (Ctrl-C) so no step is lost.

        Returns the newest checkpoint path (None if nothing was saved yet).
        """
        if not self._in_epoch or not _finite(self.model):
            return self.latest
        done = self.steps_done + self._iterations() - self._epoch_start
        epoch = self._current_epoch
        if self.steps_per_epoch is not None and done >= self.steps_per_epoch:
            epoch, done = epoch + 1, 0
        meta = dict(self.meta(), history=self.history)
        self.completed_epochs, self.step_in_epoch = epoch, done
        self.latest = save_checkpoint(
            self.model, checkpoint_path(self.folder, epoch, done), epoch, meta, step_in_epoch=done
        )
        return self.latest


class SnapshotCallback(keras.callbacks.Callback):
    """Saves the whole model (EMA generator included) every ``minutes`` of training time.

    Files go to ``folder/minute_0005.0.keras`` and so on, for quality-over-time curves measured
    afterwards. The clock is the run's training time: this session's plus
    ``previous_seconds`` from the sessions before a resume.
    """

    def __init__(
        self, folder: str | os.PathLike[str], minutes: float, previous_seconds: float = 0.0
    ) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.seconds = 60.0 * minutes
        self.previous = previous_seconds  # training time of earlier sessions of a resumed run
        self.started: float | None = None
        self.next_mark = (previous_seconds // self.seconds + 1) * self.seconds
        self.written: list[Path] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.started is None:
            self.started = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        elapsed = self.previous + time.perf_counter() - (self.started or 0.0)
        if self.started is None or elapsed < self.next_mark:
            return
        path = self.folder / f"minute_{self.next_mark / 60:06.1f}.keras"
        if not _finite(self.model):
            return
        with atomic_write(path) as tmp:
            self.model.save(tmp)
        self.written.append(path)
        self.next_mark += self.seconds


class TimeBudgetCallback(keras.callbacks.Callback):
    """Stops ``fit`` at the first step boundary after ``minutes`` of training in this process.

    The clock starts at the first ``on_train_begin`` and keeps running across several ``fit``
    calls of one run. ``expired`` tells whether it fired.
    """

    def __init__(self, minutes: float) -> None:
        super().__init__()
        self.seconds = 60.0 * minutes
        self.started: float | None = None
        self.expired = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.started is None:
            self.started = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.started is not None and time.perf_counter() - self.started >= self.seconds:
            self.expired = True
            self.model.stop_training = True


class LossCurveCallback(keras.callbacks.Callback):
    """At the end of training, plot the whole run's per-epoch losses to ``path``."""

    def __init__(self, path: str | os.PathLike[str], history: dict[str, list[float]]) -> None:
        super().__init__()
        self.path = Path(path)
        self.history = history
        self.written: Path | None = None

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.history.get("d_loss"):
            self.written = save_loss_curves(self.history, self.path)


def run_callbacks(
    config: Any,
    output_dir: Path,
    seed: int,
    history: dict[str, Any],
    meta: Any,
    steps_per_epoch: int | None,
    data: Any = None,
    sample_frequency: int | None = None,
) -> tuple[list[Any], SampleGridCallback, CheckpointCallback, LossCurveCallback]:
    """A run's callbacks in the order they must run, and its grid, checkpoint and curve ones.

    Sample grids (every ``sample_frequency`` steps, default the config's), with ``eval_every``
    an evaluation against ``data`` (before the checkpoints, so its ``eval_`` metrics reach the
    saved history), with ``tensorboard`` its logger (after the evaluation, whose metrics it logs
    too), then per-epoch checkpoints (``meta()`` beside the weights) and loss curves.
    """
    c = config
    grids = SampleGridCallback(
        output_dir / "generated_samples",
        sample_frequency=c.sample_frequency if sample_frequency is None else sample_frequency,
        every_epochs=c.sample_every_epochs,
        seed=seed,
    )
    checkpoints = CheckpointCallback(
        output_dir / "checkpoints",
        history,
        meta,
        keep=c.keep_checkpoints,
        steps_per_epoch=steps_per_epoch,
    )
    curves = LossCurveCallback(output_dir / "loss_curves.png", history)
    middle: list[Any] = []
    if c.eval_every > 0:
        from mnist_gan.evaluation.callback import EvaluationCallback

        middle.append(
            EvaluationCallback(every_epochs=c.eval_every, output_dir=output_dir, data=data)
        )
    if c.tensorboard:
        from mnist_gan.training.tensorboard import TensorBoardImages, tensorboard_dir

        middle.append(
            TensorBoardImages(
                tensorboard_dir(output_dir, c.tensorboard),
                grids.fixed_noise_images,
                sample_frequency=grids.sample_frequency,
            )
        )
    return [grids, *middle, checkpoints, curves], grids, checkpoints, curves

"""GANTrainer: settings -> data -> model -> callbacks -> ``fit()``, resumable; and train_gan().

``train()`` reads top-down: resume from the newest checkpoint, plan the epochs left, fit them,
then save the model and a summary. The trainer logs to the ``mnist_gan`` logger; the CLI
decides what reaches the screen.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mnist_gan.config import GANConfig
from mnist_gan.data import clusters
from mnist_gan.data.datasets import ImageDataset, config_for_data, from_arrays, load_dataset
from mnist_gan.data.pipeline import make_epoch_dataset, steps_per_epoch
from mnist_gan.errors import MNISTGANError
from mnist_gan.files import write_text
from mnist_gan.gan import distribute
from mnist_gan.gan.checkpoint import load_checkpoint, read_checkpoint_header
from mnist_gan.gan.model import MNISTGAN, build_gan
from mnist_gan.gan.steps import global_step
from mnist_gan.models.presets import make_config
from mnist_gan.reliability.divergence import DivergenceGuard
from mnist_gan.reliability.lock import RunLock
from mnist_gan.reliability.signals import GracefulStop, StopOnSignal
from mnist_gan.training.callbacks import SnapshotCallback, TimeBudgetCallback, run_callbacks
from mnist_gan.training.init_from import initialize_from, unused_note
from mnist_gan.training.plan import Phase, plan_phases
from mnist_gan.training.progress import fit_verbose, progress_callbacks, resolve_progress
from mnist_gan.training.rollback import roll_back
from mnist_gan.training.rundir import (
    DATA_FILE,
    cached_cluster_ids,
    check_run_inputs,
    check_writable,
    compatible_checkpoint,
    data_record,
    save_final_model,
    session_summary,
    summary_line,
    training_split,
)

log = logging.getLogger("mnist_gan")


class GANTrainer:
    """Trains one GAN run in ``output_dir``, resuming from its latest checkpoint.

    Every keyword is a setting (``docs/settings.md``); unset ones take the preset's default
    (for ``dcgan``: batch_size 100, epochs 50, g_learning_rate 2e-4, d_learning_rate 2e-5,
    latent_dim 100, output_dir "outputs"). Bad values raise :class:`MNISTGANError` here,
    before any file is touched.

    ``output_dir`` receives grids, per-epoch checkpoints, ``history.json``, ``config.json``,
    ``data.json``, ``summary.json`` and ``model.keras`` (docs/training.md#what-a-run-writes).
    With ``init_from`` a new run starts from trained weights (fine-tuning; :mod:`.init_from`).
    """

    def __init__(
        self,
        batch_size: int | None = None,
        epochs: int | None = None,
        g_learning_rate: float | None = None,
        d_learning_rate: float | None = None,
        latent_dim: int | None = None,
        seed: int | None = None,
        output_dir: str | os.PathLike[str] | None = None,
        *,
        preset: str = "dcgan",
        **settings: Any,
    ) -> None:
        self.config: GANConfig = make_config(
            preset,
            batch_size=batch_size,
            epochs=epochs,
            g_learning_rate=g_learning_rate,
            d_learning_rate=d_learning_rate,
            latent_dim=latent_dim,
            seed=seed,
            output_dir=None if output_dir is None else str(output_dir),
            **settings,
        )
        # A run always has a seed: drawn once if not given, then stored in its checkpoints.
        self.seed = self.config.seed if self.config.seed is not None else secrets.randbelow(2**31)
        self.output_dir = Path(self.config.output_dir)
        self.model_path = self.output_dir / "model.keras"
        self._given = {name for name, value in settings.items() if value is not None}
        self.dataset: ImageDataset | None = None
        self.train_images: np.ndarray | None = None
        self.train_labels: np.ndarray | None = None
        self.cluster_ids: np.ndarray | None = None  # sfast: made from the images alone
        self.gan: MNISTGAN | None = None
        self.history: dict[str, list[float]] = {}
        self.completed_epochs = 0
        self.steps_into_epoch = 0
        self.previous_train_seconds = 0.0
        self.files_written: list[Path] = []
        self.summary: dict[str, Any] = {}
        self.exit_status = 0  # 128 + signal number after a SIGTERM/SIGHUP stop (143, 129)
        self._session_start: float | None = None
        self.strategy: Any = None  # the tf.distribute strategy, made by build_model()

    # ------------------------------------------------------------------ pieces
    def load_data(
        self, x_train: np.ndarray | ImageDataset | None = None, y_train: np.ndarray | None = None
    ) -> np.ndarray:
        """Load the run's data (``config.data_path``, see :func:`load_dataset`; MNIST when
        unset) or use ``x_train`` (an :class:`ImageDataset`, or images with ``y_train`` labels,
        converted like a file's), and check it fits the run; returns the uint8 training images
        (``config.limit`` applied).

        A conditional preset takes its class count from the data (unless ``num_classes`` was
        given) and needs labels of at least 2 classes; ``sfast`` never reads labels (it trains
        on :meth:`prepare_clusters`' ids). Raises :class:`MNISTGANError` before any file of the
        run is written.
        """
        if isinstance(x_train, ImageDataset):
            data = x_train
        elif x_train is None:
            data = load_dataset(self.config.data_path, self.config.data_labels)
        else:
            data = from_arrays(x_train, y_train)
        self.config = config_for_data(self.config, data, self._given)
        self.dataset = data
        self.train_images, self.train_labels = training_split(data, self.config)
        return self.train_images

    def build_model(self) -> MNISTGAN:
        """Build and compile the preset's :class:`MNISTGAN` (seeded)."""
        if self.config.threads:
            distribute.set_cpu_threads(self.config.threads)
        keras.utils.set_random_seed(self.seed)
        # Under a strategy: models, optimizers, metrics and the noise state made in its scope.
        self.strategy = distribute.make_strategy(self.config.strategy)
        distribute.check_global_batch(self.config.batch_size, self.strategy)
        with self.strategy.scope():
            card = None if self.dataset is None else self.dataset.card()
            self.gan = build_gan(self.config, seed=self.seed, data=card)
        if distribute.replicas(self.strategy) > 1:
            for network in (self.gan.generator, self.gan.discriminator):
                distribute.synchronize_batch_norm(network, self.config.sync_batch_norm)
        return self.gan

    def get_default_callbacks(self, sample_frequency: int | None = None) -> list[Any]:
        """Sample grids (every ``sample_frequency`` steps), per-epoch checkpoints, loss curves;
        with ``eval_every > 0`` also an :class:`~mnist_gan.evaluation.EvaluationCallback`
        (``best_model.keras`` in ``output_dir``); with ``tensorboard`` its logger."""
        steps = None if self.train_images is None else self._steps_per_epoch()
        made = run_callbacks(
            self.config,
            self.output_dir,
            self.seed,
            self.history,
            self._checkpoint_meta,
            steps,
            self.dataset,
            sample_frequency,
        )
        self._grid_callback, self._checkpoint_callback, self._curve_callback = made[1:]
        return made[0]

    def train_seconds(self) -> float:
        """Training wall time of the whole run so far, resumed sessions included."""
        running = time.perf_counter() - self._session_start if self._session_start else 0.0
        return self.previous_train_seconds + running

    # ------------------------------------------------------------------ training
    def train(
        self,
        callbacks: list[Any] | None = None,
        verbose: int | str | None = None,
        progress: str | None = None,
    ) -> Any:
        """Train to ``config.epochs`` epochs, resuming from ``output_dir``'s latest checkpoint.

        ``callbacks`` are added to the default ones. ``progress`` is "bar", "epoch", "none" or
        "auto" (the default, as ``mnist-gan train``: a bar when stdout is a terminal or in a
        notebook, one line per epoch when it is a file or a pipe). ``verbose`` (Keras's ``fit``
        values) is used as given only when ``progress`` is not. Returns a
        ``keras.callbacks.History`` whose ``history`` covers the whole run (resumed epochs
        included). Logs one summary line, writes ``summary.json``.

        One trainer per ``output_dir`` (a second gets :class:`MNISTGANError` naming the first);
        SIGTERM/SIGHUP checkpoint the current step and set :attr:`exit_status`; a non-finite
        loss stops with an error (or rolls back) and no non-finite weights are saved.
        """
        check_run_inputs(self.config)  # before any file is touched
        if self.train_images is None:
            self.load_data()  # checked before any file of the run is written
        check_writable(self.output_dir)
        extra = list(callbacks or [])
        if progress is not None or verbose is None:
            mode = resolve_progress(progress)
            verbose, extra = fit_verbose(mode), [*extra, *progress_callbacks(mode)]
        with RunLock(self.output_dir), GracefulStop() as stop:
            return self._train(extra, verbose, stop)

    def _train(self, callbacks: list[Any], verbose: int | str, stop: GracefulStop) -> Any:
        self.resume(compatible_checkpoint(self.output_dir, self.config))
        write_text(self.output_dir / "config.json", self.config.to_json())
        record = data_record(self.dataset, len(self.train_images))
        write_text(self.output_dir / DATA_FILE, json.dumps(record, indent=1) + "\n")
        result = keras.callbacks.History()
        result.history = self.history
        if self.completed_epochs >= self.config.epochs:
            log.info(
                "Nothing to train: %d epochs already done in %s (asked for %d); raise --epochs "
                "to continue.",
                self.completed_epochs,
                self.output_dir,
                self.config.epochs,
            )
            return result
        first_epoch, first_step = self.completed_epochs, self._global_step()
        start = self._session_start = time.perf_counter()
        while True:
            guard = DivergenceGuard(check_every=1)  # Keras reads the logs every step anyway
            budget = self._fit(self._plan(), [guard, *callbacks, StopOnSignal(stop)], verbose)
            if not guard.diverged or stop.requested:
                break
            roll_back(self, guard.diverged)  # or raise: the run stops with the message
        self._finish(first_epoch, first_step, time.perf_counter() - start, budget)
        if stop.requested:
            self.exit_status = stop.exit_status()
            log.warning(
                "%s: saved %s; rerun the same command to resume.",
                stop.signal_name,
                self._checkpoint_callback.latest,
            )
        return result

    def resume(self, checkpoint: Path | None) -> None:
        """Load data and model; restore weights, position and history from ``checkpoint``."""
        if checkpoint is not None:
            self.seed = int(read_checkpoint_header(checkpoint)["meta"]["seed"])
        if self.train_images is None:
            self.load_data()
        if self.gan is None:
            self.build_model()
        if self.config.clusters:
            self.prepare_clusters()
        if checkpoint is None:
            if self.config.init_from:
                log.info(initialize_from(self.gan, self.config.init_from))
            return
        header = load_checkpoint(self.gan, checkpoint)
        self.completed_epochs = int(header["epoch"])
        self.steps_into_epoch = int(header.get("step_in_epoch", 0))
        self.previous_train_seconds = float(header["meta"].get("train_seconds", 0.0))
        self.history.clear()
        self.history.update(header["meta"].get("history", {}))
        steps = f" + {self.steps_into_epoch} steps" if self.steps_into_epoch else ""
        log.info("Resuming from %s (%d epochs%s done)", checkpoint, self.completed_epochs, steps)
        if self.config.init_from:
            log.info(unused_note(self.config.init_from))

    def _fit(
        self, phases: list[Phase], callbacks: list[Any], verbose: int | str
    ) -> TimeBudgetCallback | None:
        """Run each phase through ``fit``; returns the time budget callback, if any."""
        c = self.config
        budget = TimeBudgetCallback(c.minutes) if c.minutes else None
        snapshots = (
            SnapshotCallback(
                self.output_dir / "snapshots", c.snapshot_minutes, self.previous_train_seconds
            )
            if c.snapshot_minutes
            else None
        )
        defaults = self.get_default_callbacks()
        extra = [cb for cb in (snapshots, budget) if cb is not None]
        steps = self._steps_per_epoch()
        try:
            for phase in phases:
                dataset = make_epoch_dataset(
                    self.train_images,
                    c.batch_size,
                    first_epoch=phase.first,
                    last_epoch=phase.last,
                    seed=self.seed,
                    pixel_range=c.pixel_range,
                    labels=self._conditioning_ids(),
                ).skip(phase.skip)
                if c.strategy == "multi-worker":
                    dataset = distribute.shard_by_data(dataset)
                self._checkpoint_callback.begin_phase(phase.skip)
                self.gan.fit(
                    dataset,
                    epochs=phase.last,
                    initial_epoch=phase.first,
                    steps_per_epoch=steps - phase.skip,
                    callbacks=[*defaults, *callbacks, *extra],
                    verbose=verbose,
                    shuffle=False,  # the epoch dataset is already shuffled, per epoch and seed
                )
                if self.gan.stop_training or (budget is not None and budget.expired):
                    break  # time budget, signal or divergence
        except KeyboardInterrupt:
            saved = self._checkpoint_callback.save_interrupted()
            log.warning("Interrupted: saved %s; rerun the same command to resume.", saved)
            raise
        return budget

    def _finish(
        self, first_epoch: int, first_step: int, wall: float, budget: TimeBudgetCallback | None
    ) -> None:
        """Save the model, write ``summary.json`` and log the summary line."""
        c = self.config
        self.completed_epochs = self._checkpoint_callback.completed_epochs
        self.steps_into_epoch = self._checkpoint_callback.step_in_epoch
        save_final_model(self.gan, self.model_path)
        trained_steps = self._global_step() - first_step
        grids = self._grid_callback.written
        latest = self._checkpoint_callback.latest
        curves = self._curve_callback.written
        others = [*([latest] if latest else []), *([curves] if curves else []), self.model_path]
        if c.animate and grids:
            from mnist_gan.outputs.animate import animate_grids

            others.append(
                animate_grids(self._grid_callback.output_dir, self.output_dir / "progress.gif")
            )
        self.files_written = [*grids, *others]
        expired = budget is not None and budget.expired
        position = (self.completed_epochs, self.steps_into_epoch, self._global_step())
        self.summary = session_summary(
            c, expired, position, trained_steps, wall, self.train_seconds(), self.strategy
        )
        write_text(self.output_dir / "summary.json", json.dumps(self.summary, indent=1))
        folder = self._grid_callback.output_dir
        log.info(summary_line(self.summary, c.minutes, first_epoch, grids, folder, others))

    def generate_samples(
        self, num_samples: int = 25, seed: int | None = None, labels: Any = None
    ) -> np.ndarray:
        """``num_samples`` images from the trained generator, (N, 28, 28, 1) in its pixel range
        (``labels``: the digits of a conditional model, as in ``MNISTGAN.generate``).

        For the default presets that range is [-1, 1]; ``mnist_gan.data.images.to_uint8`` converts.
        """
        if self.gan is None:
            raise MNISTGANError("no model yet: call train() or build_model() first")
        return self.gan.generate(num_samples, seed=seed, labels=labels)

    def prepare_clusters(self) -> np.ndarray:
        """sfast: the cluster id of each training image, from the images alone (never the
        labels; cached in the run folder: :func:`~mnist_gan.training.rundir.cached_cluster_ids`),
        and the model's sampling frequencies from them."""
        c = self.config
        self.cluster_ids = cached_cluster_ids(self.train_images, c, self.seed, self.output_dir)
        if self.gan is not None:
            self.gan.set_cluster_frequencies(
                clusters.cluster_frequencies(self.cluster_ids, c.clusters)
            )
        return self.cluster_ids

    def _conditioning_ids(self) -> np.ndarray | None:
        """What the networks are conditioned on: labels (cgan, cfast), cluster ids (sfast)."""
        if self.config.num_classes:
            return self.train_labels
        if self.config.clusters:
            return self.cluster_ids if self.cluster_ids is not None else self.prepare_clusters()
        return None

    def _plan(self) -> list[Phase]:
        c = self.config
        steps = self._steps_per_epoch()
        done, into = self.completed_epochs, self.steps_into_epoch
        return plan_phases(done, into, c.epochs, steps, c.steps_per_execution)

    def _steps_per_epoch(self) -> int:
        return steps_per_epoch(len(self.train_images), self.config.batch_size)

    def _global_step(self) -> int:
        return global_step(self.gan)

    def _checkpoint_meta(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "data": None if self.dataset is None else self.dataset.card(),
            "seed": self.seed,
            "train_seconds": round(self.train_seconds(), 3),
        }


def train_gan(epochs: int = 50, **kwargs: Any) -> GANTrainer:
    """Build a :class:`GANTrainer` with ``kwargs``, train it for ``epochs`` and return it."""
    trainer = GANTrainer(epochs=epochs, **kwargs)
    trainer.train()
    return trainer

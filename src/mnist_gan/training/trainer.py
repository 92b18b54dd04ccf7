"""GANTrainer: settings -> data -> model -> callbacks -> ``fit()``, resumable; and train_gan().

``train()`` reads top-down: resume from the newest checkpoint, plan the epochs left, fit them,
then save the model and a summary. The trainer logs to the ``mnist_gan`` logger; the CLI
decides what reaches the screen.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import secrets
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mnist_gan.config import NETWORK_SETTINGS, GANConfig
from mnist_gan.data import clusters
from mnist_gan.data.pipeline import as_image_batch, make_epoch_dataset, steps_per_epoch
from mnist_gan.data.sources import load_mnist
from mnist_gan.errors import MNISTGANError
from mnist_gan.files import atomic_write, write_text
from mnist_gan.gan import distribute
from mnist_gan.gan.checkpoint import list_checkpoints, load_checkpoint, read_checkpoint_header
from mnist_gan.gan.model import MNISTGAN, build_gan
from mnist_gan.gan.steps import global_step
from mnist_gan.models.presets import make_config
from mnist_gan.reliability.divergence import DivergenceGuard, all_finite, divergence_message
from mnist_gan.reliability.lock import RunLock
from mnist_gan.reliability.signals import GracefulStop, StopOnSignal
from mnist_gan.training.callbacks import (
    CheckpointCallback,
    LossCurveCallback,
    SampleGridCallback,
    SnapshotCallback,
    TimeBudgetCallback,
)
from mnist_gan.training.progress import fit_verbose, progress_callbacks, resolve_progress

log = logging.getLogger("mnist_gan")


@dataclass
class Phase:
    """One ``fit`` call: epochs ``first`` to ``last`` (exclusive), skipping ``skip`` batches."""

    first: int
    last: int
    skip: int


class GANTrainer:
    """Trains one GAN run in ``output_dir``, resuming from its latest checkpoint.

    Every keyword is a setting (``docs/settings.md``); unset ones take the preset's default
    (for ``dcgan``: batch_size 100, epochs 50, g_learning_rate 2e-4, d_learning_rate 2e-5,
    latent_dim 100, output_dir "outputs"). Bad values raise :class:`MNISTGANError` here,
    before any file is touched.

    ``output_dir`` receives ``generated_samples/*.png`` grids, ``checkpoints/ckpt-epoch-*.npz``
    (one per epoch, newest 3 kept), ``history.json``, ``loss_curves.png``, ``config.json``,
    ``summary.json`` (steps, time, images/s, how the session ended) and the final
    ``model.keras``; with ``animate`` also ``progress.gif``, with ``tensorboard`` event files
    (:mod:`mnist_gan.training.tensorboard`). With ``init_from`` a new run starts from trained
    weights (fine-tuning; :func:`mnist_gan.training.init_from.initialize_from`).
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
        self, x_train: np.ndarray | None = None, y_train: np.ndarray | None = None
    ) -> np.ndarray:
        """Load the uint8 training images and labels (``config.limit`` applied) or use
        ``x_train``/``y_train``; a conditional preset needs the labels, ``sfast`` never reads
        them (it trains on :meth:`prepare_clusters`' ids)."""
        if x_train is None:
            (x_train, y_train), _ = load_mnist(self.config.data_path)
        self.train_images = as_image_batch(x_train, self.config.limit)[..., 0]
        self.train_labels = None
        if y_train is not None:
            labels = np.asarray(y_train).reshape(-1)[: len(self.train_images)]
            if len(labels) != len(self.train_images) or labels.min() < 0 or labels.max() > 9:
                raise MNISTGANError(
                    f"training labels must be one int 0..9 per image ({len(self.train_images)})"
                )
            self.train_labels = labels.astype(np.int32)
        if self.config.num_classes and self.train_labels is None:
            raise MNISTGANError(
                f"preset {self.config.preset!r} is conditional: it needs the digit labels "
                "(load_data(x_train, y_train))"
            )
        return self.train_images

    def build_model(self) -> MNISTGAN:
        """Build and compile the preset's :class:`MNISTGAN` (seeded)."""
        if self.config.threads:
            set_cpu_threads(self.config.threads)
        keras.utils.set_random_seed(self.seed)
        # Under a strategy: models, optimizers, metrics and the noise state made in its scope.
        self.strategy = distribute.make_strategy(self.config.strategy)
        distribute.check_global_batch(self.config.batch_size, self.strategy)
        with self.strategy.scope():
            self.gan = build_gan(self.config, seed=self.seed)
        if distribute.replicas(self.strategy) > 1:
            for network in (self.gan.generator, self.gan.discriminator):
                distribute.synchronize_batch_norm(network, self.config.sync_batch_norm)
        return self.gan

    def get_default_callbacks(self, sample_frequency: int | None = None) -> list[Any]:
        """Sample grids (every ``sample_frequency`` steps), per-epoch checkpoints, loss curves;
        with ``eval_every > 0`` also an :class:`~mnist_gan.evaluation.EvaluationCallback`
        (``best_model.keras`` in ``output_dir``)."""
        c = self.config
        steps = None if self.train_images is None else self._steps_per_epoch()
        self._grid_callback = SampleGridCallback(
            self.output_dir / "generated_samples",
            sample_frequency=c.sample_frequency if sample_frequency is None else sample_frequency,
            every_epochs=c.sample_every_epochs,
            seed=self.seed,
        )
        self._checkpoint_callback = CheckpointCallback(
            self.output_dir / "checkpoints",
            self.history,
            self._checkpoint_meta,
            keep=c.keep_checkpoints,
            steps_per_epoch=steps,
        )
        self._curve_callback = LossCurveCallback(self.output_dir / "loss_curves.png", self.history)
        evaluation = []
        if c.eval_every > 0:
            # Before the checkpoint callback, so the eval_ metrics reach the saved history.
            from mnist_gan.evaluation.callback import EvaluationCallback

            evaluation = [EvaluationCallback(every_epochs=c.eval_every, output_dir=self.output_dir)]
        if c.tensorboard:  # after the evaluation, whose eval_ metrics it logs too
            from mnist_gan.training.tensorboard import TensorBoardImages, tensorboard_dir

            evaluation.append(
                TensorBoardImages(
                    tensorboard_dir(self.output_dir, c.tensorboard),
                    self._grid_callback.fixed_noise_images,
                    sample_frequency=self._grid_callback.sample_frequency,
                )
            )
        return [self._grid_callback, *evaluation, self._checkpoint_callback, self._curve_callback]

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

        Reliability: one trainer per ``output_dir`` (a second one gets :class:`MNISTGANError`
        naming the first's process); SIGTERM/SIGHUP finish the current step, checkpoint it and
        set :attr:`exit_status`; a non-finite loss stops training with an error and no
        non-finite weights are saved.
        """
        if self.config.tensorboard:
            from mnist_gan.training.tensorboard import require_tensorboard

            require_tensorboard()  # before any file is touched
        if self.config.init_from:
            from mnist_gan.gan import pretrained

            source = self.config.init_from
            if not Path(source).exists() and not pretrained.is_shipped_name(source):
                raise MNISTGANError(f"--init-from: {pretrained.missing_source_message(source)}")
        self._check_output_dir()
        extra = list(callbacks or [])
        if progress is not None or verbose is None:
            mode = resolve_progress(progress)
            verbose, extra = fit_verbose(mode), [*extra, *progress_callbacks(mode)]
        with RunLock(self.output_dir), GracefulStop() as stop:
            return self._train(extra, verbose, stop)

    def _train(self, callbacks: list[Any], verbose: int | str, stop: GracefulStop) -> Any:
        self._resume(self._compatible_checkpoint())
        write_text(self.output_dir / "config.json", self.config.to_json())
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
            self._roll_back(guard.diverged)  # or raise: the run stops with the message
        self._finish(first_epoch, first_step, time.perf_counter() - start, budget)
        if stop.requested:
            self.exit_status = stop.exit_status()
            log.warning(
                "%s: saved %s; rerun the same command to resume.",
                stop.signal_name,
                self._checkpoint_callback.latest,
            )
        return result

    def _roll_back(self, diverged: dict[str, Any]) -> None:
        """After a non-finite loss: raise (``on_divergence`` stop, or out of rollbacks), or
        reload the newest good checkpoint with both learning rates lowered, logged in
        ``history.json`` under ``rollbacks``."""
        c = self.config
        message = divergence_message(diverged, c.g_learning_rate, c.d_learning_rate)
        done = list(self.history.get("rollbacks", []))
        if c.on_divergence != "rollback":
            raise MNISTGANError(message)
        if len(done) >= c.max_rollbacks:
            raise MNISTGANError(f"{message}\n({len(done)} rollbacks did not help)")
        checkpoint = self._compatible_checkpoint()
        if checkpoint is None:
            raise MNISTGANError(f"{message}\n(no checkpoint to roll back to yet)")
        self.config = dataclasses.replace(
            c,
            g_learning_rate=c.g_learning_rate * c.rollback_factor,
            d_learning_rate=c.d_learning_rate * c.rollback_factor,
        )
        self.gan = None
        self._resume(checkpoint)  # a fresh model with the lower rates, the checkpoint's weights
        for optimizer, rate in (
            (self.gan.g_optimizer, self.config.g_learning_rate),
            (self.gan.d_optimizer, self.config.d_learning_rate),
        ):
            # The checkpoint restored the old rate; a decay schedule (Keras refuses to set it:
            # TypeError) already took the lowered rates from the config.
            with contextlib.suppress(TypeError):
                optimizer.learning_rate = rate
        record = {
            **diverged,
            "value": str(diverged.get("value")),
            "resumed_from": str(checkpoint),
            "g_learning_rate": self.config.g_learning_rate,
            "d_learning_rate": self.config.d_learning_rate,
        }
        self.history["rollbacks"] = [*done, record]
        write_text(self.output_dir / "history.json", json.dumps(self.history, indent=1))
        log.warning(
            "training diverged at step %s (%s = %s); rolled back to %s with learning rates "
            "G %.3g / D %.3g (rollback %d of %d)",
            diverged.get("step"),
            diverged.get("loss"),
            diverged.get("value"),
            checkpoint,
            self.config.g_learning_rate,
            self.config.d_learning_rate,
            len(done) + 1,
            c.max_rollbacks,
        )

    def _resume(self, checkpoint: Path | None) -> None:
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
                from mnist_gan.training.init_from import initialize_from

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
            log.info(
                "init_from %s not used: the run's own checkpoint wins (it already started from "
                "those weights, or another --output-dir starts afresh)",
                self.config.init_from,
            )

    def _plan(self) -> list[Phase]:
        """The ``fit`` calls left: a run stopped mid-epoch first finishes that epoch (skipping
        the batches it already saw), then trains the remaining epochs; the data order is the
        same as in one go."""
        c, steps = self.config, self._steps_per_epoch()
        if steps % c.steps_per_execution:
            raise MNISTGANError(
                f"steps_per_execution={c.steps_per_execution} must divide the {steps} steps of "
                "an epoch"
            )
        skip = min(self.steps_into_epoch, steps - 1)
        done = self.completed_epochs
        phases = [Phase(done, done + 1, skip)] if skip else []
        if done + (1 if skip else 0) < c.epochs:
            phases.append(Phase(done + (1 if skip else 0), c.epochs, 0))
        return phases

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
        if not all_finite(self.gan.weights):
            raise MNISTGANError(
                "training diverged: the weights are not finite; model.keras was not written "
                "(the last checkpoint is the newest good state). Try lower learning rates."
            )
        with atomic_write(self.model_path) as tmp:
            self.gan.save(tmp)
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
        self.summary = {
            "ended": "time budget" if expired else "done",
            "epochs_done": self.completed_epochs,
            "step_in_epoch": self.steps_into_epoch,
            "steps_this_session": trained_steps,
            "global_step": self._global_step(),
            "session_seconds": round(wall, 3),
            "train_seconds": round(self.train_seconds(), 3),
            "images_per_second": round(trained_steps * c.batch_size / wall, 1),
            "strategy": c.strategy,
            "replicas": distribute.replicas(self.strategy),
        }
        write_text(self.output_dir / "summary.json", json.dumps(self.summary, indent=1))
        where = f"{self.completed_epochs} epoch(s)" + (
            f" + {self.steps_into_epoch} steps" if self.steps_into_epoch else ""
        )
        stopped = (
            f"Stopped at the {c.minutes:g}-minute budget after {where}; rerun to resume. "
            if expired
            else f"Done: {self.completed_epochs - first_epoch} epoch(s), "
        )
        log.info(
            "%s%d steps in %s, %.0f images/s on %d replica(s); wrote %d grid(s) in %s, %s",
            stopped,
            trained_steps,
            _format_seconds(wall),
            self.summary["images_per_second"],
            self.summary["replicas"],
            len(grids),
            self._grid_callback.output_dir,
            ", ".join(str(path) for path in others),
        )

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
        labels), and the model's sampling frequencies from them.

        The ids are cached in ``output_dir/clusters.npz`` with what they were made from (the
        images' digest, k, PCA dimensions, seed), so a resumed run trains on the very same ids.
        A cache made from the same images with other settings is re-clustered and its ids
        matched to the old ones (:func:`mnist_gan.data.clusters.match_ids`).
        """
        c = self.config
        digest = hashlib.sha256(np.ascontiguousarray(self.train_images).tobytes()).hexdigest()
        key = {"k": c.clusters, "pca_dims": c.cluster_pca_dims, "seed": self.seed}
        cache = self.output_dir / "clusters.npz"
        old, made = None, {}
        if cache.exists():
            try:
                with np.load(cache, allow_pickle=False) as saved:
                    made = json.loads(str(saved["made_from"]))
                    if made.get("digest") == digest:
                        old = saved["ids"]
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
                # A damaged cache is rebuilt: the clustering is a function of images and seed.
                log.warning("%s is unreadable (%s); clustering the images again", cache, err)
        if old is not None and made == {**key, "digest": digest}:
            ids = old
        else:
            start = time.perf_counter()
            ids = clusters.cluster_ids(self.train_images, c.clusters, self.seed, c.cluster_pca_dims)
            if old is not None and made.get("k") == c.clusters:
                ids = clusters.match_ids(old, ids, c.clusters)
            log.info(
                "Clustered %d images into %d groups in %.1fs",
                len(ids),
                c.clusters,
                time.perf_counter() - start,
            )
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with atomic_write(cache) as tmp, open(tmp, "wb") as handle:
                np.savez(handle, ids=ids, made_from=json.dumps({**key, "digest": digest}))
        self.cluster_ids = np.asarray(ids, np.int32)
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

    # ------------------------------------------------------------------ checks and files
    def _steps_per_epoch(self) -> int:
        return steps_per_epoch(len(self.train_images), self.config.batch_size)

    def _global_step(self) -> int:
        return global_step(self.gan)

    def _checkpoint_meta(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "seed": self.seed,
            "train_seconds": round(self.train_seconds(), 3),
        }

    def _check_output_dir(self) -> None:
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.output_dir, prefix=".write-test-"):
                pass
        except OSError as err:
            raise MNISTGANError(
                f"output folder {self.output_dir} is not writable ({err.strerror or err}); "
                "choose another with --output-dir"
            ) from None

    def _compatible_checkpoint(self) -> Path | None:
        """The newest readable checkpoint in ``output_dir``, if its networks match this run's.

        An unreadable newer file (power loss, a full disk, a bad copy) is renamed aside to
        ``*.unreadable`` with a warning, never deleted, and the one before it is used.
        """
        for _, latest in reversed(list_checkpoints(self.output_dir / "checkpoints")):
            try:
                header = read_checkpoint_header(latest)
                break
            except MNISTGANError as err:
                aside = latest.with_name(latest.name + ".unreadable")
                latest.rename(aside)
                log.warning("%s; moved it to %s and resuming from the one before", err, aside)
        else:
            return None
        saved = header["meta"]["config"]
        mine = self.config.to_dict()
        for key in NETWORK_SETTINGS:
            if saved.get(key) != mine.get(key):
                raise MNISTGANError(
                    f"{self.output_dir} holds a run with {key}={saved.get(key)!r}, but this run "
                    f"asks for {key}={mine.get(key)!r}. Use another --output-dir (the existing "
                    "run is left untouched)."
                )
        return latest


def set_cpu_threads(threads: int) -> None:
    """Use ``threads`` threads inside each TensorFlow op and between ops.

    Must run before TensorFlow executes its first op; later calls are ignored with a warning.
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        log.warning("threads=%d ignored: TensorFlow was already running", threads)


def train_gan(epochs: int = 50, **kwargs: Any) -> GANTrainer:
    """Build a :class:`GANTrainer` with ``kwargs``, train it for ``epochs`` and return it."""
    trainer = GANTrainer(epochs=epochs, **kwargs)
    trainer.train()
    return trainer


def _format_seconds(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}m{secs:04.1f}s" if minutes else f"{secs:.1f}s"

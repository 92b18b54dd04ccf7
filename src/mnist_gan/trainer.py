"""GANTrainer: settings -> data -> model -> callbacks -> ``fit()``, resumable; and train_gan()."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mnist_gan.callbacks import (
    CheckpointCallback,
    LossCurveCallback,
    SampleGridCallback,
    SnapshotCallback,
    TimeBudgetCallback,
)
from mnist_gan.checkpoint import list_checkpoints, load_checkpoint, read_checkpoint_header
from mnist_gan.config import GANConfig, make_config
from mnist_gan.data import load_mnist, make_epoch_dataset, steps_per_epoch
from mnist_gan.errors import MNISTGANError
from mnist_gan.models.gan import MNISTGAN, make_optimizers

log = logging.getLogger("mnist_gan")

# Settings that define the networks: a run can only resume into the same architecture.
ARCHITECTURE_KEYS = (
    "preset",
    "latent_dim",
    "noise",
    "pixel_range",
    "image_size",
    "ema_decay",
)


class GANTrainer:
    """Trains one GAN run in ``output_dir``, resuming from its latest checkpoint.

    Every keyword is a :class:`~mnist_gan.config.GANConfig` setting; unset ones take the preset's
    default (for ``dcgan``: batch_size 100, epochs 50, g_learning_rate 2e-4, d_learning_rate
    2e-5, latent_dim 100, output_dir "outputs"). Bad values raise :class:`MNISTGANError` here,
    before any file is touched.

    ``output_dir`` receives ``generated_samples/*.png`` grids, ``checkpoints/ckpt-epoch-*.npz``
    (one per epoch, newest 3 kept), ``history.json``, ``loss_curves.png``, ``config.json`` and
    the final ``model.keras``.
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
        self.train_images: np.ndarray | None = None
        self.gan: MNISTGAN | None = None
        self.history: dict[str, list[float]] = {}
        self.completed_epochs = 0
        self.steps_into_epoch = 0
        self.previous_train_seconds = 0.0
        self._session_start: float | None = None
        self.files_written: list[Path] = []
        self.model_path = self.output_dir / "model.keras"

    # ------------------------------------------------------------------ pieces
    def load_data(self, x_train: np.ndarray | None = None) -> np.ndarray:
        """Load the uint8 training images (``config.limit`` applied) or use ``x_train``."""
        if x_train is None:
            (x_train, _), _ = load_mnist(self.config.data_path)
        x_train = np.asarray(x_train)
        if x_train.ndim == 4 and x_train.shape[-1] == 1:
            x_train = x_train[..., 0]
        if x_train.ndim != 3 or x_train.shape[1:] != (28, 28):
            raise MNISTGANError(f"training images must be (N, 28, 28), got {x_train.shape}")
        if self.config.limit is not None:
            x_train = x_train[: self.config.limit]
        self.train_images = x_train
        return x_train

    def build_model(self) -> MNISTGAN:
        """Build and compile the preset's :class:`MNISTGAN` (seeded when a seed is set)."""
        if self.config.threads:
            set_cpu_threads(self.config.threads)
        keras.utils.set_random_seed(self.seed)
        c = self.config
        gan = MNISTGAN.from_settings(c, seed=self.seed)
        g_opt, d_opt = make_optimizers(c)
        gan.compile(
            g_optimizer=g_opt,
            d_optimizer=d_opt,
            steps_per_execution=c.steps_per_execution,
            jit_compile=c.jit_compile,
        )
        self.gan = gan
        return gan

    def get_default_callbacks(self, sample_frequency: int | None = None) -> list[Any]:
        """Sample grids (every ``sample_frequency`` steps), per-epoch checkpoints, loss curves;
        with ``eval_every > 0`` also an :class:`~mnist_gan.evaluation.EvaluationCallback`
        (``best_model.keras`` in ``output_dir``)."""
        frequency = self.config.sample_frequency if sample_frequency is None else sample_frequency
        self._grid_callback = SampleGridCallback(
            self.output_dir / "generated_samples",
            sample_frequency=frequency,
            every_epochs=self.config.sample_every_epochs,
            seed=self.seed,
        )
        self._checkpoint_callback = CheckpointCallback(
            self.output_dir / "checkpoints",
            self.history,
            self._checkpoint_meta,
            keep=self.config.keep_checkpoints,
        )
        self._curve_callback = LossCurveCallback(self.output_dir / "loss_curves.png", self.history)
        evaluation = []
        if self.config.eval_every > 0:
            # Before the checkpoint callback, so the eval_ metrics reach the saved history.
            from mnist_gan.evaluation.callback import EvaluationCallback

            evaluation = [
                EvaluationCallback(every_epochs=self.config.eval_every, output_dir=self.output_dir)
            ]
        return [self._grid_callback, *evaluation, self._checkpoint_callback, self._curve_callback]

    def _checkpoint_meta(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "seed": self.seed,
            "train_seconds": round(self.train_seconds(), 3),
        }

    def train_seconds(self) -> float:
        """Training wall time of the whole run so far, resumed sessions included."""
        running = time.perf_counter() - self._session_start if self._session_start else 0.0
        return self.previous_train_seconds + running

    # ------------------------------------------------------------------ training
    def train(self, callbacks: list[Any] | None = None, verbose: int | str = "auto") -> Any:
        """Train to ``config.epochs`` epochs, resuming from ``output_dir``'s latest checkpoint.

        ``callbacks`` are added to the default ones. Returns a ``keras.callbacks.History`` whose
        ``history`` covers the whole run (resumed epochs included). Prints one summary line.
        """
        self._check_output_dir()
        resume_from = self._compatible_checkpoint()
        if resume_from is not None:
            self.seed = int(read_checkpoint_header(resume_from)["meta"]["seed"])
        if self.train_images is None:
            self.load_data()
        if self.gan is None:
            self.build_model()
        assert self.gan is not None and self.train_images is not None
        default_callbacks = self.get_default_callbacks()
        if resume_from is not None:
            header = load_checkpoint(self.gan, resume_from)
            self.completed_epochs = int(header["epoch"])
            self.steps_into_epoch = int(header.get("step_in_epoch", 0))
            self.previous_train_seconds = float(header["meta"].get("train_seconds", 0.0))
            self.history.clear()
            self.history.update(header["meta"].get("history", {}))
            log.info("resuming from %s", resume_from)
            print(
                f"Resuming from {resume_from} ({self.completed_epochs} epochs"
                + (f" + {self.steps_into_epoch} steps" if self.steps_into_epoch else "")
                + " done)"
            )
        (self.output_dir / "config.json").write_text(self.config.to_json())

        result = keras.callbacks.History()
        result.history = self.history
        c = self.config
        if self.completed_epochs >= c.epochs:
            print(
                f"Nothing to train: {self.completed_epochs} epochs already done in "
                f"{self.output_dir} (asked for {c.epochs}); raise --epochs to continue."
            )
            return result

        n_images = len(self.train_images)
        steps = steps_per_epoch(n_images, c.batch_size)
        if steps % c.steps_per_execution:
            raise MNISTGANError(
                f"steps_per_execution={c.steps_per_execution} must divide the {steps} steps of "
                "an epoch"
            )
        budget = TimeBudgetCallback(c.minutes) if c.minutes else None
        snapshots = (
            SnapshotCallback(
                self.output_dir / "snapshots", c.snapshot_minutes, self.previous_train_seconds
            )
            if c.snapshot_minutes
            else None
        )
        extra = [cb for cb in (snapshots, budget) if cb is not None]
        all_callbacks = [*default_callbacks, *(callbacks or []), *extra]
        self._checkpoint_callback.steps_per_epoch = steps
        # A run stopped mid-epoch first finishes that epoch (skipping the batches it already
        # saw), then trains the remaining epochs; the data order is the same as in one go.
        skip = min(self.steps_into_epoch, steps - 1)
        phases = [(self.completed_epochs, self.completed_epochs + 1, skip)] if skip else []
        if self.completed_epochs + (1 if skip else 0) < c.epochs:
            phases.append((self.completed_epochs + (1 if skip else 0), c.epochs, 0))
        first_epoch = self.completed_epochs
        start, first_step = time.perf_counter(), int(self.gan.g_optimizer.iterations.numpy())
        self._session_start = start
        try:
            for first, last, skip_steps in phases:
                dataset = make_epoch_dataset(
                    self.train_images,
                    c.batch_size,
                    first_epoch=first,
                    last_epoch=last,
                    seed=self.seed,
                    pixel_range=c.pixel_range,
                ).skip(skip_steps)
                self._checkpoint_callback.steps_done = skip_steps
                self.gan.fit(
                    dataset,
                    epochs=last,
                    initial_epoch=first,
                    steps_per_epoch=steps - skip_steps,
                    callbacks=all_callbacks,
                    verbose=verbose,
                    shuffle=False,  # the epoch dataset is already shuffled, per epoch and seed
                )
                if budget is not None and budget.expired:
                    break
        except KeyboardInterrupt:
            saved = self._checkpoint_callback.save_interrupted()
            print(f"\nInterrupted: saved {saved}; rerun the same command to resume.")
            raise
        wall = time.perf_counter() - start
        self.completed_epochs = self._checkpoint_callback.completed_epochs
        self.steps_into_epoch = self._checkpoint_callback.step_in_epoch
        self._save_model()
        trained_steps = int(self.gan.g_optimizer.iterations.numpy()) - first_step
        self.files_written = [
            *self._grid_callback.written,
            *([self._checkpoint_callback.latest] if self._checkpoint_callback.latest else []),
            *([self._curve_callback.written] if self._curve_callback.written else []),
            self.model_path,
        ]
        where = f"{self.completed_epochs} epoch(s)" + (
            f" + {self.steps_into_epoch} steps" if self.steps_into_epoch else ""
        )
        epochs_run = self.completed_epochs - first_epoch
        stopped = (
            f"Stopped at the {c.minutes:g}-minute budget after {where}; rerun to resume. "
            if budget is not None and budget.expired
            else f"Done: {epochs_run} epoch(s), "
        )
        print(
            f"{stopped}{trained_steps} steps in {_format_seconds(wall)}, "
            f"{trained_steps * c.batch_size / wall:.0f} images/s; wrote "
            f"{len(self._grid_callback.written)} grid(s) in {self._grid_callback.output_dir}, "
            + ", ".join(
                str(path) for path in self.files_written[len(self._grid_callback.written) :]
            )
        )
        return result

    def generate_samples(self, num_samples: int = 25, seed: int | None = None) -> np.ndarray:
        """``num_samples`` images from the trained generator, (N, 28, 28, 1) in its pixel range.

        For the default presets that range is [-1, 1]; ``mnist_gan.images.to_uint8`` converts.
        """
        if self.gan is None:
            raise MNISTGANError("no model yet: call train() or build_model() first")
        return self.gan.generate(num_samples, seed=seed)

    # ------------------------------------------------------------------ checks and files
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
        found = list_checkpoints(self.output_dir / "checkpoints")
        if not found:
            return None
        latest = found[-1][1]
        saved = read_checkpoint_header(latest)["meta"]["config"]
        mine = self.config.to_dict()
        for key in ARCHITECTURE_KEYS:
            if saved.get(key) != mine.get(key):
                raise MNISTGANError(
                    f"{self.output_dir} holds a run with {key}={saved.get(key)!r}, but this run "
                    f"asks for {key}={mine.get(key)!r}. Use another --output-dir (the existing "
                    "run is left untouched)."
                )
        return latest

    def _save_model(self) -> None:
        assert self.gan is not None
        tmp = self.output_dir / ".model-incomplete.keras"
        self.gan.save(tmp)
        os.replace(tmp, self.model_path)


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

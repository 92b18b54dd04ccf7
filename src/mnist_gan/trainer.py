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

from mnist_gan.callbacks import CheckpointCallback, LossCurveCallback, SampleGridCallback
from mnist_gan.checkpoint import list_checkpoints, load_checkpoint, read_checkpoint_header
from mnist_gan.config import GANConfig, make_config
from mnist_gan.data import load_mnist, make_epoch_dataset, steps_per_epoch
from mnist_gan.errors import MNISTGANError
from mnist_gan.models.gan import MNISTGAN, make_optimizers

log = logging.getLogger("mnist_gan")

# Settings that define the networks: a run can only resume into the same architecture.
ARCHITECTURE_KEYS = ("preset", "latent_dim", "noise", "pixel_range", "image_size", "extra")


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
        keras.utils.set_random_seed(self.seed)
        c = self.config
        gan = MNISTGAN(
            c.latent_dim,
            preset=c.preset,
            noise=c.noise,
            pixel_range=c.pixel_range,
            image_size=c.image_size,
            d_loss_reduction=c.d_loss_reduction,
            seed=self.seed,
        )
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
        """Sample grids (every ``sample_frequency`` steps), per-epoch checkpoints, loss curves."""
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
        return [self._grid_callback, self._checkpoint_callback, self._curve_callback]

    def _checkpoint_meta(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "seed": self.seed}

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
            self.history.clear()
            self.history.update(header["meta"].get("history", {}))
            log.info("resuming from %s (epoch %d)", resume_from, self.completed_epochs)
            print(f"Resuming from {resume_from} ({self.completed_epochs} epochs done)")
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
        dataset = make_epoch_dataset(
            self.train_images,
            c.batch_size,
            first_epoch=self.completed_epochs,
            last_epoch=c.epochs,
            seed=self.seed,
            pixel_range=c.pixel_range,
        )
        start, first_epoch = time.perf_counter(), self.completed_epochs
        try:
            self.gan.fit(
                dataset,
                epochs=c.epochs,
                initial_epoch=first_epoch,
                steps_per_epoch=steps,
                callbacks=default_callbacks + list(callbacks or []),
                verbose=verbose,
                shuffle=False,  # the epoch dataset is already shuffled, per epoch and seed
            )
        except KeyboardInterrupt:
            done = list_checkpoints(self.output_dir / "checkpoints")
            where = f"epoch {done[-1][0]} checkpoint kept" if done else "no epoch finished"
            print(f"\nInterrupted: {where}; rerun the same command to resume.")
            raise
        wall = time.perf_counter() - start
        self.completed_epochs = c.epochs
        self._save_model()
        trained = (c.epochs - first_epoch) * n_images
        self.files_written = [
            *self._grid_callback.written,
            *([self._checkpoint_callback.latest] if self._checkpoint_callback.latest else []),
            *([self._curve_callback.written] if self._curve_callback.written else []),
            self.model_path,
        ]
        print(
            f"Done: {c.epochs - first_epoch} epoch(s) in {_format_seconds(wall)}, "
            f"{trained / wall:.0f} images/s; wrote {len(self._grid_callback.written)} grid(s) "
            f"in {self._grid_callback.output_dir}, checkpoint "
            f"{self._checkpoint_callback.latest}, {self._curve_callback.written}, "
            f"{self.model_path}"
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


def train_gan(epochs: int = 50, **kwargs: Any) -> GANTrainer:
    """Build a :class:`GANTrainer` with ``kwargs``, train it for ``epochs`` and return it."""
    trainer = GANTrainer(epochs=epochs, **kwargs)
    trainer.train()
    return trainer


def _format_seconds(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}m{secs:04.1f}s" if minutes else f"{secs:.1f}s"

"""MNISTGAN: a generator and a discriminator trained with one ``fit()``.

The adversarial update lives in :meth:`MNISTGAN.train_step` and reads in one screen:
a discriminator step on real (label 1) and generated (label 0) images, then a generator
step that labels fresh fakes as real and changes only the generator's weights. Sampling lives
in :mod:`mnist_gan.gan.sampling`, the generator average in :mod:`mnist_gan.gan.ema`, the losses in
:mod:`mnist_gan.gan.losses`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mnist_gan.config import MODEL_SCOPES, MODEL_SETTINGS, SETTINGS, GANConfig
from mnist_gan.data.pipeline import as_image_batch_tf
from mnist_gan.errors import MNISTGANError
from mnist_gan.gan import distribute, ema, losses
from mnist_gan.gan.sampling import Sampler, resolve_labels, to_mnist_size
from mnist_gan.models import rng
from mnist_gan.models.common import full_precision
from mnist_gan.models.presets import build_networks, make_config
from mnist_gan.models.selfcond import ClusterDraw, unconditional_view


def make_optimizer(
    learning_rate: float, decay_rate: float, decay_steps: int, beta_1: float, beta_2: float
) -> keras.optimizers.Adam:
    """Adam whose learning rate is multiplied by ``decay_rate`` every ``decay_steps`` steps.

    The schedule is ``ExponentialDecay(..., staircase=True)`` and is driven by the optimizer's
    own ``iterations`` counter, which advances once per ``apply_gradients`` call, i.e. once per
    training batch for each of the two optimizers (both counters stay equal). ``decay_rate=1``
    gives a constant rate.
    """
    lr: float | keras.optimizers.schedules.LearningRateSchedule = learning_rate
    if decay_rate < 1.0:
        lr = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=decay_steps, decay_rate=decay_rate, staircase=True
        )
    return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2)


def make_optimizers(config: GANConfig) -> tuple[keras.optimizers.Adam, keras.optimizers.Adam]:
    """The (generator, discriminator) optimizers a config asks for (TTUR: separate rates)."""
    shared = (config.lr_decay_rate, config.lr_decay_steps, config.beta_1, config.beta_2)
    return make_optimizer(config.g_learning_rate, *shared), make_optimizer(
        config.d_learning_rate, *shared
    )


@keras.saving.register_keras_serializable(package="mnist_gan")
class MNISTGAN(keras.Model):
    """A GAN on MNIST whose ``fit()`` runs the adversarial update.

    Args:
        latent_dim: size of the noise vector z (None: the preset's, 100 for dcgan).
        generator: a model mapping ``(batch, latent_dim)`` to images; built from the preset
            when None.
        discriminator: a model mapping images to ``(batch, 1)`` logits; built when None.
        preset: name of the design in ``mnist_gan.models.presets.PRESETS`` (the default networks and
            the default optimizers of :meth:`compile`).
        seed: seed of the noise stream used by ``train_step`` (None: random).
        config: a whole :class:`~mnist_gan.config.GANConfig` (e.g. a trainer's) instead of
            ``preset`` and settings.
        **settings: any setting of scope network, step or compile (``docs/settings.md``):
            ``noise``, ``pixel_range``, ``image_size``, ``ema_decay``, ``update``, ``loss``,
            ``r1_gamma``, ``d_loss_reduction``, ``ema_start``, the learning rates, ...; other
            keywords go to ``keras.Model``.

    ``gan.config`` holds the settings. ``call(z)`` returns images, so ``gan.predict(z)`` works.
    With ``ema_decay > 0`` the model keeps ``ema_generator`` (see :mod:`mnist_gan.gan.ema`) and
    samples from it.
    """

    def __init__(
        self,
        latent_dim: int | None = None,
        generator: keras.Model | None = None,
        discriminator: keras.Model | None = None,
        *,
        preset: str = "dcgan",
        seed: int | None = None,
        config: GANConfig | None = None,
        **kwargs: Any,
    ) -> None:
        settings = {name: kwargs.pop(name) for name in MODEL_SETTINGS if name in kwargs}
        run_only = sorted(set(kwargs) & set(SETTINGS))
        if run_only:
            raise MNISTGANError(
                f"{run_only[0]} is a setting of the training run, not of the model: pass it to "
                "GANTrainer or train_gan"
            )
        super().__init__(**kwargs)
        if config is not None:
            settings = {**config.to_dict(), **settings}
        preset = settings.pop("preset", preset)
        if latent_dim is not None:
            settings["latent_dim"] = latent_dim
        self.config = make_config(preset, **settings)
        self.seed = seed
        if generator is None or discriminator is None:
            built_g, built_d = build_networks(self.config)
            generator = built_g if generator is None else generator
            discriminator = built_d if discriminator is None else discriminator
        self.generator = generator
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.ema_generator: keras.Model | None = None
        if self.config.ema_decay > 0:
            self.ema_generator = ema.make_ema_generator(generator)
            self.ema_updates = keras.Variable(0, dtype="int64", trainable=False, name="ema_updates")
        # sfast: the cluster frequencies (restored by .keras loading and checkpoints) and the
        # noise-only views of its generators; the views hold no weights of their own.
        self.cluster_draw: ClusterDraw | None = None
        if self.config.clusters > 0:
            self.cluster_draw = ClusterDraw(
                self.config.clusters, self.config.noise, name="cluster_draw"
            )
        self._views = _Views()
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_acc_tracker = keras.metrics.Mean(name="d_acc_real")
        self.fake_acc_tracker = keras.metrics.Mean(name="d_acc_fake")
        self.g_optimizer: keras.optimizers.Optimizer | None = None
        self.d_optimizer: keras.optimizers.Optimizer | None = None
        self.loss_fn: keras.losses.Loss | None = None
        c = self.config
        self.sampler = Sampler(c.latent_dim, c.noise, c.pixel_range)
        self.built = True

    # ------------------------------------------------------------------ training setup
    def compile(
        self,
        g_optimizer: keras.optimizers.Optimizer | None = None,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        loss_fn: keras.losses.Loss | None = None,
        **kwargs: Any,
    ) -> None:
        """Set the two optimizers and the loss; the rest (``steps_per_execution``,
        ``jit_compile``, ...) goes to ``keras.Model.compile``.

        With no arguments, uses the settings' optimizers (:func:`make_optimizers`; for
        ``dcgan``: Adam(0.5, 0.999), generator LR 2e-4, discriminator LR 2e-5, each multiplied
        by 0.96 every 1000 steps), binary cross-entropy on logits, the config's
        ``steps_per_execution``, and XLA where the preset measured faster with it
        (``config.jit_compile``, docs/speed.md). XLA changes speed only: the noise and dropout
        masks are the same with it (:mod:`mnist_gan.models.rng`). It stays off for replicas on
        several CPU devices, which XLA cannot compile.
        """
        if g_optimizer is None or d_optimizer is None:
            default_g, default_d = make_optimizers(self.config)
            g_optimizer = default_g if g_optimizer is None else g_optimizer
            d_optimizer = default_d if d_optimizer is None else d_optimizer
        kwargs.setdefault("jit_compile", self.config.jit_compile and distribute.xla_supported())
        kwargs.setdefault("steps_per_execution", self.config.steps_per_execution)
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.loss_fn = loss_fn or keras.losses.BinaryCrossentropy(from_logits=True)
        # Build optimizer state now so a checkpoint can be restored before the first step.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        """The loss/accuracy trackers; listed here so Keras resets them every epoch."""
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.real_acc_tracker,
            self.fake_acc_tracker,
        ]

    # ------------------------------------------------------------------ the GAN step
    def train_step(self, data: Any) -> dict[str, Any]:
        """One adversarial update on a batch of real images, or ``(images, labels)``: a
        conditional model gives the fakes the batch's labels; others ignore labels."""
        if self.g_optimizer is None:
            raise MNISTGANError("call gan.compile() before gan.fit()")
        real, labels = self.prepare_real_images(data), self._batch_labels(data)
        batch_size = tf.shape(real)[0]
        d_lr, g_lr = self.d_optimizer.learning_rate, self.g_optimizer.learning_rate
        z = self.sample_noise(batch_size)
        if self.config.update == "simultaneous":
            # One generator pass feeds both losses (the TF DCGAN tutorial's update): both
            # gradients are taken at the same weights, before either optimizer steps.
            with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
                real_logits, fake_logits, d_loss = self._discriminator_pass(real, labels, z)
                g_loss = losses.generator_loss(fake_logits, self.config.loss, self.loss_fn)
            d_grads = d_tape.gradient(d_loss, self.discriminator.trainable_weights)
            g_grads = g_tape.gradient(g_loss, self.generator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_weights))
            self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_weights))
        else:
            # Discriminator: real -> 1, fake -> 0. Generator weights are not touched here.
            with tf.GradientTape() as tape:
                real_logits, fake_logits, d_loss = self._discriminator_pass(real, labels, z)
            self._apply(self.d_optimizer, tape, d_loss, self.discriminator)
            # Generator: fresh fakes labelled real, through the updated discriminator.
            z = self.sample_noise(batch_size)
            with tf.GradientTape() as tape:
                g_logits = self._discriminate(self._generate(z, labels), labels)
                g_loss = losses.generator_loss(g_logits, self.config.loss, self.loss_fn)
            self._apply(self.g_optimizer, tape, g_loss, self.generator)
        if self.ema_generator is not None:
            self.update_ema()

        # Under a strategy: the global losses, as one device reports them (docs/distributed.md).
        self.d_loss_tracker.update_state(distribute.global_value(d_loss))
        self.g_loss_tracker.update_state(distribute.global_value(g_loss))
        self.real_acc_tracker.update_state(tf.reduce_mean(tf.cast(real_logits > 0, "float32")))
        self.fake_acc_tracker.update_state(tf.reduce_mean(tf.cast(fake_logits < 0, "float32")))
        logs = {m.name: m.result() for m in self.metrics}
        logs["g_lr"] = tf.cast(g_lr, "float32")
        logs["d_lr"] = tf.cast(d_lr, "float32")
        return distribute.loggable(logs)

    def update_ema(self) -> None:
        """Move ``ema_generator`` one step towards the generator (see :mod:`mnist_gan.gan.ema`)."""
        c = self.config
        ema.update_ema(
            self.ema_generator, self.generator, self.ema_updates, c.ema_decay, c.ema_start
        )

    def _generate(self, z: tf.Tensor, labels: Any) -> tf.Tensor:
        return self.generator(z if labels is None else [z, labels], training=True)

    def _discriminate(self, images: tf.Tensor, labels: Any) -> tf.Tensor:
        return self.discriminator(images if labels is None else [images, labels], training=True)

    def _discriminator_pass(self, real: tf.Tensor, labels: Any, z: tf.Tensor) -> tuple[Any, ...]:
        """Logits on the real batch and on fakes from ``z`` (given the batch's labels when
        conditional), and the discriminator loss."""
        fake = self._generate(z, labels)
        if self.config.fused_discriminator:
            # One discriminator call on real and fake together: one larger matmul per layer
            # instead of two. Same maths for a discriminator without batch norm (with it, the
            # batch statistics span both halves); dropout draws one mask for both.
            n = tf.shape(real)[0]
            both = None if labels is None else tf.concat([labels, labels], axis=0)
            logits, penalty = self._real_logits(tf.concat([real, fake], axis=0), both, n)
            real_logits, fake_logits = logits[:n], logits[n:]
        else:
            real_logits, penalty = self._real_logits(real, labels)
            fake_logits = self._discriminate(fake, labels)
        c = self.config
        d_loss = losses.discriminator_loss(
            real_logits, fake_logits, c.loss, c.d_loss_reduction, self.loss_fn
        )
        return real_logits, fake_logits, d_loss + penalty

    @staticmethod
    def _apply(optimizer: Any, tape: tf.GradientTape, loss: Any, network: keras.Model) -> None:
        grads = tape.gradient(loss, network.trainable_weights)
        optimizer.apply_gradients(zip(grads, network.trainable_weights))

    def _real_logits(
        self, images: tf.Tensor, labels: Any = None, n_real: Any = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Discriminator logits on ``images`` and the R1 penalty (0 when off) on the real ones:
        all of them, or the first ``n_real``."""
        gamma = self.config.r1_gamma
        if gamma <= 0:
            logits = self._discriminate(images, labels)
            return logits, tf.zeros((), logits.dtype)
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = self._discriminate(images, labels)
            # The sum's gradient holds each image's own input gradient while D treats images
            # independently (batch norm in training mode couples them: then an approximation).
            total = tf.reduce_sum(logits if n_real is None else logits[:n_real])
        grads = tape.gradient(total, images)
        grads = grads if n_real is None else grads[:n_real]
        return logits, losses.r1_penalty(grads, gamma)

    # ------------------------------------------------------------------ data, noise, sampling
    def prepare_real_images(self, data: Any) -> tf.Tensor:
        """A batch (images, or (images, labels)) as float32 ``(B, S, S, 1)`` in the pixel range
        (float64 when that is Keras's ``floatx``, as the generator's output then is).

        See :func:`mnist_gan.data.pipeline.as_image_batch_tf` for the accepted shapes and dtypes.
        """
        images = data[0] if isinstance(data, tuple | list) else data
        batch = as_image_batch_tf(images, self.config.pixel_range, self.config.image_size)
        return tf.cast(batch, full_precision())

    @property
    def conditional(self) -> bool:
        """Whether both networks take the digit (``num_classes > 0``: cgan, cfast). False for
        sfast, whose cluster ids are drawn inside :attr:`sampling_generator`."""
        return self.config.num_classes > 0

    def _batch_labels(self, data: Any) -> tf.Tensor | None:
        """The batch's int32 labels for a conditional model, its cluster ids for sfast; None
        for an unconditional one."""
        if self.cluster_draw is not None:
            if not isinstance(data, tuple | list) or len(data) < 2 or data[1] is None:
                raise MNISTGANError(
                    f"preset {self.config.preset!r} trains on (images, cluster_ids) batches "
                    "(mnist_gan.data.clusters.cluster_ids); GANTrainer makes them from the images"
                )
            return tf.reshape(tf.cast(data[1], "int32"), (-1,))
        if not self.conditional:
            return None
        if not isinstance(data, tuple | list) or len(data) < 2 or data[1] is None:
            raise MNISTGANError(
                f"preset {self.config.preset!r} is conditional: fit it on (images, labels) "
                "batches, e.g. gan.fit(x_train, y_train) or a dataset of (image, label) pairs"
            )
        return tf.reshape(tf.cast(data[1], "int32"), (-1,))

    def sample_noise(
        self, num: int | tf.Tensor, seed: keras.random.SeedGenerator | int | None = None
    ) -> tf.Tensor:
        """Noise z of shape ``(num, latent_dim)`` from this model's distribution."""
        shape = (num, self.config.latent_dim)
        if seed is None and distribute.in_replicas():
            # Each replica folds its id into the seed: its own noise (docs/distributed.md).
            return distribute.replica_noise(
                self.seed_generator, shape, self.config.noise, self.uses_xla
            )
        seed = self.seed_generator if seed is None else seed
        return rng.noise(shape, self.config.noise, rng.seed_pair(seed), xla=self.uses_xla)

    @property
    def uses_xla(self) -> bool:
        """Whether ``fit`` runs the step under XLA (``compile(jit_compile=True)``)."""
        return bool(self.compiled and self.jit_compile)

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator used for sampling: the EMA copy when enabled, else the live one.

        For sfast it is a noise-only view of that network that draws the cluster id from the
        noise (:mod:`mnist_gan.models.selfcond`), so it is called exactly like ``fast``'s.
        """
        return self.noise_only(self.generator if self.ema_generator is None else self.ema_generator)

    def noise_only(self, generator: keras.Model) -> keras.Model:
        """``generator`` as users call it: itself, or for sfast its noise-only view (cached)."""
        if self.cluster_draw is None:
            return generator
        view = self._views.models.get(id(generator))
        if view is None:
            view = self._views.models[id(generator)] = unconditional_view(
                generator, self.cluster_draw
            )
        return view

    def set_cluster_frequencies(self, frequencies: Any) -> None:
        """sfast: the share of training images in each cluster, which sampling draws ids by."""
        values = np.asarray(frequencies, np.float32).reshape(-1)
        if self.cluster_draw is None or values.shape != (self.config.clusters,):
            raise MNISTGANError(
                f"cluster frequencies go to an sfast model, one per cluster; got {values.shape}"
            )
        if not (np.all(values >= 0) and values.sum() > 0):
            raise MNISTGANError("cluster frequencies must be >= 0 and not all 0")
        self.cluster_draw.frequencies.assign(values / values.sum())
        self.sampler.clear()

    def call(self, inputs: Any, training: bool = False) -> tf.Tensor:
        """Generate images from noise ``inputs`` of shape ``(batch, latent_dim)`` (a
        conditional model: ``[noise, labels]``)."""
        return self.sampling_generator(inputs, training=training)

    def generate(
        self,
        num_samples: int = 25,
        seed: int | None = None,
        batch_size: int = 1000,
        use_ema: bool | None = None,
        labels: Any = None,
        return_labels: bool = False,
    ) -> Any:
        """``num_samples`` generated images as float32 ``(N, 28, 28, 1)`` in the pixel range.

        A given ``seed`` makes the result reproducible and leaves the training noise stream
        alone; None draws a fresh seed. Images of a preset that works at another size are
        resized to 28x28. ``use_ema`` picks the EMA (True) or the live (False) generator; None:
        EMA when enabled. Small requests take a numpy fast path (:mod:`mnist_gan.gan.sampling`).

        A conditional model draws the digits ``labels`` asks for (one int for all, or one per
        sample); without labels, balanced digits (:func:`mnist_gan.gan.sampling.resolve_labels`).
        sfast is unconditional: it draws each cluster id from the noise, by the clusters' shares.
        ``return_labels=True`` returns ``(images, labels)``.
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise MNISTGANError(f"num_samples must be a positive integer, got {num_samples!r}")
        if use_ema and self.ema_generator is None:
            raise MNISTGANError("this model has no EMA generator (train with ema_decay > 0)")
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31))
        generator = self.noise_only(self.generator) if use_ema is False else self.sampling_generator
        labels = resolve_labels(labels, num_samples, self.config.num_classes, seed)
        images = self.sampler.generate(generator, num_samples, seed, batch_size, labels)
        return (images, labels) if return_labels else images

    def interpolate(self, **walk: Any) -> np.ndarray:
        """Latent walks as uint8 ``(rows * steps, 28, 28)`` (``rows``, ``steps``, ``seed``,
        ``labels``; see :func:`mnist_gan.gan.walk.interpolate`)."""
        from mnist_gan.gan.walk import interpolate

        return interpolate(self, **walk)

    def to_mnist_size(self, images: Any) -> np.ndarray:
        """Resize ``(B, S, S, 1)`` images to 28x28 (no-op at 28), clipped to the pixel range."""
        return to_mnist_size(images, self.config.pixel_range).numpy()

    # ------------------------------------------------------------------ serialisation
    def get_config(self) -> dict[str, Any]:
        """Both networks, the seed, the name and every network/step/compile setting."""
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "seed": self.seed,
            "name": self.name,
            **self.config.to_dict(MODEL_SCOPES),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MNISTGAN:
        """Rebuild from :meth:`get_config` output (used by ``keras.models.load_model``)."""
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)

    def get_compile_config(self) -> None:
        """Optimizers belong to training checkpoints, not to the ``.keras`` inference file."""
        return None

    # ------------------------------------------------------------------ presets
    @classmethod
    def from_preset(cls, name_or_dir: str | os.PathLike[str]) -> MNISTGAN:
        """A trained model from a preset: the name of one shipped in the package (``"cfast"``,
        ``"fast"``; no network use) or a folder written by :meth:`save_to_preset`.

        A local folder named like a shipped preset wins (with a note). The weights' sha256 is
        checked. The model is not compiled; ``compile()`` it to fine-tune. See
        :mod:`mnist_gan.gan.pretrained` and ``docs/pretrained.md``.
        """
        from mnist_gan.gan.pretrained import load_preset

        return load_preset(name_or_dir)

    def save_to_preset(self, directory: str | os.PathLike[str], **metadata: Any) -> Path:
        """Write this model as a preset folder (config.json, metadata.json, float16 weights of
        the generator, EMA generator and discriminator) that :meth:`from_preset` opens.

        Keywords (``name``, ``command``, ``minutes``, ``scores``, ``dtype``, ``overwrite``): see
        :func:`mnist_gan.gan.pretrained.save_preset`. Returns the folder's ``Path``.
        """
        from mnist_gan.gan.pretrained import save_preset

        return save_preset(self, directory, **metadata)


class _Views:
    """A plain holder, so Keras does not track the views as layers of the model."""

    def __init__(self) -> None:
        self.models: dict[int, keras.Model] = {}


def build_gan(config: GANConfig, seed: int | None = None) -> MNISTGAN:
    """The compiled model ``config`` describes: its networks, optimizers and compile options."""
    gan = MNISTGAN(config=config, seed=seed)
    gan.compile()
    return gan

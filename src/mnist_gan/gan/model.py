"""MNISTGAN: a generator and a discriminator trained with one ``fit()``.

The adversarial update, :meth:`MNISTGAN.train_step`, reads in one screen: a discriminator step
on real (label 1) and generated (label 0) images, a generator step that labels fresh fakes as
real. Around it: :mod:`.sampling`, :mod:`.ema`, :mod:`.losses` (R1 too), :mod:`.batches`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mnist_gan.config import MODEL_SCOPES, MODEL_SETTINGS, SETTINGS, GANConfig, saved_settings
from mnist_gan.data.datasets import card_classes, class_indices, find_class
from mnist_gan.errors import MNISTGANError
from mnist_gan.gan import batches, distribute, ema, losses
from mnist_gan.gan.optimizers import make_optimizers
from mnist_gan.gan.sampling import Sampler, check_request, resolve_labels, to_mnist_size
from mnist_gan.models import resample, rng  # noqa: F401 - resample's layers load from .keras
from mnist_gan.models.precision import loadable_network
from mnist_gan.models.presets import build_networks, make_config
from mnist_gan.models.selfcond import ClusterDraw, NoiseOnlyViews


@keras.saving.register_keras_serializable(package="mnist_gan")
class MNISTGAN(keras.Model):
    """A GAN on MNIST whose ``fit()`` runs the adversarial update.

    Args:
        latent_dim: size of the noise vector z (None: the preset's, 100 for dcgan).
        generator: a model mapping ``(batch, latent_dim)`` to images; built from the preset
            when None.
        discriminator: a model mapping images to ``(batch, 1)`` logits; built when None.
        preset: a design of ``mnist_gan.models.presets.PRESETS`` (networks, optimizers).
        seed: seed of the noise stream used by ``train_step`` (None: random).
        config: a whole :class:`~mnist_gan.config.GANConfig` (e.g. a trainer's) instead of
            ``preset`` and settings.
        data: the card of the data it is trained on (``ImageDataset.card()``: name, content
            hash, class names); None: not recorded (MNIST is assumed for class names).
        **settings: any setting of scope network, step or compile (``docs/settings.md``);
            other keywords go to ``keras.Model``.

    ``gan.config`` holds the settings; ``call(z)`` returns images (``gan.predict(z)`` works);
    with ``ema_decay > 0`` it keeps ``ema_generator`` (:mod:`mnist_gan.gan.ema`), sampled from.
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
        data: dict[str, Any] | None = None,
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
        self.data_card = dict(data) if data else None
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
            c = self.config
            self.cluster_draw = ClusterDraw(c.clusters, c.noise, name="cluster_draw")
        self._views = NoiseOnlyViews(self.cluster_draw)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_acc_tracker = keras.metrics.Mean(name="d_acc_real")
        self.fake_acc_tracker = keras.metrics.Mean(name="d_acc_fake")
        self.g_optimizer: keras.optimizers.Optimizer | None = None
        self.d_optimizer: keras.optimizers.Optimizer | None = None
        self.loss_fn: keras.losses.Loss | None = None
        self.sampler = Sampler(self.config.latent_dim, self.config.noise, self.config.pixel_range)
        self.built = True

    def compile(
        self,
        g_optimizer: keras.optimizers.Optimizer | None = None,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        loss_fn: keras.losses.Loss | None = None,
        **kwargs: Any,
    ) -> None:
        """Set the two optimizers and the loss; the rest (``steps_per_execution``,
        ``jit_compile``, ...) goes to ``keras.Model.compile``.

        Defaults: the settings' optimizers (:func:`~mnist_gan.gan.optimizers.make_optimizers`),
        binary cross-entropy on logits, the config's ``steps_per_execution``, and XLA where the
        preset measured faster with it (``config.jit_compile``; speed only: the noise and
        dropout masks are the same, :mod:`mnist_gan.models.rng`), never for replicas on several
        CPU devices, which XLA cannot compile.
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
        trackers = (self.d_loss_tracker, self.g_loss_tracker)
        return [*trackers, self.real_acc_tracker, self.fake_acc_tracker]

    def train_step(self, data: Any) -> dict[str, Any]:
        """One adversarial update on a batch of real images, or ``(images, labels)``: a
        conditional model gives the fakes the batch's labels; others ignore labels."""
        if self.g_optimizer is None:
            raise MNISTGANError("call gan.compile() before gan.fit()")
        real, labels = self.prepare_real_images(data), batches.batch_ids(data, self.config)
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
        """Discriminator logits on ``images`` and the R1 penalty on the real ones (all, or the
        first ``n_real``): :func:`mnist_gan.gan.losses.logits_and_r1`, lazily every
        ``r1_interval`` discriminator steps."""
        c = self.config
        return losses.logits_and_r1(
            lambda x: self._discriminate(x, labels),
            images,
            c.r1_gamma,
            c.r1_interval,
            self.d_optimizer.iterations,
            n_real,
        )

    def prepare_real_images(self, data: Any) -> tf.Tensor:
        """A batch (images, or (images, labels)) as ``(B, S, S, 1)`` in the pixel range
        (:func:`mnist_gan.gan.batches.real_images`)."""
        return batches.real_images(data, self.config)

    @property
    def conditional(self) -> bool:
        """Whether both networks take the digit (``num_classes > 0``: cgan, cfast). False for
        sfast, whose cluster ids are drawn inside :attr:`sampling_generator`."""
        return self.config.num_classes > 0

    @property
    def class_names(self) -> tuple[str, ...]:
        """A conditional model's class names (:func:`mnist_gan.data.datasets.card_classes`)."""
        return card_classes(self.data_card, self.config.num_classes)

    def class_index(self, label: Any) -> int:
        """The index of a class given by name (``"sneaker"``, any case, a unique prefix) or
        index (``7``, ``"7"``); :class:`MNISTGANError` naming the classes otherwise."""
        if not self.conditional:
            raise MNISTGANError("this model is unconditional: it takes no class (no --label)")
        return find_class(label, self.class_names)

    def sample_noise(
        self, num: int | tf.Tensor, seed: keras.random.SeedGenerator | int | None = None
    ) -> tf.Tensor:
        """Noise z of shape ``(num, latent_dim)`` from this model's distribution."""
        shape, kind = (num, self.config.latent_dim), self.config.noise
        if seed is None and distribute.in_replicas():  # each replica its own (distributed.md)
            return distribute.replica_noise(self.seed_generator, shape, kind, self.uses_xla)
        seed = self.seed_generator if seed is None else seed
        return rng.noise(shape, kind, rng.seed_pair(seed), xla=self.uses_xla)

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
        return generator if self.cluster_draw is None else self._views.view(generator)

    def set_cluster_frequencies(self, frequencies: Any) -> None:
        """sfast: the share of training images in each cluster, which sampling draws ids by."""
        if self.cluster_draw is None:
            raise MNISTGANError("cluster frequencies go to an sfast model")
        self.cluster_draw.set_frequencies(frequencies)
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

        A conditional model draws the classes ``labels`` asks for: one for all, or one per
        sample, each an index or a class name (``"sneaker"``; :meth:`class_index`); without
        labels, balanced classes (:func:`mnist_gan.gan.sampling.resolve_labels`).
        sfast is unconditional: it draws each cluster id from the noise, by the clusters' shares.
        ``return_labels=True`` returns ``(images, labels)``.
        """
        check_request(num_samples, use_ema, self.ema_generator is not None)
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31))
        generator = self.noise_only(self.generator) if use_ema is False else self.sampling_generator
        names, classes = self.class_names, self.config.num_classes
        labels = class_indices(labels, names) if classes else labels
        labels = resolve_labels(labels, num_samples, classes, seed)
        images = self.sampler.generate(generator, num_samples, seed, batch_size, labels)
        return (images, labels) if return_labels else images

    def interpolate(self, **walk: Any) -> np.ndarray:
        """Latent walks, uint8 ``(rows * steps, 28, 28)`` (:func:`.walk.interpolate`)."""
        from mnist_gan.gan.walk import interpolate

        return interpolate(self, **walk)

    def to_mnist_size(self, images: Any) -> np.ndarray:
        """Resize ``(B, S, S, 1)`` images to 28x28 (no-op at 28), clipped to the pixel range."""
        return to_mnist_size(images, self.config.pixel_range).numpy()

    def get_config(self) -> dict[str, Any]:
        """Both networks, the seed, the name and every network/step/compile setting."""
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "seed": self.seed,
            "name": self.name,
            "data": self.data_card,
            **self.config.to_dict(MODEL_SCOPES),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MNISTGAN:
        """Rebuild from :meth:`get_config` output (used by ``keras.models.load_model``)."""
        config = saved_settings(dict(config))
        for key in ("generator", "discriminator"):  # float32 where bfloat16 is not native
            network = loadable_network(config[key], config.get("precision", "float32"))
            config[key] = keras.saving.deserialize_keras_object(network)
        return cls(**config)

    def get_compile_config(self) -> None:
        """Optimizers belong to training checkpoints, not to the ``.keras`` inference file."""
        return None

    @classmethod
    def from_preset(cls, name_or_dir: str | os.PathLike[str]) -> MNISTGAN:
        """A trained model from a preset: a shipped one's name (``"cfast"``; no network use) or
        a folder written by :meth:`save_to_preset` (a local folder wins, with a note); the
        weights' sha256 is checked (:func:`~mnist_gan.gan.pretrained.read_preset`). Not
        compiled: ``compile()`` it to fine-tune (docs/pretrained.md)."""
        from mnist_gan.gan.pretrained import assign_network_weights, read_preset

        found = read_preset(name_or_dir)
        gan = cls(config=found.config, data=found.data)
        assign_network_weights(gan, found.arrays, found.where)
        return gan

    def save_to_preset(self, directory: str | os.PathLike[str], **metadata: Any) -> Path:
        """Write this model as a preset folder that :meth:`from_preset` opens; the keywords
        (``name``, ``command``, ``minutes``, ``scores``, ``dtype``, ``overwrite``) and the
        files: :func:`mnist_gan.gan.pretrained.save_preset`. Returns the folder."""
        from mnist_gan.gan.pretrained import save_preset

        return save_preset(self, directory, **metadata)


def build_gan(
    config: GANConfig, seed: int | None = None, data: dict[str, Any] | None = None
) -> MNISTGAN:
    """The compiled model ``config`` describes: its networks, optimizers and compile options
    (``data``: the card of the data it trains on)."""
    gan = MNISTGAN(config=config, seed=seed, data=data)
    gan.compile()
    return gan

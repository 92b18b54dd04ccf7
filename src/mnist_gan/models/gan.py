"""MNISTGAN: a generator and a discriminator trained with one ``fit()``.

The adversarial update lives in :meth:`MNISTGAN.train_step` and reads in one screen:
a discriminator step on real (label 1) and generated (label 0) images, then a generator
step that labels fresh fakes as real and changes only the generator's weights.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mnist_gan.config import GANConfig, make_config
from mnist_gan.errors import MNISTGANError

MNIST_SIDE = 28
EMA_RAMPUP = 0.05  # the EMA's horizon is at most this fraction of the steps trained so far


def make_optimizer(
    learning_rate: float, decay_rate: float, decay_steps: int, beta_1: float, beta_2: float
) -> keras.optimizers.Adam:
    """Adam whose learning rate is multiplied by ``decay_rate`` every ``decay_steps`` steps.

    The schedule is ``ExponentialDecay(..., staircase=True)`` and is driven by the optimizer's
    own ``iterations`` counter, which advances once per ``apply_gradients`` call, i.e. once per
    training batch for each of the two optimizers (both counters stay equal). Staircase means the
    rate is constant within each block of ``decay_steps`` steps and drops by ``decay_rate`` at
    each block boundary. ``decay_rate=1`` gives a constant rate.
    """
    lr: float | keras.optimizers.schedules.LearningRateSchedule = learning_rate
    if decay_rate < 1.0:
        lr = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=decay_steps, decay_rate=decay_rate, staircase=True
        )
    return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2)


def make_optimizers(config: GANConfig) -> tuple[keras.optimizers.Adam, keras.optimizers.Adam]:
    """The (generator, discriminator) optimizers a config asks for (TTUR: separate rates)."""
    g_opt = make_optimizer(
        config.g_learning_rate,
        config.lr_decay_rate,
        config.lr_decay_steps,
        config.beta_1,
        config.beta_2,
    )
    d_opt = make_optimizer(
        config.d_learning_rate,
        config.lr_decay_rate,
        config.lr_decay_steps,
        config.beta_1,
        config.beta_2,
    )
    return g_opt, d_opt


@keras.saving.register_keras_serializable(package="mnist_gan")
class MNISTGAN(keras.Model):
    """A GAN on MNIST whose ``fit()`` runs the adversarial update.

    Args:
        latent_dim: size of the noise vector z (None: the preset's, 100 for dcgan).
        generator: a model mapping ``(batch, latent_dim)`` to images; built from ``preset``
            when None.
        discriminator: a model mapping images to ``(batch, 1)`` logits; built when None.
        preset: name of the design in ``mnist_gan.config.PRESETS`` (used for the default
            networks and the default optimizers of :meth:`compile`).
        noise: ``"normal"`` (N(0, 1)) or ``"uniform"`` (U(-1, 1)) noise for z.
        pixel_range: the range of generated images and the range real images are scaled to.
        image_size: side length the discriminator sees; real batches are resized to it.
        d_loss_reduction: ``"sum"`` (loss on real + loss on fake) or ``"mean"`` (their average).
        seed: seed of the noise stream used by ``train_step`` (None: random).
        ema_decay: when > 0, keep ``ema_generator``, an exponential moving average of the
            generator's weights updated after every generator step, and use it for ``call``,
            ``generate`` and everything that samples. See :meth:`update_ema` for the warm-up and
            the batch-norm statistics. None: the preset's (0, i.e. off, except for ``fast``).
        ema_start: generator steps during which ``ema_generator`` copies the generator before
            it starts averaging (BigGAN's ``ema_start``). None: the preset's (10,000; 0 for
            ``fast``).
        update: ``"alternating"``: a discriminator step, then a generator step on fresh noise
            through the updated discriminator (2 generator and 3 discriminator passes per
            batch). ``"simultaneous"``: both losses from one generator pass and both gradients
            at the same weights, as in the TensorFlow DCGAN tutorial (1 and 2 passes; faster).
            None: the preset's (``alternating`` except for ``fast``).
        loss: ``"bce"``: the non-saturating logistic loss, with ``loss_fn`` from :meth:`compile`
            (binary cross-entropy on logits by default). ``"hinge"``: discriminator
            ``relu(1 - D(x)) + relu(1 + D(G(z)))``, generator ``-D(G(z))``; ``loss_fn`` unused.
        r1_gamma: when > 0, add the R1 penalty ``r1_gamma / 2 * E|grad_x D(x)|^2`` on real
            images to the discriminator loss (Mescheder et al. 2018); costs a second
            differentiation of the discriminator on the real batch.

    ``call(z)`` returns images, so ``gan.predict(z)`` works.
    """

    def __init__(
        self,
        latent_dim: int | None = None,
        generator: keras.Model | None = None,
        discriminator: keras.Model | None = None,
        *,
        preset: str = "dcgan",
        noise: str | None = None,
        pixel_range: tuple[float, float] | list[float] | None = None,
        image_size: int | None = None,
        d_loss_reduction: str | None = None,
        seed: int | None = None,
        ema_decay: float | None = None,
        update: str | None = None,
        loss: str | None = None,
        r1_gamma: float | None = None,
        ema_start: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        config = make_config(
            preset,
            latent_dim=latent_dim,
            noise=noise,
            pixel_range=pixel_range,
            image_size=image_size,
            d_loss_reduction=d_loss_reduction,
            ema_decay=ema_decay,
            ema_start=ema_start,
            update=update,
            loss=loss,
            r1_gamma=r1_gamma,
        )
        self.config = config
        self.latent_dim = config.latent_dim
        self.preset = preset
        self.noise = config.noise
        self.pixel_range = tuple(config.pixel_range)
        self.image_size = config.image_size
        self.d_loss_reduction = config.d_loss_reduction
        self.seed = seed
        if generator is None or discriminator is None:
            from mnist_gan.models import build_networks

            built_g, built_d = build_networks(config)
            generator = built_g if generator is None else generator
            discriminator = built_d if discriminator is None else discriminator
        self.generator = generator
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.ema_decay = float(config.ema_decay)
        self.ema_start = int(config.ema_start)
        self.update = config.update
        self.loss = config.loss
        self.r1_gamma = float(config.r1_gamma)
        self.ema_generator: keras.Model | None = None
        if self.ema_decay > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_updates = keras.Variable(0, dtype="int64", trainable=False, name="ema_updates")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_acc_tracker = keras.metrics.Mean(name="d_acc_real")
        self.fake_acc_tracker = keras.metrics.Mean(name="d_acc_fake")
        self.g_optimizer: keras.optimizers.Optimizer | None = None
        self.d_optimizer: keras.optimizers.Optimizer | None = None
        self.loss_fn: keras.losses.Loss | None = None
        self.built = True

    @classmethod
    def from_settings(cls, config: GANConfig, seed: int | None = None) -> MNISTGAN:
        """The (uncompiled) model a :class:`~mnist_gan.config.GANConfig` describes."""
        return cls(
            config.latent_dim,
            preset=config.preset,
            noise=config.noise,
            pixel_range=config.pixel_range,
            image_size=config.image_size,
            d_loss_reduction=config.d_loss_reduction,
            ema_decay=config.ema_decay,
            ema_start=config.ema_start,
            update=config.update,
            loss=config.loss,
            r1_gamma=config.r1_gamma,
            seed=seed,
        )

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

        With no arguments, uses the preset's training setup; for ``dcgan``: Adam(beta_1=0.5,
        beta_2=0.999), generator LR 2e-4, discriminator LR 2e-5, each multiplied by 0.96 every
        1000 steps (see :func:`make_optimizer` for the step counter), and binary cross-entropy
        on logits.
        """
        if g_optimizer is None or d_optimizer is None:
            default_g, default_d = make_optimizers(make_config(self.preset))
            g_optimizer = default_g if g_optimizer is None else g_optimizer
            d_optimizer = default_d if d_optimizer is None else d_optimizer
        kwargs.setdefault("jit_compile", False)
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
        """One adversarial update on a batch of real images (labels, if any, are ignored)."""
        if self.g_optimizer is None:
            raise MNISTGANError("call gan.compile() before gan.fit()")
        real = self.prepare_real_images(data)
        batch_size = tf.shape(real)[0]

        d_lr, g_lr = self.d_optimizer.learning_rate, self.g_optimizer.learning_rate
        z = self.sample_noise(batch_size)
        if self.update == "simultaneous":
            # One generator pass feeds both losses (the TF DCGAN tutorial's update): both
            # gradients are taken at the same weights, before either optimizer steps.
            with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
                fake = self.generator(z, training=True)
                real_logits, penalty = self._real_logits(real)
                fake_logits = self.discriminator(fake, training=True)
                d_loss = self._discriminator_loss(real_logits, fake_logits) + penalty
                g_loss = self._generator_loss(fake_logits)
            d_grads = d_tape.gradient(d_loss, self.discriminator.trainable_weights)
            g_grads = g_tape.gradient(g_loss, self.generator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_weights))
            self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_weights))
        else:
            # Discriminator: real -> 1, fake -> 0. Generator weights are not touched here.
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                real_logits, penalty = self._real_logits(real)
                fake_logits = self.discriminator(fake, training=True)
                d_loss = self._discriminator_loss(real_logits, fake_logits) + penalty
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            # Generator: fresh fakes labelled real, through the updated discriminator; only
            # generator weights change.
            z = self.sample_noise(batch_size)
            with tf.GradientTape() as tape:
                g_logits = self.discriminator(self.generator(z, training=True), training=True)
                g_loss = self._generator_loss(g_logits)
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        if self.ema_generator is not None:
            self.update_ema()

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.real_acc_tracker.update_state(tf.reduce_mean(tf.cast(real_logits > 0, "float32")))
        self.fake_acc_tracker.update_state(tf.reduce_mean(tf.cast(fake_logits < 0, "float32")))
        logs = {m.name: m.result() for m in self.metrics}
        logs["g_lr"] = tf.cast(g_lr, "float32")
        logs["d_lr"] = tf.cast(d_lr, "float32")
        return logs

    def _real_logits(self, real: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Discriminator logits on the real batch, and the R1 penalty on them (0 when off)."""
        if self.r1_gamma <= 0:
            return self.discriminator(real, training=True), tf.constant(0.0)
        with tf.GradientTape() as tape:
            tape.watch(real)
            logits = self.discriminator(real, training=True)
            # The sum's gradient holds each image's own input gradient while D treats images
            # independently (batch norm in training mode couples them: then an approximation).
            total = tf.reduce_sum(logits)
        grads = tape.gradient(total, real)
        squared_norms = tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])
        return logits, 0.5 * self.r1_gamma * tf.reduce_mean(squared_norms)

    def _discriminator_loss(self, real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
        if self.loss == "hinge":
            loss = tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(
                tf.nn.relu(1.0 + fake_logits)
            )
        else:
            loss = self.loss_fn(tf.ones_like(real_logits), real_logits) + self.loss_fn(
                tf.zeros_like(fake_logits), fake_logits
            )
        return loss / 2.0 if self.d_loss_reduction == "mean" else loss

    def _generator_loss(self, fake_logits: tf.Tensor) -> tf.Tensor:
        if self.loss == "hinge":
            return -tf.reduce_mean(fake_logits)
        return self.loss_fn(tf.ones_like(fake_logits), fake_logits)

    def update_ema(self) -> None:
        """Move ``ema_generator`` towards the generator: ``ema = d * ema + (1 - d) * weights``.

        For the first ``ema_start`` updates ``d = 0``: the average is a copy of the generator
        (early generators drift or hop between modes; averaging them was measured to hurt).
        Then, ``m`` updates after the start, ``d = min(ema_decay, 1 - 1 / (1 + m * EMA_RAMPUP))``:
        the average spans at most the last 5 % of the averaging so far (StyleGAN2-ADA's
        ramp-up), so it is never dominated by the weights it started from (0.999 is reached
        about 20,000 updates after the start). Batch-norm moving statistics are not averaged
        but copied from the generator each step: they describe the activations of weights
        close to the average, and averaging them again would lag twice.
        """
        self.ema_updates.assign_add(1)
        m = tf.maximum(tf.cast(self.ema_updates - self.ema_start, "float32"), 0.0)
        decay = tf.minimum(self.ema_decay, 1.0 - 1.0 / (1.0 + m * EMA_RAMPUP))
        for averaged, live in zip(
            self.ema_generator.trainable_variables, self.generator.trainable_variables
        ):
            averaged.assign(decay * averaged + (1.0 - decay) * live)
        for averaged, live in zip(
            self.ema_generator.non_trainable_variables, self.generator.non_trainable_variables
        ):
            averaged.assign(live)

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator used for sampling: the EMA copy when enabled, else the live one."""
        return self.generator if self.ema_generator is None else self.ema_generator

    # ------------------------------------------------------------------ data and noise
    def prepare_real_images(self, data: Any) -> tf.Tensor:
        """Turn a batch (images, or (images, labels)) into float32 ``(B, S, S, 1)`` in range.

        uint8/integer pixels are scaled from [0, 255] to ``pixel_range``; float input is taken
        as already scaled (cast to float32, so float64 numpy data works). Accepts
        ``(B, 28, 28)``, ``(B, 28, 28, 1)`` or flat ``(B, 784)``; resizes to ``image_size``.
        """
        if isinstance(data, tuple | list):
            data = data[0]
        x = tf.convert_to_tensor(data)
        integer_input = x.dtype.is_integer
        x = tf.cast(x, "float32")
        if integer_input:
            low, high = self.pixel_range
            x = x / 255.0 * (high - low) + low
        shape = x.shape
        if shape.rank == 2 and shape[-1] == MNIST_SIDE * MNIST_SIDE:
            x = tf.reshape(x, (-1, MNIST_SIDE, MNIST_SIDE, 1))
        elif shape.rank == 3:
            x = x[..., None]
        side = x.shape[1]
        if (
            x.shape.rank != 4
            or x.shape[-1] != 1
            or x.shape[1] != x.shape[2]
            or side not in (MNIST_SIDE, self.image_size)
        ):
            raise MNISTGANError(
                f"MNISTGAN expects grayscale images shaped (batch, 28, 28), (batch, 28, 28, 1) "
                f"or (batch, 784); got a batch shaped {tuple(shape)}"
            )
        if side != self.image_size:
            x = tf.image.resize(x, (self.image_size, self.image_size), method="bilinear")
        return x

    def sample_noise(
        self, num: int | tf.Tensor, seed: keras.random.SeedGenerator | int | None = None
    ) -> tf.Tensor:
        """Noise z of shape ``(num, latent_dim)`` from this model's distribution."""
        seed = self.seed_generator if seed is None else seed
        shape = (num, self.latent_dim)
        if self.noise == "uniform":
            return keras.random.uniform(shape, minval=-1.0, maxval=1.0, seed=seed)
        return keras.random.normal(shape, seed=seed)

    def call(self, inputs: Any, training: bool = False) -> tf.Tensor:
        """Generate images from noise ``inputs`` of shape ``(batch, latent_dim)``.

        Uses the EMA generator when ``ema_decay > 0`` (see :attr:`sampling_generator`).
        """
        return self.sampling_generator(inputs, training=training)

    def generate(
        self,
        num_samples: int = 25,
        seed: int | None = None,
        batch_size: int = 1000,
        use_ema: bool | None = None,
    ) -> np.ndarray:
        """``num_samples`` generated images as float32 ``(N, 28, 28, 1)`` in ``pixel_range``.

        A given ``seed`` makes the result reproducible and leaves the training noise stream
        alone; None draws a fresh seed. Images from a preset that works at another size are
        resized to 28x28, so every consumer sees MNIST-shaped data. ``use_ema`` picks the EMA
        (True) or the live (False) generator; None: EMA when enabled.

        Speed: up to :attr:`NUMPY_PATH_MAX` images run through a numpy copy of the generator
        when its layers allow (``mnist_gan.fastpath``; sub-millisecond for one image), larger
        requests through one compiled TensorFlow function per chunk of ``batch_size``. Both
        compute the same function of the same noise (float32 rounding aside).
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise MNISTGANError(f"num_samples must be a positive integer, got {num_samples!r}")
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31))
        if use_ema and self.ema_generator is None:
            raise MNISTGANError("this model has no EMA generator (train with ema_decay > 0)")
        live = use_ema is False or self.ema_generator is None
        generator = self.generator if live else self.ema_generator
        chunks = []
        for index, start in enumerate(range(0, num_samples, batch_size)):
            n = min(batch_size, num_samples - start)
            z = self._numpy_noise(n, seed, index)
            forward = self._numpy_forward(generator) if n <= self.NUMPY_PATH_MAX else None
            if forward is not None:
                chunks.append(self._clip_to_range(forward(z)))
            else:
                chunks.append(self._compiled_sampler(generator)(tf.constant(z)).numpy())
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=0)

    NUMPY_PATH_MAX = 16

    def _numpy_noise(self, n: int, seed: int, index: int) -> np.ndarray:
        rng = np.random.default_rng([seed, index])
        if self.noise == "uniform":
            return rng.uniform(-1.0, 1.0, (n, self.latent_dim)).astype(np.float32)
        return rng.standard_normal((n, self.latent_dim), dtype=np.float32)

    def _clip_to_range(self, images: np.ndarray) -> np.ndarray:
        low, high = self.pixel_range
        return np.clip(images, low, high, out=images)

    def _numpy_forward(self, generator: keras.Model) -> Any:
        """The numpy copy of ``generator``, rebuilt whenever its weights may have changed."""
        if self.image_size != MNIST_SIDE:
            return None
        from mnist_gan.fastpath import compile_numpy_generator

        cache = self.__dict__.setdefault("_numpy_forwards", {})  # not tracked by Keras
        entry = cache.get(id(generator))
        # Training and checkpoint loads move the step counter; the output layer's last weight
        # changes with any update of the network. Both are cheap to read, unlike all weights.
        last = entry[2] if entry is not None else generator.variables[-1]
        fingerprint = (
            None if self.g_optimizer is None else int(self.g_optimizer.iterations.numpy()),
            np.asarray(last.numpy()).tobytes(),
        )
        if entry is None or entry[0] != fingerprint:
            entry = (fingerprint, compile_numpy_generator(generator), last)
            cache[id(generator)] = entry
        return entry[1]

    def _compiled_sampler(self, generator: keras.Model) -> Any:
        cache = self.__dict__.setdefault("_samplers", {})  # outside Keras's attribute tracking
        sampler = cache.get(id(generator))
        if sampler is None:

            @tf.function(reduce_retracing=True)
            def sampler(z: tf.Tensor) -> tf.Tensor:
                return self._mnist_sized(generator(z, training=False))

            cache[id(generator)] = sampler
        return sampler

    def _mnist_sized(self, images: tf.Tensor) -> tf.Tensor:
        images = tf.cast(images, "float32")
        if images.shape[1] != MNIST_SIDE:
            images = tf.image.resize(images, (MNIST_SIDE, MNIST_SIDE), method="area")
        low, high = self.pixel_range
        return tf.clip_by_value(images, low, high)

    def to_mnist_size(self, images: Any) -> np.ndarray:
        """Resize ``(B, S, S, 1)`` images to 28x28 (no-op at 28), clipped to ``pixel_range``."""
        return self._mnist_sized(tf.convert_to_tensor(images)).numpy()

    # ------------------------------------------------------------------ serialisation
    def get_config(self) -> dict[str, Any]:
        """Every ``__init__`` argument, with both networks serialised."""
        return {
            "latent_dim": self.latent_dim,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "preset": self.preset,
            "noise": self.noise,
            "pixel_range": list(self.pixel_range),
            "image_size": self.image_size,
            "d_loss_reduction": self.d_loss_reduction,
            "seed": self.seed,
            "ema_decay": self.ema_decay,
            "ema_start": self.ema_start,
            "update": self.update,
            "loss": self.loss,
            "r1_gamma": self.r1_gamma,
            "name": self.name,
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

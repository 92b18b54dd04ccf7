"""The two Adam optimizers of a GAN (TTUR: each network its own learning rate), with the
staircase learning-rate decay the settings ask for."""

from __future__ import annotations

import keras

from mnist_gan.config import GANConfig


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

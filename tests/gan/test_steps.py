"""global_step: the generator optimizer's count for a GAN, a plain model's optimizer's otherwise."""

import types

import keras
import numpy as np

from mnist_gan.gan.steps import global_step


def test_a_gan_reads_its_generator_optimizer():
    g_opt, d_opt = keras.optimizers.Adam(), keras.optimizers.Adam()
    g_opt.iterations.assign(7)
    gan = types.SimpleNamespace(g_optimizer=g_opt, optimizer=d_opt)
    assert global_step(gan) == 7


def test_a_plain_model_reads_its_optimizer_and_an_uncompiled_one_has_none():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert global_step(model) is None
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((6, 2)), np.zeros((6, 1)), batch_size=2, verbose=0)
    assert global_step(model) == 3

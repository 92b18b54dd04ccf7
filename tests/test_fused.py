"""fused_discriminator: one discriminator call on real + fake gives the two-call update."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan import MNISTGAN
from mnist_gan.cli import build_parser
from mnist_gan.data.pipeline import scale_images
from mnist_gan.gan.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import synthetic_digits


def one_step(fused, **settings):
    keras.utils.set_random_seed(0)
    gan = MNISTGAN(preset="fast", seed=0, fused_discriminator=fused, **settings)
    gan.compile(jit_compile=False)
    images = scale_images(synthetic_digits(32, 2))
    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=1, verbose=0)
    return gan


@pytest.mark.parametrize(
    "settings", [{}, {"r1_gamma": 0.0, "update": "alternating", "loss": "hinge"}]
)
def test_fused_and_separate_calls_give_the_same_weights(settings):
    separate, fused = one_step(False, **settings), one_step(True, **settings)
    for a, b in zip(separate.variables, fused.variables):
        np.testing.assert_allclose(
            a.numpy(), b.numpy(), rtol=1e-4, atol=2e-5, err_msg=a.path
        )  # Adam magnifies float noise


def test_the_option_reaches_cli_keras_file_and_checkpoint(tmp_path):
    assert build_parser().parse_args(["train", "--fused-discriminator"]).fused_discriminator
    gan = one_step(True)
    gan.save(tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras").config.fused_discriminator
    save_checkpoint(gan, tmp_path / "c.npz", 1, {"config": gan.config.to_dict()})
    restored = MNISTGAN(config=gan.config)
    restored.compile()
    assert load_checkpoint(restored, tmp_path / "c.npz")["meta"]["config"]["fused_discriminator"]

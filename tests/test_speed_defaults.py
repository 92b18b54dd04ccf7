"""Speed settings change speed only: a preset trains to the same weights with XLA on or off
(its noise and dropout masks come from :mod:`mnist_gan.rng`), and the trainer's pre-scaled
float data gives the same batches as the uint8 pipeline. tests/test_regression.py pins the
XLA-off numbers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan import MNISTGAN
from mnist_gan.data import make_epoch_dataset, scale_images
from tests.conftest import op_determinism, synthetic_digits


@pytest.fixture
def xla_allowed():
    """Op determinism off for the test (Keras turns XLA off while it is on), then restored."""
    with op_determinism(False):
        yield


@pytest.mark.parametrize("preset", ["dcgan", "mlp", "fast", "cfast"])
def test_xla_on_and_off_train_to_the_same_weights(preset, xla_allowed):
    def two_steps(jit):
        keras.utils.set_random_seed(0)
        gan = MNISTGAN(preset=preset, seed=0)
        gan.compile(jit_compile=jit)
        images = scale_images(synthetic_digits(64, 3), gan.config.pixel_range)
        data = (images, np.arange(64) % 10) if gan.conditional else images
        history = gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(32), verbose=0)
        return gan, history.history

    plain, plain_logs = two_steps(False)
    xla, xla_logs = two_steps(True)
    assert xla.uses_xla and not plain.uses_xla
    for name in ("d_loss", "g_loss"):
        np.testing.assert_allclose(xla_logs[name], plain_logs[name], rtol=1e-5)
    for a, b in zip(plain.weights, xla.weights, strict=True):
        # Float reordering only: far below one Adam step (the learning rate, 2e-4 or more).
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5, err_msg=a.path)


def test_compile_takes_the_presets_xla_setting_unless_told(xla_allowed):
    for preset in ("dcgan", "mlp", "conv"):
        gan = MNISTGAN(preset=preset)
        gan.compile()
        assert gan.jit_compile == gan.config.jit_compile
    gan = MNISTGAN(preset="fast")
    gan.compile(jit_compile=not gan.config.jit_compile)
    assert gan.jit_compile != gan.config.jit_compile


@pytest.mark.parametrize("pixel_range", [(-1.0, 1.0), (0.0, 1.0)])
def test_float_resident_epochs_equal_the_uint8_ones(pixel_range):
    images = synthetic_digits(50, 4)
    kwargs = dict(first_epoch=2, last_epoch=4, seed=7, pixel_range=pixel_range)
    floats = list(make_epoch_dataset(images, 16, **kwargs))
    uint8 = list(make_epoch_dataset(images, 16, resident="uint8", **kwargs))
    assert len(floats) == len(uint8) == 8
    for a, b in zip(floats, uint8):
        assert a.dtype == b.dtype == tf.float32
        np.testing.assert_array_equal(a.numpy(), b.numpy())

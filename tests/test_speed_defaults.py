"""The model's own speed defaults: compile() takes the preset's jit_compile and
steps_per_execution (the settings the trainer always passed), and the trainer's data is held as
pre-scaled floats (the same numbers as the uint8 pipeline).

XLA on vs off is not compared weight for weight: XLA's stateless random kernels draw other bits
for the same seed (noise z, dropout masks), so the runs differ beyond float tolerance while
running the same update (docs/speed.md); tests/test_regression.py pins the XLA-off numbers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan import MNISTGAN
from mnist_gan.data import make_epoch_dataset, scale_images
from tests.conftest import synthetic_digits


def short_run(preset, **compile_kwargs):
    keras.utils.set_random_seed(0)
    gan = MNISTGAN(preset=preset, seed=0)
    gan.compile(**compile_kwargs)
    images = scale_images(synthetic_digits(64, 3), gan.config.pixel_range)
    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=1, verbose=0)
    return gan


@pytest.mark.parametrize("preset", ["dcgan", "mlp", "fast"])
def test_compile_defaults_take_the_preset_speed_settings(preset):
    gan = MNISTGAN(preset=preset)
    gan.compile()
    assert gan.jit_compile == gan.config.jit_compile
    assert gan.steps_per_execution == gan.config.steps_per_execution


@pytest.mark.parametrize("preset", ["dcgan", "mlp", "fast"])
def test_model_defaults_give_the_weights_of_the_explicit_settings(preset):
    """compile() with no arguments = the explicit settings build_gan (the trainer) passes."""
    config = MNISTGAN(preset=preset).config
    explicit = short_run(
        preset,
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    default = short_run(preset)
    for a, b in zip(explicit.variables, default.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=a.path)


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

"""The trainer's data is held as pre-scaled floats: the same numbers as the uint8 pipeline.

``compile()`` keeps XLA off by default: XLA's stateless random kernels draw other bits for the
same seed (noise z, dropout masks), so a preset's numbers would change (docs/speed.md);
tests/test_regression.py pins the XLA-off numbers."""

import numpy as np
import pytest
import tensorflow as tf

from mnist_gan import MNISTGAN
from mnist_gan.data import make_epoch_dataset
from tests.conftest import synthetic_digits


def test_compile_keeps_xla_off_unless_asked():
    gan = MNISTGAN(preset="fast")
    gan.compile()
    assert not gan.jit_compile and gan.config.jit_compile


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

"""The tf.data pipelines and pixel scaling: batches, limits, per-epoch order, float- and
uint8-resident epochs giving the same batches."""

import numpy as np
import pytest
import tensorflow as tf

from mnist_gan.data.pipeline import make_dataset, make_epoch_dataset, scale_images, steps_per_epoch
from tests.conftest import synthetic_digits


def test_scale_images_maps_to_minus_one_one():
    x = np.array([0, 127.5, 255])
    np.testing.assert_allclose(scale_images(x), [-1, 0, 1])
    np.testing.assert_allclose(scale_images(x, (0.0, 1.0)), [0, 0.5, 1])


def test_make_dataset_batches_scales_and_limits(tiny_images):
    ds = make_dataset(tiny_images, batch_size=10, limit=25, seed=0)
    batches = list(ds.as_numpy_iterator())
    assert [len(b) for b in batches] == [10, 10, 5]
    assert batches[0].shape[1:] == (28, 28, 1) and batches[0].dtype == np.float32
    everything = np.concatenate(batches)
    assert everything.min() >= -1 and everything.max() <= 1
    expected = np.sort(scale_images(tiny_images[:25]).ravel())
    np.testing.assert_allclose(np.sort(everything.ravel()), expected, atol=1e-6)

    # Each image exactly once per epoch, a new order every epoch, the same orders for a seed.
    def rows(a):
        return sorted(map(bytes, np.asarray(a, np.float32).reshape(len(a), -1)))

    assert rows(everything) == rows(scale_images(tiny_images[:25]))
    second = np.concatenate(list(ds.as_numpy_iterator()))
    assert not np.array_equal(everything, second)
    again = make_dataset(tiny_images, batch_size=10, limit=25, seed=0)
    np.testing.assert_array_equal(np.concatenate(list(again.as_numpy_iterator())), everything)
    plain = np.concatenate(list(make_dataset(tiny_images, 10, limit=25, shuffle=False)))
    np.testing.assert_array_equal(plain, scale_images(tiny_images[:25])[..., None])


def test_epoch_dataset_order_depends_only_on_seed_and_epoch(tiny_images):
    kwargs = {"batch_size": 32, "seed": 5}
    whole = list(make_epoch_dataset(tiny_images, first_epoch=0, last_epoch=3, **kwargs))
    resumed = list(make_epoch_dataset(tiny_images, first_epoch=2, last_epoch=3, **kwargs))
    per_epoch = steps_per_epoch(len(tiny_images), 32)
    assert len(whole) == 3 * per_epoch
    for a, b in zip(whole[2 * per_epoch :], resumed):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(whole[0], whole[per_epoch])  # reshuffled each epoch


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

"""The numpy reference for generator pixels: area resize weights and uint8 conversion."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from mnist_gan.data.images import to_uint8
from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.render import (
    area_resize_matrix,
    inspect_generator,
    render_uint8,
    resize_to_mnist,
)


@pytest.mark.parametrize("side", [28, 32, 56, 64])
def test_area_resize_matches_tensorflow(side):
    images = np.random.default_rng(side).random((3, side, side, 1)).astype(np.float32)
    expected = tf.image.resize(images, (28, 28), method="area").numpy()[..., 0]
    np.testing.assert_allclose(resize_to_mnist(images), expected, atol=1e-5)


def test_area_matrix_rows_average():
    matrix = area_resize_matrix(64)
    assert matrix.shape == (28, 64)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(area_resize_matrix(28), np.eye(28, dtype=np.float32))


def _conditional(label_shape=()):
    z = keras.Input((4,), name="z")
    label = keras.Input(label_shape, dtype="int32", name="label")
    e = layers.Flatten()(layers.Embedding(10, 4)(label))
    x = layers.Reshape((28, 28, 1))(layers.Dense(784)(layers.Concatenate()([e, z])))
    return keras.Model([label, z], layers.Activation("tanh")(x))  # label first on purpose


@pytest.mark.parametrize("label_shape", [(), (1,)])
def test_render_conditional_feeds_label_where_it_belongs(label_shape):
    generator = _conditional(label_shape)
    info = inspect_generator(generator)
    assert (info.noise_index, info.label_index, info.latent_dim) == (1, 0, 4)
    noise = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    labels = np.array([2, 5, 5], np.int32)
    direct = generator([labels.reshape((3, *label_shape)), noise], training=False)
    expected = to_uint8(keras.ops.convert_to_numpy(direct))
    np.testing.assert_array_equal(render_uint8(generator, noise, labels), expected)
    # one int is broadcast to the batch
    np.testing.assert_array_equal(
        render_uint8(generator, noise, 5)[1:], render_uint8(generator, noise, labels)[1:]
    )


def test_render_checks_labels_against_inputs():
    generator = _conditional()
    noise = np.zeros((2, 4), np.float32)
    with pytest.raises(MNISTGANError, match="conditional"):
        render_uint8(generator, noise)
    z = keras.Input((4,))
    plain = keras.Model(z, layers.Reshape((28, 28, 1))(layers.Dense(784)(z)))
    with pytest.raises(MNISTGANError, match="no label input"):
        render_uint8(plain, noise, 3)
    with pytest.raises(MNISTGANError, match=r"noise must be \(batch, 4\)"):
        render_uint8(plain, np.zeros((2, 5), np.float32))

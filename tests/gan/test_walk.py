"""slerp, latent walks and the images along them."""

import keras
import numpy as np
import pytest
from keras import layers

from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.render import render_uint8
from mnist_gan.gan.walk import latent_walk, slerp, walk_images, walk_labels


def test_slerp_endpoints_exact():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 4, 16))
    out = slerp(a, b, np.array([0.0, 1.0]))
    assert out.shape == (2, 4, 16)
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_array_equal(out[1], b)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    assert slerp(a32, b32, 0.0).dtype == np.float32
    np.testing.assert_array_equal(slerp(a32, b32, 0.0), a32)
    np.testing.assert_array_equal(slerp(a32, b32, 1.0), b32)


def test_slerp_hand_computed():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(slerp(a, b, 0.5), [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-15)
    np.testing.assert_allclose(slerp(a, b, 1 / 3), [np.sqrt(3) / 2, 0.5], atol=1e-15)
    # not unit: w = pi/2, both weights sin(pi/4) = 0.7071...
    np.testing.assert_allclose(
        slerp(a, np.array([0.0, 3.0]), 0.5), [np.sqrt(0.5), 3 * np.sqrt(0.5)], atol=1e-15
    )
    # 120 degrees apart: midpoint is at 60 degrees, weights sin(60)/sin(120) = 1
    c = np.array([np.cos(2 * np.pi / 3), np.sin(2 * np.pi / 3)])
    np.testing.assert_allclose(slerp(a, c, 0.5), a + c, atol=1e-15)


def test_slerp_keeps_unit_norm():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 50, 32))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    mid = slerp(a, b, 0.5)
    np.testing.assert_allclose(np.linalg.norm(mid, axis=1), 1.0, atol=1e-12)
    # equal angles to both ends
    np.testing.assert_allclose(np.sum(mid * a, axis=1), np.sum(mid * b, axis=1), atol=1e-12)
    path = slerp(a[0], b[0], np.linspace(0, 1, 9))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-12)


def test_slerp_parallel_and_zero_fall_back_to_linear():
    a = np.array([1.0, 2.0, 3.0])
    for b in (2 * a, a.copy(), -a, np.zeros(3)):
        out = slerp(a, b, np.array([0.0, 0.25, 1.0]))
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out, [a, 0.75 * a + 0.25 * b, b], atol=1e-12)
    # nearly parallel (angle ~1e-9): linear, finite
    near = a + np.array([0.0, 0.0, 1e-9])
    np.testing.assert_allclose(slerp(a, near, 0.5), (a + near) / 2, atol=1e-12)


def test_slerp_broadcasts_rows():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 5))
    b = rng.standard_normal(5)  # one end shared by all rows
    out = slerp(a, b, np.linspace(0, 1, 4))
    assert out.shape == (4, 3, 5)
    for i in range(3):
        np.testing.assert_allclose(out[:, i], slerp(a[i], b, np.linspace(0, 1, 4)))
    assert slerp(a, b, 0.3).shape == (3, 5)


def test_latent_walk_shape_rows_and_determinism():
    walk = latent_walk(6, rows=3, steps=5, seed=7)
    assert walk.shape == (15, 6) and walk.dtype == np.float32
    np.testing.assert_array_equal(walk, latent_walk(6, rows=3, steps=5, seed=7))
    assert not np.array_equal(walk, latent_walk(6, rows=3, steps=5, seed=8))
    rows = walk.reshape(3, 5, 6)
    rng = np.random.default_rng(7)
    start, end = rng.standard_normal((2, 3, 6))
    np.testing.assert_allclose(rows[:, 0], start, rtol=1e-6)
    np.testing.assert_allclose(rows[:, -1], end, rtol=1e-6)
    np.testing.assert_allclose(
        rows[1], slerp(start[1], end[1], np.linspace(0, 1, 5)), rtol=1e-5, atol=1e-6
    )
    assert latent_walk(6, rows=2, steps=1, seed=0).shape == (2, 6)


def test_latent_walk_uniform_stays_in_cube():
    walk = latent_walk(64, rows=20, steps=9, seed=3, noise="uniform")
    assert walk.min() >= -1.0 and walk.max() <= 1.0
    assert walk.min() < -0.9 and walk.max() > 0.9


@pytest.mark.parametrize(
    "kwargs",
    [{"noise": "gaussian"}, {"rows": 0}, {"steps": -1}, {"rows": 2.5}],
)
def test_latent_walk_errors(kwargs):
    args = {"rows": 2, "steps": 3, "seed": 0, **kwargs}
    with pytest.raises(MNISTGANError):
        latent_walk(4, **args)


def test_walk_labels():
    np.testing.assert_array_equal(walk_labels(4, rows=2, steps=3), [4] * 6)
    np.testing.assert_array_equal(
        walk_labels((3, 8), rows=2, steps=5), [3, 3, 3, 8, 8, 3, 3, 3, 8, 8]
    )
    np.testing.assert_array_equal(walk_labels([1, 2], rows=1, steps=4), [1, 1, 2, 2])
    for bad in (10, -1, (1, 2, 3), "3", (1, 12), True):
        with pytest.raises(MNISTGANError, match="labels"):
            walk_labels(bad, rows=1, steps=2)


def _plain(side=28):
    z = keras.Input((6,), name="z")
    x = layers.Dense(side * side, kernel_initializer=keras.initializers.RandomNormal(0, 0.5))(z)
    return keras.Model(z, layers.Activation("tanh")(layers.Reshape((side, side, 1))(x)))


def _conditional():
    z = keras.Input((6,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    e = layers.Embedding(10, 6, embeddings_initializer=keras.initializers.RandomNormal(0, 1))
    x = layers.Concatenate()([z, e(label)])
    x = layers.Dense(784, kernel_initializer=keras.initializers.RandomNormal(0, 0.5))(x)
    return keras.Model([z, label], layers.Activation("tanh")(layers.Reshape((28, 28, 1))(x)))


def test_walk_images_runs_the_generator_on_the_walk():
    keras.utils.set_random_seed(0)
    generator = _plain(32)  # resized to 28
    images = walk_images(generator, 6, rows=2, steps=4, seed=5, pixel_range=(-1.0, 1.0))
    assert images.shape == (8, 28, 28) and images.dtype == np.uint8
    expected = render_uint8(generator, latent_walk(6, rows=2, steps=4, seed=5))
    np.testing.assert_array_equal(images, expected)
    assert not np.array_equal(images[0], images[3])  # the walk moves
    np.testing.assert_array_equal(images, walk_images(generator, 6, rows=2, steps=4, seed=5))


def test_walk_images_conditional_labels():
    keras.utils.set_random_seed(0)
    generator = _conditional()
    z = latent_walk(6, rows=2, steps=4, seed=1)
    pair = walk_images(generator, 6, rows=2, steps=4, seed=1, labels=(3, 8))
    np.testing.assert_array_equal(
        pair, render_uint8(generator, z, np.array([3, 3, 8, 8, 3, 3, 8, 8]))
    )
    fixed = walk_images(generator, 6, rows=2, steps=4, seed=1, labels=3)
    np.testing.assert_array_equal(fixed[[0, 1, 4, 5]], pair[[0, 1, 4, 5]])
    assert not np.array_equal(fixed[[2, 3]], pair[[2, 3]])  # the label reached the generator


def test_walk_images_errors():
    with pytest.raises(MNISTGANError, match="latent_dim 5"):
        walk_images(_plain(), 5, rows=1, steps=2, seed=0)
    with pytest.raises(MNISTGANError, match="no label input"):
        walk_images(_plain(), 6, rows=1, steps=2, seed=0, labels=3)
    with pytest.raises(MNISTGANError, match="conditional"):
        walk_images(_conditional(), 6, rows=1, steps=2, seed=0)

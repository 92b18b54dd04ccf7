"""rng: the same random numbers as TensorFlow's kernels, with XLA on and off."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan.models import rng

SEED = tf.constant([11, 123456], tf.int32)


def both_ways(fn):
    """``fn()`` traced without and with XLA."""
    return tf.function(fn)().numpy(), tf.function(fn, jit_compile=True)().numpy()


@pytest.mark.parametrize("shape", [[1], [5], [3, 7], [64, 100], [2, 3, 5]])
def test_uniform_is_the_kernels_bit_for_bit_with_and_without_xla(shape):
    expected = tf.random.stateless_uniform(shape, SEED, -1.0, 1.0).numpy()
    for found in both_ways(lambda: rng.uniform(shape, SEED, -1.0, 1.0)):
        np.testing.assert_array_equal(found, expected)
    # XLA's own kernel is what this module avoids: it gives other numbers for the seed.
    xla_kernel = tf.function(lambda: tf.random.stateless_uniform(shape, SEED), jit_compile=True)
    if np.prod(shape) > 4:
        assert not np.allclose(xla_kernel().numpy(), tf.random.stateless_uniform(shape, SEED))


@pytest.mark.parametrize("shape", [[1], [5], [3, 7], [64, 100]])
def test_normal_matches_the_kernel_within_float_rounding(shape):
    expected = tf.random.stateless_normal(shape, SEED).numpy()
    for found in both_ways(lambda: rng.normal(shape, SEED)):
        assert found.shape == expected.shape
        np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-5)


def test_noise_without_xla_is_keras_exactly():
    a, b = keras.random.SeedGenerator(5), keras.random.SeedGenerator(5)
    np.testing.assert_array_equal(
        rng.noise((4, 9), "normal", rng.seed_pair(b)).numpy(), keras.random.normal((4, 9), seed=a)
    )
    np.testing.assert_array_equal(
        rng.noise((4, 9), "uniform", rng.seed_pair(b)).numpy(),
        keras.random.uniform((4, 9), -1.0, 1.0, seed=a),
    )
    np.testing.assert_array_equal(rng.seed_pair(3).numpy(), [3, 0])


def test_dropout_masks_are_keras_masks_with_and_without_xla():
    x = tf.random.normal([32, 50])
    expected = keras.layers.Dropout(0.3, seed=7)(x, training=True).numpy()
    assert 0.2 < np.mean(expected == 0) < 0.4
    eager = rng.Dropout(0.3, seed=7)(x, training=True).numpy()
    layer = rng.Dropout(0.3, seed=7)
    compiled = tf.function(lambda: layer(x, training=True), jit_compile=True)().numpy()
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_array_equal(compiled, expected)
    np.testing.assert_array_equal(rng.Dropout(0.3)(x, training=False), x)


def test_dropout_round_trips_through_keras_serialisation():
    model = keras.Sequential([keras.Input((4,)), rng.Dropout(0.25, seed=3, name="drop")])
    again = keras.models.model_from_json(model.to_json())
    assert isinstance(again.get_layer("drop"), rng.Dropout)
    assert again.get_layer("drop").rate == 0.25

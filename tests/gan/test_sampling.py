"""Sampler: the numpy fast path and the compiled sampler agree, and stale copies are rebuilt."""

import numpy as np

from mnist_gan import MNISTGAN
from mnist_gan.gan.sampling import Sampler, numpy_noise


def test_small_and_large_requests_draw_the_same_images_from_the_same_noise():
    gan = MNISTGAN(preset="fast", seed=0)
    n = Sampler.NUMPY_PATH_MAX
    small = gan.generate(n, seed=4)  # numpy path
    large = gan.generate(n + 1, seed=4, batch_size=n + 1)  # TensorFlow path, same first chunk
    np.testing.assert_allclose(small, large[:n], atol=2e-5)


def test_the_numpy_copy_is_rebuilt_after_the_weights_change():
    gan = MNISTGAN(preset="mlp", seed=0)
    before = gan.generate(2, seed=1)
    for variable in gan.generator.trainable_variables:
        variable.assign(variable.numpy() * 0.5 + 0.01)
    after = gan.generate(2, seed=1)
    expected = gan.generator(numpy_noise(2, 100, "uniform", 1), training=False).numpy()
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, expected, atol=2e-5)


def test_noise_is_a_pure_function_of_seed_and_chunk():
    a = numpy_noise(3, 8, "normal", 5, 0)
    np.testing.assert_array_equal(a, numpy_noise(3, 8, "normal", 5, 0))
    assert not np.array_equal(a, numpy_noise(3, 8, "normal", 5, 1))
    u = numpy_noise(1000, 4, "uniform", 0)
    assert u.min() >= -1 and u.max() <= 1 and u.dtype == np.float32


def test_the_numpy_copies_follow_training_and_loaded_weights(tmp_path):
    gan = MNISTGAN(preset="fast", seed=0)
    gan.compile(jit_compile=False)
    z = numpy_noise(2, 100, "normal", 1)
    stale = [gan.generate(2, seed=1, use_ema=flag) for flag in (False, True)]
    images = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype("float32")
    gan.fit(images, batch_size=16, epochs=1, verbose=0)
    for flag, generator, old in zip((False, True), (gan.generator, gan.ema_generator), stale):
        found = gan.generate(2, seed=1, use_ema=flag)
        assert not np.allclose(found, old)
        np.testing.assert_allclose(found, generator(z, training=False).numpy(), atol=2e-5)
    other = MNISTGAN(preset="fast", seed=1)
    other.generator.save_weights(tmp_path / "g.weights.h5")
    gan.generator.load_weights(tmp_path / "g.weights.h5")
    np.testing.assert_allclose(
        gan.generate(2, seed=1, use_ema=False), other.generate(2, seed=1, use_ema=False), atol=2e-5
    )

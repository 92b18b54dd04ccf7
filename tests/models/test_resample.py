"""The stride-1 resampling of the ``fast`` family against the strided convolutions it replaces."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan.models.resample import (
    DepthToSpace,
    PhaseTiled,
    SpaceToDepth,
    downsample,
    upsample,
)


def test_space_to_depth_then_2x2_equals_a_4x4_stride_2_convolution():
    # A 4x4 stride-2 kernel regrouped: tap (2a + i, 2b + j) of input channel c is tap (a, b) of
    # space-to-depth channel (2i + j) * C + c (TensorFlow's order).
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 12, 12, 5)).astype(np.float64)
    w4 = rng.normal(size=(4, 4, 5, 7))
    w2 = np.zeros((2, 2, 4 * 5, 7))
    for a in range(2):
        for b in range(2):
            for i in range(2):
                for j in range(2):
                    w2[a, b, (2 * i + j) * 5 : (2 * i + j + 1) * 5] = w4[2 * a + i, 2 * b + j]
    strided = tf.nn.conv2d(x, w4, strides=2, padding="VALID")
    unit = tf.nn.conv2d(SpaceToDepth(dtype="float64")(x), w2, strides=1, padding="VALID")
    assert unit.shape == strided.shape == (3, 5, 5, 7)
    np.testing.assert_allclose(unit, strided, rtol=1e-12, atol=1e-12)


def test_2x2_then_depth_to_space_equals_a_4x4_stride_2_transposed_convolution():
    # Output 2i + p of the sub-pixel form sees inputs i and i + 1, as output 2i + 2 + p of the
    # transposed convolution does (taps p and 2 + p): the same maps up to a shift of one input
    # pixel, with the kernel regrouped by phase.
    rng = np.random.default_rng(1)
    batch, side, c_in, c_out = 2, 6, 3, 4
    x = rng.normal(size=(batch, side, side, c_in))
    k = rng.normal(size=(2, 2, c_in, 4 * c_out))  # sub-pixel kernel, phases (p, q)
    # conv2d_transpose's filter is (h, w, out, in); tap t of the transposed convolution meets
    # input i at output 2i + t.
    w = np.zeros((4, 4, c_out, c_in))
    for a in range(2):
        for b in range(2):
            for p in range(2):
                for q in range(2):
                    phase = k[a, b, :, (2 * p + q) * c_out : (2 * p + q + 1) * c_out]
                    w[2 * (1 - a) + p, 2 * (1 - b) + q] = phase.T
    sub = DepthToSpace(dtype="float64")(tf.nn.conv2d(x, k, strides=1, padding="SAME"))
    full = tf.nn.conv2d_transpose(
        x, w, output_shape=(batch, 2 * side + 2, 2 * side + 2, c_out), strides=2, padding="VALID"
    )
    assert sub.shape == (batch, 2 * side, 2 * side, c_out)
    np.testing.assert_allclose(sub, full[:, 2:, 2:], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("resample", ["strided", "subpixel"])
def test_both_forms_give_the_shapes_of_the_strided_design(resample):
    x = keras.Input((14, 14, 8))
    assert tuple(upsample(x, 16, resample, "up").shape) == (None, 28, 28, 16)
    assert tuple(downsample(x, 16, resample, "down").shape) == (None, 7, 7, 16)


def test_the_four_phases_start_equal():
    keras.utils.set_random_seed(0)
    kernel = keras.ops.convert_to_numpy(PhaseTiled()((2, 2, 8, 4 * 3)))
    for phase in range(1, 4):
        np.testing.assert_array_equal(kernel[..., phase * 3 : (phase + 1) * 3], kernel[..., :3])
    # so the first image is a nearest-neighbour upsampling: every 2x2 block is one value
    x = keras.Input((7, 7, 8))
    model = keras.Model(x, upsample(x, 3, "subpixel", "up"))
    y = model(np.random.default_rng(0).normal(size=(2, 7, 7, 8)).astype("float32")).numpy()
    blocks = y.reshape(2, 7, 2, 7, 2, 3)
    np.testing.assert_array_equal(blocks, np.broadcast_to(blocks[:, :, :1, :, :1], blocks.shape))
    assert PhaseTiled.from_config(PhaseTiled("he_normal").get_config()).base == "he_normal"


def test_a_subpixel_generator_saves_and_loads(tmp_path):
    from mnist_gan.models.fast import build_fast_discriminator, build_fast_generator

    generator = build_fast_generator(resample="subpixel")
    discriminator = build_fast_discriminator(resample="subpixel")
    z = np.random.default_rng(0).normal(size=(2, 100)).astype("float32")
    for model, x in ((generator, z), (discriminator, generator(z))):
        model.save(tmp_path / "m.keras")
        again = keras.models.load_model(tmp_path / "m.keras")
        np.testing.assert_array_equal(again(x), model(x))


def test_importing_the_model_registers_the_layers_a_keras_file_needs():
    # A .keras file of a sub-pixel model names these; load_model finds them only when
    # registered, and a fresh process that opens a model imports mnist_gan.gan.model alone.
    import subprocess
    import sys

    code = (
        "import keras, mnist_gan.gan.model\n"
        "for name in ('PhaseTiled', 'DepthToSpace', 'SpaceToDepth'):\n"
        "    assert keras.saving.get_registered_object('mnist_gan>' + name), name\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

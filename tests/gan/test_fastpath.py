"""The numpy generator forward (mnist_gan.gan.fastpath) against Keras, option by option."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from mnist_gan.gan import fastpath
from mnist_gan.gan.fastpath import compile_numpy_generator
from mnist_gan.models.conv import build_conv_generator
from mnist_gan.models.dcgan import build_dcgan_generator
from mnist_gan.models.fast import build_fast_generator
from mnist_gan.models.mlp import build_mlp_bn_generator, build_mlp_generator


def _randomise_batch_norm(model: keras.Model, seed: int = 0) -> None:
    """Non-trivial inference statistics, so that folding BatchNorm is really tested."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            for variable in layer.weights:
                shape = tuple(variable.shape)
                if "variance" in variable.path:
                    variable.assign(rng.uniform(0.5, 2.0, shape).astype("float32"))
                else:
                    variable.assign(
                        rng.normal(0.0, 0.3, shape).astype("float32")
                        + (1.0 if "gamma" in variable.path else 0.0)
                    )


def _assert_matches_keras(model: keras.Model, seed: int = 0) -> None:
    forward = compile_numpy_generator(model)
    assert forward is not None
    latent = model.inputs[0].shape[1]
    for n in (1, 16):
        z = np.random.default_rng(seed + n).standard_normal((n, latent)).astype(np.float32)
        expected = np.asarray(model(z, training=False))
        z_before = z.copy()
        got = forward(z)
        np.testing.assert_array_equal(z, z_before)  # the input is left alone
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize(
    "builder, activation",
    [
        (build_dcgan_generator, "tanh"),
        (build_dcgan_generator, "sigmoid"),
        (build_mlp_generator, "tanh"),
        (build_fast_generator, "tanh"),
        (build_fast_generator, "sigmoid"),
        (build_conv_generator, "tanh"),
        (build_mlp_bn_generator, "sigmoid"),
    ],
)
def test_preset_generators_match_keras(builder, activation):
    keras.utils.set_random_seed(1)
    model = builder(output_activation=activation)
    _randomise_batch_norm(model)
    _assert_matches_keras(model)


def _conv_t_model(side, channels, filters, kernel, strides, padding, use_bias, activation, bn):
    z = keras.Input(shape=(side * side * channels,))
    x = layers.Reshape((side, side, channels))(z)
    x = layers.Conv2DTranspose(
        filters, kernel, strides=strides, padding=padding, use_bias=use_bias
    )(x)
    if bn:
        x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(negative_slope=0.3)(x)
    x = layers.Conv2DTranspose(2, 3, strides=1, padding="same", activation=activation)(x)
    return keras.Model(z, x)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("strides", [1, 2, (2, 1), 3])
@pytest.mark.parametrize("kernel", [(5, 5), (4, 3), (1, 1), (2, 2)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv_transpose_options_match_keras(padding, strides, kernel, use_bias):
    keras.utils.set_random_seed(2)
    model = _conv_t_model(4, 6, 5, kernel, strides, padding, use_bias, "sigmoid", bn=True)
    _randomise_batch_norm(model)
    _assert_matches_keras(model)


def test_large_layers_are_not_merged_into_one_matrix():
    keras.utils.set_random_seed(3)
    model = _conv_t_model(12, 16, 8, 5, 2, "same", True, "tanh", bn=True)
    _randomise_batch_norm(model)
    _assert_matches_keras(model)


def test_dense_options_and_input_activations_match_keras():
    keras.utils.set_random_seed(4)
    z = keras.Input(shape=(12,))
    x = layers.Activation("tanh")(z)  # element-wise first: must not write into the input
    x = layers.Dense(30, use_bias=False)(x)
    x = layers.BatchNormalization(center=False)(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((5, 6))(x)
    x = layers.Dense(4, activation="relu")(x)  # a Dense on a rank-3 input: per position
    x = layers.BatchNormalization(scale=False)(x)
    x = layers.LeakyReLU(negative_slope=2.0)(x)  # slopes above 1 take the np.where branch
    x = layers.Reshape((20,))(x)
    x = layers.Dense(9, activation="sigmoid")(x)
    model = keras.Model(z, x)
    _randomise_batch_norm(model)
    _assert_matches_keras(model)


def test_unsupported_layers_give_none():
    z = keras.Input(shape=(8,))
    x = layers.Dense(8, activation="gelu")(z)
    assert compile_numpy_generator(keras.Model(z, x)) is None
    z = keras.Input(shape=(8,))
    x = layers.Dropout(0.5)(layers.Dense(8)(z))
    assert compile_numpy_generator(keras.Model(z, x)) is None
    z = keras.Input(shape=(16,))
    x = layers.Reshape((4, 4, 1))(z)
    x = layers.Conv2DTranspose(2, 3, strides=2, output_padding=1)(x)
    assert compile_numpy_generator(keras.Model(z, x)) is None


def test_dcgan_first_layers_merge_into_one_small_matrix():
    """Dense -> Reshape -> ConvT -> BN of ``dcgan`` is one 100x2744 matrix; memory stays small."""
    for builder in (build_dcgan_generator, build_mlp_generator, build_fast_generator):
        forward = compile_numpy_generator(builder(100))
        assert forward.nbytes < 50 * 2**20
    forward = compile_numpy_generator(build_dcgan_generator(100))
    assert forward.plan[0] == "dense 100->2744"
    assert [p for p in forward.plan if p != "activation"] == [
        "dense 100->2744",
        "conv_t 2744->5488",
        "conv_t 5488->784",
    ]


def test_blas_is_single_threaded_during_the_call(monkeypatch):
    calls = []

    class Controller:
        threads = 2

        def get_num_threads(self):
            return self.threads

        def set_num_threads(self, count):
            calls.append(count)
            self.threads = count

    controller = Controller()
    monkeypatch.setattr(fastpath, "_blas_controllers", lambda: [controller])
    forward = compile_numpy_generator(build_mlp_generator(100))
    forward(np.zeros((1, 100), np.float32))
    assert calls == [1, 2] and controller.threads == 2

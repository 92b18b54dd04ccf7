"""Shared fixtures: tiny synthetic MNIST-shaped data, quiet TensorFlow, op determinism."""

import contextlib
import os
from collections.abc import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One worker per core already: a second intra-op thread per worker (and per subprocess a
    # test starts) only makes the workers' kernels wait for each other's cores.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def synthetic_digits(n: int, seed: int = 0) -> np.ndarray:
    """uint8 (n, 28, 28) images: a bright blob at a random place on black, MNIST-like stats."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    cy, cx = rng.integers(8, 20, (2, n, 1, 1))
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18.0)
    return (255 * blob).astype(np.uint8)


@contextlib.contextmanager
def op_determinism(on: bool) -> Iterator[None]:
    """TensorFlow's op determinism switched ``on`` (or off) inside the block and put back as it
    was after, so a test's setting cannot leak into the tests that run after it.

    TensorFlow publishes only ``enable_op_determinism``; reading and clearing the switch needs
    its framework config module (the same switch, no other public handle).
    """
    from tensorflow.python.framework import config

    was_on = config.is_op_determinism_enabled()
    if on:
        config.enable_op_determinism()
    else:
        config.disable_op_determinism()
    try:
        yield
    finally:
        if was_on:
            config.enable_op_determinism()
        else:
            config.disable_op_determinism()


@pytest.fixture(scope="session", autouse=True)
def keras_datasets_without_autotune() -> Iterator[None]:
    """Every dataset Keras's ``fit`` builds (from arrays, or wrapping a ``tf.data`` one) runs
    with tf.data's autotuning off, as the package's own pipelines do.

    Why: an autotuned iterator's destructor waits out its model thread's sleep (up to 60 s)
    when the thread misses the cancellation's wake-up (TensorFlow 2.21). Such iterators die at
    a garbage collection, long after their ``fit``, and froze a test worker for 5-43 s at
    random. Autotuning changes thread counts and buffer sizes, not values. Keras has no public
    hook for a dataset's options, hence the patch of its adapter factory (tests only).
    """
    from keras.src.trainers import data_adapters

    from mnist_gan.data.pipeline import without_autotune

    make_adapter = data_adapters.get_data_adapter

    def get_data_adapter(*args, **kwargs):
        adapter = make_adapter(*args, **kwargs)
        make_dataset = adapter.get_tf_dataset

        def get_tf_dataset():
            return without_autotune(make_dataset())

        adapter.get_tf_dataset = get_tf_dataset
        return adapter

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data_adapters, "get_data_adapter", get_data_adapter)
        yield


@pytest.fixture
def deterministic_ops() -> Iterator[None]:
    """Op determinism on for the test (bit-equal reruns), restored to its previous state after."""
    with op_determinism(True):
        yield


@pytest.fixture
def tiny_images() -> np.ndarray:
    return synthetic_digits(96)


@pytest.fixture
def tiny_npz(tmp_path):
    """A keras-format mnist.npz with 120 train and 40 test synthetic images."""
    path = tmp_path / "tiny_mnist.npz"
    rng = np.random.default_rng(1)
    np.savez(
        path,
        x_train=synthetic_digits(120, 1),
        y_train=rng.integers(0, 10, 120).astype(np.uint8),
        x_test=synthetic_digits(40, 2),
        y_test=rng.integers(0, 10, 40).astype(np.uint8),
    )
    return path


@pytest.fixture(scope="module")
def tiny_preset() -> Iterator[str]:
    """The tests' ``tiny`` preset (``tests/tiny.py``) known to ``make_config`` for the module's
    tests, then removed, so tests that list the presets never see it; yields its name."""
    from mnist_gan.models.presets import PRESETS
    from tests.tiny import NAME, TINY

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PRESETS, NAME, TINY)
        yield NAME

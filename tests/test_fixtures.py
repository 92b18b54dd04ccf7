"""The shared fixtures put TensorFlow's global state back as they found it, and Keras's
fit datasets run without tf.data autotuning (tests/conftest.py says why)."""

from tensorflow.python.framework import config

from tests.conftest import op_determinism


def test_op_determinism_is_restored_after_the_block():
    was_on = config.is_op_determinism_enabled()
    for inside in (True, False):
        with op_determinism(inside):
            assert config.is_op_determinism_enabled() is inside
        assert config.is_op_determinism_enabled() is was_on


def test_op_determinism_is_restored_after_an_error():
    was_on = config.is_op_determinism_enabled()
    try:
        with op_determinism(not was_on):
            raise ValueError("boom")
    except ValueError:
        pass
    assert config.is_op_determinism_enabled() is was_on


def test_the_fixture_turns_it_on(deterministic_ops):
    assert config.is_op_determinism_enabled()


def test_datasets_keras_builds_for_fit_run_without_autotune():
    import numpy as np
    import tensorflow as tf
    from keras.src.trainers import data_adapters

    x = np.zeros((8, 4), np.float32)
    from_arrays = data_adapters.get_data_adapter(x, x, batch_size=4).get_tf_dataset()
    wrapped = data_adapters.get_data_adapter(tf.data.Dataset.from_tensor_slices(x).batch(4))
    for dataset in (from_arrays, wrapped.get_tf_dataset()):
        assert dataset.options().autotune.enabled is False
    assert [tuple(b[0].shape) for b in from_arrays] == [(4, 4), (4, 4)]  # the same batches

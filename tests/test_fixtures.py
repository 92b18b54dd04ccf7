"""The shared fixtures put TensorFlow's global state back as they found it."""

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

"""Checkpoints restore by variable name; earlier positional checkpoints still load."""

import json

import numpy as np
import pytest

from mnist_gan import MNISTGAN, MNISTGANError
from mnist_gan.gan.checkpoint import (
    checkpoint_variables,
    load_checkpoint,
    read_checkpoint_header,
    save_checkpoint,
)
from tests.conftest import synthetic_digits


def trained_gan(seed=0, **settings):
    gan = MNISTGAN(preset="fast", seed=seed, jit_compile=False, **settings)
    gan.compile()
    gan.fit(synthetic_digits(32, seed), batch_size=16, epochs=1, verbose=0)
    return gan


def fresh_gan():
    gan = MNISTGAN(preset="fast", seed=99)
    gan.compile()
    return gan


def assert_same_variables(a, b):
    for group, variables in checkpoint_variables(a).items():
        other = checkpoint_variables(b)[group]
        assert list(variables) == list(other), group
        for name, variable in variables.items():
            np.testing.assert_array_equal(variable.numpy(), other[name].numpy(), err_msg=name)


def test_round_trip_restores_every_variable_by_name(tmp_path):
    gan = trained_gan()
    path = save_checkpoint(gan, tmp_path / "c.npz", epoch=1, meta={"seed": 0})
    with np.load(path) as archive:
        assert "generator/deconv1/kernel" in archive.files
        assert "g_optimizer/deconv1_kernel_momentum" in archive.files
        assert "ema/ema_updates" in archive.files
    other = fresh_gan()
    header = load_checkpoint(other, path)
    assert header["epoch"] == 1 and header["format"] == 2
    assert_same_variables(gan, other)


def test_names_do_not_depend_on_how_many_models_the_process_made():
    first, second = checkpoint_variables(fresh_gan()), checkpoint_variables(fresh_gan())
    assert {g: list(v) for g, v in first.items()} == {g: list(v) for g, v in second.items()}
    dcgan = MNISTGAN(preset="dcgan")
    dcgan.compile()
    names = list(checkpoint_variables(dcgan)["discriminator"])
    assert "drop1/seed_generator/seed_generator_state" in names  # dropout's RNG, by its layer


def test_same_shaped_variables_swapped_in_the_file_are_refused_not_loaded(tmp_path):
    gan = trained_gan()
    path = save_checkpoint(gan, tmp_path / "c.npz", epoch=1, meta={"seed": 0})
    with np.load(path) as archive:
        arrays = dict(archive)
    # A future edit renames a layer: same shapes, different names.
    for key in [k for k in arrays if k.startswith("discriminator/conv1/")]:
        arrays[key.replace("conv1", "conv_first")] = arrays.pop(key)
    np.savez(tmp_path / "renamed.npz", **arrays)
    other = fresh_gan()
    before = [v.numpy().copy() for v in other.discriminator.variables]
    with pytest.raises(MNISTGANError, match="discriminator: missing conv1/bias, conv1/kernel"):
        load_checkpoint(other, tmp_path / "renamed.npz")
    for value, variable in zip(before, other.discriminator.variables):
        np.testing.assert_array_equal(value, variable.numpy())  # nothing half-loaded


def save_positional(gan, path, epoch, meta):
    """The format-1 writer (the package before 2026-11-29): arrays by position + a layout."""
    groups = {
        "generator": list(gan.generator.variables),
        "discriminator": list(gan.discriminator.variables),
        "g_optimizer": list(gan.g_optimizer.variables),
        "d_optimizer": list(gan.d_optimizer.variables),
        "noise": [gan.seed_generator.state],
        "ema": [*gan.ema_generator.variables, gan.ema_updates],
    }
    arrays, layout = {}, {}
    for group, variables in groups.items():
        layout[group] = []
        for i, variable in enumerate(variables):
            arrays[f"{group}/{i}"] = np.asarray(variable.numpy())
            layout[group].append([variable.path, list(variable.shape)])
    header = {"epoch": epoch, "step_in_epoch": 0, "layout": layout, "meta": meta}
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_a_checkpoint_of_the_previous_positional_layout_loads(tmp_path):
    gan = trained_gan()
    save_positional(gan, tmp_path / "old.npz", 2, {"seed": 0})
    other = fresh_gan()  # made later in the process: its optimizer is "adam_5", not "adam"
    assert load_checkpoint(other, tmp_path / "old.npz")["epoch"] == 2
    assert_same_variables(gan, other)


def test_a_positional_checkpoint_of_another_network_is_a_clear_error(tmp_path):
    gan = trained_gan()
    save_positional(gan, tmp_path / "old.npz", 2, {"seed": 0})
    other = MNISTGAN(preset="dcgan", ema_decay=0.9)
    other.compile()
    with pytest.raises(MNISTGANError, match="does not match this model"):
        load_checkpoint(other, tmp_path / "old.npz")


def test_a_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = save_checkpoint(trained_gan(), tmp_path / "c.npz", epoch=1, meta={"seed": 0})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MNISTGANError, match="unreadable"):
        read_checkpoint_header(path)

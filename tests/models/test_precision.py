"""bfloat16 only where the CPU computes it natively: detected, never assumed."""

import keras
import numpy as np
import pytest

from mnist_gan import MNISTGAN
from mnist_gan.models import precision
from mnist_gan.models.precision import native_bfloat16, resolve_precision, without_bfloat16


@pytest.fixture
def cpu(monkeypatch):
    """Pretend to be an x86 CPU with the given flags (the detection is cached: cleared)."""

    def pretend(*flags):
        monkeypatch.setattr(precision, "cpu_flags", lambda: set(flags))
        monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")
        native_bfloat16.cache_clear()

    yield pretend
    native_bfloat16.cache_clear()


def policies(model):
    return {layer.name: layer.dtype_policy.name for layer in model.layers if layer.weights}


def test_without_native_bfloat16_every_request_trains_in_float32(cpu, caplog):
    cpu("avx512f", "avx2", "fma")  # AVX-512 without its bf16 extension
    assert native_bfloat16() is None
    assert resolve_precision("auto") == "float32"
    assert resolve_precision("bfloat16") == "float32"
    assert "no native bfloat16" in caplog.text
    gan = MNISTGAN(preset="fast", precision="bfloat16")
    assert set(policies(gan.generator).values()) == {"float32"}
    assert set(policies(gan.discriminator).values()) == {"float32"}


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16"])
def test_with_native_bfloat16_the_networks_compute_in_it_around_float32_ends(cpu, flag):
    cpu("avx512f", flag)
    assert native_bfloat16() == flag and resolve_precision("auto") == "bfloat16"
    gan = MNISTGAN(preset="cfast", precision="auto")
    generator, discriminator = policies(gan.generator), policies(gan.discriminator)
    assert generator["deconv1"] == discriminator["conv2"] == "mixed_bfloat16"
    assert discriminator["logit"] == "float32"  # the logit, losses and R1 stay float32
    assert keras.config.dtype_policy().name == "float32"  # the global policy is put back
    z = np.zeros((2, 100), "float32")
    assert gan.generator([z, np.zeros(2, "int32")]).dtype == "float32"  # float32 image out
    assert all(w.dtype == "float32" for w in gan.generator.weights)
    # The EMA copy only samples: float32, so samples and ONNX exports match on every CPU.
    assert set(policies(gan.ema_generator).values()) == {"float32"}
    assert [w.path for w in gan.ema_generator.weights] == [w.path for w in gan.generator.weights]


def test_a_bfloat16_model_loads_as_float32_where_there_is_none(cpu, tmp_path):
    cpu("avx512_bf16")
    gan = MNISTGAN(preset="fast", precision="bfloat16")
    gan.save(tmp_path / "m.keras")
    cpu("avx2")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert set(policies(loaded.generator).values()) == {"float32"}
    for a, b in zip(gan.generator.weights, loaded.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    serialized = {"class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"}}
    assert without_bfloat16([serialized])[0]["config"]["name"] == "float32"


def test_info_says_whether_bfloat16_is_on(cpu):
    from mnist_gan.device import bfloat16_line

    cpu("avx2")
    assert bfloat16_line().startswith("off: this CPU has no native bfloat16")
    cpu("avx512_bf16")
    assert bfloat16_line().startswith("native (avx512_bf16): on for")

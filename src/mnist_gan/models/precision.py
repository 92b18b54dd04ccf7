"""bfloat16 compute where the CPU has it, float32 everywhere else.

``precision="bfloat16"`` builds the networks under Keras's ``mixed_bfloat16`` policy: weights,
the generator's output, the discriminator's logit (``models.common.full_precision``), the
losses and R1 stay float32; the convolutions and matmuls run in bfloat16. Only CPUs that compute
bfloat16 natively gain from it (x86 with AVX512_BF16 or AMX, Arm with the BF16 extension);
elsewhere oneDNN emulates it, slower than float32, so it is never used there: a request for it
falls back to float32 with a warning, and ``"auto"`` picks it only where it is native. The CPU
is asked, not assumed (:func:`native_bfloat16`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import platform
import subprocess
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("mnist_gan")

X86_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo names of native bfloat16 arithmetic
ARM_FLAG = "bf16"


def cpu_flags() -> set[str]:
    """The CPU's feature flags: /proc/cpuinfo's ``flags`` (x86) or ``Features`` (Arm) on Linux,
    ``hw.optional.arm.FEAT_*`` on macOS (lower case, without the prefix); empty elsewhere."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
        return set()
    if platform.system() == "Darwin":
        try:
            out = subprocess.run(
                ["sysctl", "hw.optional.arm"], capture_output=True, text=True, timeout=5
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return set()
        return {
            line.split(":")[0].rsplit("FEAT_", 1)[1].lower()
            for line in out.splitlines()
            if "FEAT_" in line and line.strip().endswith(": 1")
        }
    return set()


@functools.cache
def native_bfloat16() -> str | None:
    """The CPU feature that computes bfloat16 natively (``"avx512_bf16"``, ``"amx_bf16"``,
    ``"bf16"``), or None when it has none."""
    flags = cpu_flags()
    machine = platform.machine().lower()
    wanted = X86_FLAGS if machine in ("x86_64", "amd64") else (ARM_FLAG,)
    return next((flag for flag in wanted if flag in flags), None)


def resolve_precision(precision: str, warn: bool = True) -> str:
    """The compute dtype ``precision`` means on this machine: ``"bfloat16"`` only where the CPU
    has it natively (a ``"bfloat16"`` request elsewhere warns and gives ``"float32"``)."""
    if precision == "float32":
        return "float32"
    if native_bfloat16() is not None:
        return "bfloat16"
    if precision == "bfloat16" and warn:
        log.warning(
            "precision bfloat16 asked for, but this CPU has no native bfloat16 (%s): "
            "training in float32",
            " or ".join(X86_FLAGS + (ARM_FLAG,)),
        )
    return "float32"


@contextlib.contextmanager
def network_dtypes(precision: str) -> Iterator[None]:
    """Build networks inside this block with ``precision``'s compute dtype (Keras's global
    policy set for the block and put back after; float32 leaves the policy alone)."""
    import keras

    if resolve_precision(precision) == "float32":
        yield
        return
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def loadable_network(serialized: object, precision: str) -> object:
    """A serialized network (``serialize_keras_object`` output) as this machine should load
    it: as saved, or in float32 where ``precision`` means float32 here (a model trained in
    bfloat16 opened on a CPU without it; the weights are float32 either way)."""
    if resolve_precision(precision, warn=False) == "float32":
        return without_bfloat16(serialized)
    return serialized


def without_bfloat16(serialized: object) -> object:
    """A serialized network (``serialize_keras_object`` output) with every ``mixed_bfloat16``
    layer policy turned into ``float32``: how a model trained in bfloat16 is loaded on a CPU
    without it (the weights are float32 either way)."""
    if isinstance(serialized, dict):
        if serialized.get("class_name") == "DTypePolicy":
            config = serialized.get("config") or {}
            if config.get("name") == "mixed_bfloat16":
                return {**serialized, "config": {**config, "name": "float32"}}
        return {key: without_bfloat16(value) for key, value in serialized.items()}
    if isinstance(serialized, list):
        return [without_bfloat16(value) for value in serialized]
    return serialized

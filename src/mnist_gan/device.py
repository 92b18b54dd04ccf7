"""What this process runs on (platform, versions, accelerators), and whether each device
computes the presets' networks as the CPU does (``mnist-gan info --check``)."""

from __future__ import annotations

import math
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np


def device_info() -> dict[str, object]:
    """Platform, Python/TensorFlow/Keras versions and the visible GPUs (Metal GPUs included)."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    details = []
    for gpu in gpus:
        try:
            name = tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        except (ValueError, RuntimeError):
            name = gpu.name
        details.append(str(name))
    metal = sys.platform == "darwin" and platform.machine() == "arm64"
    return {
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "gpus": details,
        "accelerator": (
            "Metal (tensorflow-metal)" if metal and gpus else "CUDA" if gpus else "none (CPU)"
        ),
        "cpu_threads": tf.config.threading.get_intra_op_parallelism_threads() or "auto",
        # What `--strategy mirrored` trains on: one replica per GPU (per logical CPU device).
        "replicas": f"{len(gpus) or len(tf.config.list_logical_devices('CPU'))} with "
        "--strategy mirrored (docs/distributed.md)",
        "bfloat16": bfloat16_line(),
    }


def bfloat16_line() -> str:
    """Whether this CPU computes bfloat16 natively, and which presets then use it."""
    from mnist_gan.models.precision import native_bfloat16
    from mnist_gan.models.presets import PRESETS

    auto = [name for name, row in PRESETS.items() if row.settings.get("precision") == "auto"]
    flag = native_bfloat16()
    if flag is None:
        return "off: this CPU has no native bfloat16 (every preset trains in float32)"
    users = ", ".join(auto) if auto else "no preset by default"
    return f"native ({flag}): on for {users}; --precision bfloat16 for any preset"


def print_device_info() -> dict[str, object]:
    """Print :func:`device_info` as aligned ``key: value`` lines and return it."""
    info = device_info()
    for key, value in info.items():
        if key == "gpus":
            value = ", ".join(value) or "none"  # type: ignore[arg-type]
        print(f"{key:>12}: {value}")
    return info


# How far a device's outputs may stray from the CPU's, as a fraction of the outputs' scale
# (max |CPU output|, at least 1). NVIDIA GPUs since Ampere run float32 matmuls and convolutions
# in TF32 by default (10 mantissa bits, ~5e-4 relative per product) and every accelerator sums
# in its own order; through the few layers of these freshly initialised networks that moves
# outputs by up to ~1e-3 of their scale. A broken kernel (like tensorflow-metal's reported
# fused MatMul+BiasAdd+ReLU fault) is off by the order of the outputs themselves. 1e-2 lies
# between: ten times the honest rounding, a hundredth of a real fault.
CHECK_TOLERANCE = 1e-2
CHECK_BATCH = 4  # small: dcgan64 at 64x64 is the heaviest network, and one batch shows a fault
CHECK_SEED = 20


@dataclass(frozen=True)
class Comparison:
    """How one device's outputs compare with the CPU's: the worst scaled difference, and the
    problem (None when within tolerance)."""

    error: float
    problem: str | None

    @property
    def ok(self) -> bool:
        """Whether the outputs agree within the tolerance."""
        return self.problem is None


def compare_outputs(
    reference: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
    tolerance: float = CHECK_TOLERANCE,
) -> Comparison:
    """Compare each named output array with the reference's (the CPU's).

    The difference of an output is ``max |output - reference| / max(1, max |reference|)``;
    :attr:`Comparison.error` is the largest over the outputs. A missing output, another shape,
    or a NaN/inf in either array is a problem whatever the numbers.
    """
    worst = 0.0
    for name, expected in reference.items():
        expected = np.asarray(expected, dtype=np.float64)
        if name not in outputs:
            return Comparison(math.inf, f"{name}: no output")
        got = np.asarray(outputs[name], dtype=np.float64)
        if got.shape != expected.shape:
            return Comparison(math.inf, f"{name}: shape {got.shape}, CPU {expected.shape}")
        if not (np.isfinite(got).all() and np.isfinite(expected).all()):
            return Comparison(math.inf, f"{name}: NaN or infinite values")
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        error = float(np.max(np.abs(got - expected), initial=0.0)) / scale
        if error > tolerance:
            return Comparison(error, f"{name} differs by {error:.2g} of its scale")
        worst = max(worst, error)
    return Comparison(worst, None)


def check_inputs(model: Any, config: Any, batch: int = CHECK_BATCH, seed: int = CHECK_SEED) -> list:
    """Fixed inputs for ``model`` (a generator or discriminator): noise for a 2-D float input,
    images in ``config.pixel_range`` for an image input, digits ``0, 1, ...`` for an int label."""
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in model.inputs:
        shape = (batch, *spec.shape[1:])
        if "int" in str(spec.dtype):
            arrays.append((np.arange(batch) % max(1, config.num_classes)).astype(spec.dtype))
        elif len(shape) == 2:
            arrays.append(rng.standard_normal(shape).astype("float32"))
        else:
            low, high = config.pixel_range
            arrays.append(rng.uniform(low, high, shape).astype("float32"))
    return arrays


def network_outputs(
    generator: Any, discriminator: Any, inputs: tuple[list, list], device: str
) -> dict[str, np.ndarray]:
    """Run both networks in inference mode on ``device`` (a TensorFlow device name)."""
    import keras
    import tensorflow as tf

    def call(model: Any, arrays: list) -> np.ndarray:
        result = model(arrays[0] if len(arrays) == 1 else arrays, training=False)
        parts = [keras.ops.convert_to_numpy(x).reshape(-1) for x in keras.tree.flatten(result)]
        return np.concatenate(parts)

    with tf.device(device):
        return {
            "generator": call(generator, inputs[0]),
            "discriminator": call(discriminator, inputs[1]),
        }


OutputsFn = Callable[[Any, Any, tuple[list, list], str], Mapping[str, np.ndarray]]


def run_device_check(
    presets: Sequence[str] | None = None,
    devices: Sequence[str] | None = None,
    outputs: OutputsFn = network_outputs,
    tolerance: float = CHECK_TOLERANCE,
    stream: TextIO | None = None,
) -> int:
    """Run each preset's networks on each device and compare with the CPU; 0 if all agree, 1 not.

    ``presets`` defaults to all; ``devices`` to every visible logical device that is not a CPU,
    or, when there is none, the CPU itself (a second run, which must agree too). Each preset's
    networks are built once (seeded) and fed fixed inputs of :data:`CHECK_BATCH`; ``outputs``
    runs them on a device (:func:`network_outputs`; tests pass their own). Prints one line per
    preset and device to ``stream`` (stdout), then a verdict line.
    """
    import keras
    import tensorflow as tf

    from mnist_gan.models.presets import PRESETS, build_networks, make_config

    stream = sys.stdout if stream is None else stream
    cpu = tf.config.list_logical_devices("CPU")[0].name
    if devices is None:
        devices = [d.name for d in tf.config.list_logical_devices() if d.device_type != "CPU"]
        devices = devices or [cpu]
    print(
        f"device check: each preset on {', '.join(devices)} against {cpu}, batch "
        f"{CHECK_BATCH}, tolerance {tolerance:g} of the output scale",
        file=stream,
    )
    failures = 0
    for name in presets or list(PRESETS):
        config = make_config(name)
        keras.utils.set_random_seed(CHECK_SEED)
        generator, discriminator = build_networks(config)
        inputs = (check_inputs(generator, config), check_inputs(discriminator, config))
        reference = outputs(generator, discriminator, inputs, cpu)
        for device in devices:
            result = compare_outputs(
                reference, outputs(generator, discriminator, inputs, device), tolerance
            )
            failures += not result.ok
            verdict = "ok" if result.ok else f"MISMATCH: {result.problem}"
            print(
                f"  {name:<8} {device:<18} max difference {result.error:.2g}  {verdict}",
                file=stream,
            )
    if failures:
        print(
            f"device check FAILED: {failures} preset/device pair(s) disagree with the CPU "
            f"beyond {tolerance:g}; results on those devices cannot be trusted (a broken "
            "GPU plugin?). Train on the CPU or fix the plugin.",
            file=stream,
        )
        return 1
    print("device check passed: every device agrees with the CPU", file=stream)
    return 0

"""What this process runs on: platform, versions, accelerators."""

from __future__ import annotations

import platform
import sys


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
    }


def print_device_info() -> dict[str, object]:
    """Print :func:`device_info` as aligned ``key: value`` lines and return it."""
    info = device_info()
    for key, value in info.items():
        if key == "gpus":
            value = ", ".join(value) or "none"  # type: ignore[arg-type]
        print(f"{key:>12}: {value}")
    return info

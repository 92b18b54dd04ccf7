"""Small generator batches through ONNX Runtime: sub-millisecond sampling from a maintained runtime.

Calling a TensorFlow function costs about half a millisecond on a small CPU before any
arithmetic, and one ``dcgan`` image takes several. ONNX Runtime runs the same generator, written
by Keras's own ``Model.export(format="onnx")`` (the converter :mod:`mnist_gan.outputs.export`
uses too), in 0.1-0.2 ms for one image here (``benchmarks/results/generate_latency.json``).

The session runs on one intra-op and one inter-op thread: these matrices are far too small to
gain from threads, and a second thread that has to wait for a busy core is what makes the tail
latency. The export takes one to a few seconds, so :class:`mnist_gan.gan.sampling.Sampler` makes
it only for a generator that is asked for small batches again and again with unchanged weights.

:func:`compile_onnx_generator` returns None when ONNX Runtime or the converter is not installed
(they come with the ``export`` extra) or the generator does not convert; callers then stay on
TensorFlow, which computes the same function.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

OnnxForward = Callable[[np.ndarray], np.ndarray]

#: Packages the path needs; without any of them it is off and TensorFlow serves every request.
RUNTIME_PACKAGES = ("onnxruntime", "tf2onnx", "onnx")


def runtime_available() -> bool:
    """Whether ONNX Runtime and the converter Keras's ONNX export uses are installed."""
    return all(importlib.util.find_spec(name) is not None for name in RUNTIME_PACKAGES)


def compile_onnx_generator(generator: Any) -> OnnxForward | None:
    """A function ``noise (n, latent_dim) float32 -> images (n, H, W, C) float32`` that runs
    ``generator`` (inference mode, weights as they are now) in ONNX Runtime, or None when the
    runtime is missing, the generator takes more than the noise, or the export fails."""
    if not runtime_available() or len(generator.inputs) != 1:
        return None
    import keras
    import onnxruntime

    noise = generator.inputs[0]
    signature = [keras.InputSpec(shape=(None, *noise.shape[1:]), dtype="float32", name="noise")]
    with tempfile.TemporaryDirectory(prefix="mnist-gan-onnx-") as folder:
        path = Path(folder) / "generator.onnx"
        try:
            with warnings.catch_warnings(), _quiet("tf2onnx"):  # its notes are not the user's
                warnings.simplefilter("ignore")
                generator.export(str(path), format="onnx", verbose=False, input_signature=signature)
            model = path.read_bytes()
        except Exception:  # noqa: BLE001 - an op the converter lacks: TensorFlow serves instead
            return None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: no start-up notes on stderr
    try:
        session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        # A converter that mistranslates an op must not change a user's pixels: compare once.
        probe = np.random.default_rng(0).standard_normal((2, *noise.shape[1:]), np.float32)
        found = session.run(None, {input_name: probe})[0]
        expected = keras.ops.convert_to_numpy(generator(probe, training=False))
        if found.shape != expected.shape or not np.allclose(found, expected, atol=1e-4):
            return None
    except Exception:  # noqa: BLE001 - an op the runtime lacks (sfast's Erfinv): TensorFlow
        return None

    def forward(z: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: np.asarray(z, dtype=np.float32)})[0]

    forward.session = session  # type: ignore[attr-defined]  (for benchmarks: the bare call)
    forward.input_name = input_name  # type: ignore[attr-defined]
    return forward


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library's logger inside the block (an unsupported op is our fallback, not an
    error for the user to read)."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)

"""TensorFlow's start-up lines: hidden by default on the command line, shown on request.

Importing TensorFlow 2.21 on a machine without a GPU writes absl pre-init lines and the CUDA
stub message ("Could not find cuda drivers ...") from C++ straight to file descriptor 2, before
``TF_CPP_MIN_LOG_LEVEL`` is read by the code that prints them, and the first look for GPUs
adds "failed call to cuInit". So :func:`import_tensorflow` points descriptor 2 at a temporary
file while TensorFlow and Keras are imported and the GPUs listed, drops what
was caught when the import works and writes it back to stderr when it fails (the reason is
then in view). It also sets TensorFlow's C++ log level to 3 (fatal only) unless
``TF_CPP_MIN_LOG_LEVEL`` is set: its C++ error lines during training are about its own graph
optimisations, not the user's run (on AVX-512 CPUs grappler's remapper logs "remapper failed
... LeakyReluGrad" for the fast family's R1 step, then runs the step unfused; a real failure
raises a Python exception). ``MNIST_GAN_TF_LOGS=1`` or ``mnist-gan --tf-logs`` shows
everything as TensorFlow prints it and leaves its log level alone.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from typing import Any

ENV_VAR = "MNIST_GAN_TF_LOGS"


def tf_logs_wanted() -> bool:
    """Whether ``MNIST_GAN_TF_LOGS`` asks for TensorFlow's own log lines (1/true/yes/on)."""
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def import_tensorflow(show_logs: bool | None = None) -> None:
    """Import TensorFlow and Keras once, without their start-up lines unless ``show_logs``.

    ``show_logs`` None reads :func:`tf_logs_wanted`. When the lines are hidden, TensorFlow's
    C++ log level defaults to 3 (its later error lines stay hidden too; set
    ``TF_CPP_MIN_LOG_LEVEL`` yourself to choose). A failing import re-raises after writing what
    TensorFlow printed to stderr. Does nothing when TensorFlow is already imported.
    """
    if "tensorflow" in sys.modules:
        return
    if tf_logs_wanted() if show_logs is None else show_logs:
        _import_tensorflow_and_keras()
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            tensorflow = _import_tensorflow_and_keras()
            # The first look for GPUs loads the CUDA platform, which reports a missing driver
            # as an error line; listing physical devices does not fix the runtime's settings.
            tensorflow.config.list_physical_devices("GPU")
        except Exception:  # (Ctrl-C just stops: nothing to explain)
            sys.stderr.flush()
            os.dup2(saved, 2)
            caught.seek(0)
            sys.stderr.write(caught.read().decode(errors="replace"))
            sys.stderr.flush()
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _import_tensorflow_and_keras() -> Any:
    # TensorFlow first, so a broken TensorFlow fails as itself rather than inside Keras.
    tensorflow = importlib.import_module("tensorflow")
    importlib.import_module("keras")
    return tensorflow

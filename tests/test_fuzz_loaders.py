"""Fuzzing every file loader: random bytes, truncated and byte-flipped valid files.

Each loader must either return valid data (a harmless flip, e.g. in pixel bytes) or raise
MNISTGANError: never another exception type, never a hang (Hypothesis deadline). Examples are
derandomized so CI runs are reproducible.
"""

import gzip
import io
import os
import zipfile
from datetime import timedelta
from pathlib import Path

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mnist_gan.data.sources import IDX_NAMES, read_idx, read_idx_folder, read_npz
from mnist_gan.errors import MNISTGANError
from mnist_gan.evaluation.report import load_source_images
from mnist_gan.gan.model import MNISTGAN
from mnist_gan.outputs.loading import load_gan

FUZZ = settings(
    max_examples=40,
    deadline=timedelta(seconds=3),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KERAS_FUZZ = settings(FUZZ, max_examples=30, deadline=timedelta(seconds=10))

RANDOM = st.binary(min_size=0, max_size=4096)
FLIPS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1,
                 max_size=8)  # fmt: skip


def flipped(valid: bytes, flips: list[tuple[float, int]]) -> bytes:
    data = bytearray(valid)
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    return bytes(data)


def truncated(valid: bytes, where: float) -> bytes:
    return valid[: int(where * len(valid))]


CUTS = st.floats(0, 1, exclude_max=True)


# ------------------------------------------------------------------ valid files
def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def _labels(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 10, n).astype(np.uint8)


def _npz_bytes(compressed: bool) -> bytes:
    buffer = io.BytesIO()
    save = np.savez_compressed if compressed else np.savez
    save(buffer, x_train=_images(3, 0), y_train=_labels(3, 1), x_test=_images(2, 2),
         y_test=_labels(2, 3))  # fmt: skip
    return buffer.getvalue()


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


IDX_ARRAYS = {
    "x_train": _images(3, 0),
    "y_train": _labels(3, 1),
    "x_test": _images(2, 2),
    "y_test": _labels(2, 3),
}
VALID_IDX = {key: _idx_bytes(array) for key, array in IDX_ARRAYS.items()}
VALID_NPZ = {False: _npz_bytes(False), True: _npz_bytes(True)}


def _npy_bytes() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, _images(4, 5), allow_pickle=False)
    return buffer.getvalue()


VALID_NPY = _npy_bytes()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def valid_keras(workdir) -> bytes:
    layers = keras.layers
    generator = keras.Sequential(
        [keras.Input((4,)), layers.Dense(784, activation="tanh"), layers.Reshape((28, 28, 1))]
    )
    discriminator = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    gan = MNISTGAN(4, generator, discriminator, seed=0)
    gan.generate(2, seed=0)
    path = workdir / "valid.keras"
    gan.save(path)
    assert isinstance(load_gan(path), MNISTGAN)
    return path.read_bytes()


# ------------------------------------------------------------------ checks
def _write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


def _check_mnist(result) -> None:
    (x_train, y_train), (x_test, y_test) = result
    for x, y in ((x_train, y_train), (x_test, y_test)):
        assert x.dtype == np.uint8 and x.ndim == 3 and x.shape[1:] == (28, 28)
        assert y.dtype == np.uint8 and y.shape == (len(x),)
        assert y.size == 0 or y.max() <= 9


def _expect_ok_or_user_error(load, check) -> None:
    try:
        result = load()
    except MNISTGANError:
        return
    check(result)


# ------------------------------------------------------------------ read_npz
@FUZZ
@given(payload=RANDOM)
def test_read_npz_random_bytes(workdir, payload):
    path = _write(workdir / "random.npz", payload)
    _expect_ok_or_user_error(lambda: read_npz(path), _check_mnist)


@FUZZ
@given(compressed=st.booleans(), cut=CUTS)
def test_read_npz_truncated(workdir, compressed, cut):
    path = _write(workdir / "cut.npz", truncated(VALID_NPZ[compressed], cut))
    with pytest.raises(MNISTGANError):
        read_npz(path)


@FUZZ
@given(compressed=st.booleans(), flips=FLIPS)
def test_read_npz_flipped(workdir, compressed, flips):
    path = _write(workdir / "flip.npz", flipped(VALID_NPZ[compressed], flips))
    _expect_ok_or_user_error(lambda: read_npz(path), _check_mnist)


# ------------------------------------------------------------------ read_idx
def _idx_file(folder: Path, key: str, payload: bytes, gz: bool) -> Path:
    name = IDX_NAMES[key] + (".gz" if gz else "")
    return _write(folder / name, gzip.compress(payload, mtime=0) if gz else payload)


def _check_idx(array) -> None:
    assert isinstance(array, np.ndarray) and array.dtype == np.uint8


@FUZZ
@given(payload=RANDOM, gz=st.booleans(), raw_gz=st.booleans())
@example(payload=b"\x00\x00\x08\x00", gz=False, raw_gz=False)  # rank 0, no data
@example(payload=b"\x00\x00\x08\x03" + b"\xff" * 12, gz=False, raw_gz=False)  # huge dims
@example(payload=b"\x00\x00\x08\x01\x00\x00\x00\x00", gz=True, raw_gz=False)  # empty
def test_read_idx_random_bytes(workdir, payload, gz, raw_gz):
    # raw_gz: random bytes under a .gz name without being gzip data
    path = workdir / ("r.idx.gz" if gz or raw_gz else "r.idx")
    path.write_bytes(gzip.compress(payload, mtime=0) if gz and not raw_gz else payload)
    _expect_ok_or_user_error(lambda: read_idx(path), _check_idx)


@FUZZ
@given(key=st.sampled_from(list(IDX_NAMES)), gz=st.booleans(), cut=CUTS)
def test_read_idx_truncated(workdir, key, gz, cut):
    raw = VALID_IDX[key]
    payload = truncated(gzip.compress(raw, mtime=0), cut) if gz else truncated(raw, cut)
    path = _write(workdir / ("t.idx.gz" if gz else "t.idx"), payload)
    with pytest.raises(MNISTGANError):
        read_idx(path)


@FUZZ
@given(key=st.sampled_from(list(IDX_NAMES)), gz=st.booleans(), flips=FLIPS)
def test_read_idx_flipped(workdir, key, gz, flips):
    raw = VALID_IDX[key]
    payload = flipped(gzip.compress(raw, mtime=0), flips) if gz else flipped(raw, flips)
    path = _write(workdir / ("f.idx.gz" if gz else "f.idx"), payload)
    _expect_ok_or_user_error(lambda: read_idx(path), _check_idx)


# ------------------------------------------------------------------ read_idx_folder
@FUZZ
@given(
    bad=st.sampled_from(list(IDX_NAMES)),
    gz=st.booleans(),
    how=st.sampled_from(["random", "cut", "flip"]),
    payload=RANDOM,
    cut=CUTS,
    flips=FLIPS,
)
def test_read_idx_folder_with_one_corrupt_file(workdir, bad, gz, how, payload, cut, flips):
    folder = workdir / f"idx-{'gz' if gz else 'plain'}"
    folder.mkdir(exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    for key, raw in VALID_IDX.items():
        if key != bad:
            _idx_file(folder, key, raw, gz)
    if how == "random":
        corrupt = gzip.compress(payload, mtime=0) if gz else payload
    else:
        whole = gzip.compress(VALID_IDX[bad], mtime=0) if gz else VALID_IDX[bad]
        corrupt = truncated(whole, cut) if how == "cut" else flipped(whole, flips)
    _write(folder / (IDX_NAMES[bad] + (".gz" if gz else "")), corrupt)
    _expect_ok_or_user_error(lambda: read_idx_folder(folder), _check_mnist)


def test_read_idx_folder_reads_the_valid_files(workdir):
    for gz in (False, True):
        folder = workdir / f"valid-{gz}"
        folder.mkdir()
        for key, raw in VALID_IDX.items():
            _idx_file(folder, key, raw, gz)
        (x_train, y_train), (x_test, y_test) = read_idx_folder(folder)
        np.testing.assert_array_equal(x_train, IDX_ARRAYS["x_train"])
        np.testing.assert_array_equal(y_test, IDX_ARRAYS["y_test"])


# ------------------------------------------------------------------ .npy samples (evaluate)
def _check_images(result) -> None:
    images, description, labels = result
    assert labels is None
    assert isinstance(description, str)
    assert images.ndim in (3, 4) and images.shape[1:3] == (28, 28)
    assert images.dtype.kind in "biuf"


@FUZZ
@given(payload=RANDOM)
def test_npy_samples_random_bytes(workdir, payload):
    path = _write(workdir / "random.npy", payload)
    _expect_ok_or_user_error(lambda: load_source_images(path, 10, 0), _check_images)


@FUZZ
@given(cut=CUTS)
def test_npy_samples_truncated(workdir, cut):
    path = _write(workdir / "cut.npy", truncated(VALID_NPY, cut))
    with pytest.raises(MNISTGANError):
        load_source_images(path, 10, 0)


@FUZZ
@given(flips=FLIPS)
def test_npy_samples_flipped(workdir, flips):
    path = _write(workdir / "flip.npy", flipped(VALID_NPY, flips))
    _expect_ok_or_user_error(lambda: load_source_images(path, 10, 0), _check_images)


def test_npy_samples_valid(workdir):
    images, _, labels = load_source_images(_write(workdir / "ok.npy", VALID_NPY), 10, 0)
    assert labels is None
    assert images.shape == (4, 28, 28) and images.dtype == np.uint8


# ------------------------------------------------------------------ load_gan (.keras)
def _check_gan(model) -> None:
    assert isinstance(model, MNISTGAN)


@KERAS_FUZZ
@given(payload=RANDOM)
def test_load_gan_random_bytes(workdir, payload):
    path = _write(workdir / "random.keras", payload)
    with pytest.raises(MNISTGANError):
        load_gan(path)


@KERAS_FUZZ
@given(cut=CUTS)
def test_load_gan_truncated(workdir, valid_keras, cut):
    path = _write(workdir / "cut.keras", truncated(valid_keras, cut))
    with pytest.raises(MNISTGANError):
        load_gan(path)


@KERAS_FUZZ
@given(flips=FLIPS)
def test_load_gan_flipped(workdir, valid_keras, flips):
    path = _write(workdir / "flip.keras", flipped(valid_keras, flips))
    _expect_ok_or_user_error(lambda: load_gan(path), _check_gan)


def test_fuzz_files_are_removed_with_the_tmp_dir(workdir):
    assert os.path.isdir(workdir)


def _huge_header_npy() -> bytes:
    buffer = io.BytesIO()
    header = {"descr": "|u1", "fortran_order": False, "shape": (10**13, 28, 28)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + b"\0" * 100


def test_npy_header_claiming_a_huge_shape(workdir):
    with pytest.raises(MNISTGANError, match="not a readable .npy"):
        load_source_images(_write(workdir / "huge.npy", _huge_header_npy()), 10, 0)


def test_npz_member_claiming_a_huge_shape(workdir):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            archive.writestr(f"{key}.npy", _huge_header_npy())
    with pytest.raises(MNISTGANError, match="not a readable .npz"):
        read_npz(_write(workdir / "huge.npz", buffer.getvalue()))


def test_npy_of_strings_is_refused(workdir):
    path = workdir / "strings.npy"
    np.save(path, np.full((2, 28, 28), "a"), allow_pickle=False)
    with pytest.raises(MNISTGANError, match="expected uint8 images"):
        load_source_images(path, 10, 0)

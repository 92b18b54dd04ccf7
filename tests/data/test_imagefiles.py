"""A user's folder of image files: Keras's class-folder layout, conversion to 28x28 grayscale,
what is skipped and counted, and the content-keyed cache."""

import os
import time

import numpy as np
import pytest
from PIL import Image

from mnist_gan import MNISTGANError
from mnist_gan.data import imagefiles
from mnist_gan.data.imagefiles import read_image_folder, to_gray28


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_GAN_CACHE", str(tmp_path / "cache"))


def write_image(path, value=128, size=(28, 28), mode="L", fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = (value, 255 - value, value // 2) if mode == "RGB" else value
    Image.new(mode, size, colour).save(path, format=fmt)
    return path


def class_folders(root, counts=(("cat", 3), ("ant", 2), ("bee", 4))):
    for name, count in counts:
        for i in range(count):
            write_image(root / name / f"{i}.png", value=10 * i + 5)
    return root


def test_class_folders_give_labels_in_sorted_folder_order(tmp_path):
    found = read_image_folder(class_folders(tmp_path / "data"))
    assert found.class_names == ("ant", "bee", "cat")  # Keras's order: sorted names
    assert found.images.shape == (9, 28, 28) and found.images.dtype == np.uint8
    assert list(found.labels) == [0, 0, 1, 1, 1, 1, 2, 2, 2]
    assert found.notes == []


def test_a_folder_of_images_without_subfolders_is_unlabelled(tmp_path):
    for i in range(5):
        write_image(tmp_path / "flat" / f"img{i}.jpg", fmt="JPEG")
    found = read_image_folder(tmp_path / "flat")
    assert found.labels is None and found.class_names == () and len(found.images) == 5


def test_nested_class_folders_are_walked_and_other_files_counted(tmp_path):
    root = class_folders(tmp_path / "data", (("a", 2), ("b", 2)))
    write_image(root / "a" / "deeper" / "x.png")
    (root / "a" / "README.txt").write_text("not an image")
    (root / "notes.md").write_text("beside the class folders")
    found = read_image_folder(root)
    assert len(found.images) == 5 and list(found.labels).count(0) == 3
    assert any("ignored 1 file(s) beside the class folders" in n for n in found.notes)
    assert any("ignored 1 file(s) that are not images" in n for n in found.notes)


def test_colour_and_other_sizes_are_converted_and_said(tmp_path):
    root = tmp_path / "data"
    write_image(root / "a" / "small.png", size=(16, 16))
    write_image(root / "a" / "colour.png", mode="RGB", size=(40, 30))
    write_image(root / "b" / "gray_as_rgb.png", mode="RGB")
    Image.new("RGB", (28, 28), (90, 90, 90)).save(root / "b" / "gray_as_rgb.png")
    found = read_image_folder(root)
    assert found.images.shape == (3, 28, 28)
    notes = " | ".join(found.notes)
    assert "converted 1 colour image(s) to grayscale" in notes  # the gray RGB file is gray
    assert "resized 2 image(s)" in notes and "16x16" in notes and "40x30" in notes


def test_unreadable_and_truncated_images_are_skipped_and_counted(tmp_path):
    root = class_folders(tmp_path / "data", (("a", 3), ("b", 3)))
    (root / "a" / "broken.png").write_bytes(b"not a png at all")
    good = (root / "b" / "0.png").read_bytes()
    (root / "b" / "cut.png").write_bytes(good[: len(good) // 2])
    found = read_image_folder(root)
    assert len(found.images) == 6
    note = next(n for n in found.notes if "unreadable" in n)
    assert note.startswith("skipped 2 unreadable image file(s)")


def test_empty_folder_class_without_images_and_all_unreadable_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MNISTGANError, match="holds no images"):
        read_image_folder(tmp_path / "empty")
    root = class_folders(tmp_path / "data", (("a", 2),))
    (root / "b").mkdir()
    with pytest.raises(MNISTGANError, match="class folder .*b holds no images"):
        read_image_folder(root)
    (tmp_path / "bad" / "x.png").parent.mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"junk")
    with pytest.raises(MNISTGANError, match="no image under .* could be read"):
        read_image_folder(tmp_path / "bad")


def test_a_link_loop_is_not_followed(tmp_path):
    root = class_folders(tmp_path / "data", (("a", 2), ("b", 2)))
    os.symlink(root, root / "a" / "loop")  # a folder link back to the top
    os.symlink(root / "a" / "missing.png", root / "b" / "dangling.png")  # unreadable
    found = read_image_folder(root)
    assert len(found.images) == 4
    assert any("did not follow 1 link(s) to folders" in n for n in found.notes)
    assert any("skipped 1 unreadable" in n for n in found.notes)


def test_the_cache_is_used_and_a_changed_file_invalidates_it(tmp_path, monkeypatch):
    root = class_folders(tmp_path / "data")
    first = read_image_folder(root)
    decoded = []
    decode = imagefiles._decode
    monkeypatch.setattr(imagefiles, "_decode", lambda path: decoded.append(path) or decode(path))
    again = read_image_folder(root)
    assert decoded == [] and again.key == first.key
    np.testing.assert_array_equal(again.images, first.images)
    write_image(root / "cat" / "0.png", value=250)  # same name, other content
    changed = read_image_folder(root)
    assert len(decoded) == 9 and changed.key != first.key
    assert not np.array_equal(changed.images, first.images)


def test_unchanged_files_are_not_read_again_and_a_young_or_changed_one_is(tmp_path, monkeypatch):
    root = class_folders(tmp_path / "data")
    files = sorted(p for p in root.rglob("*.png"))
    for path in files:  # as a folder copied in an hour ago
        os.utime(path, ns=(time.time_ns() - 3600 * 10**9,) * 2)
    first = read_image_folder(root)
    hashed = []
    digest = imagefiles._digest
    monkeypatch.setattr(imagefiles, "_digest", lambda path: hashed.append(path) or digest(path))
    again = read_image_folder(root)
    assert hashed == [] and again.key == first.key  # the stat index: no file read
    write_image(files[0], value=250)  # changed now: other times, so hashed again
    changed = read_image_folder(root)
    assert len(hashed) == len(files) and changed.key != first.key
    hashed.clear()
    young = read_image_folder(root)  # the index was written right after that change: racy
    assert len(hashed) == len(files) and young.key == changed.key


def test_arrays_of_other_sizes_colour_and_ranges_are_converted():
    rng = np.random.default_rng(0)
    colour = rng.uniform(0, 1, (4, 32, 32, 3))
    images, notes = to_gray28(colour)
    assert images.shape == (4, 28, 28) and images.dtype == np.uint8
    assert notes == [
        "converted 4 3-channel images to grayscale",
        "resized 4 images from 32x32 to 28x28",
    ]
    same, notes = to_gray28(np.full((2, 28, 28, 1), 7, np.int64))
    assert same.dtype == np.uint8 and (same == 7).all() and notes == []
    for bad, message in (
        (np.zeros((3, 28)), "shaped"),
        (np.zeros((0, 28, 28)), "shaped"),
        (np.full((2, 28, 28), np.nan), "NaN"),
        (np.full((2, 28, 28), 300), "0..255"),
        (np.full((2, 28, 28), -2.0), r"\[0, 1\]"),
    ):
        with pytest.raises(MNISTGANError, match=message):
            to_gray28(bad)

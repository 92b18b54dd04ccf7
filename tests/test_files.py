"""atomic_write: a file is replaced whole or not at all, and failures leave no temporary file."""

import os

import pytest

from mnist_gan import MNISTGANError
from mnist_gan.files import atomic_write, write_text


def test_success_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "a.json"
    write_text(target, "old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.json"]


def test_a_failure_midway_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("good")
    error = pytest.raises(MNISTGANError, match=r"could not write .*model.keras .*No space left")
    with error, atomic_write(target) as tmp:
        assert tmp.suffix == ".keras" and tmp.parent == tmp_path
        tmp.write_text("half")
        raise OSError(28, os.strerror(28))
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_other_errors_pass_through_and_clean_up(tmp_path):
    with pytest.raises(KeyError), atomic_write(tmp_path / "x.npy") as tmp:
        tmp.write_bytes(b"1")
        raise KeyError("boom")
    assert list(tmp_path.iterdir()) == []

"""RunLock against real processes: a live holder, a SIGKILLed holder, garbage and foreign owner
files; a second ``mnist-gan train`` on the same folder is refused."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mnist_gan.errors import MNISTGANError
from mnist_gan.reliability.lock import LOCK_NAME, RunLock
from tests.helpers import SRC, heavy_modules, run_cli, train_arguments

HOLDER = textwrap.dedent(
    """
    import sys, time
    from mnist_gan.reliability.lock import RunLock
    lock = RunLock(sys.argv[1], argv=["holder"]).acquire()
    print("locked", flush=True)
    time.sleep(120)
    """
)


def _start_holder(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    assert line.strip() == "locked", proc.stderr.read() if proc.poll() is not None else line
    return proc


def test_live_holder_blocks_then_killed_holder_is_taken_over(tmp_path, caplog):
    folder = tmp_path / "run"
    proc = _start_holder(folder)
    try:
        start = time.perf_counter()
        with pytest.raises(MNISTGANError) as info:
            RunLock(folder).acquire()
        assert time.perf_counter() - start < 1.0  # fails fast, no waiting
        message = str(info.value)
        assert f"process {proc.pid}" in message
        assert socket.gethostname() in message
        assert str(folder) in message
        assert "--output-dir" in message
        record = json.loads((folder / LOCK_NAME).read_text())
        assert record["started"] in message
        assert record["argv"] == ["holder"]
    finally:
        proc.send_signal(signal.SIGKILL)  # no chance to clean up
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()

    assert (folder / LOCK_NAME).exists()  # left behind by the killed holder
    assert proc.returncode == -signal.SIGKILL
    start = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="mnist_gan"):
        lock = RunLock(folder).acquire()
    assert time.perf_counter() - start < 1.0  # the kernel dropped the lock: no waiting
    assert lock.held
    assert any(
        str(proc.pid) in r.getMessage() and "no longer exists" in r.getMessage()
        for r in caplog.records
    )
    assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()
    assert not (folder / LOCK_NAME).exists()


@pytest.mark.parametrize("garbage", [b"", b"\x00\xff not json", b'{"pid": "x"}', b"[1, 2]"])
def test_garbage_lock_file_is_taken_over(tmp_path, caplog, garbage):
    (tmp_path / LOCK_NAME).write_bytes(garbage)
    with caplog.at_level(logging.WARNING, logger="mnist_gan"), RunLock(tmp_path) as lock:
        assert lock.held
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert any("empty or unreadable" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / LOCK_NAME).exists()
    assert not list(tmp_path.glob(f"{LOCK_NAME}.stale-*"))


def test_release_leaves_a_foreign_lock_alone(tmp_path):
    lock = RunLock(tmp_path).acquire()
    foreign = {"pid": 1, "host": socket.gethostname(), "started": "then", "argv": [], "token": "x"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(foreign))
    lock.release()
    assert json.loads((tmp_path / LOCK_NAME).read_text()) == foreign


def test_second_lock_in_same_process_is_refused_and_context_releases(tmp_path):
    with (
        RunLock(tmp_path, argv=["first"]),
        pytest.raises(MNISTGANError, match=f"process {os.getpid()}"),
    ):
        RunLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()
    with RunLock(tmp_path):  # free again
        pass


def test_an_owner_file_from_another_host_whose_lock_is_free_is_taken_over(tmp_path, caplog):
    # The OS lock is what counts: a record left by a process elsewhere that no longer holds
    # the lock is replaced (the pid-file lock refused it, unable to check the other host).
    other = {"pid": 4242, "host": "elsewhere.example", "started": "2020-01-01T00:00:00"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(other))
    with caplog.at_level(logging.WARNING, logger="mnist_gan"), RunLock(tmp_path):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert "4242 on elsewhere.example no longer holds it" in caplog.text


def test_a_holder_that_has_not_written_its_details_yet_is_still_refused(tmp_path):
    with RunLock(tmp_path):
        (tmp_path / LOCK_NAME).unlink()  # as between taking the OS lock and writing the file
        with pytest.raises(MNISTGANError, match="another process") as info:
            RunLock(tmp_path).acquire()
    assert "--output-dir" in str(info.value)


def test_lock_released_on_exception_and_folder_created(tmp_path):
    folder = tmp_path / "new" / "run"
    with pytest.raises(RuntimeError), RunLock(folder):
        assert (folder / LOCK_NAME).exists()
        raise RuntimeError("boom")
    assert not (folder / LOCK_NAME).exists()


def test_unwritable_folder_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(MNISTGANError, match="cannot create output folder"):
        RunLock(blocker / "run").acquire()


def test_a_second_trainer_on_the_same_folder_is_refused_before_tensorflow(tmp_path, tiny_npz):
    # The holder takes the lock as a trainer does (tests/training/test_trainer.py checks that
    # a training run holds it); the refusal must come from the command's early checks.
    out = tmp_path / "run"
    holder = _start_holder(out)
    try:
        second = run_cli(*train_arguments(tiny_npz, out, 400, preset="fast"), cwd=tmp_path)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        holder.stdout.close()
        holder.stderr.close()
    assert second.returncode == 2
    last = second.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"process {holder.pid}" in last
    assert heavy_modules(second) == "", "TensorFlow was loaded before the refusal"


def test_check_free_refuses_a_held_folder_and_takes_nothing(tmp_path):
    missing = tmp_path / "not-yet"
    RunLock(missing).check_free()
    assert not missing.exists()  # a probe creates nothing
    with (
        RunLock(tmp_path, argv=["first"]),
        pytest.raises(MNISTGANError, match=f"process {os.getpid()}"),
    ):
        RunLock(tmp_path).check_free()
    RunLock(tmp_path).check_free()
    assert not (tmp_path / LOCK_NAME).exists()
    with RunLock(tmp_path):  # the probe left the folder free
        pass

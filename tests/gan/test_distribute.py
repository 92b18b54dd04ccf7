"""Training under tf.distribute (issue 14), on two logical CPU devices in a subprocess.

The split into logical devices must happen before TensorFlow starts and must not leak into
other tests, so every check runs in ``tests/gan/distribute_check.py`` in its own process.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

from mnist_gan import MNISTGANError
from mnist_gan.gan.distribute import check_global_batch, make_strategy, replicas
from tests.helpers import ROOT

SCRIPT = ROOT / "tests" / "gan" / "distribute_check.py"
# Both losses and update modes, R1 with each loss; per-replica vs synchronised batch norm.
CASES = [
    {"loss": "bce", "update": "alternating"},
    {"loss": "bce", "update": "simultaneous", "r1_gamma": 1.0, "d_loss_reduction": "mean"},
    {"loss": "hinge", "update": "alternating", "r1_gamma": 1.0},
    {"loss": "bce", "update": "alternating", "batch_norm": True, "sync": True},
    {"loss": "bce", "update": "alternating", "batch_norm": True, "sync": False},
]


def run_check(*args, env=None, timeout=300):
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        cwd=ROOT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mirrored")
    return run_check("all", str(folder), json.dumps(CASES))


def test_each_replica_draws_its_own_noise_reproducibly(mirrored):
    noise = mirrored["noise"]
    assert noise["replicas"] == 2
    assert noise["replicas_differ"] and noise["steps_differ"] and noise["reproducible"]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_one_step_on_two_replicas_equals_one_device(mirrored, index):
    case = mirrored["step"][index]
    if case["batch_norm"] and not case["sync"]:
        # Per-replica statistics: a different step (why sync_batch_norm defaults to on).
        assert case["max_weight_diff"] > 1e-3
        return
    # SGD (not Adam, whose first step hides a gradient scale) with lr 0.5: a term scaled twice
    # or not at all moves the weights by ~1e-2.
    assert case["max_weight_diff"] < 1e-6, case
    assert case["losses_two"] == pytest.approx(case["losses_one"], rel=1e-6, abs=1e-7)


def test_a_mirrored_run_resumes_exactly_and_its_files_load_without_a_strategy(mirrored):
    run = mirrored["trainer"]
    assert run["replicas"] == 2
    assert run["whole_vs_resumed"] == 0.0
    assert run["history_d_loss"] == run["resumed_history_d_loss"]
    assert run["checkpoint_without_strategy"] == 0.0
    assert run["checkpoint_into_strategy"] == 0.0 and run["back_replicas"] == 2
    assert run["keras_file_generates"]


def test_the_global_batch_must_divide_by_the_replicas():
    strategy = make_strategy("default")
    assert replicas(strategy) == 1 and check_global_batch(100, strategy) == 100

    class Two:
        num_replicas_in_sync = 2

    with pytest.raises(MNISTGANError, match="batch_size=101 is the global batch.*2 replicas"):
        check_global_batch(101, Two())


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(MNISTGANError, match="needs TF_CONFIG"):
        make_strategy("multi-worker")


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_local_workers_train_with_multi_worker_mirrored(tmp_path):
    workers = [f"localhost:{port}" for port in free_ports(2)]
    env = {"PYTHONPATH": str(ROOT / "src")}
    procs = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        procs.append(
            subprocess.Popen(
                [sys.executable, str(SCRIPT), "worker", str(tmp_path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **env, "TF_CONFIG": json.dumps(config)},
                cwd=ROOT,
            )
        )
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, err[-4000:]
        results.append(json.loads(lines[-1][len("RESULT ") :]))
    # 32 images, global batch 16: 2 steps on 2 replicas (one per worker).
    assert results == [{"replicas": 2, "steps": 2}] * 2

"""Same seed, same numbers: a short run of every preset, in float64, pinned on any machine.

What is pinned. Each case builds a preset with seed 0 and trains it two steps on 64 synthetic
digits pre-scaled to its pixel range (batch 32; conditional presets get the labels ``i % 10``,
``sfast`` the cluster ids ``i % k``), eagerly, with Keras's ``floatx`` set to float64: every
weight, activation, gradient, optimizer slot and the training noise is float64 (the layers
that stay float32 in mixed precision follow ``floatx`` here: ``models.common.full_precision``).
Pinned are 256 trainable weights of each network at fixed positions, the sums of ``w`` and
``|w|`` of every network (batch-norm statistics and the EMA included), the two losses, and four
images from ``generate(4, seed=5)``. A changed initializer or seed moves weights by their init
scale; a changed learning rate, loss, optimizer (or its betas), noise, sampling path or output
scaling moves weights, losses or pixels by far more than the tolerances below.
``scripts/regression_mutations.py`` makes one such change of each kind and shows it fails here
(its output is in docs/tests.md).

Why float64. In float32 these pins cannot hold across machines. Kernels for other instruction
sets (oneDNN's AVX-512, AVX2 and SSE4.1 paths, Eigen, NEON on ARM) and thread counts sum in
other orders, so a gradient differs in its last bits. Adam's first step is
``lr * g / (|g| + eps)``, which turns a gradient that is zero in exact arithmetic (a bias before
batch norm) or smaller than its rounding into a full step ``lr`` of either sign. Those steps
change the next gradients by percents, and after two steps of ``conv`` a third of its
generator's weights differed by more than ``lr / 100`` between AVX-512 and AVX2 (issue 27). In
float64 the same bound is tight enough to pin every weight:

* Adam's step moves by at most ``lr * delta / eps`` when the gradient moves by ``delta``
  (the derivative of ``g / (|g| + eps)`` is ``eps / (|g| + eps)^2 <= 1 / eps``), and one more
  step of the same size follows from it. A float64 gradient is a sum of at most ``K = 32,768``
  terms (a 32-image batch over 32x32 positions, the longest reduction here) of size below
  ``S = 10``, so two kernels' sums differ by at most ``K * S * 2^-52``, which is ``7e-11``:
  each step changes by at most ``lr * 7e-4``. We allow ``ATOL_LR = 2e-3`` learning rates per
  weight. Measured across this machine's kernel paths (oneDNN's ISA caps and off, one and two
  intra-op threads): at most ``8e-10 lr``.
* Sums of ``N`` weights: within ``N * ATOL_LR * lr`` plus ``1e-12`` of ``sum |w|`` (float64
  summation; the batch-norm moving statistics and the EMA are averages of weights within the
  same bound).
* Losses: relative ``1e-9`` (a forward pass at weights that agree as above: rounding of a few
  thousand float64 terms, ``1e-12``, with room for the weights' own spread).
* Images: ``generate`` returns float32, so a float64 pixel may round to either neighbour: at
  most one float32 ulp of a value in [-1, 1], ``2^-23``, per pixel, plus the float64 spread.
* ``exact``: on a machine whose fingerprint (:func:`machine_key`: CPU, cores, the kernel and
  thread settings) has a recorded digest, every weight, loss and pixel must match bit for bit.
  Set ``MNIST_GAN_RECORD_PINS=1`` to record this machine's digests (and the pins where a case
  has none yet) into tests/fixtures/regression_pins.json.

``.ci/run`` runs this module again with ``ONEDNN_MAX_CPU_ISA=AVX2`` and ``SSE41``,
``TF_ENABLE_ONEDNN_OPTS=0`` and one and two intra-op threads (``.ci/kernel_paths``).
"""

import contextlib
import hashlib
import json
import os
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan import MNISTGAN
from mnist_gan.data.pipeline import scale_images
from tests.conftest import synthetic_digits

# Settings each case trains with, on top of its preset's.
# name: (preset, settings on top of the preset's). The fast family's bfloat16
# (``precision="auto"``, where the CPU has it) is a speed setting outside the pinned arithmetic:
# the pins train them in float64 like every other preset. The ``-strided`` cases are the fast
# family's recipe before issue 29, reachable by settings: their pins are the ones recorded
# before that change. cfast keeps that recipe (the stride-1 one lost at 15 minutes), so its
# stride-1 variant is the extra case.
FLOAT = {"precision": "float32"}
STRIDED = {**FLOAT, "resample": "strided"}
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "dcgan": ("dcgan", {}),
    "mlp": ("mlp", {}),
    "conv": ("conv", {}),
    "mlp-bn": ("mlp-bn", {}),
    "dcgan64": ("dcgan64", {"image_size": 32}),
    "fast": ("fast", FLOAT),
    "fast-alt-hinge": ("fast", {**FLOAT, "update": "alternating", "loss": "hinge", "ema_start": 1}),
    "cgan": ("cgan", {}),
    "cfast": ("cfast", FLOAT),
    "sfast": ("sfast", FLOAT),
    "fast-strided": ("fast", STRIDED),
    "cfast-subpixel": ("cfast", {**FLOAT, "resample": "subpixel"}),
    "sfast-strided": ("sfast", {**STRIDED, "clusters": 30}),
}

PINS_PATH = Path(__file__).parent / "fixtures" / "regression_pins.json"
RECORD = os.environ.get("MNIST_GAN_RECORD_PINS") == "1"

N_SAMPLED = 256  # trainable weights pinned one by one in each network
ATOL_LR = 2e-3  # per-weight tolerance in learning rates (docstring)
LOSS_RTOL = 1e-9
PIXEL_ATOL = 2.0**-23 + 1e-9
SUM_RTOL = 1e-12
IMAGES, BATCH, SAMPLE_SEED = 64, 32, 5


def machine_key() -> str:
    """What decides the kernels: CPU model and vector width, core count, thread and oneDNN
    settings, and the TensorFlow release (its kernels and graph passes). Two machines with the
    same key are expected to give the same bits."""
    model, flags = platform.processor(), ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        text = cpuinfo.read_text()
        names = [ln.split(":", 1)[1].strip() for ln in text.splitlines() if "model name" in ln]
        model = names[0] if names else model
        flags = "avx512" if "avx512f" in text else "avx2" if "avx2" in text else "other"
    env = ",".join(
        f"{k}={os.environ[k]}"
        for k in (
            "TF_ENABLE_ONEDNN_OPTS",
            "ONEDNN_MAX_CPU_ISA",
            "TF_NUM_INTRAOP_THREADS",
            "OMP_NUM_THREADS",
        )
        if k in os.environ
    )
    machine = f"{platform.machine()} | {model} | {flags} | {os.cpu_count()} cpus | {env}"
    return f"{machine} | TF {tf.__version__}"


@contextlib.contextmanager
def float64_keras() -> Iterator[None]:
    """Keras's floatx and dtype policy float64 inside the block, restored after.

    Both: Keras fixes its global dtype policy from ``floatx`` the first time a layer asks for it,
    so after any layer was built in this process, ``set_floatx`` alone changes nothing.
    """
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        yield
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


@pytest.fixture
def float64() -> Iterator[None]:
    """Float64 Keras for the test (:func:`float64_keras`)."""
    with float64_keras():
        yield


def train(case: str) -> tuple[MNISTGAN, dict[str, list[float]]]:
    """The pinned procedure: build ``case`` with seed 0, two eager steps (module docstring).
    Call it with Keras's floatx set to float64 (the ``float64`` fixture)."""
    keras.utils.set_random_seed(0)
    preset, settings = CASES[case]
    gan = MNISTGAN(preset=preset, seed=0, **settings)
    gan.compile(jit_compile=False, run_eagerly=True)
    images = scale_images(synthetic_digits(IMAGES, 3), gan.config.pixel_range)
    data = tf.data.Dataset.from_tensor_slices(images.astype(np.float64))
    c = gan.config
    classes = c.num_classes or c.clusters
    if classes:
        ids = np.arange(IMAGES, dtype=np.int32) % classes
        if c.clusters:
            gan.set_cluster_frequencies(np.bincount(ids, minlength=classes) / IMAGES)
        data = tf.data.Dataset.zip(data, tf.data.Dataset.from_tensor_slices(ids))
    history = gan.fit(data.batch(BATCH), epochs=1, verbose=0)
    return gan, history.history


def networks(gan: MNISTGAN) -> dict[str, tuple[keras.Model, float]]:
    """The pinned networks and the learning rate each one's weights move by."""
    c = gan.config
    nets = {"g": (gan.generator, c.g_learning_rate), "d": (gan.discriminator, c.d_learning_rate)}
    if gan.ema_generator is not None:
        nets["ema"] = (gan.ema_generator, c.g_learning_rate)
    return nets


def flat(model: keras.Model, trainable: bool = False) -> np.ndarray:
    weights = model.trainable_weights if trainable else model.weights
    return np.concatenate([np.ravel(np.asarray(w.numpy(), np.float64)) for w in weights])


def sample_positions(n: int) -> np.ndarray:
    return np.sort(np.random.default_rng(0).choice(n, N_SAMPLED, replace=False))


def measure(case: str) -> dict[str, Any]:
    """Everything a case pins, from a fresh run of it (call under float64)."""
    gan, history = train(case)
    sample = np.asarray(gan.generate(4, seed=SAMPLE_SEED), np.float64)
    found: dict[str, Any] = {"d_loss": history["d_loss"][-1], "g_loss": history["g_loss"][-1]}
    found["sample"] = [float(sample.sum()), float(np.abs(sample).sum())]
    digest = hashlib.sha256(sample.tobytes())
    found["sampled"] = {}
    for key, (model, _) in networks(gan).items():
        weights = flat(model)
        found[key] = [float(weights.sum()), float(np.abs(weights).sum())]
        digest.update(weights.tobytes())
        trainable = flat(model, trainable=True)
        if key != "ema":
            found["sampled"][key] = trainable[sample_positions(trainable.size)].tolist()
    found["lr"] = {key: lr for key, (_, lr) in networks(gan).items()}
    found["counts"] = {key: int(flat(model).size) for key, (model, _) in networks(gan).items()}
    digest.update(np.asarray([found["d_loss"], found["g_loss"]]).tobytes())
    found["digest"] = digest.hexdigest()
    return found


def mismatches(found: dict[str, Any], pinned: dict[str, Any]) -> list[str]:
    """How ``found`` (from :func:`measure`) differs from ``pinned``, beyond the tolerances of
    the module docstring; empty when it holds."""
    problems = []
    for key, lr in found["lr"].items():
        if key not in pinned:
            problems.append(f"{key}: not pinned (the case has other networks)")
            continue
        atol = ATOL_LR * lr
        sums_atol = found["counts"][key] * atol + SUM_RTOL * pinned[key][1]
        for name, got, want in zip(("sum w", "sum |w|"), found[key], pinned[key]):
            if abs(got - want) > sums_atol:
                problems.append(f"{key} {name}: {got!r}, pinned {want!r} (+-{sums_atol:.3g})")
        if key == "ema":
            continue
        got, want = np.asarray(found["sampled"][key]), np.asarray(pinned["sampled"][key])
        far = np.abs(got - want) > atol
        if far.any():
            worst = int(np.argmax(np.abs(got - want)))
            problems.append(
                f"{key}: {int(far.sum())} of {N_SAMPLED} sampled weights beyond {ATOL_LR} lr, "
                f"the worst by {abs(got[worst] - want[worst]) / lr:.3g} lr"
            )
    for key in ("d_loss", "g_loss"):
        if abs(found[key] - pinned[key]) > LOSS_RTOL * abs(pinned[key]):
            problems.append(f"{key}: {found[key]!r}, pinned {pinned[key]!r}")
    pixels = 4 * 28 * 28
    for name, got, want in zip(("sum", "sum |x|"), found["sample"], pinned["sample"]):
        if abs(got - want) > PIXEL_ATOL * pixels:
            problems.append(f"sample {name}: {got!r}, pinned {want!r}")
    return problems


@pytest.mark.parametrize("case", list(CASES))
def test_a_short_run_gives_the_pinned_numbers(case, float64):
    pins = json.loads(PINS_PATH.read_text())
    found = measure(case)
    if RECORD:
        entry = pins.setdefault(case, {})
        if "sampled" not in entry:
            entry.update({k: found[k] for k in ("d_loss", "g_loss", "sample", "sampled")})
            entry.update({k: found[k] for k in found["lr"]})
        entry.setdefault("exact", {})[machine_key()] = found["digest"]
        PINS_PATH.write_text(json.dumps(pins, indent=1) + "\n")
    assert case in pins, f"no pins for {case}: record them with MNIST_GAN_RECORD_PINS=1"
    problems = mismatches(found, pins[case])
    assert not problems, f"{case} on {machine_key()}:\n" + "\n".join(problems)
    exact = pins[case].get("exact", {}).get(machine_key())
    if exact is not None:
        assert found["digest"] == exact, f"{case}: not bit for bit on {machine_key()}"


def test_every_preset_is_pinned():
    from mnist_gan.models.presets import PRESETS

    assert {preset for preset, _ in CASES.values()} == set(PRESETS)


def test_float64_keras_applies_and_restores_the_dtype_policy():
    keras.layers.Dense(1)  # Keras fixes its global policy from floatx at the first layer
    with float64_keras():
        assert keras.layers.Dense(1).dtype_policy.name == "float64"
    assert keras.layers.Dense(1).dtype_policy.name == "float32"
    assert keras.config.floatx() == "float32"

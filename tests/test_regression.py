"""Same seed, same weights: a short run of every preset pinned against the code before the redesign.

The sums, losses and sample were recorded with the package as of commit cc0451c (before settings
were declared once and the model split into sampling/EMA modules), by exactly the procedure
below: seed 0, two steps on 64 synthetic digits pre-scaled to the pixel range, XLA off, op
determinism on. A change to the train step, the networks, the optimizers, the EMA or the noise
shows up here.

Why tolerances, and how large. The pins must hold on any CPU, and oneDNN/Eigen/BLAS pick
different kernels (summation orders) for other instruction sets and thread counts, so a gradient
differs in its last bits between machines. What that can do to the weights is bounded:

* The initial weights come from seeded random draws, the same everywhere. Adam then moves a
  weight by ``lr * m_hat / (sqrt(v_hat) + eps)``. Step 1 moves it by at most ``lr`` (the ratio is
  ``g / (|g| + eps)``). At step 2, ``m_hat / sqrt(v_hat)`` is
  ``sqrt(1 + b2) / (1 + b1) * (b1 g1 + g2) / sqrt(b2 g1^2 + g2^2)``, at most
  ``r2 = sqrt(1 + b2) / (1 + b1) * sqrt(1 + b1^2 / b2)`` by Cauchy-Schwarz (1.054 for
  b1 = 0.5, b2 = 0.999). So after two steps each weight lies within ``(1 + r2) * lr`` of its
  initial value on every machine, and two machines' weights differ by at most
  ``B = 2 * (1 + r2) * lr`` (:func:`adam_two_step_bound`). An EMA weight is an average of such
  weights, so the same bound holds for it.
* For most weights Adam's step is a ratio of gradients, which kernels change by a rounding's
  relative size: those weights move by far less than ``lr / 100`` between kernels. Only a
  weight whose gradient is tiny next to the rounding moves differently by more (its step
  flips sign or changes size), up to ``B``. Measured on this project's 2-core AVX2 EPYC, two
  kernel choices (intra-op threads 2 and 1: different reduction splits; oneDNN on and off gave
  the same bits here) put at most 0.72% of a network's weights more than ``lr / 100`` apart
  (``dcgan``'s generator; most networks 0 to 0.05%), none more than ``0.51 lr``. The sums
  recorded on the pins' machine differ from this machine's by at most 0.042 (``conv``'s
  generator, 7e-5 relative: the failure this replaced), which at least 51 weights moved by
  ``B`` would explain. We allow a fraction ``P = 2%`` of the weights beyond ``lr / 100``.

From that:

* ``sampled``: 256 trainable weights of each network at fixed random positions (recorded on
  the AVX2 EPYC when these tolerances were introduced). Every one must lie within ``B`` (plus
  float32 rounding) of its pin, and at most 25 (10%) beyond ``lr / 100``: with ``P = 2%``
  that many misses in 256 has probability below 1e-8. A changed initializer or seed moves
  weights by their init scale (>> B); a changed learning rate (by a few percent), loss,
  optimizer or noise moves nearly every weight by more than ``lr / 100``, so each fails here.
* ``g``/``d``/``ema`` sums of ``w`` and of ``|w|``: within ``N * (P * B + lr / 100)`` (``N``
  weights; the bound on the summed differences) plus float64 rounding of float32 sums
  (``1e-6 * sum |w|``, which also covers the batch-norm moving statistics, which move by a
  rounding's size). A coarse check: it catches a changed initializer's scale or a wrong
  network, the sampled weights catch the rest.
* ``d_loss``, ``g_loss`` within ``rtol 1e-4`` (forward passes at weights that agree as above;
  not derived: 100x the old 1e-6), and the sum of 4 generated images within ``1e-3`` per pixel
  on average (not derived: the largest difference seen, 2.2e-5 per pixel for ``conv`` between
  the pins' machine and this one, times 45). A change of the noise, the sampling path or the
  output scaling moves pixels by O(0.1).
* ``exact``: on a machine whose fingerprint (:func:`machine_key`) has a recorded digest, the
  weights and sample must match bit for bit: the restructure changes no number there. Set
  ``MNIST_GAN_RECORD_PINS=1`` to record this machine's digests (and sampled weights where none
  are pinned yet) into tests/fixtures/regression_pins.json.
"""

import hashlib
import json
import os
import platform
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan import MNISTGAN
from mnist_gan.data.pipeline import scale_images
from tests.conftest import synthetic_digits

CASES = {
    "dcgan": {},
    "mlp": {},
    "conv": {},
    "mlp-bn": {},
    "dcgan64": {"image_size": 32},
    "fast": {},
    "fast-alt-hinge": {"update": "alternating", "loss": "hinge", "ema_start": 1},
}

PINS_PATH = Path(__file__).parent / "fixtures" / "regression_pins.json"
PINNED = json.loads(PINS_PATH.read_text())
RECORD = os.environ.get("MNIST_GAN_RECORD_PINS") == "1"

P = 0.02  # fraction of weights allowed more than lr / 100 apart between kernels (docstring)
N_SAMPLED = 256
MAX_SAMPLED_MISSES = 25  # sampled weights allowed beyond lr / 100


def adam_two_step_bound(lr: float, beta_1: float, beta_2: float) -> float:
    """The most two kernels' weights can differ after two Adam steps from the same start."""
    r2 = np.sqrt(1 + beta_2) / (1 + beta_1) * np.sqrt(1 + beta_1**2 / beta_2)
    return 2 * (1 + r2) * lr


def machine_key() -> str:
    """What decides the kernels: CPU model and flags' vector width, core count, thread and
    oneDNN settings. Two machines with the same key are expected to give the same bits."""
    model, flags = platform.processor(), ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        text = cpuinfo.read_text()
        names = [ln.split(":", 1)[1].strip() for ln in text.splitlines() if "model name" in ln]
        model = names[0] if names else model
        flags = "avx512" if "avx512f" in text else "avx2" if "avx2" in text else "other"
    env = ",".join(
        f"{k}={os.environ[k]}"
        for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")
        if k in os.environ
    )
    return f"{platform.machine()} | {model} | {flags} | {os.cpu_count()} cpus | {env}"


def flat(model: keras.Model, trainable: bool = False) -> np.ndarray:
    weights = model.trainable_weights if trainable else model.weights
    return np.concatenate([np.ravel(w.numpy()) for w in weights])


def checksums(model: keras.Model) -> list[float]:
    weights = [w.numpy().astype(np.float64) for w in model.weights]
    return [sum(w.sum() for w in weights), sum(np.abs(w).sum() for w in weights)]


def sample_positions(n: int) -> np.ndarray:
    return np.sort(np.random.default_rng(0).choice(n, N_SAMPLED, replace=False))


def train(case: str) -> tuple[MNISTGAN, dict]:
    keras.utils.set_random_seed(0)
    gan = MNISTGAN(preset=case.split("-alt")[0], seed=0, **CASES[case])
    gan.compile(jit_compile=False)
    images = scale_images(synthetic_digits(64, 3), gan.config.pixel_range)
    history = gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=1, verbose=0)
    return gan, history.history


@pytest.mark.parametrize("case", list(CASES))
def test_a_short_run_gives_the_pinned_weights(case, deterministic_ops):
    gan, history = train(case)
    c = gan.config
    nets = {"g": (gan.generator, c.g_learning_rate), "d": (gan.discriminator, c.d_learning_rate)}
    if gan.ema_generator is not None:
        nets["ema"] = (gan.ema_generator, c.g_learning_rate)
    sample = np.asarray(gan.generate(4, seed=5), np.float64)
    found = {key: checksums(model) for key, (model, _) in nets.items()}
    found.update(d_loss=history["d_loss"][-1], g_loss=history["g_loss"][-1], sample=sample.sum())
    pinned = PINNED[case]
    assert found.keys() == {k for k in pinned if k not in ("sampled", "exact")}

    digest = hashlib.sha256()
    for model, _ in nets.values():
        digest.update(flat(model).tobytes())
    digest.update(sample.tobytes())
    if RECORD:
        pinned.setdefault("exact", {})[machine_key()] = digest.hexdigest()
        pinned.setdefault("sampled", {})
        for key in ("g", "d"):
            weights = flat(nets[key][0], trainable=True)
            pinned["sampled"].setdefault(
                key, weights[sample_positions(weights.size)].astype(float).tolist()
            )
        PINS_PATH.write_text(json.dumps(PINNED, indent=1) + "\n")

    for key, (model, lr) in nets.items():
        bound = adam_two_step_bound(lr, c.beta_1, c.beta_2)
        n = sum(int(np.prod(w.shape)) for w in model.weights)
        atol = n * (P * bound + lr / 100) + 1e-6 * pinned[key][1]
        np.testing.assert_allclose(found[key], pinned[key], rtol=0, atol=atol, err_msg=key)
        if key == "ema":
            continue
        weights = flat(model, trainable=True).astype(np.float64)
        expected = np.asarray(pinned["sampled"][key])
        diff = np.abs(weights[sample_positions(weights.size)] - expected)
        assert np.all(diff <= bound + 1e-6 * np.abs(expected)), (key, diff.max() / lr)
        misses = int(np.sum(diff > lr / 100))
        assert misses <= MAX_SAMPLED_MISSES, (key, f"{misses} of {N_SAMPLED} beyond lr/100")
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose(found[key], pinned[key], rtol=1e-4, err_msg=key)
    np.testing.assert_allclose(found["sample"], pinned["sample"], atol=1e-3 * sample.size)
    exact = pinned.get("exact", {}).get(machine_key())
    if exact is not None:
        assert digest.hexdigest() == exact, f"not bit for bit on {machine_key()}"

"""Same seed, same weights: a short run of every preset pinned against the code before the redesign.

The values were recorded with the package as of commit cc0451c (before settings were declared
once and the model split into sampling/EMA modules), by exactly the procedure below: seed 0,
two steps on 64 synthetic digits pre-scaled to the pixel range, XLA off, op determinism on.
A change to the train step, the networks, the optimizers, the EMA or the noise shows up here.
"""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_gan import MNISTGAN
from mnist_gan.data import scale_images
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

# (sum, sum of |w|) of every weight of each network after the two steps; last losses; and the
# sum of 4 generated images (seed 5).
PINNED = json.loads((Path(__file__).parent / "data" / "regression_pins.json").read_text())


def checksums(model):
    weights = [w.numpy().astype(np.float64) for w in model.weights]
    return [sum(w.sum() for w in weights), sum(np.abs(w).sum() for w in weights)]


@pytest.mark.parametrize("case", list(CASES))
def test_a_short_run_gives_the_pinned_weights(case, deterministic_ops):
    keras.utils.set_random_seed(0)
    gan = MNISTGAN(preset=case.split("-alt")[0], seed=0, **CASES[case])
    gan.compile(jit_compile=False)
    images = scale_images(synthetic_digits(64, 3), gan.config.pixel_range)
    history = gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=1, verbose=0)
    pinned = PINNED[case]
    found = {
        "g": checksums(gan.generator),
        "d": checksums(gan.discriminator),
        "d_loss": history.history["d_loss"][-1],
        "g_loss": history.history["g_loss"][-1],
        "sample": float(np.asarray(gan.generate(4, seed=5), np.float64).sum()),
    }
    if gan.ema_generator is not None:
        found["ema"] = checksums(gan.ema_generator)
    assert found.keys() == pinned.keys()
    for key, value in pinned.items():
        np.testing.assert_allclose(found[key], value, rtol=1e-6, err_msg=key)

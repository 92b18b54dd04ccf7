"""Same seed, same weights: a short run of every preset pinned against the code before the redesign.

The values were recorded with the package as of commit cc0451c (before settings were declared
once and the model split into sampling/EMA modules), by exactly the procedure below: seed 0,
two steps on 64 synthetic digits pre-scaled to the pixel range, XLA off, op determinism on.
A change to the train step, the networks, the optimizers, the EMA or the noise shows up here.
"""

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
PINNED = {
    "dcgan": {
        "g": [141.90345546958363, 7914.317828693003],
        "d": [1.1582516521557409, 3769.4590145485718],
        "d_loss": 1.4086174964904785,
        "g_loss": 0.6696561574935913,
        "sample": -29.64812975403038,
    },
    "mlp": {
        "g": [-22.53982301311089, 46983.52015350501],
        "d": [-37.87032765357412, 45312.019148700085],
        "d_loss": 0.5874475836753845,
        "g_loss": 0.6503215432167053,
        "sample": -16.291217016172595,
    },
    "conv": {
        "g": [599.6156836953235, 24001.080666226797],
        "d": [179.16473908702892, 11390.75467981721],
        "d_loss": 1.2443655729293823,
        "g_loss": 1.135777235031128,
        "sample": -207.19419246539474,
    },
    "mlp-bn": {
        "g": [3303.5967215359847, 51592.89573638067],
        "d": [-1.531556237712266, 45345.75141495029],
        "d_loss": 0.7367558479309082,
        "g_loss": 0.6836370825767517,
        "sample": 1566.520404279232,
    },
    "dcgan64": {
        "g": [764.1453168320777, 17793.539400979767],
        "d": [604.4388078676875, 11165.800118568866],
        "d_loss": 1.038081169128418,
        "g_loss": 1.8591285943984985,
        "sample": 4.39353321627209,
    },
    "fast": {
        "g": [180.84161893921373, 8015.144705470191],
        "d": [12.39604462016905, 1125.6289372338779],
        "d_loss": 1.234728217124939,
        "g_loss": 0.6843661069869995,
        "ema": [181.06028656372723, 8012.546929265809],
        "sample": -29.249045313394163,
    },
    "fast-alt-hinge": {
        "g": [181.07986492903547, 8013.379626275988],
        "d": [14.533657433301414, 1126.8022736192834],
        "d_loss": 1.6025971174240112,
        "g_loss": 0.21325640380382538,
        "ema": [181.03611542146746, 8011.973763724716],
        "sample": -69.80630574718816,
    },
}


def checksums(model):
    weights = [w.numpy().astype(np.float64) for w in model.weights]
    return [sum(w.sum() for w in weights), sum(np.abs(w).sum() for w in weights)]


@pytest.mark.parametrize("case", list(CASES))
def test_a_short_run_gives_the_pinned_weights(case):
    tf.config.experimental.enable_op_determinism()
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

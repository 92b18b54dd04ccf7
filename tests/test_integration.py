"""Real MNIST through load_mnist() (caches, download or the PyPI mirror), a few real steps."""

import numpy as np
import pytest

from mnist_gan import GANTrainer, load_mnist
from mnist_gan.data.sources import TEST_LABEL_COUNTS, TRAIN_LABEL_COUNTS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_load_mnist_returns_the_canonical_dataset(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert tuple(np.bincount(y_train, minlength=10)) == TRAIN_LABEL_COUNTS
    assert tuple(np.bincount(y_test, minlength=10)) == TEST_LABEL_COUNTS
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first labels
    assert x_train.max() == 255 and x_train.min() == 0


def test_a_few_training_steps_on_real_mnist(mnist, tmp_path):
    trainer = GANTrainer(epochs=1, limit=400, seed=0, output_dir=tmp_path, sample_frequency=2)
    trainer.load_data(mnist[0][0])
    history = trainer.train(verbose=0)
    assert int(trainer.gan.g_optimizer.iterations) == 4
    assert np.isfinite(history.history["d_loss"][0]) and np.isfinite(history.history["g_loss"][0])
    assert len(list((tmp_path / "generated_samples").glob("*.png"))) == 2
    assert (tmp_path / "model.keras").is_file()

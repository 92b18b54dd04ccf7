"""Real data: MNIST through load_mnist() (caches, download or the PyPI mirror), a few real steps;
Fashion-MNIST from Debian's package, trained, sampled by class name and scored in its own space."""

import json
from pathlib import Path

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


def test_mnist_is_named_and_recognised_by_its_content():
    from mnist_gan.data.datasets import MNIST_SHA256, load_dataset

    data = load_dataset()
    assert data.sha256 == MNIST_SHA256 and data.is_mnist and data.name == "MNIST"


FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not FASHION.is_dir(),
    reason="no Fashion-MNIST: apt-get install dataset-fashion-mnist (Debian)",
)
def test_fashion_mnist_trains_samples_by_name_and_is_scored_in_its_own_space(
    tmp_path, monkeypatch, capsys
):
    from mnist_gan.cli import main
    from mnist_gan.data.datasets import FASHION_CLASSES, FASHION_MNIST_SHA256, load_dataset

    monkeypatch.setenv("MNIST_GAN_CACHE", str(tmp_path / "cache"))
    full = load_dataset(FASHION)
    assert full.sha256 == FASHION_MNIST_SHA256 and not full.is_mnist
    assert full.class_names == FASHION_CLASSES and full.name == "fashion-mnist"
    assert (len(full.x_train), len(full.x_test)) == (60000, 10000)
    # A real subset, so its own feature network trains in seconds rather than minutes.
    subset = tmp_path / "fashion-subset.npz"
    np.savez(subset, x_train=full.x_train[:2000], y_train=full.y_train[:2000],
             x_test=full.x_test[:500], y_test=full.y_test[:500],
             class_names=np.array(FASHION_CLASSES))  # fmt: skip
    run = tmp_path / "run"
    args = ["train", "--preset", "cfast", "--data", str(subset), "--epochs", "1", "--seed", "0"]
    assert main([*args, "--output-dir", str(run), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Data: fashion-subset.npz (" in printed and "Sneaker" in printed
    assert "MNIST" not in printed and "digit" not in printed
    recorded = json.loads((run / "data.json").read_text())
    assert recorded["classes"] == list(FASHION_CLASSES) and recorded["split"] == "given"
    sneakers = tmp_path / "sneakers.npy"
    assert (
        main(["sample", str(run), "--label", "sneaker", "--num", "8", "--out", str(sneakers)]) == 0
    )
    assert np.load(sneakers).shape == (8, 28, 28)
    report = tmp_path / "scores.json"
    assert main(["evaluate", str(run), "--num", "500", "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "data: fashion-subset.npz" in printed and "fashion-subset.npz classifier" in printed
    scores = json.loads(report.read_text())
    assert scores["protocol"]["feature_network_kind"] == "trained"
    assert scores["protocol"]["feature_network_test_accuracy"] > 0.6
    assert "label_accuracy" in scores["metrics"] and "per class" in printed
    assert (
        scores["baselines"]["real_data"]["frechet_distance"] < scores["metrics"]["frechet_distance"]
    )

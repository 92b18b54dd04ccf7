"""Digits on demand: cgan and cfast train, resume, save/load and sample by label; the
evaluator's label accuracy and intra-FD agree with hand computations."""

import keras
import numpy as np
import pytest
from PIL import Image

from mnist_gan import MNISTGAN, MNISTGANError
from mnist_gan.cli import main
from mnist_gan.commands.sample import parse_digits
from mnist_gan.evaluation import metrics
from mnist_gan.evaluation.evaluate import compute_reference_statistics, evaluate_images
from mnist_gan.gan.sampling import resolve_labels
from mnist_gan.training.trainer import GANTrainer
from tests.conftest import synthetic_digits

IMAGES, LABELS = synthetic_digits(80), np.arange(80) % 10


def trainer(out, preset, epochs):
    run = GANTrainer(
        preset=preset, output_dir=out, batch_size=40, epochs=epochs, seed=2, jit_compile=False,
        sample_frequency=0,
    )  # fmt: skip
    run.load_data(IMAGES, LABELS)
    run.train(verbose=0)
    return run


@pytest.mark.parametrize("preset", ["cgan", "cfast"])
def test_trains_resumes_exactly_and_round_trips_with_labels(preset, tmp_path, deterministic_ops):
    straight = trainer(tmp_path / "a", preset, 2)
    trainer(tmp_path / "b", preset, 1)
    resumed = trainer(tmp_path / "b", preset, 2)
    for a, b in zip(straight.gan.variables, resumed.gan.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    loaded = keras.models.load_model(tmp_path / "a" / "model.keras")
    labels = [3, 1, 4, 1, 5]
    np.testing.assert_allclose(
        loaded.generate(5, seed=9, labels=labels),
        straight.gan.generate(5, seed=9, labels=labels),
        atol=1e-6,
    )
    sevens, drawn = straight.generate_samples(4, seed=1, labels=7), None
    assert sevens.shape == (4, 28, 28, 1)
    # A grid of a conditional model: one row per digit (10 rows of 64 // 10 = 6 columns).
    grid = Image.open(sorted((tmp_path / "a" / "generated_samples").glob("*.png"))[-1])
    assert grid.size == (2 * (6 * 30 + 2), 2 * (10 * 30 + 2))
    _, drawn = straight.gan.generate(23, seed=0, return_labels=True)
    assert np.bincount(drawn, minlength=10).min() >= 2  # balanced: 2 of each, 3 random


def test_a_conditional_preset_refuses_data_without_labels(tmp_path):
    gan = MNISTGAN(preset="cfast", jit_compile=False)
    gan.compile()
    with pytest.raises(MNISTGANError, match="conditional: fit it on \\(images, labels\\)"):
        gan.fit(IMAGES[:8], batch_size=8, epochs=1, verbose=0)
    run = GANTrainer(preset="cgan", output_dir=tmp_path)
    with pytest.raises(MNISTGANError, match="is conditional: it needs labelled data"):
        run.load_data(IMAGES)


def test_labels_are_resolved_or_refused():
    np.testing.assert_array_equal(resolve_labels(7, 3, 10, 0), [7, 7, 7])
    np.testing.assert_array_equal(resolve_labels(None, 20, 10, 0), np.repeat(np.arange(10), 2))
    assert resolve_labels(None, 5, 0, 0) is None
    for bad, message in [(10, "0..9"), ([1, 2], "2 labels for 3"), (-1, "0..9"), ("a", "0..9")]:
        with pytest.raises(MNISTGANError, match=message):
            resolve_labels(bad, 3, 10, 0)
    with pytest.raises(MNISTGANError, match="unconditional"):
        resolve_labels(3, 3, 0, 0)
    assert parse_digits(["3", "5,8", "0-2"]) == [3, 5, 8, 0, 1, 2]
    for bad in ("12", "a", "5-3"):
        with pytest.raises(MNISTGANError, match="--digit"):
            parse_digits([bad])


def test_label_accuracy_and_intra_fd_match_hand_computations():
    probs = np.eye(10)[[0, 1, 2, 2, 1]]  # predicted 0 1 2 2 1
    overall, per_digit = metrics.label_accuracy(probs, np.array([0, 1, 2, 1, 1]))
    assert overall == pytest.approx(4 / 5)
    np.testing.assert_allclose(per_digit[:3], [1.0, 2 / 3, 1.0])
    assert np.isnan(per_digit[3:]).all()
    rng = np.random.default_rng(0)
    feats, ref = rng.normal(size=(40, 3)), rng.normal(1.0, 1.0, size=(60, 3))
    labels, ref_labels = np.arange(40) % 2, np.arange(60) % 2
    got = metrics.intra_frechet_distances(feats, labels, ref, ref_labels, num_classes=3)
    for c in (0, 1):
        a, b = feats[labels == c], ref[ref_labels == c]
        expected = metrics.frechet_distance(a.mean(0), np.cov(a.T), b.mean(0), np.cov(b.T))
        assert got[c] == pytest.approx(expected)
    assert np.isnan(got[2])


def test_evaluate_images_adds_the_conditional_metrics():
    reference = compute_reference_statistics(synthetic_digits(60, 4))
    result = evaluate_images(
        synthetic_digits(40, 5), labels=np.arange(40) % 10, reference=reference,
        reference_digits=np.arange(60) % 10, kid_subsets=2, kid_subset_size=20,
    )  # fmt: skip
    assert 0 <= result["label_accuracy"] <= 1 and len(result["intra_fd_per_class"]) == 10
    assert result["intra_fd_min"] <= result["intra_fd_mean"] <= result["intra_fd_max"]


def test_cli_samples_digits_on_demand(tmp_path, capsys):
    run = trainer(tmp_path / "run", "cfast", 1)
    out, labels = tmp_path / "sevens.npy", tmp_path / "labels.npy"
    assert (
        main(
            [
                "sample",
                str(run.output_dir),
                "--digit",
                "7",
                "--num",
                "12",
                "--out",
                str(out),
                "--labels-out",
                str(labels),
            ]
        )
        == 0
    )
    assert np.load(out).shape == (12, 28, 28) and (np.load(labels) == 7).all()
    assert (
        main(
            [
                "sample",
                str(run.output_dir),
                "--digit",
                "0-9",
                "--num",
                "20",
                "--out",
                str(tmp_path / "g.png"),
            ]
        )
        == 0
    )
    for argv, message in [
        (["--digit", "12"], "--digit must name digits 0..9"),
        (["--num", "3", "--labels-out", str(tmp_path / "l.npy")], "--labels-out needs an .npy"),
    ]:
        assert main(["sample", str(run.output_dir), "--out", str(tmp_path / "x.png"), *argv]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    plain = GANTrainer(
        output_dir=tmp_path / "plain", batch_size=40, epochs=1, seed=1, jit_compile=False
    )
    plain.load_data(IMAGES)
    plain.train(verbose=0)
    assert (
        main(["sample", str(plain.output_dir), "--digit", "3", "--out", str(tmp_path / "y.png")])
        == 2
    )
    assert "unconditional" in capsys.readouterr().err and not (tmp_path / "y.png").exists()

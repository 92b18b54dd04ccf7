"""sfast: pseudo-labels from k-means, never the dataset's labels, and a model users see as
unconditional (generate, sample, evaluate, export), that resumes and round-trips exactly."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from mnist_gan import MNISTGAN, MNISTGANError
from mnist_gan.cli import main
from mnist_gan.data.clusters import (
    cluster_frequencies,
    cluster_ids,
    match_ids,
)
from mnist_gan.evaluation.evaluate import compute_reference_statistics, evaluate_model, mnist
from mnist_gan.gan.render import render_uint8
from mnist_gan.models.presets import make_config
from mnist_gan.models.selfcond import ClusterDraw
from mnist_gan.outputs.export import export_generator
from mnist_gan.outputs.tables import presets_table
from mnist_gan.training.trainer import GANTrainer
from tests.conftest import synthetic_digits

IMAGES, LABELS = synthetic_digits(80), np.arange(80) % 10


K = 5  # tests' clusters: few, so 80 images fill them


def trainer(out, epochs, labels=LABELS, **settings):
    run = GANTrainer(
        preset="sfast", output_dir=out, batch_size=40, epochs=epochs, seed=2, clusters=K,
        sample_frequency=0, **settings,
    )  # fmt: skip
    run.load_data(IMAGES, labels)
    run.train(verbose=0)
    return run


@pytest.mark.parametrize("noise", ["normal", "uniform"])
def test_ids_are_drawn_by_the_real_frequencies_and_the_noise_stays_its_distribution(noise):
    freqs = np.array([0.5, 0.0, 0.2, 0.05, 0.25], np.float32)  # one empty cluster
    draw = ClusterDraw(5, noise)
    draw.frequencies.assign(freqs)
    n = 200_000
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((n, 8)) if noise == "normal" else rng.uniform(-1, 1, (n, 8))).astype(
        np.float32
    )
    fresh, ids = (np.asarray(t) for t in draw(z))
    counts = np.bincount(ids, minlength=5)
    assert counts[1] == 0
    # Each count within 5 binomial standard deviations of n * p.
    sigma = np.sqrt(n * freqs * (1 - freqs))
    assert np.all(np.abs(counts - n * freqs) <= 5 * sigma + 1e-9), counts
    np.testing.assert_array_equal(fresh[:, 1:], z[:, 1:])  # only z0 picks the id
    first = fresh[:, 0]
    if noise == "normal":
        assert abs(first.mean()) < 0.01 and abs(first.std() - 1) < 0.01
    else:
        assert first.min() >= -1 and first.max() <= 1 and abs(first.std() - 1 / np.sqrt(3)) < 0.01
    for c in (0, 2, 4):  # and independent of the id: the same spread inside every cluster
        assert abs(first[ids == c].std() - first.std()) < 0.02


# ------------------------------------------------------------------ training never sees labels
def test_labels_cannot_reach_training(tmp_path, deterministic_ops):
    runs = [
        trainer(tmp_path / "labels", 1),
        trainer(tmp_path / "permuted", 1, labels=np.random.default_rng(0).permutation(LABELS)),
        trainer(tmp_path / "none", 1, labels=None),
    ]
    for other in runs[1:]:
        for a, b in zip(runs[0].gan.variables, other.gan.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_array_equal(runs[0].cluster_ids, cluster_ids(IMAGES, K, seed=2))
    freqs = runs[0].gan.cluster_draw.frequencies.numpy()
    np.testing.assert_allclose(freqs, cluster_frequencies(runs[0].cluster_ids, K))
    gan = MNISTGAN(preset="sfast", clusters=K)
    gan.compile()
    with pytest.raises(MNISTGANError, match="trains on \\(images, cluster_ids\\)"):
        gan.fit(IMAGES[:8], batch_size=8, epochs=1, verbose=0)


def test_resumes_bit_exactly_and_round_trips_through_keras(tmp_path, deterministic_ops):
    straight = trainer(tmp_path / "a", 2)
    trainer(tmp_path / "b", 1)
    cache = tmp_path / "b" / "clusters.npz"
    with np.load(cache) as saved:
        assert json.loads(str(saved["made_from"]))["k"] == K
        np.testing.assert_array_equal(saved["ids"], straight.cluster_ids)
    resumed = trainer(tmp_path / "b", 2)
    assert resumed.completed_epochs == 2
    for a, b in zip(straight.gan.variables, resumed.gan.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for a, b in zip(straight.gan.g_optimizer.variables, resumed.gan.g_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    loaded = keras.models.load_model(tmp_path / "a" / "model.keras")
    np.testing.assert_array_equal(
        loaded.cluster_draw.frequencies.numpy(), straight.gan.cluster_draw.frequencies.numpy()
    )
    for n in (5, 40):  # the numpy-sized request and the compiled path
        np.testing.assert_allclose(
            loaded.generate(n, seed=9), straight.gan.generate(n, seed=9), atol=1e-6
        )


def test_reclustering_with_other_settings_keeps_the_ids_names(tmp_path):
    first = GANTrainer(preset="sfast", output_dir=tmp_path, seed=2, clusters=K)
    first.load_data(IMAGES)
    old = first.prepare_clusters()
    again = GANTrainer(preset="sfast", output_dir=tmp_path, seed=2, clusters=K)
    again.load_data(IMAGES)
    np.testing.assert_array_equal(again.prepare_clusters(), old)  # read from the cache
    other = GANTrainer(preset="sfast", output_dir=tmp_path, seed=2, clusters=K, cluster_pca_dims=3)
    other.load_data(IMAGES)
    ids = other.prepare_clusters()
    raw = cluster_ids(IMAGES, K, seed=2, pca_dims=3)
    np.testing.assert_array_equal(ids, match_ids(old, raw, K))
    assert (ids == old).mean() >= (raw == old).mean()
    (tmp_path / "clusters.npz").write_bytes(b"not a zip")  # damaged: rebuilt, not a traceback
    np.testing.assert_array_equal(other.prepare_clusters(), raw)


# ------------------------------------------------------------------ unconditional to the user
def test_generate_sample_and_evaluate_treat_it_as_unconditional(tmp_path, capsys):
    run = trainer(tmp_path / "run", 1)
    gan = run.gan
    assert not gan.conditional and gan.config.num_classes == 0
    images, labels = gan.generate(20, seed=3, return_labels=True)
    assert images.shape == (20, 28, 28, 1) and labels is None
    np.testing.assert_array_equal(gan.generate(20, seed=3), images)
    assert not np.array_equal(gan.generate(20, seed=4), images)
    with pytest.raises(MNISTGANError, match="unconditional"):
        gan.generate(4, labels=3)
    assert len(gan.sampling_generator.inputs) == 1
    np.testing.assert_allclose(gan.predict(np.zeros((2, 100)), verbose=0).shape, (2, 28, 28, 1))
    grid = tmp_path / "g.png"
    assert main(["sample", str(run.output_dir), "--num", "64", "--out", str(grid)]) == 0
    fast = tmp_path / "fast.keras"  # the grid's layout does not depend on training
    MNISTGAN(preset="fast", seed=1).save(fast)
    plain = tmp_path / "plain.png"
    assert main(["sample", str(fast), "--num", "64", "--out", str(plain)]) == 0
    assert Image.open(grid).size == Image.open(plain).size  # the same 8x8 grid as fast
    refused = tmp_path / "d.png"
    assert main(["sample", str(run.output_dir), "--digit", "3", "--out", str(refused)]) == 2
    assert "unconditional" in capsys.readouterr().err and not refused.exists()
    reference = compute_reference_statistics(synthetic_digits(60, 4), source="synthetic")
    # Trained on Python arrays, so scoring names its data: MNIST's, in the digit classifier's space.
    result = evaluate_model(
        gan, 40, reference=reference, kid_subsets=2, kid_subset_size=20, data=mnist()
    )
    assert np.isfinite(result["frechet_distance"]) and "label_accuracy" not in result


def test_export_takes_noise_only(tmp_path):
    gan = MNISTGAN(preset="sfast", clusters=K, seed=0)
    gan.set_cluster_frequencies([0.1, 0.2, 0.3, 0.4, 0.0])
    generator = gan.sampling_generator
    path = export_generator(generator, tmp_path, fmt="saved_model")
    noise = np.random.default_rng(1).standard_normal((6, 100)).astype(np.float32)
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    assert list(serve.structured_input_signature[1]) == ["noise"]
    got = serve(noise=tf.constant(noise))["images"].numpy()
    expected = render_uint8(generator, noise)
    assert got.dtype == np.uint8 and got.shape == (6, 28, 28)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1


def test_settings_and_presets_table():
    config = make_config("sfast")
    assert (config.clusters, config.num_classes, config.g_conditioning) == (100, 0, "both")
    assert make_config("sfast", clusters=30).clusters == 30
    for preset, value in (("sfast", 0), ("fast", 10)):
        with pytest.raises(MNISTGANError, match="clusters is a setting of sfast"):
            make_config(preset, clusters=value)
    with pytest.raises(MNISTGANError, match="unconditional: num_classes must be 0"):
        make_config("sfast", num_classes=10)
    assert any(row.startswith("sfast ") for row in presets_table(False).splitlines())
    with pytest.raises(MNISTGANError, match="go to an sfast model"):
        MNISTGAN(preset="fast").set_cluster_frequencies([1.0])
    with pytest.raises(MNISTGANError, match="one per cluster"):
        MNISTGAN(preset="sfast", clusters=K).set_cluster_frequencies([1.0])

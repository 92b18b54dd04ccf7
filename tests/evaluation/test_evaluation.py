"""The shipped classifier, the evaluation protocol, the callback and ``mnist-gan evaluate``."""

from __future__ import annotations

import json
import socket

import keras
import numpy as np
import pytest

from mnist_gan import MNISTGAN, MNISTGANError, make_config
from mnist_gan.cli import main
from mnist_gan.evaluation import (
    EvaluationCallback,
    baselines,
    classifier,
    compute_reference_statistics,
)
from mnist_gan.evaluation import evaluate as ev
from mnist_gan.evaluation.classifier import FEATURE_DIM, features_and_probs, load_classifier


def strokes(n: int, seed: int = 0) -> np.ndarray:
    """uint8 (n, 28, 28): one or two bright bars and a blob, MNIST-like in layout and range."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    images = np.zeros((n, 28, 28))
    for i in range(n):
        cy, cx = rng.integers(8, 20, 2)
        images[i] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / rng.uniform(6, 30))
        x0 = rng.integers(6, 22)
        images[i, 5:23, x0 : x0 + 2] += 1.0
        if rng.random() < 0.5:
            y0 = rng.integers(6, 22)
            images[i, y0 : y0 + 2, 6:22] += 1.0
    return (255 * np.clip(images, 0, 1)).astype(np.uint8)


@pytest.fixture(scope="module")
def reference() -> ev.ReferenceStatistics:
    """Reference statistics of 300 synthetic images (stands in for the MNIST test set)."""
    return compute_reference_statistics(strokes(300, seed=1), source="synthetic")


def no_network(*args, **kwargs):
    raise OSError("network disabled in this test")


# ---------------------------------------------------------------------------- the classifier
def test_shipped_weights_load_offline_with_the_documented_feature_layer(monkeypatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert classifier.WEIGHTS_PATH.is_file()
    assert classifier.WEIGHTS_PATH.stat().st_size < 1.5e6
    model = load_classifier()
    assert model.get_layer("features").output.shape == (None, FEATURE_DIM) == (None, 128)
    features, probs = features_and_probs(strokes(7))
    assert features.shape == (7, 128) and probs.shape == (7, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (features >= 0).all()  # ReLU features


def test_shipped_weights_have_their_training_record() -> None:
    info = classifier.classifier_info()
    assert info["test_accuracy"] >= 0.99
    assert info["weights_sha256_16"] == classifier.weights_hash()
    assert info["seed"] == 0 and info["epochs"] >= 1
    assert info["command"].startswith("python scripts/train_classifier.py")


def test_input_conventions() -> None:
    images = strokes(4)
    f_uint8, p_uint8 = features_and_probs(images)
    f_channel, _ = features_and_probs(images[..., None])
    f_float, p_float = features_and_probs(images.astype(np.float32) / 255.0)
    np.testing.assert_allclose(f_channel, f_uint8)
    np.testing.assert_allclose(f_float, f_uint8, atol=1e-4)
    np.testing.assert_allclose(p_float, p_uint8, atol=1e-5)
    with pytest.raises(MNISTGANError, match="to_uint8"):
        features_and_probs(images.astype(np.float32) / 127.5 - 1.0)  # generator range
    with pytest.raises(MNISTGANError, match="shaped"):
        features_and_probs(np.zeros((3, 32, 32), np.uint8))


def test_a_wrong_weights_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(MNISTGANError, match="missing"):
        load_classifier(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(MNISTGANError, match="classifier weights"):
        load_classifier(bad)


@pytest.mark.integration
def test_shipped_classifier_reaches_99_percent_on_the_mnist_test_set() -> None:
    from mnist_gan.data.sources import load_mnist

    _, (x_test, y_test) = load_mnist()
    _, probs = features_and_probs(x_test)
    assert np.mean(probs.argmax(axis=1) == y_test) >= 0.99


# ---------------------------------------------------------------------------- the protocol
def test_evaluate_images_against_an_injected_reference(reference) -> None:
    same = ev.evaluate_images(strokes(300, seed=1), reference=reference, kid_subset_size=100)
    assert same["num_samples"] == 300
    assert same["frechet_distance"] == pytest.approx(0.0, abs=1e-6)
    assert same["precision"] == same["recall"] == 1.0
    assert set(ev.SCALAR_METRICS) <= set(same) and len(same["class_histogram"]) == 10

    other = ev.evaluate_images(strokes(300, seed=2), reference=reference, kid_subset_size=100)
    noise = ev.evaluate_images(
        baselines.noise_images(300), reference=reference, kid_subset_size=100
    )
    assert 0 < other["frechet_distance"] < noise["frechet_distance"]
    assert other["kid"] < noise["kid"]
    assert abs(same["kid"]) < 0.05 * noise["kid"]  # unbiased: ~0 up to subset noise
    assert noise["precision"] < other["precision"]
    json.dumps(same)  # plain floats and lists: ready for --json and History


def test_evaluate_images_num_samples_and_errors(reference) -> None:
    result = ev.evaluate_images(strokes(50), 20, reference=reference, kid_subset_size=10)
    assert result["num_samples"] == 20
    with pytest.raises(MNISTGANError, match="asked to score"):
        ev.evaluate_images(strokes(10), 20, reference=reference)


def test_reference_statistics_round_trip(tmp_path, reference) -> None:
    path = reference.save(tmp_path / "ref.npz")
    loaded = ev.ReferenceStatistics.load(path)
    np.testing.assert_allclose(loaded.sigma, reference.sigma)
    np.testing.assert_allclose(loaded.radii, reference.radii)
    assert loaded.k == 3 and loaded.source == "synthetic"


def test_reference_statistics_are_cached_by_data_and_network(tmp_path, monkeypatch) -> None:
    import dataclasses

    from mnist_gan.data.datasets import from_arrays
    from mnist_gan.evaluation.features import shipped_network

    monkeypatch.setenv("MNIST_GAN_CACHE", str(tmp_path))
    data = dataclasses.replace(
        from_arrays(strokes(10), None, "strokes"), x_test=strokes(40, seed=3)
    )
    network = shipped_network()
    path = ev.cache_path(data, network, "reference").with_suffix(".npz")
    assert path.parent == tmp_path and data.sha256[:16] in path.name and network.key in path.name
    monkeypatch.setattr("mnist_gan.evaluation.features.feature_network", lambda data: network)
    calls = []
    real = ev.compute_reference_statistics
    monkeypatch.setattr(
        ev, "compute_reference_statistics", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    first = ev.reference_statistics(data=data)
    second = ev.reference_statistics(data=data)
    assert len(calls) == 1 and path.is_file()
    np.testing.assert_allclose(first.mu, second.mu, rtol=1e-6)


# ---------------------------------------------------------------------------- the callback
def tiny_gan() -> MNISTGAN:
    keras.utils.set_random_seed(0)
    gan = MNISTGAN(16, seed=0)
    gan.compile()
    return gan


def test_callback_writes_eval_metrics_into_history_and_keeps_the_best(tmp_path, reference):
    seen_by_later_callback = []
    later = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen_by_later_callback.append(sorted(logs))
    )
    callback = EvaluationCallback(
        every_epochs=1,
        num_samples=40,
        output_dir=tmp_path,
        reference=reference,
        kid_subset_size=20,
        verbose=0,
    )
    gan = tiny_gan()
    data = (strokes(64).astype("float32")[..., None] / 127.5) - 1.0
    history = gan.fit(data, batch_size=32, epochs=2, callbacks=[callback, later], verbose=0)

    for name in ev.SCALAR_METRICS:
        values = history.history[f"eval_{name}"]
        assert len(values) == 2 and all(np.isfinite(values))
    assert "eval_frechet_distance" in seen_by_later_callback[0]  # e.g. TensorBoard placed after
    assert [r["epoch"] for r in callback.records] == [1, 2]
    best = json.loads((tmp_path / "best_eval.json").read_text())
    assert best["frechet_distance"] == min(history.history["eval_frechet_distance"])
    assert len(json.loads((tmp_path / "eval_history.json").read_text())) == 2

    from mnist_gan.outputs.loading import load_generator_model

    restored = load_generator_model(tmp_path / "best_model.keras")
    assert restored.generate(2, seed=0).shape == (2, 28, 28, 1)
    assert not list(tmp_path.glob(".best_model-incomplete*"))

    resumed = EvaluationCallback(output_dir=tmp_path, reference=reference, verbose=0)
    resumed.set_model(gan)  # optimizer steps taken: a resumed run keeps the recorded best
    resumed.on_train_begin()
    assert resumed.best == best and len(resumed.records) == 2
    fresh = EvaluationCallback(output_dir=tmp_path, reference=reference, verbose=0)
    fresh.set_model(tiny_gan())
    fresh.on_train_begin()
    assert fresh.best is None


def test_callback_every_n_epochs_logs_only_evaluated_epochs(reference) -> None:
    callback = EvaluationCallback(
        every_epochs=2, num_samples=30, reference=reference, kid_subset_size=10, verbose=0
    )
    gan = tiny_gan()
    data = (strokes(32).astype("float32")[..., None] / 127.5) - 1.0
    history = gan.fit(data, batch_size=32, epochs=3, callbacks=[callback], verbose=0)
    assert len(history.history["eval_frechet_distance"]) == 1  # epoch 2 only
    assert [r["epoch"] for r in callback.records] == [2]
    assert callback.best is not None and callback.best["epoch"] == 2


def test_callback_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        EvaluationCallback(every_epochs=0)


def test_eval_every_setting() -> None:
    assert make_config().eval_every == 0
    assert make_config(eval_every=3).eval_every == 3
    with pytest.raises(MNISTGANError, match="eval_every"):
        make_config(eval_every=-1)


def test_trainer_eval_every_runs_the_callback_before_the_checkpoint(
    tmp_path, reference, monkeypatch, tiny_preset
) -> None:
    from mnist_gan.training.callbacks import CheckpointCallback
    from mnist_gan.training.trainer import GANTrainer

    monkeypatch.setattr(
        "mnist_gan.evaluation.callback.reference_statistics", lambda **kw: reference
    )
    trainer = GANTrainer(
        epochs=1,
        batch_size=32,
        output_dir=tmp_path,
        seed=0,
        eval_every=1,
        latent_dim=16,
        preset=tiny_preset,
    )
    trainer.load_data(strokes(64))
    kinds = [type(c) for c in trainer.get_default_callbacks()]
    assert kinds.index(EvaluationCallback) < kinds.index(CheckpointCallback)
    trainer.train(verbose=0)
    saved = json.loads((tmp_path / "history.json").read_text())
    assert len(saved["eval_frechet_distance"]) == 1
    assert (tmp_path / "best_model.keras").is_file()


# ---------------------------------------------------------------------------- the CLI
@pytest.fixture
def fake_protocol(monkeypatch, reference):
    """Route the CLI's reference and baselines to the synthetic reference (no MNIST needed)."""
    monkeypatch.setattr(ev, "reference_statistics", lambda *args, **kwargs: reference)
    for name in ("real_baseline", "noise_baseline"):
        images = strokes if name == "real_baseline" else baselines.noise_images
        monkeypatch.setattr(
            baselines,
            name,
            lambda n, seed, images=images, **kwargs: ev.evaluate_images(
                images(n, seed), seed=seed, reference=reference, kid_subset_size=20
            ),
        )


def test_cli_evaluate_npy_prints_a_table_and_writes_json(tmp_path, capsys, fake_protocol):
    images = tmp_path / "images.npy"
    np.save(images, strokes(60, seed=4))
    out = tmp_path / "sub" / "result.json"
    assert main(["evaluate", str(images), "--num", "50", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Fréchet distance" in printed and "real data" in printed and "uniform noise" in printed
    record = json.loads(out.read_text())
    assert record["metrics"]["num_samples"] == 50
    assert record["protocol"]["seed"] == 0
    assert set(record["baselines"]) == {"real_data", "uniform_noise"}
    real, noise = record["baselines"]["real_data"], record["baselines"]["uniform_noise"]
    assert real["frechet_distance"] < noise["frechet_distance"]


def test_cli_evaluate_a_saved_model(tmp_path, capsys, fake_protocol):
    path = tmp_path / "model.keras"
    tiny_gan().save(path)
    assert main(["evaluate", str(path), "--num", "30"]) == 0
    assert "30 samples from" in capsys.readouterr().out


def test_cli_evaluate_user_mistakes_exit_2(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.npy")]) == 2
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((5, 32, 32), np.uint8))
    assert main(["evaluate", str(bad)]) == 2
    assert main(["evaluate", str(bad), "--num", "1"]) == 2
    assert main(["evaluate", str(tmp_path)]) == 2  # a folder without a model
    errors = capsys.readouterr().err
    assert errors.count("error:") == 4 and "Traceback" not in errors


@pytest.mark.integration
def test_cli_evaluate_on_real_training_images_reproduces_the_baseline(tmp_path, capsys):
    images = tmp_path / "real.npy"
    np.save(images, baselines.real_baseline_images(2000))
    out = tmp_path / "r.json"
    assert main(["evaluate", str(images), "--num", "2000", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["metrics"]["frechet_distance"] == pytest.approx(
        record["baselines"]["real_data"]["frechet_distance"], rel=1e-4
    )
    assert (
        record["baselines"]["uniform_noise"]["frechet_distance"]
        > 100 * (record["metrics"]["frechet_distance"])
    )

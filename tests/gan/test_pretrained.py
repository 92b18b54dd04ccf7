"""Pretrained presets: the folder format, float16 storage, checks at load, shipped names, the
CLI, ``--init-from`` fine-tuning. Tiny untrained models with trained-like weights stand in for
the shipped ones; the shipped-name path reads a temporary package-data folder."""

import configparser
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from mnist_gan import MNISTGAN, MNISTGANError, make_config
from mnist_gan.cli import main
from mnist_gan.data.images import to_uint8
from mnist_gan.gan import pretrained
from mnist_gan.gan import shipped as shipped_presets
from mnist_gan.logs import log_to_console
from tests.conftest import synthetic_digits
from tests.helpers import ROOT


def trained_like(gan: MNISTGAN, seed: int) -> MNISTGAN:
    """Move every weight away from its initial value, batch-norm moving statistics included,
    so the tests see weights like a trained model's (not zeros and ones)."""
    rng = np.random.default_rng(seed)
    networks = [gan.generator, gan.discriminator]
    networks += [] if gan.ema_generator is None else [gan.ema_generator]
    for network in networks:
        for variable in network.variables:
            if variable.dtype != "float32":
                continue
            if "moving_variance" in variable.path:
                value = rng.uniform(0.05, 4.0, variable.shape)
            elif "moving_mean" in variable.path:
                value = rng.normal(0.0, 1.0, variable.shape)
            else:
                value = variable.numpy() * rng.uniform(0.5, 2.0) + rng.normal(
                    0.0, 0.01, variable.shape
                )
            variable.assign(value.astype("float32"))
    if gan.ema_generator is not None:
        gan.ema_updates.assign(1234)
    gan.sampler.clear()
    return gan


@pytest.fixture(scope="module")
def models():
    """{"fast": ..., "cfast": ...}: the real networks of both presets, trained-like weights,
    computing in float32 (bfloat16 compute would hide the float16 storage error measured here
    under its own rounding)."""
    keras.utils.set_random_seed(3)
    return {
        name: trained_like(MNISTGAN(config=make_config(name, precision="float32")), seed)
        for seed, name in enumerate(("fast", "cfast"))
    }


@pytest.fixture(scope="module")
def saved(models, tmp_path_factory):
    """Each model saved as a preset folder (float16), with scores in its metadata."""
    root = tmp_path_factory.mktemp("presets")
    scores = {
        "fast": {"frechet_distance": 1.234, "classifier_score": 9.5},
        "cfast": {"frechet_distance": 0.876, "label_accuracy": 0.991},
    }
    return {
        name: gan.save_to_preset(
            root / name, command=f"mnist-gan train --preset {name}", minutes=5, scores=scores[name]
        )
        for name, gan in models.items()
    }


@pytest.fixture
def shipped(saved, tmp_path, monkeypatch):
    """The package-data folder pointed at a copy of the saved presets (fast, cfast)."""
    root = tmp_path / "package_data"
    for name, folder in saved.items():
        shutil.copytree(folder, root / name)
    monkeypatch.setattr(shipped_presets, "SHIPPED_DIR", root)
    return root


def _samples(gan, n=64, seed=5):
    return gan.generate(n, seed=seed)


def _max_levels(a, b):
    return int(np.abs(to_uint8(a).astype(int) - to_uint8(b).astype(int)).max())


# ------------------------------------------------------------------ format and float16
def test_a_preset_folder_holds_config_metadata_and_all_weights(models, saved):
    folder = saved["cfast"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(shipped_presets.PRESET_FILES)
    config = json.loads((folder / "config.json").read_text())
    assert config["class_name"] == "MNISTGAN" and config["config"]["preset"] == "cfast"
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["keras_version"] == keras.__version__ and meta["tensorflow_version"]
    assert meta["mnist_gan_version"] and meta["settings"] == config["config"]
    assert meta["training"] == {"command": "mnist-gan train --preset cfast", "minutes": 5}
    assert meta["scores"]["label_accuracy"] == 0.991
    assert meta["weights"]["sha256"] == pretrained.sha256_of(folder / "model.weights.npz")
    assert meta["weights"]["dtype"] == "float16"
    assert meta["weights"]["groups"] == ["discriminator", "ema", "generator"]
    with np.load(folder / "model.weights.npz") as archive:
        keys = set(archive.files)
        assert archive["generator/bn0/moving_variance"].dtype == np.float16
        assert archive["ema/ema_updates"] == 1234
    gan = models["cfast"]
    # every variable of the three networks, not only the trainable ones
    assert keys == set(pretrained.network_variables(gan))
    assert len(keys) == len(gan.generator.variables) * 2 + len(gan.discriminator.variables) + 1
    assert any("moving_mean" in k for k in keys) and any(k.startswith("ema/") for k in keys)


@pytest.mark.parametrize("name", ["fast", "cfast"])
def test_float16_samples_stay_within_the_stated_tolerance(models, saved, name):
    gan, loaded = models[name], MNISTGAN.from_preset(saved[name])
    for use_ema in (True, False):
        a = gan.generate(256, seed=11, use_ema=use_ema)
        b = loaded.generate(256, seed=11, use_ema=use_ema)
        diff = float(np.abs(a - b).max())
        assert 0 < diff <= pretrained.FLOAT16_MAX_ABS  # float16 changes them, but little
        assert _max_levels(a, b) <= pretrained.FLOAT16_MAX_LEVELS
    check = json.loads((saved[name] / "metadata.json").read_text())["float16_check"]
    assert 0 < check["max_abs_pixel_diff"] <= check["tolerance"] == pretrained.FLOAT16_MAX_ABS
    assert check["max_uint8_levels"] <= pretrained.FLOAT16_MAX_LEVELS
    float32 = gan.save_to_preset(saved[name].parent / f"{name}-32", dtype="float32")
    size16 = (saved[name] / "model.weights.npz").stat().st_size
    assert size16 < 0.55 * (float32 / "model.weights.npz").stat().st_size  # about half


def test_round_trip_gives_the_same_config_and_samples(models, saved, tmp_path):
    for name, gan in models.items():
        loaded = MNISTGAN.from_preset(str(saved[name]))
        assert loaded.config == gan.config
        assert np.abs(_samples(loaded) - _samples(gan)).max() <= pretrained.FLOAT16_MAX_ABS
        assert int(loaded.ema_updates.numpy()) == 1234
    gan = models["cfast"]
    exact = MNISTGAN.from_preset(gan.save_to_preset(tmp_path / "f32", dtype="float32"))
    a, la = gan.generate(30, seed=2, labels=7, return_labels=True)
    b, lb = exact.generate(30, seed=2, labels=7, return_labels=True)
    np.testing.assert_array_equal(la, lb)
    np.testing.assert_allclose(a, b, atol=1e-6)
    for x, y in zip(gan.discriminator.weights, exact.discriminator.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_an_ema_only_preset_is_smaller_and_starts_the_live_generator_from_the_ema(
    models, saved, tmp_path
):
    gan = models["cfast"]
    folder = gan.save_to_preset(tmp_path / "ema-only", ema_only=True)
    with np.load(folder / "model.weights.npz") as archive:
        assert not any(key.startswith("generator/") for key in archive.files)
    full = (saved["cfast"] / "model.weights.npz").stat().st_size
    assert (folder / "model.weights.npz").stat().st_size < 0.75 * full
    loaded = MNISTGAN.from_preset(folder)
    np.testing.assert_array_equal(
        loaded.generate(16, seed=2, labels=3),
        MNISTGAN.from_preset(saved["cfast"]).generate(16, seed=2, labels=3),
    )  # the EMA, which samples, is stored whole
    for live, ema in zip(loaded.generator.weights, loaded.ema_generator.weights, strict=True):
        np.testing.assert_array_equal(live.numpy(), ema.numpy())
    with pytest.raises(MNISTGANError, match="needs a model with an EMA generator"):
        MNISTGAN(preset="mlp").save_to_preset(tmp_path / "mlp", ema_only=True)


def test_saving_twice_needs_overwrite(models, saved):
    with pytest.raises(MNISTGANError, match="already holds a preset; pass overwrite=True"):
        models["fast"].save_to_preset(saved["fast"])


# ------------------------------------------------------------------ checks at load
@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_weights_file_is_named_with_the_checksum_mismatch(saved, tmp_path, damage):
    folder = shutil.copytree(saved["fast"], tmp_path / "damaged")
    weights = folder / "model.weights.npz"
    data = bytearray(weights.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        data = data[: len(data) - 100]
    weights.write_bytes(bytes(data))
    with pytest.raises(MNISTGANError) as err:
        MNISTGAN.from_preset(folder)
    message = str(err.value)
    assert str(weights) in message and "checksum mismatch" in message and "\n" not in message


def test_unknown_names_list_the_shipped_presets(shipped, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MNISTGANError, match=r"^nope does not exist here and is not a shipped "):
        MNISTGAN.from_preset("nope")
    with pytest.raises(MNISTGANError, match=r"shipped presets: cfast, fast\)$"):
        MNISTGAN.from_preset("nope")
    with pytest.raises(MNISTGANError, match="preset 'dcgan' ships no pretrained weights"):
        MNISTGAN.from_preset("dcgan")


def test_without_shipped_weights_the_error_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped_presets, "SHIPPED_DIR", tmp_path / "none")
    monkeypatch.chdir(tmp_path)
    assert shipped_presets.shipped_names() == []
    with pytest.raises(MNISTGANError, match="ships no pretrained presets yet"):
        MNISTGAN.from_preset("cfast")


def test_a_local_folder_that_is_not_a_preset_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(MNISTGANError, match="is not a preset folder"):
        MNISTGAN.from_preset(tmp_path / "run")


def test_every_preset_shipped_in_this_checkout_loads_and_verifies():
    """The real package data (none until weights are shipped): each folder is complete, its
    checksum holds and it names its own design."""
    for name, meta in shipped_presets.shipped_metadata().items():
        assert {"training", "scores", "weights", "keras_version"} <= set(meta), name
        assert meta["training"]["command"] and meta["training"]["minutes"], name
        assert "frechet_distance" in meta["scores"], name
        assert MNISTGAN.from_preset(name).config.preset == meta["settings"]["preset"]


def test_shipped_weights_stay_within_the_wheel_budget():
    """Shipped files deflated as in a wheel: the MNIST presets fast, sfast and cfast at most
    5 MB together; every shipped weight (all presets and the evaluator's classifier) 10 MB."""
    import zlib

    def deflated(files):
        return sum(len(zlib.compress(f.read_bytes(), 6)) for f in files if f.is_file())

    root = Path(str(shipped_presets.SHIPPED_DIR))
    mnist = [f for name in ("fast", "sfast", "cfast") for f in (root / name).glob("*")]
    assert deflated(mnist) <= 5_000_000
    classifier = ROOT / "src" / "mnist_gan" / "evaluation" / "weights"
    assert deflated([*root.glob("*/*"), *classifier.glob("*")]) <= 10_000_000


def test_the_presets_folder_is_package_data():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert "pretrained_presets/*/*" in setup["options.package_data"]["mnist_gan"]


# ------------------------------------------------------------------ shipped names, the CLI
def test_a_shipped_name_loads_from_package_data(shipped, models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gan = MNISTGAN.from_preset("cfast")
    assert gan.config.preset == "cfast"
    assert np.abs(_samples(gan) - _samples(models["cfast"])).max() <= pretrained.FLOAT16_MAX_ABS


def test_cli_samples_sevens_from_a_shipped_preset(shipped, models, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["sample", "cfast", "--digit", "7", "--num", "8", "--seed", "4"]
    assert main([*argv, "--out", "sevens.npy", "--labels-out", "labels.npy"]) == 0
    assert capsys.readouterr().err == ""
    images, labels = np.load("sevens.npy"), np.load("labels.npy")
    assert images.shape == (8, 28, 28) and set(labels) == {7}
    expected = to_uint8(models["cfast"].generate(8, seed=4, labels=np.full(8, 7)))
    assert np.abs(images.astype(int) - expected.astype(int)).max() <= pretrained.FLOAT16_MAX_LEVELS
    assert main(["sample", "fast", "--num", "16", "--out", "grid.png"]) == 0
    assert Path("grid.png").stat().st_size > 0


def test_cli_sample_from_a_preset_folder(saved, tmp_path, capsys):
    out = tmp_path / "g.png"
    assert main(["sample", str(saved["fast"]), "--num", "4", "--out", str(out)]) == 0
    assert out.is_file() and "Wrote" in capsys.readouterr().out


def test_cli_damaged_preset_is_one_error_line(saved, tmp_path, capsys):
    folder = shutil.copytree(saved["fast"], tmp_path / "p")
    (folder / "model.weights.npz").write_bytes(b"not the weights")
    assert main(["sample", str(folder), "--out", str(tmp_path / "s.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "checksum mismatch" in err[0]


def test_a_local_folder_of_the_same_name_wins_with_a_note(
    shipped, saved, models, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(saved["fast"], tmp_path / "cfast")  # a user's own folder named cfast
    assert main(["sample", "cfast", "--num", "6", "--seed", "1", "--out", "s.npy"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("note: using the local folder 'cfast'")
    expected = to_uint8(models["fast"].generate(6, seed=1))  # the local fast model's digits
    assert np.abs(np.load("s.npy").astype(int) - expected.astype(int)).max() <= 3
    gan = MNISTGAN.from_preset("cfast")  # from Python too
    assert gan.config.preset == "fast"


def test_unknown_source_on_the_cli(shipped, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", "cfats", "--out", "s.png"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: cfats does not exist here and is not a shipped preset (shipped "
        "presets: cfast, fast)"
    ]


def test_interpolate_and_evaluate_open_shipped_names(shipped, tmp_path, monkeypatch, capsys):
    from mnist_gan.evaluation.report import load_source_images

    monkeypatch.chdir(tmp_path)
    argv = ["interpolate", "cfast", "--digit", "3", "--rows", "2", "--steps", "3"]
    assert main([*argv, "--out", "walk.png"]) == 0
    assert Path("walk.png").is_file()
    images, description, labels = load_source_images("cfast", 20, 0)
    assert images.shape == (20, 28, 28) and labels is not None and "cfast" in description


def test_presets_table_marks_shipped_weights_with_scores(shipped, capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "pretrained" in lines[0]
    designs = lines[2 : lines.index("")]
    rows = {line.split()[0]: line for line in designs}
    assert "FD 1.23, CS 9.50" in rows["fast"]
    assert "FD 0.88, labels 99.1%" in rows["cfast"]
    assert " - " in rows["dcgan"] and "FD" not in rows["dcgan"]


# ------------------------------------------------------------------ --init-from
class FirstWeights(keras.callbacks.Callback):
    """Records the three networks' weights as training begins (after --init-from)."""

    def on_train_begin(self, logs=None):
        gan = self.model
        self.seen = {k: v.numpy().copy() for k, v in pretrained.network_variables(gan).items()}


def _trainer(tmp_path, preset, **settings):
    from mnist_gan.training.trainer import GANTrainer

    settings = {"epochs": 1, **settings}
    trainer = GANTrainer(
        preset=preset,
        output_dir=tmp_path / "out",
        batch_size=8,
        sample_frequency=0,
        seed=0,
        **settings,
    )
    rng = np.random.default_rng(0)
    trainer.load_data(synthetic_digits(16), rng.integers(0, 10, 16))
    return trainer


def test_init_from_copies_all_three_networks_then_trains(shipped, models, tmp_path, capsys):
    log_to_console()
    trainer = _trainer(tmp_path, "cfast", init_from="cfast")
    first = FirstWeights()
    trainer.train(callbacks=[first], verbose=0)
    stored = np.load(shipped / "cfast" / "model.weights.npz")
    assert set(first.seen) == set(stored.files)
    for key, value in first.seen.items():
        np.testing.assert_array_equal(value, stored[key].astype(value.dtype), err_msg=key)
    assert "Initialized the generator, discriminator, EMA generator from cfast" in (
        capsys.readouterr().out
    )
    trained = trainer.gan.generator.get_layer("project").kernel.numpy()
    assert not np.array_equal(trained, stored["generator/project/kernel"].astype("float32"))
    # a second session resumes from its own checkpoint and says --init-from is not used
    trainer = _trainer(tmp_path, "cfast", init_from="cfast", epochs=2)
    trainer.train(verbose=0)
    out = capsys.readouterr().out
    assert "Resuming from" in out and "init_from cfast not used" in out
    assert "Initialized" not in out


def test_init_from_a_model_without_ema_seeds_the_ema_from_its_generator(models, tmp_path):
    from mnist_gan.training.init_from import initialize_from

    donor = trained_like(MNISTGAN(preset="fast", ema_decay=0.0), 7)
    path = tmp_path / "donor.keras"
    donor.save(path)
    gan = MNISTGAN(preset="fast")
    assert "EMA generator (from its generator)" in initialize_from(gan, path)
    for a, b in zip(gan.ema_generator.weights, donor.generator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy())
    for a, b in zip(gan.discriminator.weights, donor.discriminator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy())


def test_init_from_other_networks_is_one_clear_error(saved, tmp_path, capsys):
    trainer = _trainer(tmp_path, "fast", init_from=str(saved["cfast"]))
    with pytest.raises(MNISTGANError, match=r"was trained with preset='cfast', but this run asks "):
        trainer.train(verbose=0)
    assert main(["train", "--init-from", "nope", "--output-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: --init-from: nope does not exist here and is not a shipped")
    assert not (tmp_path / "o").exists()  # refused before any file is written


# ------------------------------------------------------------------ scripts/make_pretrained.py
def _make_pretrained():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_pretrained", ROOT / "scripts" / "make_pretrained.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_pretrained_writes_a_preset_from_a_snapshot_and_its_scores(models, tmp_path, capsys):
    snapshot = tmp_path / "snapshots" / "minute_10.keras"
    snapshot.parent.mkdir()
    models["cfast"].save(snapshot)
    result = {
        "command": "mnist-gan train --preset cfast --seed 0",
        "num_samples": 10000,
        "snapshots": [
            {"minute": 5.0, "ema": {"frechet_distance": 9.0}},
            {"minute": 10.0, "ema": {"frechet_distance": 1.5, "label_accuracy": 0.99}},
        ],
    }
    scores = tmp_path / "ship.json"
    scores.write_text(json.dumps(result))
    script = _make_pretrained()
    out = tmp_path / "cfast"
    argv = [str(snapshot), "--name", "cfast", "--scores", str(scores), "--out", str(out)]
    assert script.main(argv) == 0  # 1: the checkout's shipped presets exceed the 5 MB budget
    printed = capsys.readouterr().out
    assert f"Wrote {out}: FD 1.50, labels 99.0%" in printed
    meta = shipped_presets.read_preset_metadata(out)
    assert meta["training"] == {"command": result["command"], "minutes": 10.0}  # row of minute 10
    assert meta["provenance"]["generator"] == "ema" and meta["name"] == "cfast"
    assert MNISTGAN.from_preset(out).config == models["cfast"].config
    # one design's weights under another design's name is refused
    argv = [str(snapshot), "--name", "fast", "--scores", str(scores), "--out", str(tmp_path / "x")]
    assert script.main(argv) == 2
    assert "is a 'cfast' model" in capsys.readouterr().err


def test_sfast_cluster_frequencies_are_stored_exactly(tmp_path):
    # The frequencies are the boundaries that map noise to a cluster: float16 would move them
    # and change whole samples, so they stay float32 while the networks go to float16.
    from mnist_gan.gan.model import build_gan
    from mnist_gan.models.presets import make_config

    gan = build_gan(make_config("sfast", clusters=5), seed=0)
    frequencies = np.array([0.1, 0.2, 0.3001, 0.15, 0.2499], np.float32)
    gan.set_cluster_frequencies(frequencies)
    arrays = pretrained.network_weights(gan, "float16")
    assert arrays["clusters/frequencies"].dtype == np.float32
    assert arrays["generator/project/kernel"].dtype == np.float16
    gan.save_to_preset(tmp_path / "mine")
    again = MNISTGAN.from_preset(tmp_path / "mine")
    np.testing.assert_array_equal(again.cluster_draw.frequencies.numpy(), frequencies)
    np.testing.assert_allclose(
        again.generate(32, seed=1), gan.generate(32, seed=1), atol=pretrained.FLOAT16_MAX_ABS
    )

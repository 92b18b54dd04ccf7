"""Exports load in a fresh process (no mnist_gan) and give the generator's own uint8 pixels."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import layers

from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.render import render_uint8
from mnist_gan.outputs.export import FORMATS, build_uint8_endpoint, export_generator
from tests.runtimes import EXPORT_RUNTIMES, available, require

LATENT = 8

# Runs in a subprocess: only numpy and the format's own runtime, never mnist_gan.
LOADER = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    fmt, jobs = sys.argv[1], sys.argv[2:]
    for path, data, out in zip(jobs[::3], jobs[1::3], jobs[2::3]):
        d = np.load(data)
        feed = {"noise": d["noise"]}
        if "labels" in d:
            feed["label"] = d["labels"]
        if fmt == "saved_model":
            import tensorflow as tf
            sig = tf.saved_model.load(path).signatures["serving_default"]
            specs = sig.structured_input_signature[1]
            shapes = {k: list(v.shape) for k, v in specs.items()}
            images = sig(**{k: tf.constant(v) for k, v in feed.items()})["images"].numpy()
        elif fmt == "onnx":
            import onnxruntime as ort
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            shapes = {i.name: [s if isinstance(s, int) else None for s in i.shape]
                      for i in sess.get_inputs()}
            images = sess.run(None, feed)[0]
        else:
            from ai_edge_litert.interpreter import Interpreter
            interp = Interpreter(model_path=path)
            runner = interp.get_signature_runner("serving_default")
            shapes = {k: [None if s < 0 else int(s) for s in v["shape_signature"]]
                      for k, v in runner.get_input_details().items()}
            images = runner(**feed)["images"]
        np.save(out + ".npy", images)
        with open(out + ".json", "w") as f:
            json.dump(shapes, f)
    assert "mnist_gan" not in sys.modules
    """
)


def _plain_generator(side: int = 28, activation: str = "tanh") -> keras.Model:
    z = keras.Input((LATENT,), name="z")
    x = layers.Dense(side * side, kernel_initializer=keras.initializers.RandomNormal(stddev=0.5))(z)
    x = layers.Reshape((side, side, 1))(x)
    return keras.Model(z, layers.Activation(activation)(x))


def _conditional_generator(side: int = 28) -> keras.Model:
    """Two inputs like the planned conditional generator: z (batch, 8), label (batch,) int32."""
    z = keras.Input((LATENT,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(10, LATENT, embeddings_initializer="random_normal")(label)
    x = layers.Concatenate()([z, embedded])
    x = layers.Dense(side * side, kernel_initializer=keras.initializers.RandomNormal(stddev=0.5))(x)
    x = layers.Reshape((side, side, 1))(x)
    return keras.Model([z, label], layers.Activation("tanh")(x))


CASES = {
    # name: (builder, pixel_range, conditional)
    "plain28": (lambda: _plain_generator(28), (-1.0, 1.0), False),
    "conditional": (lambda: _conditional_generator(28), (-1.0, 1.0), True),
    "side32_01": (lambda: _plain_generator(32, "sigmoid"), (0.0, 1.0), False),
}


def _run_loader(workdir, fmt, jobs):
    """Load and run ``fmt`` artifacts in one fresh interpreter: jobs are (artifact, noise, labels).

    Returns [(uint8 images, {input name: shape with None for dynamic axes})] per job.
    """
    loader = workdir / "loader.py"
    loader.write_text(LOADER)
    args, outs = [], []
    for i, (artifact, noise, labels) in enumerate(jobs):
        data = workdir / f"feed_{fmt}_{i}.npz"
        arrays = {"noise": noise} if labels is None else {"noise": noise, "labels": labels}
        np.savez(data, **arrays)
        out = workdir / f"result_{fmt}_{i}"
        args += [str(artifact), str(data), str(out)]
        outs.append(out)
    proc = subprocess.run(
        [sys.executable, str(loader), fmt, *args],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [
        (np.load(f"{out}.npy"), json.loads(out.with_suffix(".json").read_text())) for out in outs
    ]


def _assert_same_pixels(got, expected):
    assert got.dtype == np.uint8
    assert got.shape == expected.shape
    diff = np.abs(got.astype(int) - expected.astype(int))
    assert diff.max() <= 1, f"max pixel difference {diff.max()}"
    assert (diff > 0).mean() < 0.01


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every case exported in every format, run by one loader process per format.

    Maps (fmt, case) to a dict: expected (render_uint8), other_labels (expected with other
    digits, conditional case only), artifact, listing (the export folder), got, shapes.
    """
    root = tmp_path_factory.mktemp("exports")
    noise = np.random.default_rng(1).standard_normal((5, LATENT)).astype(np.float32)
    results = {}
    # A format whose runtimes are absent is left out here; its tests then skip or fail (require).
    formats = [fmt for fmt in FORMATS if available(*EXPORT_RUNTIMES[fmt])]
    for case, (build, pixel_range, conditional) in CASES.items():
        keras.utils.set_random_seed(0)
        generator = build()
        labels = np.array([0, 3, 9, 3, 7], np.int32) if conditional else None
        expected = render_uint8(generator, noise, labels, pixel_range=pixel_range)
        other = None
        if conditional:
            other = render_uint8(generator, noise, (labels + 1) % 10, pixel_range=pixel_range)
        for fmt in formats:
            out_dir = root / case / fmt
            artifact = export_generator(generator, out_dir, fmt=fmt, pixel_range=pixel_range)
            results[fmt, case] = {
                "expected": expected,
                "other_labels": other,
                "artifact": artifact,
                "listing": sorted(p.name for p in out_dir.iterdir()),
                "labels": labels,
            }
    for fmt in formats:
        cases = sorted(CASES)
        jobs = [(results[fmt, c]["artifact"], noise, results[fmt, c]["labels"]) for c in cases]
        for case, (got, shapes) in zip(cases, _run_loader(root, fmt, jobs)):
            results[fmt, case].update(got=got, shapes=shapes)
    return results


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", FORMATS)
def test_export_matches_generator(exported, fmt, case):
    require(*EXPORT_RUNTIMES[fmt])
    result = exported[fmt, case]
    expected = result["expected"]
    assert expected.std() > 10  # real images, not a constant that any export would match
    assert result["listing"] == [result["artifact"].name]  # no staging folder left behind
    _assert_same_pixels(result["got"], expected)
    assert result["shapes"]["noise"] == [None, LATENT]
    if result["other_labels"] is not None:
        assert result["shapes"]["label"] == [None]
        # the label really reaches the exported generator: other digits, other pixels
        assert np.abs(result["other_labels"].astype(int) - result["got"]).max() > 1


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_fixed_batch_is_static(tmp_path, fmt):
    require(*EXPORT_RUNTIMES[fmt])
    keras.utils.set_random_seed(0)
    generator = _conditional_generator()
    noise = np.random.default_rng(2).standard_normal((3, LATENT)).astype(np.float32)
    labels = np.array([1, 2, 3], np.int32)
    artifact = export_generator(generator, tmp_path / "out", fmt=fmt, fixed_batch=3)
    ((got, shapes),) = _run_loader(tmp_path, fmt, [(artifact, noise, labels)])
    assert shapes == {"noise": [3, LATENT], "label": [3]}
    _assert_same_pixels(got, render_uint8(generator, noise, labels))


def test_export_replaces_an_existing_artifact(tmp_path):
    require("tf2onnx", "onnx")
    keras.utils.set_random_seed(0)
    first = export_generator(_plain_generator(), tmp_path, fmt="onnx")
    old = first.read_bytes()
    second = export_generator(_plain_generator(), tmp_path, fmt="onnx")
    assert second == first and second.read_bytes() != old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generator.onnx"]


def test_unknown_format(tmp_path):
    with pytest.raises(MNISTGANError, match="unknown export format 'tflite'.*litert"):
        export_generator(_plain_generator(), tmp_path, fmt="tflite")


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_bad_fixed_batch(bad):
    with pytest.raises(MNISTGANError, match="fixed_batch"):
        build_uint8_endpoint(_plain_generator(), fixed_batch=bad)


def test_bad_pixel_range():
    with pytest.raises(MNISTGANError, match="pixel_range"):
        build_uint8_endpoint(_plain_generator(), pixel_range=(1.0, -1.0))


def test_generator_with_wrong_output_is_refused():
    z = keras.Input((LATENT,))
    rgb = keras.Model(z, layers.Reshape((4, 4, 3))(layers.Dense(48)(z)))
    with pytest.raises(MNISTGANError, match="one-channel"):
        build_uint8_endpoint(rgb)


def test_two_float_inputs_are_refused():
    a, b = keras.Input((LATENT,)), keras.Input((LATENT,))
    x = layers.Reshape((28, 28, 1))(layers.Dense(784)(layers.Concatenate()([a, b])))
    with pytest.raises(MNISTGANError, match="label input"):
        build_uint8_endpoint(keras.Model([a, b], x))


def test_missing_onnx_converter_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # makes `import tf2onnx` fail
    with pytest.raises(MNISTGANError, match="tf2onnx"):
        export_generator(_plain_generator(), tmp_path, fmt="onnx")

"""Smoke test of the export latency benchmark on a tiny generator (real run: benchmarks/results)."""

import keras
from keras import layers

from benchmarks.export_latency import bench_generator, markdown
from tests.runtimes import require


def test_bench_generator_times_every_format():
    require("tf2onnx", "onnx", "onnxruntime", "ai_edge_litert")
    z = keras.Input((4,))
    generator = keras.Model(z, layers.Reshape((28, 28, 1))(layers.Dense(784, "tanh")(z)))
    rows = bench_generator("tiny", generator, 4, calls=3, warmup=1)
    assert [r["format"] for r in rows] == ["keras (eager)", "saved_model", "onnx", "litert"]
    assert all(0 < r["p50_ms"] <= r["p99_ms"] for r in rows)
    assert all(r["size_kib"] > 0 for r in rows[1:])
    table = markdown(rows)
    assert table.count("\n") == 5 and "| tiny | onnx |" in table

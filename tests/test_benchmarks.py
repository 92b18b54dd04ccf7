"""Smoke tests of the benchmarks (speed, levers, export latency) on tiny inputs; the real runs
are recorded in benchmarks/results."""

import keras
from keras import layers

from benchmarks.export_latency import bench_generator
from benchmarks.export_latency import markdown as latency_markdown
from benchmarks.train_speed import bench_preset, forward_macs, markdown, step_flops_per_image
from mnist_gan import MNISTGAN
from tests.runtimes import require


def test_flop_count_of_the_dcgan_matches_the_hand_count():
    gan = MNISTGAN()
    # Dense 100x1008; ConvT 3x3 inputs x 5x5x56x112; 7x7 x 5x5x28x56; 14x14 x 5x5x1x28.
    assert forward_macs(gan.generator) == 100 * 1008 + 9 * 156_800 + 49 * 39_200 + 196 * 700
    # Conv 14x14 outputs x 5x5x1x64; 7x7 x 5x5x64x128; Dense 6272.
    assert forward_macs(gan.discriminator) == 196 * 1600 + 49 * 204_800 + 6272
    f_g, f_d = 3_570_000, 10_355_072
    assert step_flops_per_image(gan, "alternating") == 2 * (4 * f_g + 8 * f_d)
    assert step_flops_per_image(gan, "simultaneous") == 2 * (3 * f_g + 5 * f_d)


def test_benchmark_runs_both_loops():
    # mlp without XLA: the same four loops as any preset, the cheapest to trace (dcgan: 3x the time)
    overrides = {"batch_size": 16, "jit_compile": False}
    result = bench_preset("mlp", steps=2, repeats=1, overrides=overrides)
    assert result["package_images_per_s"] > 0 and result["reference_images_per_s"] > 0
    assert result["ratio"] > 0 and result["generation"]["p50_ms"] > 0
    assert result["ratio_defaults_same_update"] > 0 and result["defaults_images_per_s"] > 0
    assert result["spread"]["reference_same"]["q1"] <= result["spread"]["reference_same"]["q3"]
    results = {
        "machine": "test",
        "matmul_peak_gflops": 1.0,
        "tensorflow": "x",
        "keras": "y",
        "repeats": 1,
        "peak_rss_mib": 1.0,
        "presets": [result],
    }
    assert result["cpu_ratio_defaults_same_update"] > 0 and result["ratio_package_defaults"] > 0
    assert result["steady_ratio_defaults_same_update"] > 0
    table = markdown(results)
    assert "| mlp | 16 |" in table and "| mlp | alternating | off |" in table


def test_lever_harness_runs():
    from benchmarks.levers import markdown as levers_markdown
    from benchmarks.levers import measure

    result = measure("mlp", 0.01, 1, ["reference", "fit"])
    assert set(result["variants"]) == {"reference", "fit"}
    assert result["variants"]["reference"]["vs_reference"] == 1.0
    assert "| fit |" in levers_markdown([result])


def test_bench_generator_times_every_format():
    require("tf2onnx", "onnx", "onnxruntime", "ai_edge_litert")
    z = keras.Input((4,))
    generator = keras.Model(z, layers.Reshape((28, 28, 1))(layers.Dense(784, "tanh")(z)))
    rows = bench_generator("tiny", generator, 4, calls=3, warmup=1)
    assert [r["format"] for r in rows] == ["keras (eager)", "saved_model", "onnx", "litert"]
    assert all(0 < r["p50_ms"] <= r["p99_ms"] for r in rows)
    assert all(r["size_kib"] > 0 for r in rows[1:])
    table = latency_markdown(rows)
    assert table.count("\n") == 5 and "| tiny | onnx |" in table


def test_op_profile_names_each_kernel_by_its_op_and_job():
    from benchmarks.op_profile import GROUPS, group_of, kernel_type

    assert kernel_type("_MklNativeFusedConv2D") == "Conv2D"
    assert kernel_type("_MklNativeConv2DBackpropFilterWithBias") == "Conv2DBackpropFilter"
    assert kernel_type("_MklNativeConv2DBackpropInput") == "Conv2DBackpropInput"
    assert kernel_type("_MklMatMul") == "MatMul" and kernel_type("Mul") == "Mul"
    cases = {
        ("fast_generator_1/deconv2_1/conv_transpose", "Conv2DBackpropInput"): GROUPS[1],
        ("gradient_tape/fast_discriminator_3/conv2_1/convolution/Conv2DBackpropFilter",
         "Conv2DBackpropFilter"): GROUPS[2],
        ("fast_generator_1/bn1_1/moments/SquaredDifference", "SquaredDifference"): "batch norm",
        ("adam/Mul_11", "Mul"): "optimizer",
        ("gradient_tape/gradient_tape/fast_discriminator_1/lrelu1_1/LeakyReluGrad",
         "LeakyReluGrad"): "R1 second backward (element-wise)",
        ("gradient_tape/Mul", "Mul"): "other element-wise",
    }  # fmt: skip
    for (name, op_type), group in cases.items():
        assert group_of(name, op_type) == group, name


def test_lock_latency_times_acquire_and_release():
    from benchmarks.lock_latency import time_lock
    from mnist_gan.reliability.lock import RunLock

    result = time_lock(RunLock, calls=5)
    assert 0 < result["p50_ms"] <= result["p99_ms"]


def test_step_ab_table_gives_medians_and_speed_ups_over_the_first_recipe():
    from benchmarks.step_ab import markdown as ab_markdown

    table = ab_markdown({"fast:resample=strided": [10.0, 12.0, 11.0], "fast": [5.0, 6.0, 5.5]})
    rows = table.splitlines()[2:]
    assert rows[0].endswith("| 11.0 | 1.00x |") and rows[1].endswith("| 5.5 | 2.00x |")
    assert "10.0, 12.0, 11.0" in rows[0]

"""How close one training step runs to this machine's limit: ``python -m benchmarks.roofline``.

For each preset (``--presets fast,sfast,cfast,dcgan``) the script

1. **counts** the floating-point operations of one training step (the preset's own update, R1
   and EMA included) by walking the ops of the traced ``train_step`` graph with their static
   shapes: ``MatMul``/``BatchMatMulV2`` (2·m·k·n per product), ``Conv2D`` and both
   convolution gradients (2 · output elements · kh·kw·c_in), and one operation per output
   element of every other arithmetic op (``other``). TensorFlow's own profiler is not used: it
   counts ``BatchMatMulV2`` by the wrong dimensions (cfast's projection ``Dot`` came out at
   5 GFLOP a step instead of 3 MFLOP);
2. times the step with ``fit`` (median step of ``--steps`` steps after a warm-up, steady
   state, as in ``benchmarks.train_speed``);
3. measures, in the same process and with the same threads, the peak this CPU reaches on a
   large float32 matmul and a large convolution (best of three).

Achieved GFLOP/s = counted FLOPs / median step seconds; the table gives it as a fraction of
both peaks, and the share of the step's FLOPs in matmuls/convolutions. ``--threads 1``
(default) matches the quality runs (one core each). Results: ``benchmarks/results/roofline.*``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

# Ops that move or reshape data, or bookkeeping: no arithmetic.
NO_ARITHMETIC = {
    "Const", "Identity", "IdentityN", "Reshape", "ExpandDims", "Squeeze", "Shape", "ShapeN",
    "Pack", "Unpack", "ConcatV2", "Split", "SplitV", "StridedSlice", "StridedSliceGrad", "Slice",
    "Transpose", "GatherV2", "ResourceGather", "ReadVariableOp", "AssignVariableOp",
    "AssignAddVariableOp", "AssignSubVariableOp", "VarHandleOp", "Placeholder", "NoOp", "Fill",
    "ZerosLike", "OnesLike", "BroadcastTo", "BroadcastGradientArgs", "Cast", "StopGradient",
    "Tile", "Size", "Rank", "Range", "OneHot", "Bitcast", "PreventGradient", "Select",
    "SelectV2", "TensorScatterUpdate", "UnsortedSegmentSum", "DynamicStitch",
}  # fmt: skip
CONV = {"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"}
MATMUL = {"MatMul", "BatchMatMulV2", "BatchMatMul"}


def _dims(tensor: tf.Tensor) -> list[int]:
    return [int(d) for d in tensor.shape]


def op_flops(op: Any) -> tuple[str, int]:
    """``(kind, flops)`` of one graph op from its static shapes; kind is ``matmul``, ``conv``,
    ``other`` or ``none``."""
    if op.type in MATMUL:
        a, b = _dims(op.inputs[0]), _dims(op.inputs[1])
        adj_a = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
        adj_b = op.get_attr("transpose_b" if op.type == "MatMul" else "adj_y")
        m, k = (a[-1], a[-2]) if adj_a else (a[-2], a[-1])
        n = b[-2] if adj_b else b[-1]
        batch = int(np.prod(_dims(op.outputs[0])[:-2])) if len(a) > 2 or len(b) > 2 else 1
        return "matmul", 2 * batch * m * k * n
    if op.type in CONV:
        if op.type == "Conv2D":
            kernel, out = _dims(op.inputs[1]), _dims(op.outputs[0])
        elif op.type == "Conv2DBackpropInput":  # inputs: input_sizes, filter, out_backprop
            kernel, out = _dims(op.inputs[1]), _dims(op.inputs[2])
        else:  # Conv2DBackpropFilter: input, filter_sizes, out_backprop
            kernel, out = _dims(op.outputs[0]), _dims(op.inputs[2])
        kh, kw, c_in, _ = kernel
        return "conv", 2 * int(np.prod(out)) * kh * kw * c_in
    if op.type in NO_ARITHMETIC or not op.outputs:
        return "none", 0
    if op.type in ("Sum", "Mean", "Max", "Min", "Prod", "L2Loss"):
        return "other", int(np.prod(_dims(op.inputs[0]) or [1]))
    shape = op.outputs[0].shape
    if not shape.is_fully_defined():
        return "other", 0
    return "other", int(np.prod(_dims(op.outputs[0]) or [1]))


def count_step_flops(gan: Any, batch: Any) -> dict[str, int]:
    """FLOPs of one ``gan.train_step(batch)``, by kind, from its traced graph (a flat graph:
    the presets' steps trace without nested function calls, and a nested one is refused)."""
    graph = tf.function(gan.train_step).get_concrete_function(batch).graph
    totals = {"matmul": 0, "conv": 0, "other": 0, "none": 0}
    for op in graph.get_operations():
        if op.type in ("PartitionedCall", "StatefulPartitionedCall", "While", "If"):
            raise NotImplementedError(f"{op.type} in the step: nested bodies are not counted")
        kind, flops = op_flops(op)
        totals[kind] += flops
    totals.pop("none")
    totals["total"] = sum(totals.values())
    return totals


def step_flops(config: Any, batch: Any, count: Any = None) -> dict[str, float]:
    """FLOPs of an average training step of ``config`` by kind (``count(gan, batch)``, default
    :func:`count_step_flops`): with lazy R1 every k steps, one step with R1 and k - 1 without,
    averaged (the conditional step cannot be counted as one flat graph)."""
    import dataclasses

    from mnist_gan.gan.model import build_gan

    count = count or count_step_flops
    every = config.r1_interval
    if every == 1 or config.r1_gamma <= 0:
        return count(build_gan(config, seed=0), batch)
    with_r1 = count(build_gan(dataclasses.replace(config, r1_interval=1), seed=0), batch)
    without = count(build_gan(dataclasses.replace(config, r1_gamma=0.0), seed=0), batch)
    kinds = set(with_r1) | set(without)
    return {k: (with_r1.get(k, 0) + (every - 1) * without.get(k, 0)) / every for k in kinds}


def peak_matmul_gflops() -> float:
    """Best-of-three float32 GFLOP/s of a chain of eight 2048 x 2048 matmuls."""
    from benchmarks.train_speed import matmul_peak_gflops

    return matmul_peak_gflops(n=2048, repeats=8)


def peak_conv_gflops(batch: int = 64, side: int = 28, channels: int = 128) -> float:
    """Best-of-three float32 GFLOP/s of a 3x3 same-padding convolution, channels -> channels."""
    x = tf.random.normal((batch, side, side, channels), seed=0)
    kernel = tf.random.normal((3, 3, channels, channels), seed=1) * 0.01
    repeats = 4

    @tf.function
    def chain(x: tf.Tensor) -> tf.Tensor:
        for _ in range(repeats):
            x = tf.nn.conv2d(x, kernel, 1, "SAME")
        return x

    chain(x).numpy()
    flops = 2 * batch * side * side * channels * 9 * channels * repeats
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        chain(x).numpy()
        best = max(best, flops / (time.perf_counter() - start) / 1e9)
    return best


def median_step_seconds(gan: Any, batch: Any, steps: int) -> float:
    """Median seconds of one ``fit`` step over ``steps`` steps on a repeated batch, after a
    warm-up ``fit`` (tracing); with lazy R1, per step of whole R1 periods."""
    from benchmarks.train_speed import steady_step_seconds, timed_fit

    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    timed_fit(gan, dataset, 5)
    _, stamps = timed_fit(gan, dataset, steps)
    return steady_step_seconds(stamps, period=gan.config.r1_interval)


def spec_config(spec: str) -> Any:
    """The settings a ``--presets`` entry names: a preset, or a preset with settings changed,
    ``fast:resample=strided:r1_interval=1`` (values read as their declared types)."""
    from mnist_gan.config import SETTINGS
    from mnist_gan.models.presets import make_config

    name, *pairs = spec.split(":")
    overrides = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        kind = SETTINGS[key].kind
        overrides[key] = value.lower() in ("1", "true", "on") if kind is bool else kind(value)
    return make_config(name, **overrides)


def preset_batch(config: Any) -> Any:
    """A batch of the preset's shape: images in its pixel range, plus labels if it takes them."""
    rng = np.random.default_rng(0)
    low, high = config.pixel_range
    side = config.image_size
    images = rng.uniform(low, high, (config.batch_size, side, side, 1)).astype("float32")
    classes = config.num_classes or config.clusters  # sfast trains on cluster ids
    if classes:
        labels = rng.integers(0, classes, config.batch_size).astype("int32")
        return (tf.constant(images), tf.constant(labels))
    return tf.constant(images)


def measure(presets: list[str], steps: int) -> dict[str, Any]:
    """Peaks, then counted FLOPs and timed steps of each preset."""
    from mnist_gan.gan.model import build_gan

    rows = []
    peak_mm, peak_conv = peak_matmul_gflops(), peak_conv_gflops()
    for name in presets:
        config = spec_config(name)
        batch = preset_batch(config)
        flops = step_flops(config, batch)
        seconds = median_step_seconds(build_gan(config, seed=0), batch, steps)
        achieved = flops["total"] / seconds / 1e9
        rows.append(
            {
                "preset": name,
                "batch": config.batch_size,
                "flops": flops,
                "step_ms": 1e3 * seconds,
                "achieved_gflops": achieved,
                "of_matmul_peak": achieved / peak_mm,
                "of_conv_peak": achieved / peak_conv,
            }
        )
    # The peaks again after the steps: how much the machine's speed moved during the run.
    return {
        "peak_matmul_gflops": peak_mm,
        "peak_conv_gflops": peak_conv,
        "peak_matmul_gflops_after": peak_matmul_gflops(),
        "rows": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    """The roofline table as recorded in docs/speed.md."""
    lines = [
        f"Peaks ({result['threads']} thread(s)): float32 matmul 2048² "
        f"{result['peak_matmul_gflops']:.1f} GFLOP/s (after the steps: "
        f"{result['peak_matmul_gflops_after']:.1f}), 3x3 conv 64x28x28x128 "
        f"{result['peak_conv_gflops']:.1f} GFLOP/s.",
        "",
        "| preset | batch | GFLOP / step | in matmul+conv | step ms | achieved GFLOP/s "
        "| of matmul peak | of conv peak |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["rows"]:
        f = row["flops"]
        dense = (f["matmul"] + f["conv"]) / f["total"]
        lines.append(
            f"| `{row['preset']}` | {row['batch']} | {f['total'] / 1e9:.3f} | {100 * dense:.1f} % "
            f"| {row['step_ms']:.1f} | {row['achieved_gflops']:.2f} "
            f"| {100 * row['of_matmul_peak']:.1f} % | {100 * row['of_conv_peak']:.1f} % |"
        )
    return "\n".join(lines)


def step_benchmark_args(
    argv: list[str] | None, description: str, steps: int, stem: str
) -> argparse.Namespace:
    """The options every step benchmark takes (``--presets --steps --threads --out``), parsed,
    with TensorFlow pinned to ``--threads`` intra- and inter-op threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--presets",
        default="fast,sfast,cfast,dcgan",
        help="comma-separated presets, each optionally with settings: fast:resample=strided",
    )
    parser.add_argument("--steps", type=int, default=steps, help=f"timed steps ({steps})")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (1: one core)")
    parser.add_argument("--out", default=str(RESULTS / stem), help="file stem for .json/.md")
    args = parser.parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    return args


def write_result(result: dict[str, Any], table: str, stem: str) -> None:
    """Print ``table`` and write ``stem.json`` (with the load average) and ``stem.md``."""
    result.update(tensorflow=tf.__version__, load_before=os.getloadavg()[0])
    print(table)
    Path(stem).with_suffix(".json").write_text(json.dumps(result, indent=1))
    Path(stem).with_suffix(".md").write_text(table + "\n")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, measure, print the table and write the result files."""
    args = step_benchmark_args(argv, __doc__.splitlines()[0], 40, "roofline")
    result = measure(args.presets.split(","), args.steps)
    result.update(
        threads=args.threads,
        machine=platform.processor() or platform.machine(),
        devices=[d.name for d in tf.config.list_logical_devices()],
    )
    write_result(result, markdown(result), args.out)
    return result


if __name__ == "__main__":
    main()

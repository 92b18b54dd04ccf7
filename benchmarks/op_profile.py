"""Where a training step's time goes, kernel by kernel: ``python -m benchmarks.op_profile``.

The roofline (``benchmarks.roofline``) says each preset's step runs at about half of what this
core reaches on a large convolution. This script says why. For each preset it

1. warms ``fit`` up, then records ``--steps`` steps with TensorFlow's profiler
   (``tf.profiler.experimental``) and reads the trace (``*.xplane.pb``): every kernel the step
   ran, with its duration, on the one compute thread (``--threads 1``, as in the quality runs);
2. groups the kernels by job: convolution forward, its input gradient (which is also a
   transposed convolution's forward pass), its filter gradient, matmul, batch norm, the
   optimizers, the EMA, R1's second backward (ops under ``gradient_tape/gradient_tape/``) and
   the remaining element-wise ops; and puts beside each group the FLOPs that
   ``benchmarks.roofline`` counts for it, so a group's GFLOP/s can be set against the peaks;
3. reports the step time that no kernel accounts for (executor dispatch, Python and
   ``fit``'s loop): step time minus the kernels' sum;
4. times the step again with R1 off and with the EMA off (other numbers: costs, not levers),
   and with ``steps_per_execution=4`` (the same update, so the same weights: a lever).

Results: ``benchmarks/results/op_profile.{json,md}`` and docs/speed.md.
"""

from __future__ import annotations

import collections
import glob
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from benchmarks.roofline import (  # noqa: E402
    CONV,
    MATMUL,
    op_flops,
    preset_batch,
    spec_config,
    step_benchmark_args,
    step_flops,
    write_result,
)

GROUPS = (
    "conv forward",
    "conv input gradient / transposed conv",
    "conv filter gradient",
    "matmul",
    "batch norm",
    "optimizer",
    "EMA",
    "R1 second backward (element-wise)",
    "other element-wise",
)


def kernel_type(display_name: str) -> str:
    """The graph op type behind a profiled kernel: oneDNN's ``_MklNativeFusedConv2D`` or
    ``_MklNativeConv2DBackpropFilterWithBias`` are ``Conv2D`` / ``Conv2DBackpropFilter``."""
    name = display_name
    for prefix in ("_MklNative", "_Mkl"):
        name = name.removeprefix(prefix)
    name = name.removeprefix("Fused") if name.startswith("FusedConv2D") else name
    return name.removesuffix("WithBias")


def group_of(op_name: str, op_type: str) -> str:
    """The job a kernel does in the step (see the module docstring)."""
    if op_type == "Conv2D":
        return "conv forward"
    if op_type == "Conv2DBackpropInput":
        return "conv input gradient / transposed conv"
    if op_type == "Conv2DBackpropFilter":
        return "conv filter gradient"
    if op_type in MATMUL:
        return "matmul"
    lowered = op_name.lower()
    if "batchnorm" in lowered or "/bn" in lowered or "moments" in lowered or "cbn" in lowered:
        return "batch norm"
    if "adam" in lowered:
        return "optimizer"
    if "ema" in lowered:
        return "EMA"
    if "gradient_tape/gradient_tape/" in op_name:
        return "R1 second backward (element-wise)"
    return "other element-wise"


def profiled_kernels(trace_dir: str) -> tuple[dict[str, float], dict[str, int], float]:
    """``(microseconds by group, kernels by group, executor microseconds)`` summed over the
    trace's compute threads (``tf_Compute/...``)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = sorted(glob.glob(f"{trace_dir}/plugins/profile/*/*.xplane.pb"))[-1]
    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(path).read_bytes())
    plane = next(p for p in space.planes if p.name == "/host:CPU")
    micros: dict[str, float] = collections.defaultdict(float)
    counts: dict[str, int] = collections.Counter()
    executor = 0.0
    for line in plane.lines:
        if not line.name.startswith("tf_Compute"):
            continue
        for event in line.events:
            meta = plane.event_metadata[event.metadata_id]
            if meta.name == "ExecutorState::Process":
                executor += event.duration_ps / 1e6
            if not meta.display_name or ":" not in meta.name:
                continue  # executor bookkeeping, not a kernel
            op_name = meta.name.rsplit(":", 1)[0].removeprefix("StatefulPartitionedCall/")
            group = group_of(op_name, kernel_type(meta.display_name))
            micros[group] += event.duration_ps / 1e6
            counts[group] += 1
    return dict(micros), dict(counts), executor


def counted_flops(gan: Any, batch: Any) -> dict[str, int]:
    """The step's FLOPs by group (as ``benchmarks.roofline`` counts them)."""
    graph = tf.function(gan.train_step).get_concrete_function(batch).graph
    flops: dict[str, int] = collections.Counter()
    for op in graph.get_operations():
        kind, count = op_flops(op)
        if kind != "none":
            group = group_of(op.name, op.type) if op.type in CONV | MATMUL else None
            flops[group or "element-wise (all)"] += count
    return dict(flops)


def step_ms(config: Any, batch: Any, steps: int) -> float:
    """Median ``fit`` step in ms for ``config``, after a warm-up."""
    from benchmarks.train_speed import steady_step_seconds, timed_fit
    from mnist_gan.gan.model import build_gan

    gan = build_gan(config, seed=0)
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    spe = config.steps_per_execution
    timed_fit(gan, dataset, 5 * spe)
    _, stamps = timed_fit(gan, dataset, steps * spe)
    return 1e3 * steady_step_seconds(stamps, steps_per_stamp=spe, period=config.r1_interval)


def profile(name: str, steps: int) -> dict[str, Any]:
    """One preset's kernel table, unaccounted time and the cost/lever timings."""
    import dataclasses

    from benchmarks.train_speed import steady_step_seconds, timed_fit
    from mnist_gan.gan.model import build_gan

    config = spec_config(name)
    batch = preset_batch(config)
    gan = build_gan(config, seed=0)
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    timed_fit(gan, dataset, 5)
    _, stamps = timed_fit(gan, dataset, steps)
    wall_ms = 1e3 * steady_step_seconds(stamps, period=config.r1_interval)
    with tempfile.TemporaryDirectory() as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        timed_fit(gan, dataset, steps)
        tf.profiler.experimental.stop()
        micros, counts, executor = profiled_kernels(trace_dir)
    per_step = {group: micros.get(group, 0.0) / steps / 1e3 for group in GROUPS}
    kernels_ms = sum(per_step.values())
    return {
        "preset": name,
        "step_ms": wall_ms,
        "kernels_ms": kernels_ms,
        "executor_ms": executor / steps / 1e3,
        "unaccounted_ms": wall_ms - kernels_ms,
        "group_ms": per_step,
        "kernels_per_step": {g: counts.get(g, 0) / steps for g in GROUPS},
        "flops": step_flops(config, batch, counted_flops),
        "step_ms_r1_off": step_ms(dataclasses.replace(config, r1_gamma=0.0), batch, steps),
        "step_ms_ema_off": step_ms(dataclasses.replace(config, ema_decay=0.0), batch, steps),
        "step_ms_spe4": step_ms(dataclasses.replace(config, steps_per_execution=4), batch, steps),
    }


def markdown(result: dict[str, Any]) -> str:
    """The per-group table and the cost/lever lines, as recorded in docs/speed.md."""
    lines = []
    for row in result["rows"]:
        lines += [
            f"**`{row['preset']}`**: step {row['step_ms']:.1f} ms; kernels "
            f"{row['kernels_ms']:.1f} ms ({100 * row['kernels_ms'] / row['step_ms']:.0f} %), "
            f"outside any kernel {row['unaccounted_ms']:.1f} ms. R1 off: "
            f"{row['step_ms_r1_off']:.1f} ms, EMA off: {row['step_ms_ema_off']:.1f} ms, "
            f"steps_per_execution 4: {row['step_ms_spe4']:.1f} ms.",
            "",
            "| group | ms / step | share of step | kernels / step | GFLOP / step | GFLOP/s |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for group in GROUPS:
            ms = row["group_ms"][group]
            flops = row["flops"].get(group)
            rate = f"{flops / ms / 1e6:.1f}" if flops and ms else ""
            gflop = f"{flops / 1e9:.3f}" if flops else ""
            lines.append(
                f"| {group} | {ms:.2f} | {100 * ms / row['step_ms']:.1f} % "
                f"| {row['kernels_per_step'][group]:.0f} | {gflop} | {rate} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, profile, print the tables and write the result files."""
    args = step_benchmark_args(argv, __doc__.splitlines()[0], 20, "op_profile")
    result = {
        "rows": [profile(name, args.steps) for name in args.presets.split(",")],
        "threads": args.threads,
    }
    write_result(result, markdown(result), args.out)
    return result


if __name__ == "__main__":
    main()

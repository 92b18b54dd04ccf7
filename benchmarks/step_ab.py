"""Training-step time of recipes side by side, interleaved: ``python -m benchmarks.step_ab``.

    python -m benchmarks.step_ab --specs "fast:resample=strided:precision=float32,fast" --rounds 5

Each spec is a preset with settings (``benchmarks.roofline`` syntax: ``preset:name=value:...``).
Every model is built and warmed up first; then each round times ``--steps`` steps of every
spec in turn (``fit`` on one repeated batch, one intra-op thread as in the quality runs), so a
drift of this VM's clock hits every spec alike instead of whichever ran last. The figure per
round is the steady-state step (``benchmarks.train_speed.steady_step_seconds``, over whole R1
periods for lazy R1); the table gives each spec's median over rounds and its speed-up over the
first spec. Results: ``benchmarks/results/step_ab.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.roofline import preset_batch, spec_config  # noqa: E402
from benchmarks.train_speed import steady_step_seconds, timed_fit  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def measure(specs: list[str], rounds: int, steps: int) -> dict[str, Any]:
    """``{spec: [step milliseconds per round]}`` for ``specs``, interleaved round by round."""
    from mnist_gan.gan.model import build_gan

    models = {}
    for spec in specs:
        config = spec_config(spec)
        gan = build_gan(config, seed=0)
        dataset = tf.data.Dataset.from_tensors(preset_batch(config)).repeat()
        timed_fit(gan, dataset, 8)  # trace and warm up
        models[spec] = (gan, dataset, config.r1_interval)
    times: dict[str, list[float]] = {spec: [] for spec in specs}
    for _ in range(rounds):
        for spec, (gan, dataset, period) in models.items():
            _, stamps = timed_fit(gan, dataset, steps)
            times[spec].append(1e3 * steady_step_seconds(stamps, period=period))
    return times


def markdown(times: dict[str, list[float]]) -> str:
    """The table: each spec's rounds, median, and speed-up over the first spec."""
    first = float(np.median(next(iter(times.values()))))
    lines = [
        "| recipe | step ms per round | median ms | speed-up over the first |",
        "| --- | --- | ---: | ---: |",
    ]
    for spec, values in times.items():
        median = float(np.median(values))
        rounds = ", ".join(f"{v:.1f}" for v in values)
        lines.append(f"| `{spec}` | {rounds} | {median:.1f} | {first / median:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    """Parse the flags, measure, print the table and write the results files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--specs", required=True, help="comma-separated preset:setting=value specs")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per round (40)")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (1)")
    parser.add_argument("--stem", default="step_ab", help="results file name (step_ab)")
    args = parser.parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    times = measure(args.specs.split(","), args.rounds, args.steps)
    table = markdown(times)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "command": "python -m benchmarks.step_ab " + " ".join(argv or []),
        "machine": platform.processor() or platform.machine(),
        "threads": args.threads,
        "steps": args.steps,
        "step_ms": times,
    }
    (RESULTS / f"{args.stem}.json").write_text(json.dumps(record, indent=1) + "\n")
    (RESULTS / f"{args.stem}.md").write_text(table)
    return times


if __name__ == "__main__":
    main()

"""One-image generation latency: ``MNISTGAN(preset=P).generate(1, seed=i)``, the bare ONNX Runtime
call it makes (``mnist_gan.gan.onnx_path``), and the compiled TensorFlow sampler it would
otherwise use, for the dcgan, mlp and fast presets.

Run: ``python -m benchmarks.generate_latency`` (``--calls 500 --rounds 3``). Prints a markdown
table and writes ``benchmarks/results/generate_latency.json``.

Each preset gets a fresh ``MNISTGAN`` (untrained weights: the cost does not depend on them).
After a warm-up (which makes the ONNX Runtime copy), ``--rounds`` rounds alternate the presets
and, within a preset, a block of ``--calls`` bare session calls (fixed noise), a block of
``generate(1, seed=i)`` calls and a block of TensorFlow sampler calls; p50 and p99 are over all
calls of all rounds, the spread is the range of per-round p50s. ``generate`` also pays for
drawing the noise and reading the weight fingerprint that tells a stale copy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mnist_gan import MNISTGAN  # noqa: E402
from mnist_gan.gan.sampling import Sampler, numpy_noise  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PRESETS = ("dcgan", "mlp", "fast")
WAYS = ("onnx_session", "generate", "tensorflow")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}, {cpu}, {os.cpu_count()} CPUs, numpy {np.__version__}"


def timed(function, calls: int) -> list[float]:
    out = []
    for i in range(calls):
        start = time.perf_counter()
        function(i)
        out.append(time.perf_counter() - start)
    return out


def median_us(function, calls: int = 500) -> float:
    return round(1e6 * float(np.median(timed(function, calls))), 1)


def run(calls: int, rounds: int, warmup: int) -> dict:
    """Time the three ways one image is made, per preset (see the module docstring)."""
    import onnxruntime

    gans = {p: MNISTGAN(preset=p) for p in PRESETS}
    noise = {p: numpy_noise(1, gans[p].config.latent_dim, gans[p].config.noise, 0) for p in PRESETS}
    for gan in gans.values():  # the repeated small requests that earn the ONNX copy
        for i in range(Sampler.REPEATS_BEFORE_EXPORT):
            gan.generate(1, seed=i)
    ways = {}
    for p, gan in gans.items():
        generator = gan.sampling_generator  # the EMA copy where the preset samples from it
        forward = gan.sampler._onnx_forward(generator)
        if forward is None:
            raise SystemExit(f"{p}: no ONNX Runtime copy (is onnxruntime installed?)")
        session, name, z = forward.session, forward.input_name, noise[p]
        compiled = gan.sampler._compiled_sampler(generator)
        tensor = tf.constant(z)
        ways[p] = {
            "onnx_session": lambda i, s=session, n=name, z=z: s.run(None, {n: z}),
            "generate": lambda i, gan=gan: gan.generate(1, seed=i),
            "tensorflow": lambda i, c=compiled, t=tensor: c(t).numpy(),
        }
    times = {p: {w: [] for w in ways[p]} for p in PRESETS}
    p50s = {p: {w: [] for w in ways[p]} for p in PRESETS}
    for p in PRESETS:
        for function in ways[p].values():
            timed(function, warmup)
    for _ in range(rounds):
        for p in PRESETS:
            for what, function in ways[p].items():
                block = timed(function, calls)
                times[p][what] += block
                p50s[p][what].append(1e3 * float(np.median(block)))
    rows = []
    for p in PRESETS:
        row = {"preset": p}
        for what in ways[p]:
            values = 1e3 * np.asarray(times[p][what])
            row[what] = {
                "p50_ms": round(float(np.percentile(values, 50)), 4),
                "p99_ms": round(float(np.percentile(values, 99)), 4),
                "round_p50_range_ms": [round(min(p50s[p][what]), 4), round(max(p50s[p][what]), 4)],
                "calls": int(values.size),
            }
        rows.append(row)
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "command": " ".join(
            [os.path.basename(sys.executable), "-m", "benchmarks.generate_latency"] + sys.argv[1:]
        ),
        "runtime": f"onnxruntime {onnxruntime.__version__}, intra-op 1, inter-op 1, sequential",
        "load_before": os.getloadavg()[0],
        "calls_per_round": calls,
        "rounds": rounds,
        "warmup_calls": warmup,
        "presets": rows,
    }


def markdown(results: dict) -> str:
    """The latency table as recorded in docs/speed.md."""
    lines = [
        f"One-image latency, {results['machine']}; {results['runtime']}",
        "",
        "| preset | ONNX session p50 / p99 ms | generate() p50 / p99 ms "
        "| TensorFlow sampler p50 / p99 ms |",
        "|---|---|---|---|",
    ]
    for row in results["presets"]:
        cells = [f"{row[w]['p50_ms']:.3f} / {row[w]['p99_ms']:.3f}" for w in WAYS]
        lines.append(f"| {row['preset']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per block (>= 500)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--output", type=Path, default=RESULTS / "generate_latency.json")
    args = parser.parse_args(argv)
    results = run(args.calls, args.rounds, args.warmup)
    print(markdown(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()

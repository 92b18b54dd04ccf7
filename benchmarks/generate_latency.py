"""One-image generation latency: ``MNISTGAN(preset=P).generate(1, seed=i)`` and the bare numpy
forward of ``mnist_gan.gan.fastpath``, for the dcgan, mlp and fast presets.

Run: ``python -m benchmarks.generate_latency`` (``--calls 1000 --rounds 3``). Prints a markdown
table and writes ``benchmarks/results/generate_latency.json``.

Each preset gets a fresh ``MNISTGAN`` (untrained weights: the cost does not depend on them).
After a warm-up, ``--rounds`` rounds alternate the presets and, within a preset, a block of
``--calls`` bare forward calls (fixed noise) and a block of ``generate(1, seed=i)`` calls;
p50 and p99 are over all calls of all rounds, the spread is the range of per-round p50s.
``generate`` also pays for noise drawing and for reading the weight fingerprint of its numpy
cache (see ``overhead_us`` in the JSON: the median of each part timed on its own).
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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from mnist_gan import (
    MNISTGAN,  # noqa: E402
    fastpath,  # noqa: E402
)

RESULTS = Path(__file__).resolve().parent / "results"
PRESETS = ("dcgan", "mlp", "fast")


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


def blas_threads() -> str:
    find = getattr(fastpath, "_blas_controllers", None)  # absent before the fast rewrite
    if find is None:
        return "this fastpath does not limit BLAS threads"
    controllers = find()
    if not controllers:
        return "threadpoolctl not installed: BLAS threads left as they are"
    counts = ", ".join(f"{c.internal_api} {c.get_num_threads()}" for c in controllers)
    return f"{counts} threads outside calls; {fastpath.BLAS_THREADS} inside"


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
    gans = {p: MNISTGAN(preset=p) for p in PRESETS}
    forwards = {p: fastpath.compile_numpy_generator(g.generator) for p, g in gans.items()}
    noise = {p: gans[p]._numpy_noise(1, 0, 0) for p in PRESETS}
    times: dict[str, dict[str, list[float]]] = {p: {"bare": [], "generate": []} for p in PRESETS}
    p50s: dict[str, dict[str, list[float]]] = {p: {"bare": [], "generate": []} for p in PRESETS}
    for p in PRESETS:
        timed(lambda i, p=p: forwards[p](noise[p]), warmup)
        timed(lambda i, p=p: gans[p].generate(1, seed=i), warmup)
    for _ in range(rounds):
        for p in PRESETS:
            for what, function in (
                ("bare", lambda i, p=p: forwards[p](noise[p])),
                ("generate", lambda i, p=p: gans[p].generate(1, seed=i)),
            ):
                block = timed(function, calls)
                times[p][what] += block
                p50s[p][what].append(1e3 * float(np.median(block)))
    rows = []
    for p in PRESETS:
        gan = gans[p]
        row = {"preset": p, "numpy_path_plan": getattr(forwards[p], "plan", None)}
        row["weights_mib"] = round(getattr(forwards[p], "nbytes", 0) / 2**20, 2)
        for what in ("bare", "generate"):
            values = 1e3 * np.asarray(times[p][what])
            row[what] = {
                "p50_ms": round(float(np.percentile(values, 50)), 4),
                "p99_ms": round(float(np.percentile(values, 99)), 4),
                "round_p50_range_ms": [round(min(p50s[p][what]), 4), round(max(p50s[p][what]), 4)],
                "calls": int(values.size),
            }
        last = gan.generator.variables[-1]
        row["overhead_us"] = {
            "noise": median_us(lambda i, gan=gan: gan._numpy_noise(1, i, 0)),
            "cache_lookup_with_fingerprint": median_us(
                lambda i, gan=gan: gan._numpy_forward(gan.generator)
            ),
            "of_which_read_last_weight": median_us(lambda i, last=last: last.numpy()),
            "clip": median_us(lambda i, gan=gan, p=p: gan._clip_to_range(forwards[p](noise[p]))),
        }
        row["overhead_us"]["clip"] = round(
            row["overhead_us"]["clip"] - median_us(lambda i, p=p: forwards[p](noise[p])), 1
        )
        rows.append(row)
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "command": " ".join(
            [os.path.basename(sys.executable), "-m", "benchmarks.generate_latency"] + sys.argv[1:]
        ),
        "blas_threads": blas_threads(),
        "calls_per_round": calls,
        "rounds": rounds,
        "warmup_calls": warmup,
        "presets": rows,
    }


def markdown(results: dict) -> str:
    lines = [
        f"One-image latency, {results['machine']}; {results['blas_threads']}",
        "",
        "| preset | bare p50 ms | bare p99 ms | generate p50 ms | generate p99 ms |",
        "|---|---|---|---|---|",
    ]
    for row in results["presets"]:
        b, g = row["bare"], row["generate"]
        lines.append(
            f"| {row['preset']} | {b['p50_ms']:.3f} | {b['p99_ms']:.3f} "
            f"| {g['p50_ms']:.3f} | {g['p99_ms']:.3f} |"
        )
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

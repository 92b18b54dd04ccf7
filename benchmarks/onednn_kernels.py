"""Which oneDNN kernels one training step runs: ``python -m benchmarks.onednn_kernels``.

    python -m benchmarks.onednn_kernels --specs "fast:resample=strided:precision=float32,fast"

For each spec (``benchmarks.roofline`` syntax) a child process builds the model, warms it up
for three steps, then runs one more step with ``ONEDNN_VERBOSE=1`` (one intra-op thread). The
convolution lines of that step are tallied by implementation and direction (forward,
backward_data = the input gradient and the generator's transposed convolutions,
backward_weights), with their count and the time oneDNN reports (verbose mode slows every call,
so the times compare kernels, not steps). The point: whether a data-gradient convolution runs
oneDNN's strided kernel (``brgconv_strided``, slow here) or a unit-stride one. Results:
``benchmarks/results/onednn_kernels.md``.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MARK = "=====STEP====="

CHILD = f"""
import os, sys
sys.path[:0] = [{str(ROOT)!r}]
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
from benchmarks.roofline import preset_batch, spec_config
from benchmarks.train_speed import timed_fit
from mnist_gan.gan.model import build_gan
config = spec_config(sys.argv[1])
gan = build_gan(config, seed=0)
dataset = tf.data.Dataset.from_tensors(preset_batch(config)).repeat()
timed_fit(gan, dataset, 3)
print({MARK!r}, flush=True)
timed_fit(gan, dataset, 1)
"""


def kernels(spec: str) -> dict[tuple[str, str], list[float]]:
    """``{(implementation, direction): [milliseconds of each call]}`` of one step of ``spec``."""
    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, spec], env=env, capture_output=True, text=True, check=True
    ).stdout
    tally: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    for line in out.split(MARK, 1)[1].splitlines():
        fields = line.split(",")
        # onednn_verbose,v1,primitive,exec,cpu,convolution,IMPL,DIRECTION,...,TIME
        if len(fields) > 8 and fields[2:6] == ["primitive", "exec", "cpu", "convolution"]:
            tally[(fields[6], fields[7])].append(float(fields[-1]))
    return dict(tally)


def markdown(found: dict[str, dict[tuple[str, str], list[float]]]) -> str:
    """One row per spec, implementation and direction."""
    lines = [
        "| recipe | direction | oneDNN implementation | calls / step | ms (verbose) |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for spec, tally in found.items():
        for (impl, direction), times in sorted(tally.items(), key=lambda kv: kv[0][1]):
            lines.append(f"| `{spec}` | {direction} | `{impl}` | {len(times)} | {sum(times):.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, run each spec's step, print and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--specs", default="fast:resample=strided:precision=float32,fast")
    args = parser.parse_args(argv)
    table = markdown({spec: kernels(spec) for spec in args.specs.split(",")})
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "onednn_kernels.md").write_text(
        f"`python -m benchmarks.onednn_kernels --specs {args.specs}`\n\n" + table
    )


if __name__ == "__main__":
    main()

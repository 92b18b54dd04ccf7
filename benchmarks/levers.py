"""Which speed settings pay, measured in one process: ``python -m benchmarks.levers``.

For each preset (``--presets dcgan,mlp,fast``) one model is built per variant and every variant
is timed in turn, ``--repeats`` rounds, each run ``--seconds`` long (about), so that machine load
hits all variants alike. Reported: images/s median, interquartile range, images per CPU-second
of the process (what the code costs, whatever the host's throttling does to the wall clock),
and the 1-minute load average beside each round. Variants (all on the benchmark settings:
logistic loss, no R1, no EMA):

- ``reference``: the hand-written loop running the preset's own update (``train_speed``);
- ``fit``: ``MNISTGAN(preset)`` + ``compile(jit_compile=False)`` + ``fit`` on
  a plain pre-scaled float ``tf.data`` pipeline;
- ``fit_xla``: the same with ``jit_compile=True``;
- ``fit_xla_spe4``: and ``steps_per_execution=4``;
- ``fit_fused``: ``fused_discriminator=True`` (one discriminator call on real and fake);
- ``fit_xla_fused``: XLA and ``fused_discriminator=True``;
- ``xla_uint8_epochs``: XLA, on the trainer's old pipeline (resident uint8, per-batch
  gather + scale: ``make_epoch_dataset(..., resident="uint8")``);
- ``xla_float_epochs``: XLA, on the trainer's pipeline with pre-scaled float resident images;
- ``xla_guard``: XLA, plain pipeline, plus ``DivergenceGuard(check_every=1)``;
- ``xla_trainer_callbacks``: XLA, plain pipeline, plus the trainer's callbacks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.train_speed import (  # noqa: E402
    Reference,
    alternate,
    benchmark_config,
    float_dataset,
    timed_fit,
)
from mnist_gan.data.pipeline import make_epoch_dataset  # noqa: E402
from mnist_gan.gan.model import MNISTGAN  # noqa: E402
from mnist_gan.reliability.divergence import DivergenceGuard  # noqa: E402
from mnist_gan.reliability.signals import GracefulStop, StopOnSignal  # noqa: E402
from mnist_gan.training.callbacks import CheckpointCallback, SampleGridCallback  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return float(q1), float(q2), float(q3)


class FitVariant:
    """One compiled model and one pipeline; ``run(steps)`` times a ``fit`` of ``steps``."""

    def __init__(self, config, images, *, jit, spe=1, fused=False, data="float", callbacks=()):
        keras.utils.set_random_seed(0)
        settings = {"fused_discriminator": fused}
        self.gan = MNISTGAN(config=config, seed=0, **settings)
        self.gan.compile(jit_compile=jit, steps_per_execution=spe)
        self.spe, self.callbacks, self.config = spe, list(callbacks), config
        if data == "float":
            self.dataset = float_dataset(images, config).repeat()
        else:
            self.dataset = make_epoch_dataset(
                images,
                config.batch_size,
                first_epoch=0,
                last_epoch=10_000,
                seed=0,
                pixel_range=config.pixel_range,
                resident=data,
            )

    def run(self, steps: int) -> float:
        seconds, self.stamps = timed_fit(self.gan, self.dataset, steps, self.callbacks)
        return seconds


def trainer_callbacks(folder: Path, config) -> list:
    """The callbacks ``GANTrainer`` adds to every fit (grids at the preset's frequency)."""
    history: dict = {}
    return [
        DivergenceGuard(check_every=1),
        SampleGridCallback(
            folder / "grids",
            sample_frequency=config.sample_frequency,
            every_epochs=config.sample_every_epochs,
            seed=0,
        ),
        CheckpointCallback(folder / "ckpt", history, lambda: {}, keep=1, steps_per_epoch=None),
        StopOnSignal(GracefulStop()),
    ]


def measure(name: str, seconds: float, repeats: int, only: list[str] | None) -> dict:
    config = benchmark_config(name, {})
    images = np.random.default_rng(0).integers(0, 256, (6400, 28, 28), dtype=np.uint8)
    folder = Path(tempfile.mkdtemp(prefix="levers-"))
    variants = {
        "reference": lambda: Reference(config, images, config.update),
        "fit": lambda: FitVariant(config, images, jit=False),
        "fit_xla": lambda: FitVariant(config, images, jit=True),
        "fit_xla_spe4": lambda: FitVariant(config, images, jit=True, spe=4),
        "fit_fused": lambda: FitVariant(config, images, jit=False, fused=True),
        "fit_xla_fused": lambda: FitVariant(config, images, jit=True, fused=True),
        "xla_uint8_epochs": lambda: FitVariant(config, images, jit=True, data="uint8"),
        "xla_float_epochs": lambda: FitVariant(config, images, jit=True, data="float32"),
        "xla_guard": lambda: FitVariant(
            config, images, jit=True, callbacks=[DivergenceGuard(check_every=1)]
        ),
        "xla_trainer_callbacks": lambda: FitVariant(
            config, images, jit=True, callbacks=trainer_callbacks(folder, config)
        ),
    }
    if only:
        variants = {k: v for k, v in variants.items() if k in only}
    built = {k: make() for k, make in variants.items()}
    for _ in range(2):  # warm-up: tracing, XLA compilation
        for v in built.values():
            v.run(8)
    probe = built["reference"].run(10) / 10 if "reference" in built else 0.05
    steps = int(max(8, min(400, seconds / probe)))
    steps -= steps % 4
    figures, loads = alternate(built, steps, repeats, config.batch_size)
    runs = {key: f["wall"] for key, f in figures.items()}
    cpu_runs = {key: f["cpu"] for key, f in figures.items()}  # images per CPU-second
    out = {"preset": name, "update": config.update, "steps": steps, "loads": loads, "variants": {}}
    base = statistics.median(runs["reference"]) if "reference" in runs else None
    cpu_base = statistics.median(cpu_runs["reference"]) if "reference" in runs else None
    for key, values in runs.items():
        q1, med, q3 = quartiles(values)
        cpu_q1, cpu_med, cpu_q3 = quartiles(cpu_runs[key])
        out["variants"][key] = {
            "median": med,
            "q1": q1,
            "q3": q3,
            "runs": values,
            "vs_reference": med / base if base else None,
            "cpu_median": cpu_med,
            "cpu_q1": cpu_q1,
            "cpu_q3": cpu_q3,
            "cpu_runs": cpu_runs[key],
            "cpu_vs_reference": cpu_med / cpu_base if cpu_base else None,
        }
    return out


def markdown(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines += [
            f"**{r['preset']}** ({r['update']}; {r['steps']} steps per run; load "
            f"{min(r['loads']):.1f}–{max(r['loads']):.1f})",
            "",
            "| variant | img/s median | IQR | × reference | img/CPU-s median | IQR | × reference |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for key, v in r["variants"].items():
            ratio = f"{v['vs_reference']:.2f}×" if v["vs_reference"] else ""
            cpu_ratio = f"{v['cpu_vs_reference']:.2f}×" if v["cpu_vs_reference"] else ""
            lines.append(
                f"| {key} | {v['median']:.0f} | {v['q1']:.0f}–{v['q3']:.0f} | {ratio} | "
                f"{v['cpu_median']:.0f} | {v['cpu_q1']:.0f}–{v['cpu_q3']:.0f} | {cpu_ratio} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default="dcgan,mlp,fast")
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("--out", default=str(RESULTS / "levers"))
    parser.add_argument(
        "--threads",
        metavar="INTRA,INTER",
        help="TensorFlow's intra- and inter-op thread pools (default: TensorFlow's choice); "
        "with TF_ENABLE_ONEDNN_OPTS=0 in the environment, the process-wide levers",
    )
    args = parser.parse_args(argv)
    if args.threads:
        intra, inter = (int(n) for n in args.threads.split(","))
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    only = [s for s in args.only.split(",") if s] or None
    results = []
    for name in args.presets.split(","):
        r = measure(name, args.seconds, args.repeats, only)
        print(json.dumps({k: v for k, v in r.items() if k != "variants"}), flush=True)
        for key, v in r["variants"].items():
            print(
                f"  {key:24s} {v['median']:8.0f}  [{v['q1']:.0f}-{v['q3']:.0f}]  "
                f"{v['vs_reference'] or 0:.2f}x  cpu {v['cpu_median']:8.0f}  "
                f"{v['cpu_vs_reference'] or 0:.2f}x",
                flush=True,
            )
        results.append(r)
    out = Path(args.out)
    meta = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "date": time.ctime(),
        "threads": args.threads or "default",
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
    }
    out.with_suffix(".json").write_text(json.dumps({**meta, "presets": results}, indent=1))
    out.with_suffix(".md").write_text(markdown(results))
    return results


if __name__ == "__main__":
    main()

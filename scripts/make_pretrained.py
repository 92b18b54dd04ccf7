"""Write a shipped pretrained preset (src/mnist_gan/pretrained_presets/NAME) from a trained model.

    python scripts/make_pretrained.py SNAPSHOT.keras --name cfast \\
        --command "mnist-gan train --preset cfast ..." --minutes 120 \\
        --scores docs/results/cfast-ship.json [--minute 120]
    python scripts/make_pretrained.py OUTPUT_DIR/model.keras --name fast --evaluate

SOURCE is anything ``mnist-gan sample`` opens (a ``.keras`` snapshot, a checkpoint, an output
folder). The scores are the package evaluator's, at the protocol's N = 10,000 and seed 0:

- ``--scores FILE`` reads them from ``mnist-gan evaluate --json FILE`` output (its
  ``metrics``) or from a ``scripts/quality_runs.py score`` result (the row of ``--minute``,
  default: the minute in SOURCE's name ``minute_M.keras``, else the last row; its EMA entry
  when the model samples from an EMA). A quality result also supplies the training command and
  the minutes when they are not given.
- ``--evaluate`` scores the model here instead (about a minute on one CPU core).

The folder gets config.json, metadata.json (versions, settings, command, minutes, scores,
sha256, the measured float16 difference) and model.weights.npz (float16). The written preset
is then loaded back through ``MNISTGAN.from_preset`` and its samples compared with the source
model's; the script ends by listing every shipped preset's size against the budgets: 5 MB for the
MNIST presets ``fast``, ``sfast`` and ``cfast`` together, 10 MB for every shipped weight (all
presets and the evaluator's classifier). A model trained on other data than MNIST is scored
against that data in its own feature network (docs/data.md); its card goes into metadata.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src" / "mnist_gan" / "pretrained_presets"
MNIST_PRESETS = ("fast", "sfast", "cfast")
BUDGET_BYTES = 5_000_000  # the wheel may grow by this much for the MNIST presets together
ALL_WEIGHTS_BUDGET = 10_000_000  # ... and by this much for every shipped weight
CLASSIFIER = ROOT / "src" / "mnist_gan" / "evaluation" / "weights" / "mnist_classifier.weights.npz"


def scores_from_file(path: Path, minute: float | None, ema: bool) -> tuple[dict, dict, dict]:
    """(metrics, provenance, training facts) from an ``evaluate --json`` or quality result."""
    data = json.loads(path.read_text())
    if "metrics" in data:  # mnist-gan evaluate --json
        return data["metrics"], {"scores_file": str(path), "protocol": data.get("protocol")}, {}
    if "snapshots" in data:  # scripts/quality_runs.py score
        rows = data["snapshots"]
        row = rows[-1] if minute is None else next((r for r in rows if r["minute"] == minute), None)
        if row is None:
            sys.exit(f"{path} has no row for minute {minute:g}: {[r['minute'] for r in rows]}")
        kind = "ema" if ema and "ema" in row else "live"
        provenance = {
            "scores_file": str(path),
            "minute": row["minute"],
            "generator": kind,
            "num_samples": data.get("num_samples"),
            "seed": 0,
            "feature_network": data.get("feature_network"),
        }
        facts = {"command": data.get("command"), "minutes": row["minute"]}
        return row[kind], provenance, facts
    sys.exit(f"{path} is neither `mnist-gan evaluate --json` output nor a quality_runs result")


def evaluate_here(gan, num: int) -> tuple[dict, str]:
    """The evaluator's metrics for ``num`` samples (seed 0; balanced classes if conditional)
    against the data the model trained on, and the feature network's description."""
    from mnist_gan.evaluation.evaluate import data_of, evaluate_model
    from mnist_gan.evaluation.features import feature_network

    data = data_of(gan)
    metrics = evaluate_model(gan, num, 0, data=data)
    metrics = json.loads(json.dumps(metrics, default=lambda v: getattr(v, "tolist", lambda: v)()))
    return metrics, feature_network(data).describe()


def shipped_sizes() -> list[tuple[str, int, int]]:
    """(name, bytes on disk, bytes deflated as in a wheel) of every shipped preset folder."""
    rows = []
    for folder in sorted(p for p in SHIPPED.iterdir() if p.is_dir()) if SHIPPED.is_dir() else []:
        files = [f for f in folder.iterdir() if f.is_file()]
        raw = sum(f.stat().st_size for f in files)
        packed = sum(len(zlib.compress(f.read_bytes(), 6)) for f in files)
        rows.append((folder.name, raw, packed))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a .keras snapshot, checkpoint or output folder")
    parser.add_argument("--name", required=True, help="the preset's name (cfast, fast, ...)")
    parser.add_argument("--command", help="the training command (from --scores if a quality run)")
    parser.add_argument("--minutes", type=float, help="training minutes of SOURCE")
    parser.add_argument("--scores", type=Path, help="evaluate --json output or quality result")
    parser.add_argument("--minute", type=float, help="with a quality result: its row")
    parser.add_argument("--evaluate", action="store_true", help="score the model here instead")
    parser.add_argument("--num", type=int, default=10_000, help="--evaluate: samples (10000)")
    parser.add_argument("--out", type=Path, help=f"preset folder (default: {SHIPPED}/NAME)")
    parser.add_argument("--dtype", default="float16", choices=("float16", "float32"))
    parser.add_argument("--force", action="store_true", help="replace an existing preset")
    parser.add_argument(
        "--ema-only",
        action="store_true",
        help="leave out the live generator (loading starts it from the EMA): a third smaller",
    )
    args = parser.parse_args(argv)
    if (args.scores is None) == (not args.evaluate):
        parser.error("give exactly one of --scores FILE and --evaluate")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", args.name):
        parser.error("--name: lower-case letters, digits, - and _")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np

    from mnist_gan.errors import MNISTGANError
    from mnist_gan.gan.model import MNISTGAN
    from mnist_gan.gan.pretrained import FLOAT16_MAX_ABS
    from mnist_gan.gan.shipped import headline
    from mnist_gan.models.presets import PRESETS
    from mnist_gan.outputs.loading import load_generator_model

    try:
        gan = load_generator_model(args.source)
        if args.name in PRESETS and args.name != gan.config.preset:
            raise MNISTGANError(
                f"{args.source} is a {gan.config.preset!r} model; naming it {args.name!r} would "
                "give the shipped name another design's weights"
            )
        facts, provenance = {}, {"source": Path(args.source).name}
        if args.scores is not None:
            found = re.search(r"minute_([\d.]+)\.keras$", str(args.source))
            minute = args.minute if args.minute is not None else found and float(found.group(1))
            scores, more, facts = scores_from_file(
                args.scores, minute or None, gan.ema_generator is not None
            )
            provenance |= more
        else:
            scores, network = evaluate_here(gan, args.num)
            provenance |= {"scored_here": True, "num_samples": args.num, "seed": 0}
            provenance["feature_network"] = network
        command = args.command or facts.get("command")
        minutes = args.minutes if args.minutes is not None else facts.get("minutes")
        if not command or minutes is None:
            raise MNISTGANError("give --command and --minutes (how the weights were trained)")
        out = args.out or SHIPPED / args.name
        gan.save_to_preset(
            out,
            name=args.name,
            command=command,
            minutes=minutes,
            scores=scores,
            provenance=provenance,
            dtype=args.dtype,
            overwrite=args.force,
            ema_only=args.ema_only,
        )
        # End to end: the folder as users open it gives the source model's samples.
        loaded = MNISTGAN.from_preset(out)
        a = gan.generate(256, seed=1)
        b = loaded.generate(256, seed=1)
        low, high = gan.config.pixel_range
        diff = float(np.abs(a - b).max()) * 2.0 / (high - low)
        if diff > FLOAT16_MAX_ABS:
            raise MNISTGANError(f"{out} samples differ by {diff:.3g} from {args.source}")
    except MNISTGANError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    metadata = json.loads((out / "metadata.json").read_text())
    check = metadata["float16_check"] or {}
    print(f"Wrote {out}: {headline(metadata)}")
    print(
        f"  weights {metadata['weights']['bytes']:,} bytes ({args.dtype}), sha256 "
        f"{metadata['weights']['sha256'][:16]}...; reloaded samples within {diff:.2g}"
        + (
            f"; float16 check: max {check['max_abs_pixel_diff']:.2g} in [-1, 1], "
            f"{check['max_uint8_levels']} uint8 level(s)"
            if check
            else ""
        )
    )
    rows = shipped_sizes()
    mnist = sum(packed for name, _, packed in rows if name in MNIST_PRESETS)
    everything = sum(packed for _, _, packed in rows) + len(zlib.compress(CLASSIFIER.read_bytes()))
    for name, raw, packed in rows:
        print(f"  shipped {name:<14} {raw:>10,} bytes, {packed:>10,} deflated")
    print(f"  {', '.join(MNIST_PRESETS)}: {mnist:,} bytes deflated of the {BUDGET_BYTES:,} budget")
    print(
        f"  every shipped weight (presets and the classifier): {everything:,} bytes deflated of "
        f"the {ALL_WEIGHTS_BUDGET:,} budget"
    )
    return 0 if mnist <= BUDGET_BYTES and everything <= ALL_WEIGHTS_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())

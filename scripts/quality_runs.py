"""Train for a fixed time on one CPU core, then score the snapshots with the package evaluator.

    python scripts/quality_runs.py train NAME --core 0 --minutes 15 --every 5 -- --preset dcgan
    python scripts/quality_runs.py score NAME [--num 10000]
    python scripts/quality_runs.py table NAME [NAME ...]
    python scripts/quality_runs.py sweep NAME [NAME ...]
    python scripts/quality_runs.py results NAME [NAME ...] --minutes 15 30
    python scripts/quality_runs.py ema NAME [NAME ...] --minute 15
    python scripts/quality_runs.py grid NAME --out docs/images/result_PRESET.png

``train`` runs ``mnist-gan train ARGS --minutes M --snapshot-minutes E --threads 1 --seed S
--ema 0.999`` (``--seed``, default 0) pinned to one core (``taskset``), output in
``$QUALITY_DIR/NAME`` (default
``/tmp/quality``), so two runs can share the 2-core machine without sharing a core. ``score``
evaluates every snapshot (and the final model) at the protocol's N = 10,000, seed 0, for the
EMA generator and the live one, and writes ``docs/results/NAME.json``. ``table`` prints a
markdown table of Fréchet distance by minute.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"


def load_result(name: str) -> dict:
    """A scored run's ``docs/results/NAME.json``."""
    return json.loads((RESULTS / f"{name}.json").read_text())


def ema_warmup(config: dict) -> str:
    """The EMA schedule a run used, in words (runs from before ``ema_start`` averaged at once)."""
    start = config.get("ema_start", 0)
    if not start:
        return "min(decay, 1 - 1 / (1 + 0.05 n))"
    return f"copy of the live generator for {start} steps, then min(decay, 1 - 1 / (1 + 0.05 m))"


def steps_trained(result: dict) -> int | None:
    """Steps the run made: from its ``summary.json`` (copied into the result file), or, for
    result files of runs made before the trainer wrote one, from its closing line."""
    if "summary" in result:
        return int(result["summary"]["global_step"])
    found = re.search(r"(\d+) steps in", result.get("last_line", ""))
    return int(found.group(1)) if found else None


def steps_at(result: dict, minute: float) -> int:
    """Steps trained by ``minute``, from the run's average rate (snapshots don't log steps)."""
    return round(steps_trained(result) * minute / float(result["config"]["minutes"]))


def samples_from_ema(preset: str) -> bool:
    """Whether ``preset`` samples from its EMA generator by default (the harness keeps an EMA
    in every run, so the run's own setting can't tell)."""
    from mnist_gan.models.presets import make_config

    return make_config(preset).ema_decay > 0


def run_dir(name: str) -> Path:
    return Path(os.environ.get("QUALITY_DIR", "/tmp/quality")) / name


def train(args: argparse.Namespace) -> None:
    out = run_dir(args.name)
    if (out / "checkpoints").exists():
        # mnist-gan would resume that run and train past its budget: a different measurement.
        sys.exit(f"{out} holds a run already; pick another NAME or remove it")
    out.mkdir(parents=True, exist_ok=True)
    command = [
        "taskset",
        "-c",
        str(args.core),
        sys.executable,
        "-m",
        "mnist_gan",
        "train",
        "--output-dir",
        str(out),
        "--minutes",
        str(args.minutes),
        "--snapshot-minutes",
        str(args.every),
        "--threads",
        "1",
        "--seed",
        str(args.seed),
        "--ema",
        str(args.ema),
        "--quiet",
        "--epochs",
        "1000",
        *args.train_args,
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    start = time.time()
    log = out.with_suffix(".log")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        code = subprocess.call(command, stdout=handle, stderr=subprocess.STDOUT)
    meta = {
        "name": args.name,
        "command": "mnist-gan " + shlex.join(command[command.index("train") :]),
        "pinned": f"taskset -c {args.core}",
        "exit_code": code,
        "wall_seconds": round(time.time() - start, 1),
        "last_line": log.read_text().strip().splitlines()[-1] if log.exists() else "",
    }
    if (out / "summary.json").is_file():
        meta["summary"] = json.loads((out / "summary.json").read_text())
    (out / "quality_run.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta, indent=1))


def score(args: argparse.Namespace) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from mnist_gan.data.images import to_uint8
    from mnist_gan.evaluation.evaluate import data_of, evaluate_images
    from mnist_gan.evaluation.features import feature_network
    from mnist_gan.outputs.loading import load_gan

    out = run_dir(args.name)
    meta = json.loads((out / "quality_run.json").read_text())
    snapshots = sorted((out / "snapshots").glob("minute_*.keras"))
    minutes = [float(re.search(r"minute_([\d.]+)\.keras", p.name).group(1)) for p in snapshots]
    # The live generator is scored where EMA and no-EMA are compared: at 10 and 15 minutes and
    # at the end; the EMA generator at every snapshot (the curves).
    live_at = set(minutes) if args.live_everywhere else {10.0, 15.0, max(minutes, default=0.0)}
    if args.no_live:
        live_at = set()
    rows, data = [], None
    for path, minute in zip(snapshots, minutes):
        if args.minutes and minute not in args.minutes:
            continue  # a scored subset (10,000 samples take minutes each on this CPU)
        gan = load_gan(path)
        data = data if data is not None else data_of(gan)  # the run's own data and space
        row = {"minute": minute}
        kinds = [("ema", True)] if gan.ema_generator is not None else []
        if gan.ema_generator is None or minute in live_at:
            kinds.append(("live", False))
        for which in kinds:
            # A conditional model draws balanced digits and is scored per digit as well.
            images, labels = gan.generate(args.num, seed=0, use_ema=which[1], return_labels=True)
            images = to_uint8(images, gan.config.pixel_range)
            row[which[0]] = evaluate_images(images, seed=0, labels=labels, data=data)
        rows.append(row)
        print(
            minute,
            {k: round(v["frechet_distance"], 2) for k, v in row.items() if k != "minute"},
            flush=True,
        )
    config = json.loads((out / "config.json").read_text())
    history = (
        json.loads((out / "history.json").read_text()) if (out / "history.json").exists() else {}
    )
    # What was written into an earlier result by hand survives a re-score: notes, the EMA
    # schedule of runs made before it was recorded, and commands that spell out settings a
    # preset has since changed (a NAME is one run: train refuses a used folder).
    path = RESULTS / f"{args.name}.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}
    kept = {
        key: earlier[key] for key in ("command", "variant", "note", "ema_warmup") if key in earlier
    }
    result = {
        **meta,
        **kept,
        "ema_warmup": kept.get("ema_warmup", ema_warmup(config)),
        "config": config,
        "epochs_done": len(history.get("d_loss", [])),
        "data": None if data is None else data.card(),
        "feature_network": None if data is None else feature_network(data).describe(),
        "num_samples": args.num,
        "snapshots": rows,
    }
    path.write_text(json.dumps(result, indent=1))


def table(args: argparse.Namespace) -> None:
    print("| run | minute | FD (EMA) | FD (live) | smallest class (EMA) | classifier score (EMA) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in args.names:
        result = load_result(name)
        for row in result["snapshots"]:
            nan = float("nan")
            ema, live = row.get("ema", {}), row.get("live", {})
            cells = [
                name,
                f"{row['minute']:g}",
                f"{ema.get('frechet_distance', nan):.2f}",
                f"{live.get('frechet_distance', nan):.2f}",
                f"{ema.get('smallest_class_share', nan):.3f}",
                f"{ema.get('classifier_score', nan):.2f}",
            ]
            print("| " + " | ".join(cells) + " |")


def sweep(args: argparse.Namespace) -> None:
    """One row per run: its flags, steps trained, FD (EMA; live in brackets) at 5/10/15 min."""
    print(
        "| run | flags on top of the harness's | steps in the run | FD @ 5 | FD @ 10 | FD @ 15 "
        "| smallest class (EMA) at the last of these |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name in args.names:
        result = load_result(name)
        flags = result["command"].split("--epochs 1000", 1)[-1].strip()
        flags = f"`{flags}`" + (f" + {result['variant']}" if "variant" in result else "")
        steps = steps_trained(result)
        minutes = re.search(r"--minutes ([\d.]+)", result["command"])
        by_minute = {row["minute"]: row for row in result["snapshots"]}
        cells, last = [], None
        for minute in (5.0, 10.0, 15.0):
            row = by_minute.get(minute)
            if row is None:
                cells.append("–")
                continue
            last = row
            cell = f"{row['ema']['frechet_distance']:.1f}" if "ema" in row else ""
            if "live" in row:
                live = f"{row['live']['frechet_distance']:.1f}"
                cell = f"{cell} ({live})" if cell else live
            cells.append(cell)
        share = (last.get("ema") or last.get("live"))["smallest_class_share"] if last else None
        print(
            f"| {name} | {flags} | {steps if steps is not None else '?'} in "
            f"{float(minutes.group(1)) if minutes else '?':g} min | "
            + " | ".join(cells)
            + f" | {share:.3f} |"
        )


def ema(args: argparse.Namespace) -> None:
    """EMA against live generator, same run and snapshot: is EMA ever worse at this minute?"""
    print(
        "| run | preset | minute | steps by then | EMA averaging from step | FD with EMA | FD live "
        "| EMA − live | EMA worse? |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in args.names:
        result = load_result(name)
        row = next((r for r in result["snapshots"] if r["minute"] == args.minute), None)
        if row is None or "ema" not in row or "live" not in row:
            continue
        with_ema, live = row["ema"]["frechet_distance"], row["live"]["frechet_distance"]
        print(
            f"| {name} | `{result['config']['preset']}` | {args.minute:g} | "
            f"≈ {steps_at(result, args.minute):,} | {result['config'].get('ema_start', 0):,} | "
            f"{with_ema:.1f} | {live:.1f} | {with_ema - live:+.1f} | "
            f"{'**yes**' if with_ema > live else 'no'} |"
        )


def results(args: argparse.Namespace) -> None:
    """README rows: every metric at the given minutes, for the generator the preset samples
    from by default (the EMA one where the preset turns EMA on, else the live one)."""
    print(
        "| preset | training time | steps | generator | Fréchet distance ↓ | KID ↓ "
        "| classifier score ↑ | smallest class share ↑ | precision ↑ | recall ↑ |"
    )
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("| *real data (floor)* | | | | *0.83* | *0.003* | *9.81* | *0.091* | *0.87* | *0.88* |")
    for minute in args.minutes:
        for name in args.names:
            result = load_result(name)
            preset = result["config"]["preset"]
            kind = "ema" if samples_from_ema(preset) else "live"
            row = next((r for r in result["snapshots"] if r["minute"] == minute), None)
            if row is None or kind not in row:
                continue
            m = row[kind]
            print(
                f"| `{preset}` | {minute:g} min | ≈ {steps_at(result, minute):,} | "
                f"{'EMA' if kind == 'ema' else 'live'} | {m['frechet_distance']:.1f} | "
                f"{m['kid']:.2f} | {m['classifier_score']:.2f} | "
                f"{m['smallest_class_share']:.3f} | {m['precision']:.2f} | {m['recall']:.2f} |"
            )


def grid(args: argparse.Namespace) -> None:
    """64 samples (noise seed 0) of a run's final model (or its ``--minute`` snapshot), from the
    generator its preset samples from by default, as the README's result grid."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from mnist_gan.data.images import save_grid, to_uint8
    from mnist_gan.outputs.loading import load_gan

    source = run_dir(args.name) / "model.keras"
    if args.minute is not None:
        source = run_dir(args.name) / "snapshots" / f"minute_{args.minute:06.1f}.keras"
    gan = load_gan(source)
    use_ema = samples_from_ema(gan.config.preset)
    images = to_uint8(gan.generate(64, seed=0, use_ema=use_ema), gan.config.pixel_range)
    print(f"wrote {save_grid(images, args.out)} ({'EMA' if use_ema else 'live'})")


def plot(args: argparse.Namespace) -> None:
    """Fréchet distance (EMA generator, solid; live, dashed) against training minutes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name in args.names:
        result = load_result(name)
        rows = result["snapshots"]
        drew_ema = False
        for key, style in (("ema", "-"), ("live", "--")):
            points = [(r["minute"], r[key]["frechet_distance"]) for r in rows if key in r]
            if key == "live" and len(points) < len(rows) and "ema" in rows[0]:
                # live generator scored at a few minutes only: markers, no line
                ax.plot(
                    *zip(*points),
                    "x",
                    color=ax.lines[-1].get_color(),
                    ms=6,
                    label=f"{name} (no EMA)",
                )
                continue
            if points:
                label = f"{name} ({'EMA' if key == 'ema' else 'no EMA'})"
                # The live curve of a run takes the colour of its EMA curve.
                same = {"color": ax.lines[-1].get_color()} if key == "live" and drew_ema else {}
                ax.plot(*zip(*points), style, marker="o", ms=3, label=label, **same)
                drew_ema = drew_ema or key == "ema"
    ax.axhline(args.real, color="grey", lw=0.8, ls=":", label=f"real data ({args.real:g})")
    ax.set_yscale("log")
    ax.set_xlabel("training minutes (one CPU core)")
    ax.set_ylabel("Fréchet distance (MNIST classifier features)")
    ax.set_title("sample quality against training time, N = 10,000")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train")
    p.add_argument("name")
    p.add_argument("--core", type=int, default=0)
    p.add_argument("--minutes", type=float, default=15)
    p.add_argument("--every", type=float, default=5)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("score")
    p.add_argument("name")
    p.add_argument("--num", type=int, default=10000)
    p.add_argument(
        "--live-everywhere", action="store_true", help="score the live generator at every minute"
    )
    p.add_argument("--no-live", action="store_true", help="score the EMA generator only")
    p.add_argument("--minutes", type=float, nargs="+", help="score only these snapshots")
    p = sub.add_parser("table")
    p.add_argument("names", nargs="+")
    p = sub.add_parser("sweep")
    p.add_argument("names", nargs="+")
    p = sub.add_parser("ema")
    p.add_argument("names", nargs="+")
    p.add_argument("--minute", type=float, default=15.0)
    p = sub.add_parser("results")
    p.add_argument("names", nargs="+")
    p.add_argument("--minutes", type=float, nargs="+", default=[15.0, 30.0])
    p = sub.add_parser("grid")
    p.add_argument("name")
    p.add_argument("--out", required=True)
    p.add_argument("--minute", type=float, help="a snapshot's minute instead of the final model")
    p = sub.add_parser("plot")
    p.add_argument("names", nargs="+")
    p.add_argument("--out", default=str(ROOT / "docs" / "images" / "fd_vs_minutes.png"))
    p.add_argument("--real", type=float, default=0.827, help="real-data baseline to draw")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.train_args = extra
    commands = {
        "train": train,
        "score": score,
        "table": table,
        "sweep": sweep,
        "results": results,
        "ema": ema,
        "grid": grid,
        "plot": plot,
    }
    commands[args.command](args)


if __name__ == "__main__":
    main()

"""``mnist-gan`` / ``python -m mnist_gan``: train, sample, evaluate, info, presets.

User mistakes (bad values, unusable files, a folder another trainer is using, a diverged run)
print one ``error:`` line and exit with status 2; no traceback. Ctrl-C exits 130, SIGTERM 143
and SIGHUP 129, each after checkpointing the current step (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mnist_gan.errors import MNISTGANError
from mnist_gan.logs import log_to_console


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="mnist-gan", description="Train and sample GANs on MNIST (Keras 3 / TensorFlow)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a GAN (resumes from --output-dir's checkpoint)")
    add_setting_flags(train)
    train.add_argument(
        "--progress",
        choices=("auto", "bar", "epoch", "none"),
        default="auto",
        help="a live bar, one line per epoch, or nothing (auto: bar on a terminal or in a "
        "notebook, one line per epoch when the output is a file or a pipe)",
    )
    train.add_argument("--quiet", action="store_true", help="same as --progress none")

    sample = sub.add_parser("sample", help="generate digits from a saved model or output folder")
    sample.add_argument(
        "source", help="a .keras model, a checkpoint .npz, or a training output folder"
    )
    sample.add_argument("--num", type=int, default=64, help="how many images (64)")
    sample.add_argument(
        "--out",
        default="samples.png",
        help="grid.png for a picture, samples.npy for raw uint8 (N, 28, 28)",
    )
    sample.add_argument("--seed", type=int, help="fix the noise")
    sample.add_argument("--force", action="store_true", help="overwrite --out if it exists")

    evaluate = sub.add_parser(
        "evaluate", help="score samples (FD, KID, classifier score, coverage, precision/recall)"
    )
    evaluate.add_argument(
        "source", help="a .keras model, a checkpoint .npz, an output folder, or uint8 images .npy"
    )
    evaluate.add_argument(
        "--num", type=int, default=10000, help="images to score (10000, the protocol)"
    )
    evaluate.add_argument("--seed", type=int, default=0, help="noise and KID seed (0)")
    evaluate.add_argument("--json", dest="json_path", help="also write the numbers to FILE")
    sub.add_parser("info", help="platform, versions and accelerators")
    sub.add_parser("presets", help="list the available designs")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mnist-gan`` command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up chatter
    log_to_console()
    try:
        return {
            "train": _train,
            "sample": _sample,
            "evaluate": _evaluate,
            "info": _info,
            "presets": _presets,
        }[args.command](args)
    except MNISTGANError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per declared setting (``mnist_gan.config``), its help showing the defaults."""
    from mnist_gan.config import SETTINGS
    from mnist_gan.presets import preset_defaults

    for name, spec in SETTINGS.items():
        if spec.internal is not None:
            continue
        options: dict[str, Any] = {"dest": name, "default": None}
        if spec.kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif spec.kind is tuple:
            options.update(type=float, nargs=2, metavar=("LOW", "HIGH"))
        else:
            options["type"] = spec.kind
        if spec.choices:  # (preset names are checked by make_config: one clear error line)
            options["choices"] = spec.choices
        parser.add_argument(spec.flag, help=f"{spec.help} ({preset_defaults(name)})", **options)


def _train(args: argparse.Namespace) -> int:
    from mnist_gan.config import SETTINGS
    from mnist_gan.trainer import GANTrainer

    settings = {name: getattr(args, name) for name in SETTINGS if hasattr(args, name)}
    trainer = GANTrainer(preset=settings.pop("preset") or "dcgan", **settings)
    trainer.train(progress="none" if args.quiet else args.progress)
    return trainer.exit_status


def _sample(args: argparse.Namespace) -> int:
    from mnist_gan.files import atomic_write
    from mnist_gan.images import save_grid, to_uint8
    from mnist_gan.loading import load_generator_model

    out = Path(args.out)
    if out.suffix not in (".png", ".npy"):
        raise MNISTGANError(f"--out must end in .png or .npy, got {args.out!r}")
    if out.exists() and not args.force:
        raise MNISTGANError(f"{out} exists; pass --force to overwrite it or choose another --out")
    if args.num <= 0:
        raise MNISTGANError(f"--num must be a positive integer, got {args.num}")
    gan = load_generator_model(args.source)
    pixels = to_uint8(gan.generate(args.num, seed=args.seed), gan.config.pixel_range)
    if out.suffix == ".npy":
        import numpy as np

        with atomic_write(out) as tmp:
            np.save(tmp, pixels)
    else:
        save_grid(pixels, out)
    print(f"Wrote {out}: {pixels.shape[0]} images, {pixels.dtype}, shape {pixels.shape}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from mnist_gan.evaluation.report import run_evaluate

    return run_evaluate(args.source, num=args.num, seed=args.seed, json_path=args.json_path)


def _info(args: argparse.Namespace) -> int:
    from mnist_gan.device import print_device_info

    print_device_info()
    return 0


def _presets(args: argparse.Namespace) -> int:
    from mnist_gan.presets import presets_table

    print(presets_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())

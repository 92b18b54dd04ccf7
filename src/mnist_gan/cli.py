"""``mnist-gan`` / ``python -m mnist_gan``: train, sample, evaluate, info, presets.

User mistakes (bad values, unusable files) print one ``error:`` line and exit with status 2;
no traceback. Ctrl-C exits 130 after saying which checkpoint a rerun resumes from.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from mnist_gan.errors import MNISTGANError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="mnist-gan", description="Train and sample GANs on MNIST (Keras 3 / TensorFlow)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a GAN (resumes from --output-dir's checkpoint)")
    train.add_argument(
        "--preset", default="dcgan", help="design to train (see `mnist-gan presets`)"
    )
    train.add_argument("--epochs", type=int, help="total epochs (preset default: dcgan 50)")
    train.add_argument("--batch-size", type=int, help="images per step (dcgan: 100)")
    train.add_argument(
        "--g-lr", dest="g_learning_rate", type=float, help="generator learning rate (dcgan: 2e-4)"
    )
    train.add_argument(
        "--d-lr",
        dest="d_learning_rate",
        type=float,
        help="discriminator learning rate (dcgan: 2e-5)",
    )
    train.add_argument(
        "--lr-decay-rate",
        type=float,
        help="LR multiplier every --lr-decay-steps steps, staircase (dcgan: 0.96)",
    )
    train.add_argument("--lr-decay-steps", type=int, help="steps between LR decays (dcgan: 1000)")
    train.add_argument("--beta-1", type=float, help="Adam beta_1 (dcgan: 0.5)")
    train.add_argument("--beta-2", type=float, help="Adam beta_2 (dcgan: 0.999)")
    train.add_argument("--latent-dim", type=int, help="noise size (dcgan: 100)")
    train.add_argument(
        "--image-size", type=int, help="side the networks work at (dcgan64: 64, or 32)"
    )
    train.add_argument("--seed", type=int, help="fix init, noise and data order")
    train.add_argument("--limit", type=int, help="train on the first N images only")
    train.add_argument("--output-dir", help="where grids, checkpoints and the model go (outputs)")
    train.add_argument("--sample-frequency", type=int, help="steps between sample grids (100)")
    train.add_argument(
        "--data",
        dest="data_path",
        help="MNIST .npz or IDX folder (default: $MNIST_GAN_DATA, caches, mirror)",
    )
    train.add_argument("--steps-per-execution", type=int, help="steps per compiled call (1)")
    train.add_argument(
        "--jit-compile", action="store_true", default=None, help="compile the train step with XLA"
    )
    train.add_argument(
        "--ema", dest="ema_decay", type=float, help="sample from a generator EMA, e.g. 0.999"
    )
    train.add_argument(
        "--ema-start",
        type=int,
        help="generator steps before the EMA starts averaging (10000; fast: 0)",
    )
    train.add_argument(
        "--minutes", type=float, help="stop after this much training time (checkpointed; resumable)"
    )
    train.add_argument(
        "--update",
        choices=("alternating", "simultaneous"),
        help="D step then G step (alternating) or both from one pass (simultaneous)",
    )
    train.add_argument(
        "--loss",
        choices=("bce", "hinge"),
        help="non-saturating logistic loss (bce) or hinge loss (dcgan: bce)",
    )
    train.add_argument(
        "--r1-gamma", type=float, help="R1 gradient penalty on real images, e.g. 0.1 (0: off)"
    )
    train.add_argument(
        "--snapshot-minutes", type=float, help="save the model every N minutes of training"
    )
    train.add_argument("--threads", type=int, help="CPU threads for TensorFlow (default: all)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--eval-every",
        type=int,
        help="sample-quality metrics every N epochs (2,000 samples; keeps best_model.keras)",
    )

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
    logging.basicConfig(level=logging.INFO, format="%(message)s")
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


def _train(args: argparse.Namespace) -> int:
    from mnist_gan.trainer import GANTrainer

    settings: dict[str, Any] = {
        key: getattr(args, key)
        for key in (
            "epochs",
            "batch_size",
            "g_learning_rate",
            "d_learning_rate",
            "lr_decay_rate",
            "lr_decay_steps",
            "beta_1",
            "beta_2",
            "latent_dim",
            "image_size",
            "seed",
            "limit",
            "output_dir",
            "sample_frequency",
            "eval_every",
            "data_path",
            "steps_per_execution",
            "jit_compile",
            "ema_decay",
            "ema_start",
            "minutes",
            "update",
            "loss",
            "r1_gamma",
            "snapshot_minutes",
            "threads",
        )
    }
    trainer = GANTrainer(preset=args.preset, **settings)
    trainer.train(verbose=0 if args.quiet else 1)
    return 0


def _sample(args: argparse.Namespace) -> int:
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
    pixels = to_uint8(gan.generate(args.num, seed=args.seed), gan.pixel_range)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".npy":
            tmp = out.with_name(out.name + ".tmp.npy")
            import numpy as np

            np.save(tmp, pixels)
            os.replace(tmp, out)
        else:
            save_grid(pixels, out)
    except OSError as err:
        raise MNISTGANError(f"cannot write {out} ({err.strerror or err})") from None
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
    from mnist_gan.config import presets_table

    print(presets_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``mnist-gan evaluate``, ``info`` and ``presets``: what a model scores, what this machine is,
what the package offers."""

from __future__ import annotations

import argparse
from pathlib import Path

from mnist_gan.errors import MNISTGANError
from mnist_gan.outputs.checks import check_positive, check_source, read_image_array


def check_evaluate(args: argparse.Namespace) -> None:
    """``evaluate``'s arguments and files, checked before TensorFlow loads."""
    check_positive("--num", args.num)
    if args.data_path is not None and not Path(args.data_path).exists():
        raise MNISTGANError(f"--data {args.data_path} does not exist")
    if args.other_data and args.data_path is None:
        raise MNISTGANError("--other-data goes with --data (the other data to score against)")
    if Path(args.source).suffix == ".npy":
        read_image_array(args.source)
        if args.labels_path is not None:
            check_source(args.labels_path)
        return
    if args.labels_path is not None:
        raise MNISTGANError("--labels goes with an .npy of images; a model supplies its own")
    check_source(args.source)


def run_evaluate(args: argparse.Namespace) -> int:
    """Score ``SOURCE`` against its data and print the report (docs/evaluation.md)."""
    from mnist_gan.evaluation.report import run_evaluate as report

    return report(
        args.source,
        num=args.num,
        seed=args.seed,
        json_path=args.json_path,
        labels_path=args.labels_path,
        data_path=args.data_path,
        other_data=args.other_data,
    )


def run_info(args: argparse.Namespace) -> int:
    """Print the platform, versions, accelerators and bfloat16; ``--check`` the devices."""
    from mnist_gan.device import print_device_info, run_device_check

    print_device_info()
    return run_device_check() if args.check else 0


def run_presets(args: argparse.Namespace) -> int:
    """Print the presets table and the pretrained weights in this install."""
    from mnist_gan.outputs.tables import presets_table

    print(presets_table())
    return 0

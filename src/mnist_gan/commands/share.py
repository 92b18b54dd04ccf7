"""``mnist-gan animate`` and ``mnist-gan export``: a run's progress as a movie, a generator as a
standalone artifact."""

from __future__ import annotations

import argparse
from pathlib import Path

from mnist_gan.errors import MNISTGANError
from mnist_gan.outputs.checks import ARTIFACT_NAMES, check_out, check_positive, check_source


def check_animate(args: argparse.Namespace) -> None:
    """``animate``'s arguments (no TensorFlow needed at all)."""
    check_out(Path(args.out), (".gif", ".mp4"), "--out", args.force)
    if args.strip is not None:
        check_out(Path(args.strip), (".png",), "--strip", args.force)
    if not args.fps > 0:
        raise MNISTGANError(f"--fps must be positive, got {args.fps}")
    if not Path(args.output).is_dir():
        raise MNISTGANError(f"{args.output} does not exist or is not a folder")


def run_animate(args: argparse.Namespace) -> int:
    """Write a run's grids as a GIF or MP4 (and a strip of frames)."""
    from mnist_gan.outputs.animate import GRID_NAME, animate_grids, find_grids, frame_strip

    out = Path(args.out)
    strip = None if args.strip is None else Path(args.strip)
    folder = Path(args.output)
    holds_grids = any(GRID_NAME.match(p.name) for p in folder.iterdir())
    if not holds_grids and (folder / "generated_samples").is_dir():
        folder = folder / "generated_samples"
    frames = len(find_grids(folder))
    animate_grids(folder, out, fps=args.fps)
    also = ""
    if strip is not None:
        frame_strip(folder, strip)
        panels = min(frames, 5)
        also = f", and a strip of {panels} frame{'s' * (panels != 1)} to {strip}"
    print(
        f"Wrote {out}: {frames} frame{'s' * (frames != 1)} at {args.fps:g} fps from {folder}{also}"
    )
    return 0


def check_export(args: argparse.Namespace) -> None:
    """``export``'s arguments, checked before TensorFlow loads."""
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise MNISTGANError(f"--out {out_dir} is a file; give a folder to write into")
    if out_dir.suffix.lower() in (".onnx", ".tflite", ".keras", ".png", ".npz", ".gif"):
        raise MNISTGANError(
            f"--out is a folder (the artifact is written inside it), got {str(out_dir)!r}"
        )
    target = out_dir / ARTIFACT_NAMES[args.fmt]
    if target.exists() and not args.force:
        raise MNISTGANError(f"{target} exists; pass --force to replace it or choose another --out")
    check_positive("--fixed-batch", args.fixed_batch)
    check_source(args.source)


def run_export(args: argparse.Namespace) -> int:
    """Write ``SOURCE``'s sampling generator as a standalone artifact."""
    from mnist_gan.gan.render import inspect_generator
    from mnist_gan.outputs.export import export_generator
    from mnist_gan.outputs.loading import load_generator_model

    out_dir = Path(args.out)
    gan = load_generator_model(args.source)
    generator = gan.sampling_generator
    info = inspect_generator(generator)
    path = export_generator(
        generator,
        out_dir,
        fmt=args.fmt,
        pixel_range=tuple(gan.config.pixel_range),
        fixed_batch=args.fixed_batch,
    )
    batch = "batch" if args.fixed_batch is None else str(args.fixed_batch)
    inputs = f"noise float32 ({batch}, {info.latent_dim})"
    if info.label_index is not None:
        inputs += f", label int32 ({batch},)"
    print(f"Wrote {path} ({args.fmt}): {inputs} -> images uint8 ({batch}, 28, 28)")
    return 0

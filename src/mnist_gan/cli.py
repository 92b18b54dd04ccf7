"""``mnist-gan`` / ``python -m mnist_gan``: train, sample, evaluate, info, presets.

User mistakes (bad values, unusable files, a folder another trainer is using, a diverged run)
print one ``error:`` line and exit with status 2; no traceback. Mistakes that need no model
(argument and setting errors, missing files, a bad ``--out``, an ``.npy`` of the wrong shape)
are caught before TensorFlow is imported, so they answer at once; TensorFlow's own start-up
lines are hidden unless ``--tf-logs`` or ``MNIST_GAN_TF_LOGS=1`` (:mod:`mnist_gan.tflogs`).
Ctrl-C exits 130, SIGTERM 143 and SIGHUP 129, each after checkpointing the current step
(docs/reliability.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mnist_gan.errors import MNISTGANError
from mnist_gan.logs import log_to_console
from mnist_gan.outputs.checks import (
    ARTIFACT_NAMES,
    check_out,
    check_positive,
    check_source,
    read_image_array,
)
from mnist_gan.tflogs import ENV_VAR, import_tensorflow, tf_logs_wanted

SOURCE_HELP = (
    "a shipped pretrained preset (e.g. cfast; see `mnist-gan presets`), a preset folder, a "
    ".keras model, a checkpoint .npz, or a training output folder (a local path wins)"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="mnist-gan", description="Train and sample GANs on MNIST (Keras 3 / TensorFlow)."
    )
    parser.add_argument(
        "--tf-logs",
        action="store_true",
        help=f"show TensorFlow's own start-up and C++ log lines (hidden by default; {ENV_VAR}=1 "
        "does the same)",
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

    sample = sub.add_parser(
        "sample", help="generate digits from a pretrained preset, a saved model or output folder"
    )
    sample.add_argument("source", help=SOURCE_HELP)
    sample.add_argument("--num", type=int, default=64, help="how many images (64)")
    sample.add_argument(
        "--out",
        default="samples.png",
        help="grid.png for a picture, samples.npy for raw uint8 (N, 28, 28)",
    )
    sample.add_argument("--seed", type=int, help="fix the noise")
    sample.add_argument(
        "--digit",
        action="append",
        help="conditional models: the digit(s) to draw: 7, 3,8 or 0-9; may repeat (default: "
        "balanced, a grid has one row per digit)",
    )
    sample.add_argument("--labels-out", help="with an .npy --out: also write the labels here")
    sample.add_argument("--force", action="store_true", help="overwrite --out if it exists")

    evaluate = sub.add_parser(
        "evaluate", help="score samples (FD, KID, classifier score, coverage, precision/recall)"
    )
    evaluate.add_argument("source", help=f"{SOURCE_HELP}, or uint8 images .npy")
    evaluate.add_argument(
        "--num", type=int, default=10000, help="images to score (10000, the protocol)"
    )
    evaluate.add_argument("--seed", type=int, default=0, help="noise and KID seed (0)")
    evaluate.add_argument("--json", dest="json_path", help="also write the numbers to FILE")
    evaluate.add_argument(
        "--labels",
        dest="labels_path",
        help="with an .npy SOURCE: the digit each image was generated for (label accuracy, "
        "intra-FD), e.g. from `sample --labels-out`",
    )
    info = sub.add_parser("info", help="platform, versions and accelerators")
    info.add_argument(
        "--check",
        action="store_true",
        help="also run every preset's networks on each visible device and on the CPU and "
        "report any that disagree (exit status 1 then)",
    )
    sub.add_parser("presets", help="list the designs and which ship pretrained weights")

    interpolate = sub.add_parser(
        "interpolate", help="latent walks through a model as a PNG grid, one walk per row"
    )
    interpolate.add_argument("source", help=SOURCE_HELP)
    interpolate.add_argument("--out", default="walk.png", help="the grid .png (walk.png)")
    interpolate.add_argument("--rows", type=int, default=4, help="how many walks (4)")
    interpolate.add_argument("--steps", type=int, default=8, help="images per walk (8)")
    interpolate.add_argument("--seed", type=int, default=0, help="picks the walks' ends (0)")
    interpolate.add_argument(
        "--digit", type=int, help="conditional models: the digit to draw (the walk's start)"
    )
    interpolate.add_argument(
        "--to-digit", type=int, help="conditional models: the digit of each walk's second half"
    )
    interpolate.add_argument("--force", action="store_true", help="overwrite --out if it exists")

    animate = sub.add_parser(
        "animate", help="a run's saved sample grids as a GIF or MP4, in step order"
    )
    animate.add_argument(
        "output", help="a training output folder (or its generated_samples folder of grids)"
    )
    animate.add_argument(
        "--out", default="progress.gif", help=".gif (Pillow) or .mp4 (needs imageio-ffmpeg)"
    )
    animate.add_argument("--fps", type=float, default=4, help="frames per second (4)")
    animate.add_argument("--strip", help="also write 5 spaced frames side by side (.png)")
    animate.add_argument(
        "--force", action="store_true", help="overwrite --out and --strip if they exist"
    )

    export = sub.add_parser(
        "export", help="write a model's generator as a standalone uint8-image artifact"
    )
    export.add_argument("source", help=SOURCE_HELP)
    export.add_argument("--out", required=True, help="folder to write the artifact into")
    export.add_argument(
        "--format",
        dest="fmt",
        default="saved_model",
        choices=("saved_model", "onnx", "litert"),
        help="saved_model (folder), onnx (generator.onnx) or litert (generator.tflite)",
    )
    export.add_argument("--fixed-batch", type=int, help="a static batch size (default: dynamic)")
    export.add_argument("--force", action="store_true", help="replace an artifact already in --out")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mnist-gan`` command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    log_to_console()
    try:
        _CHECKS.get(args.command, lambda _: None)(args)  # no TensorFlow imported yet
        if args.command not in _WITHOUT_TENSORFLOW:
            import_tensorflow(show_logs=args.tf_logs or tf_logs_wanted())
        return {
            "train": _train,
            "sample": _sample,
            "evaluate": _evaluate,
            "info": _info,
            "presets": _presets,
            "interpolate": _interpolate,
            "animate": _animate,
            "export": _export,
        }[args.command](args)
    except MNISTGANError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per declared setting (``mnist_gan.config``), its help showing the defaults."""
    from mnist_gan.config import SETTINGS
    from mnist_gan.models.presets import preset_defaults

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
        if spec.const is not None:  # the flag alone means const: --tensorboard [DIR]
            options.update(nargs="?", const=spec.const)
        if spec.choices:  # (preset names are checked by make_config: one clear error line)
            options["choices"] = spec.choices
        parser.add_argument(spec.flag, help=f"{spec.help} ({preset_defaults(name)})", **options)


def _train_settings(args: argparse.Namespace) -> dict[str, Any]:
    from mnist_gan.config import SETTINGS

    settings = {name: getattr(args, name) for name in SETTINGS if hasattr(args, name)}
    settings["preset"] = settings["preset"] or "dcgan"
    return settings


def _check_train(args: argparse.Namespace) -> None:
    from mnist_gan.models.presets import make_config
    from mnist_gan.reliability.lock import RunLock

    settings = _train_settings(args)
    config = make_config(settings.pop("preset"), **settings)
    if config.data_path is not None and not Path(config.data_path).exists():
        raise MNISTGANError(f"MNIST data path {config.data_path} does not exist")
    RunLock(config.output_dir).check_free()  # a busy folder is refused before TensorFlow loads


def _train(args: argparse.Namespace) -> int:
    from mnist_gan.training.trainer import GANTrainer

    settings = _train_settings(args)
    trainer = GANTrainer(preset=settings.pop("preset"), **settings)
    trainer.train(progress="none" if args.quiet else args.progress)
    return trainer.exit_status


def _check_sample(args: argparse.Namespace) -> None:
    out = Path(args.out)
    if out.suffix not in (".png", ".npy"):
        raise MNISTGANError(f"--out must end in .png or .npy, got {args.out!r}")
    if out.exists() and not args.force:
        raise MNISTGANError(f"{out} exists; pass --force to overwrite it or choose another --out")
    if args.num <= 0:
        raise MNISTGANError(f"--num must be a positive integer, got {args.num}")
    labels_out = Path(args.labels_out) if args.labels_out else None
    if labels_out is not None and (out.suffix != ".npy" or labels_out.suffix != ".npy"):
        raise MNISTGANError("--labels-out needs an .npy --out and ends in .npy itself")
    if labels_out is not None and labels_out.exists() and not args.force:
        raise MNISTGANError(f"{labels_out} exists; pass --force to overwrite it")
    if args.digit:
        parse_digits(args.digit)
    check_source(args.source)


def _sample(args: argparse.Namespace) -> int:
    import numpy as np

    from mnist_gan.data.images import save_grid, to_uint8
    from mnist_gan.files import atomic_write
    from mnist_gan.outputs.loading import load_generator_model

    out = Path(args.out)
    labels_out = Path(args.labels_out) if args.labels_out else None
    digits = parse_digits(args.digit) if args.digit else None
    gan = load_generator_model(args.source)
    if digits is not None and not gan.conditional:
        raise MNISTGANError(f"{args.source} is unconditional: --digit needs a conditional model")
    labels, columns = None, None
    if gan.conditional:
        shown = digits if digits is not None else list(range(gan.config.num_classes))
        columns = max(1, -(-args.num // len(shown)))  # a grid row per digit
        labels = np.repeat(np.asarray(shown), columns)[: args.num]
        if len(shown) == 1:
            columns = None  # one digit: a square grid, not a strip of one row
    images, labels = gan.generate(args.num, seed=args.seed, labels=labels, return_labels=True)
    pixels = to_uint8(images, gan.config.pixel_range)
    if out.suffix == ".npy":
        with atomic_write(out) as tmp:
            np.save(tmp, pixels)
        if labels_out is not None:
            if labels is None:
                raise MNISTGANError(f"{args.source} is unconditional: it has no labels to write")
            with atomic_write(labels_out) as tmp:
                np.save(tmp, labels.astype(np.uint8))
    else:
        save_grid(pixels, out, ncols=columns)
    print(f"Wrote {out}: {pixels.shape[0]} images, {pixels.dtype}, shape {pixels.shape}")
    return 0


def parse_digits(values: list[str]) -> list[int]:
    """``--digit`` values (``7``, ``3,8``, ``0-9``, repeated) as a list of digits 0..9."""
    digits: list[int] = []
    for value in values:
        for part in value.split(","):
            low, _, high = part.strip().partition("-")
            try:
                span = range(int(low), int(high or low) + 1)
            except ValueError:
                raise MNISTGANError(f"--digit takes 7, 3,8 or 0-9; got {value!r}") from None
            if not span or span[0] < 0 or span[-1] > 9:
                raise MNISTGANError(f"--digit must name digits 0..9, got {value!r}")
            digits.extend(span)
    return digits


def _check_evaluate(args: argparse.Namespace) -> None:
    check_positive("--num", args.num)
    if Path(args.source).suffix == ".npy":
        read_image_array(args.source)
        if args.labels_path is not None:
            check_source(args.labels_path)
        return
    if args.labels_path is not None:
        raise MNISTGANError("--labels goes with an .npy of images; a model supplies its own")
    check_source(args.source)


def _evaluate(args: argparse.Namespace) -> int:
    from mnist_gan.evaluation.report import run_evaluate

    return run_evaluate(
        args.source,
        num=args.num,
        seed=args.seed,
        json_path=args.json_path,
        labels_path=args.labels_path,
    )


def _info(args: argparse.Namespace) -> int:
    from mnist_gan.device import print_device_info, run_device_check

    print_device_info()
    return run_device_check() if args.check else 0


def _presets(args: argparse.Namespace) -> int:
    from mnist_gan.outputs.tables import presets_table

    print(presets_table())
    return 0


def _check_interpolate(args: argparse.Namespace) -> None:
    check_out(Path(args.out), (".png",), "--out", args.force)
    check_positive("--rows", args.rows)
    check_positive("--steps", args.steps)
    for flag, digit in (("--digit", args.digit), ("--to-digit", args.to_digit)):
        if digit is not None and not 0 <= digit <= 9:
            raise MNISTGANError(f"{flag} must be a digit 0..9, got {digit}")
    if args.to_digit is not None and args.digit is None:
        raise MNISTGANError("--to-digit needs --digit (the digit each walk starts as)")
    check_source(args.source)


def _interpolate(args: argparse.Namespace) -> int:
    from mnist_gan.data.images import save_grid
    from mnist_gan.gan.walk import interpolate, is_conditional
    from mnist_gan.outputs.loading import load_generator_model

    out = Path(args.out)
    gan = load_generator_model(args.source)
    conditional = is_conditional(gan.sampling_generator)
    if args.digit is not None and not conditional:
        raise MNISTGANError(
            f"{args.source} is not conditional (its generator takes no label); drop --digit"
        )
    if args.digit is None and conditional:
        raise MNISTGANError(f"{args.source} is conditional: pass --digit (and --to-digit)")
    labels = None
    if args.digit is not None:
        labels = args.digit if args.to_digit is None else (args.digit, args.to_digit)
    images = interpolate(gan, rows=args.rows, steps=args.steps, seed=args.seed, labels=labels)
    save_grid(images, out, ncols=args.steps)
    digits = (
        ""
        if labels is None
        else f", digit {args.digit}" + ("" if args.to_digit is None else f" -> {args.to_digit}")
    )
    print(f"Wrote {out}: {args.rows} walks x {args.steps} steps (seed {args.seed}{digits})")
    return 0


def _check_animate(args: argparse.Namespace) -> None:
    check_out(Path(args.out), (".gif", ".mp4"), "--out", args.force)
    if args.strip is not None:
        check_out(Path(args.strip), (".png",), "--strip", args.force)
    if not args.fps > 0:
        raise MNISTGANError(f"--fps must be positive, got {args.fps}")
    if not Path(args.output).is_dir():
        raise MNISTGANError(f"{args.output} does not exist or is not a folder")


def _animate(args: argparse.Namespace) -> int:
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


def _check_export(args: argparse.Namespace) -> None:
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


def _export(args: argparse.Namespace) -> int:
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


# What each command checks before TensorFlow is imported; animate never needs TensorFlow.
_CHECKS = {
    "train": _check_train,
    "sample": _check_sample,
    "evaluate": _check_evaluate,
    "interpolate": _check_interpolate,
    "animate": _check_animate,
    "export": _check_export,
}
_WITHOUT_TENSORFLOW = {"animate"}

if __name__ == "__main__":
    sys.exit(main())

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
from typing import Any

from mnist_gan.commands import about, sample, serve, share, train
from mnist_gan.errors import MNISTGANError
from mnist_gan.logs import log_to_console
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
        "--label",
        action="append",
        help="conditional models: the class(es) to draw, by name or number: sneaker, 7, "
        "'ankle boot,bag'; may repeat (default: every class; a grid has one row per class)",
    )
    sample.add_argument(
        "--digit",
        action="append",
        help="conditional MNIST models: the digit(s) to draw: 7, 3,8 or 0-9; may repeat",
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
        help="with an .npy SOURCE: the class each image was generated for (label accuracy, "
        "intra-FD), e.g. from `sample --labels-out`",
    )
    evaluate.add_argument(
        "--data",
        dest="data_path",
        help="the data to score against (as `train --data`): by default a model's own training "
        "data, MNIST for an .npy of images",
    )
    evaluate.add_argument(
        "--other-data",
        action="store_true",
        help="score a model against --data although it was trained on other data (the report "
        "says so)",
    )
    info = sub.add_parser("info", help="platform, versions and accelerators")
    info.add_argument(
        "--check",
        action="store_true",
        help="also run every preset's networks on each visible device and on the CPU and "
        "report any that disagree (exit status 1 then)",
    )
    sub.add_parser("presets", help="list the designs and which ship pretrained weights")

    serve = sub.add_parser(
        "serve", help="a web page and an HTTP API drawing images from the models (docs/serve.md)"
    )
    serve.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="run folders, preset folders or .keras models to serve beside the shipped presets",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")

    interpolate = sub.add_parser(
        "interpolate", help="latent walks through a model as a PNG grid, one walk per row"
    )
    interpolate.add_argument("source", help=SOURCE_HELP)
    interpolate.add_argument("--out", default="walk.png", help="the grid .png (walk.png)")
    interpolate.add_argument("--rows", type=int, default=4, help="how many walks (4)")
    interpolate.add_argument("--steps", type=int, default=8, help="images per walk (8)")
    interpolate.add_argument("--seed", type=int, default=0, help="picks the walks' ends (0)")
    interpolate.add_argument(
        "--label", help="conditional models: the class to draw (the walk's start), name or number"
    )
    interpolate.add_argument(
        "--to-label", help="conditional models: the class of each walk's second half"
    )
    interpolate.add_argument("--digit", type=int, help="conditional MNIST models: as --label")
    interpolate.add_argument("--to-digit", type=int, help="conditional MNIST models: as --to-label")
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
    check, run = COMMANDS[args.command]
    try:
        if check is not None:
            check(args)  # no TensorFlow imported yet
        if args.command not in _WITHOUT_TENSORFLOW:
            import_tensorflow(show_logs=args.tf_logs or tf_logs_wanted())
        return run(args)
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


# Each command: the checks that run before TensorFlow is imported, and its body.
COMMANDS: dict[str, tuple[Any, Any]] = {
    "train": (train.check_train, train.run_train),
    "sample": (sample.check_sample, sample.run_sample),
    "evaluate": (about.check_evaluate, about.run_evaluate),
    "info": (None, about.run_info),
    "presets": (None, about.run_presets),
    "interpolate": (sample.check_interpolate, sample.run_interpolate),
    "animate": (share.check_animate, share.run_animate),
    "export": (share.check_export, share.run_export),
    "serve": (serve.check_serve, serve.run_serve),
}
_WITHOUT_TENSORFLOW = {"animate"}

if __name__ == "__main__":
    sys.exit(main())

"""``mnist-gan sample`` and ``mnist-gan interpolate``: images of a trained model, by class."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mnist_gan.errors import MNISTGANError
from mnist_gan.outputs.checks import check_out, check_positive, check_source


def check_sample(args: argparse.Namespace) -> None:
    """``sample``'s arguments, checked before TensorFlow loads."""
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
    if args.digit and args.label:
        raise MNISTGANError("give --label or --digit, not both")
    check_source(args.source)


def run_sample(args: argparse.Namespace) -> int:
    """Write ``--num`` images of ``SOURCE`` as a PNG grid or a uint8 ``.npy``."""
    import numpy as np

    from mnist_gan.data.images import save_grid, to_uint8
    from mnist_gan.files import atomic_write
    from mnist_gan.outputs.loading import load_generator_model

    out = Path(args.out)
    labels_out = Path(args.labels_out) if args.labels_out else None
    gan = load_generator_model(args.source)
    chosen = chosen_classes(gan, args.source, args.label, args.digit)
    labels, columns = None, None
    if gan.conditional:
        shown = chosen if chosen is not None else list(range(gan.config.num_classes))
        columns = max(1, -(-args.num // len(shown)))  # a grid row per class
        labels = np.repeat(np.asarray(shown), columns)[: args.num]
        if len(shown) == 1:
            columns = None  # one class: a square grid, not a strip of one row
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


def chosen_classes(
    gan: Any, source: str, labels: list[str] | None, digits: list[str] | None
) -> list[int] | None:
    """The class indices ``--label`` (names or numbers) or ``--digit`` (for models whose
    classes are the digits 0-9) ask ``gan`` for; None when neither was given."""
    from mnist_gan.data.datasets import DIGITS

    if not (labels or digits):
        return None
    flag = "--label" if labels else "--digit"
    if not gan.conditional:
        raise MNISTGANError(f"{source} is unconditional: {flag} needs a conditional model")
    if digits:
        if tuple(gan.class_names) != DIGITS:  # MNIST's, or any data whose classes are 0..9
            data = (gan.data_card or {}).get("name", "its data")
            raise MNISTGANError(
                f"{source} draws the classes of {data}, not digits: choose them with --label "
                f"({', '.join(gan.class_names[:10])})"
            )
        return parse_digits(digits)
    return [gan.class_index(part) for value in labels for part in value.split(",") if part]


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


def check_interpolate(args: argparse.Namespace) -> None:
    """``interpolate``'s arguments, checked before TensorFlow loads."""
    check_out(Path(args.out), (".png",), "--out", args.force)
    check_positive("--rows", args.rows)
    check_positive("--steps", args.steps)
    for flag, digit in (("--digit", args.digit), ("--to-digit", args.to_digit)):
        if digit is not None and not 0 <= digit <= 9:
            raise MNISTGANError(f"{flag} must be a digit 0..9, got {digit}")
    if args.digit is not None and args.label is not None:
        raise MNISTGANError("give --label or --digit, not both")
    for end, start in (("--to-digit", args.digit), ("--to-label", args.label)):
        if getattr(args, end[2:].replace("-", "_")) is not None and start is None:
            raise MNISTGANError(f"{end} needs {end.replace('to-', '')} (each walk's start)")
    check_source(args.source)


def run_interpolate(args: argparse.Namespace) -> int:
    """Write ``--rows`` latent walks of ``--steps`` images through ``SOURCE`` as a PNG."""
    from mnist_gan.data.images import save_grid
    from mnist_gan.gan.walk import interpolate, is_conditional
    from mnist_gan.outputs.loading import load_generator_model

    out = Path(args.out)
    gan = load_generator_model(args.source)
    conditional = is_conditional(gan.sampling_generator)
    flag = "--label" if args.label is not None else "--digit"
    given = args.label is not None or args.digit is not None
    if given and not conditional:
        raise MNISTGANError(
            f"{args.source} is not conditional (its generator takes no label); drop {flag}"
        )
    if not given and conditional:
        raise MNISTGANError(f"{args.source} is conditional: pass --label (and --to-label)")
    labels, shown = None, ""
    if given:
        label = [args.label] if args.label is not None else None
        digit = [str(args.digit)] if args.digit is not None else None
        start = chosen_classes(gan, args.source, label, digit)[0]
        end_label = [args.to_label] if args.to_label is not None else None
        end_digit = [str(args.to_digit)] if args.to_digit is not None else None
        ends = chosen_classes(gan, args.source, end_label, end_digit)
        labels = start if ends is None else (start, ends[0])
        names = gan.class_names
        shown = f", {names[start]}" + ("" if ends is None else f" -> {names[ends[0]]}")
    images = interpolate(gan, rows=args.rows, steps=args.steps, seed=args.seed, labels=labels)
    save_grid(images, out, ncols=args.steps)
    print(f"Wrote {out}: {args.rows} walks x {args.steps} steps (seed {args.seed}{shown})")
    return 0

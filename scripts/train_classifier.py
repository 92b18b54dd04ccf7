"""Train the pinned MNIST classifier that ``mnist_gan.evaluation`` scores samples with.

Trains :func:`mnist_gan.evaluation.classifier.build_classifier` on the 60,000 MNIST training
images (no augmentation; the test set is used only for the final accuracy), then writes

* ``src/mnist_gan/evaluation/weights/mnist_classifier.weights.npz`` (the shipped weights) and
* ``src/mnist_gan/evaluation/weights/classifier.json`` (seed, epochs, test accuracy, command,
  wall time, versions, weights hash).

Usage (from the repository root, takes a few minutes on a laptop CPU)::

    python scripts/train_classifier.py                 # seed 0, 5 epochs, batch 128
    python scripts/train_classifier.py --out /tmp/w    # somewhere else (e.g. to compare)

Exits with status 1 if the test accuracy is below ``--min-accuracy`` (0.99); the weights are
then left where they were.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "mnist_gan" / "evaluation" / "weights"


def main(argv: list[str] | None = None) -> int:
    """Train, check the test accuracy, save the weights and their record; return exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="weights folder")
    parser.add_argument("--min-accuracy", type=float, default=0.99)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from mnist_gan.data.sources import load_mnist
    from mnist_gan.evaluation.classifier import (
        build_classifier,
        features_and_probs,
        load_classifier,
        save_classifier_weights,
        weights_hash,
    )

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train = (x_train.astype("float32") / 255.0)[..., None]

    model = build_classifier()
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train.astype("int32"),
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        verbose=2,
    )
    wall = time.perf_counter() - start

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "mnist_classifier.weights.npz"
    tmp = args.out / "candidate.weights.npz"
    save_classifier_weights(model, tmp)
    # Measure through the same code path users get: weights reloaded, uint8 input.
    reloaded = load_classifier(tmp)
    logits = reloaded.predict((x_test.astype("float32") / 255.0)[..., None], verbose=0)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == y_test))
    print(f"test accuracy: {accuracy:.4f} ({args.epochs} epochs, {wall:.0f} s)")
    if accuracy < args.min_accuracy:
        tmp.unlink()
        print(f"below --min-accuracy {args.min_accuracy}; weights not saved", file=sys.stderr)
        return 1
    tmp.replace(weights)
    if args.out.resolve() == DEFAULT_OUT.resolve():  # the shipped copy: check the public API
        _, probs = features_and_probs(x_test)
        assert abs(float(np.mean(probs.argmax(1) == y_test)) - accuracy) < 1e-3

    command = "python scripts/train_classifier.py" + "".join(
        f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])
    )
    record = {
        "architecture": (
            "conv32-conv32-pool-conv64-conv64-pool-dense128(features)-dropout0.5-dense10"
        ),
        "parameters": int(model.count_params()),
        "feature_layer": "features",
        "feature_dim": 128,
        "input": "float32 (N, 28, 28, 1) = uint8 pixels / 255",
        "training_set": "MNIST train, 60000 images, no augmentation",
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": f"Adam(learning_rate={args.learning_rate})",
        "test_accuracy": round(accuracy, 4),
        "test_errors": int(round((1 - accuracy) * len(y_test))),
        "train_seconds": round(wall, 1),
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "weights_file": weights.name,
        "weights_sha256_16": weights_hash(weights),
        "command": command,
    }
    (args.out / "classifier.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

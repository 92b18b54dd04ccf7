"""Show that the regression pins catch each kind of change they are meant to catch.

    python scripts/regression_mutations.py [--cases fast,conv,...]

For each kind of change (initializer, learning rate, loss, optimizer, noise, sampling path,
output scaling) it patches the package with one small deliberate mutation, runs every case of
``tests/test_regression.py`` in float64 exactly as the test does, and checks the pins report a
mismatch. Prints one line per mutation and case (``caught`` with the first mismatch, or
``MISSED``) and exits 1 if any mutation was missed anywhere. Its output is recorded in
docs/tests.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def mutations() -> dict[str, tuple[str, Callable[[], contextlib.AbstractContextManager]]]:
    """``{kind: (what the mutation does, a context manager that applies it)}``."""
    import keras
    import numpy as np
    import tensorflow as tf

    from mnist_gan.gan import losses, optimizers, sampling
    from mnist_gan.models import rng

    @contextlib.contextmanager
    def patched(owner: object, name: str, value: object) -> Iterator[None]:
        old = getattr(owner, name)
        setattr(owner, name, value)
        try:
            yield
        finally:
            setattr(owner, name, old)

    def initializer():
        # every preset draws its kernels from one of these two
        stack = contextlib.ExitStack()
        for cls in (keras.initializers.GlorotUniform, keras.initializers.RandomNormal):
            draw = cls.__call__
            stack.enter_context(
                patched(
                    cls,
                    "__call__",
                    lambda self, shape, dtype=None, draw=draw: draw(self, shape, dtype) * 1.01,
                )
            )
        return stack

    def learning_rate():
        make = optimizers.make_optimizer
        return patched(optimizers, "make_optimizer", lambda lr, *rest: make(lr * 1.02, *rest))

    def loss():
        def smoothed(real, fake, kind="bce", reduction="sum", cross_entropy=None):
            if kind == "hinge":
                value = tf.reduce_mean(tf.nn.relu(0.95 - real)) + tf.reduce_mean(
                    tf.nn.relu(0.95 + fake)
                )
            else:
                xent = cross_entropy or keras.losses.BinaryCrossentropy(from_logits=True)
                value = xent(0.95 * tf.ones_like(real), real) + xent(tf.zeros_like(fake), fake)
            return value / 2.0 if reduction == "mean" else value

        return patched(losses, "discriminator_loss", smoothed)

    def optimizer():
        make = optimizers.make_optimizer
        return patched(
            optimizers,
            "make_optimizer",
            lambda lr, rate, steps, beta_1, beta_2: make(lr, rate, steps, beta_1 + 0.05, beta_2),
        )

    def noise():
        draw = rng.noise
        return patched(
            rng, "noise", lambda shape, kind, seed, xla=False: draw(shape, kind, seed + 1, xla)
        )

    def sampling_path():
        draw = sampling.numpy_noise
        return patched(
            sampling,
            "numpy_noise",
            lambda n, dim, kind, seed, index=0: draw(n, dim, kind, seed, index + 1),
        )

    def output_scaling():
        resize = sampling.to_mnist_size
        return patched(
            sampling,
            "to_mnist_size",
            lambda images, pixel_range: resize(images, pixel_range) * np.float32(0.999),
        )

    return {
        "initializer": ("initial kernels (Glorot uniform, N(0, 0.02)) x 1.01", initializer),
        "learning rate": ("both optimizers' learning rate x 1.02", learning_rate),
        "loss": ("D's real target 0.95 (logistic: smoothed label; hinge: margin)", loss),
        "optimizer": ("Adam's beta_1 + 0.05", optimizer),
        "noise": ("training noise drawn from the next seed", noise),
        "sampling path": ("generate() draws its noise with the next index", sampling_path),
        "output scaling": ("generated images x 0.999", output_scaling),
    }


def main() -> int:
    """Run every mutation on every case; print one line each; 1 if any was missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated cases (default: all)")
    parser.add_argument("--kinds", help="comma-separated kinds of change (default: all)")
    args = parser.parse_args()

    from tests import test_regression as pins

    cases = args.cases.split(",") if args.cases else list(pins.CASES)
    recorded = json.loads(pins.PINS_PATH.read_text())
    missed = 0
    for kind, (what, apply) in mutations().items():
        if args.kinds and kind not in args.kinds.split(","):
            continue
        for case in cases:
            with pins.float64_keras(), apply():
                problems = pins.mismatches(pins.measure(case), recorded[case])
            if problems:
                print(f"caught  {kind:15} {case:15} {what}: {problems[0]}", flush=True)
            else:
                missed += 1
                print(f"MISSED  {kind:15} {case:15} {what}", flush=True)
    print(f"{missed} mutation(s) missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Checks of training under tf.distribute, run in a subprocess by tests/gan/test_distribute.py.

Splits the CPU into two logical devices before TensorFlow starts (the split must not leak
into other tests), runs one check and prints its result as one JSON line after ``RESULT``.
Usage: ``python tests/gan/distribute_check.py noise | step CASES_JSON | trainer FOLDER |
all FOLDER CASES_JSON | worker FOLDER`` (worker: one process of a TF_CONFIG cluster).
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mnist_gan import MNISTGAN  # noqa: E402
from mnist_gan.gan import distribute  # noqa: E402
from mnist_gan.models.presets import FAST_SETTINGS  # noqa: E402
from tests.tiny import register as register_tiny  # noqa: E402

LATENT, BATCH = 8, 8


def split_cpu(n: int = 2) -> None:
    """n logical CPU devices (before TensorFlow initialises)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    )


def tiny_networks(batch_norm: bool = False) -> tuple[keras.Model, keras.Model]:
    """A deterministic pair (no dropout), seeded by the caller."""
    z = keras.Input((LATENT,))
    x = keras.layers.Dense(16, name="g1")(z)
    if batch_norm:
        x = keras.layers.BatchNormalization(name="gbn")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Dense(28 * 28, activation="tanh", name="g2")(x)
    generator = keras.Model(z, keras.layers.Reshape((28, 28, 1))(x), name="generator")
    image = keras.Input((28, 28, 1))
    y = keras.layers.Flatten()(image)
    y = keras.layers.Dense(16, name="d1")(y)
    if batch_norm:
        y = keras.layers.BatchNormalization(name="dbn")(y)
    y = keras.layers.LeakyReLU(0.2)(y)
    discriminator = keras.Model(image, keras.layers.Dense(1, name="d2")(y), name="discriminator")
    return generator, discriminator


class FixedNoiseGAN(MNISTGAN):
    """Noise fixed by the test: draw k of a step is ``Z[k]``, replica r takes its rows."""

    Z: np.ndarray  # (2, BATCH, LATENT)

    def sample_noise(self, num, seed=None):  # noqa: D102
        # Replicas trace concurrently (one thread each): count each replica's draws apart.
        key = id(tf.distribute.get_replica_context())
        k = self._draws.get(key, 0) % 2
        self._draws[key] = k + 1
        z = tf.constant(self.Z[k])
        n = distribute.replicas()
        if n == 1 or tf.distribute.in_cross_replica_context():
            return z
        per = BATCH // n
        return z[distribute.replica_id() * per : (distribute.replica_id() + 1) * per]


def one_step(
    strategy, settings: dict, batch_norm: bool = False, sync: bool = True, eager: bool = False
) -> dict:
    """Weights and logged losses after one step on the fixed batch under ``strategy``
    (``eager``: the step runs as Python, untraced)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (BATCH, 28, 28, 1)).astype("float32")
    FixedNoiseGAN.Z = rng.normal(size=(2, BATCH, LATENT)).astype("float32")
    with strategy.scope():
        g, d = tiny_networks(batch_norm)
        gan = FixedNoiseGAN(LATENT, g, d, preset="mlp", seed=0, **settings)
        gan._draws = {}
        if batch_norm:
            distribute.synchronize_batch_norm(gan.generator, sync)
            distribute.synchronize_batch_norm(gan.discriminator, sync)
        gan.compile(
            g_optimizer=keras.optimizers.SGD(0.5),
            d_optimizer=keras.optimizers.SGD(0.5),
            run_eagerly=eager,
            jit_compile=False,
        )
    history = gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(BATCH), epochs=1, verbose=0)
    return {
        "weights": [w.numpy().tolist() for w in gan.generator.weights + gan.discriminator.weights],
        "d_loss": history.history["d_loss"][-1],
        "g_loss": history.history["g_loss"][-1],
    }


def check_step(cases: list[dict]) -> list[dict]:
    """For each case: max |difference| of weights and losses, 2 replicas vs one device."""
    out = []
    mirrored = distribute.make_strategy("mirrored")
    for case in cases:
        case = dict(case)
        batch_norm, sync = case.pop("batch_norm", False), case.pop("sync", True)
        # The one-device reference runs eagerly: the same arithmetic without a trace (within
        # 1.2e-7 of the traced step on this CPU, against the 1e-6 the test allows), which
        # saves five of the ten traces.
        one = one_step(tf.distribute.get_strategy(), case, batch_norm, sync, eager=True)
        two = one_step(mirrored, case, batch_norm, sync)
        diffs = [
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(one["weights"], two["weights"])
        ]
        moved = [float(np.max(np.abs(np.asarray(a)))) for a in one["weights"]]
        out.append(
            {
                **case,
                "batch_norm": batch_norm,
                "sync": sync,
                "max_weight_diff": max(diffs),
                "losses_one": [one["d_loss"], one["g_loss"]],
                "losses_two": [two["d_loss"], two["g_loss"]],
                "weight_scale": max(moved),
            }
        )
    return out


def check_noise() -> dict:
    """Noise of each replica in two runs with the same seed."""
    strategy = distribute.make_strategy("mirrored")

    def draw():
        with strategy.scope():
            gan = MNISTGAN(LATENT, *tiny_networks(), preset="mlp", seed=7)

        @tf.function
        def step():
            return strategy.run(lambda: gan.sample_noise(4))

        first = [t.numpy() for t in strategy.experimental_local_results(step())]
        second = [t.numpy() for t in strategy.experimental_local_results(step())]
        return first, second

    (a0, a1), (b0, b1) = draw()
    (c0, c1), _ = draw()
    return {
        "replicas": strategy.num_replicas_in_sync,
        "replicas_differ": not np.allclose(a0, a1),
        "steps_differ": not np.allclose(a0, b0),
        "reproducible": bool(np.array_equal(a0, c0) and np.array_equal(a1, c1)),
    }


def check_trainer(folder: str) -> dict:
    """A mirrored run in one go vs stopped after epoch 1 and resumed; its checkpoint into a
    model made without a strategy, one written without a strategy into a mirrored model, and
    its model.keras loaded and sampled without a strategy."""
    import glob

    from mnist_gan.gan.checkpoint import load_checkpoint, save_checkpoint
    from mnist_gan.training.trainer import GANTrainer
    from tests.conftest import synthetic_digits

    digits = synthetic_digits(32, 3)
    # The tiny networks (batch norm, synchronised) with fast's R1, simultaneous update and EMA
    # generator: every piece of state a strategy must carry, at a fraction of fast's tracing.
    register_tiny()
    common = dict(
        preset="tiny",
        **{k: FAST_SETTINGS[k] for k in ("r1_gamma", "update", "ema_decay", "ema_start")},
        batch_size=16,
        seed=3,
        jit_compile=False,
        sample_frequency=0,
    )

    def trainer(out, epochs, strategy="mirrored"):
        made = GANTrainer(epochs=epochs, output_dir=out, strategy=strategy, **common)
        made.load_data(digits)
        return made

    def run(out, epochs):
        made = trainer(out, epochs)
        made.train(verbose=0)
        return made

    def max_diff(a, b):
        return max(
            float(np.max(np.abs(x.numpy() - y.numpy()))) for x, y in zip(a.weights, b.weights)
        )

    whole = run(f"{folder}/whole", 2)
    run(f"{folder}/resumed", 1)
    resumed = run(f"{folder}/resumed", 2)
    plain = trainer(f"{folder}/plain", 2, "default")
    plain.build_model()
    load_checkpoint(plain.gan, sorted(glob.glob(f"{folder}/whole/checkpoints/*.npz"))[-1])
    written = save_checkpoint(plain.gan, f"{folder}/plain.npz", 2, {})
    back = trainer(f"{folder}/back", 2)
    back.build_model()
    load_checkpoint(back.gan, written)
    model = keras.models.load_model(f"{folder}/whole/model.keras")
    images = model.generate(4, seed=1)
    return {
        "whole_vs_resumed": max_diff(whole.gan, resumed.gan),
        "checkpoint_without_strategy": max_diff(whole.gan, plain.gan),
        "checkpoint_into_strategy": max_diff(whole.gan, back.gan),
        "back_replicas": distribute.replicas(back.strategy),
        "replicas": whole.summary["replicas"],
        "history_d_loss": whole.history["d_loss"],
        "resumed_history_d_loss": resumed.history["d_loss"],
        "keras_file_generates": bool(np.isfinite(images).all() and images.shape == (4, 28, 28, 1)),
    }


def check_worker(folder: str) -> dict:
    """One worker of a MultiWorkerMirroredStrategy cluster (TF_CONFIG set by the caller)."""
    from mnist_gan.training.trainer import GANTrainer
    from tests.conftest import synthetic_digits

    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    register_tiny()
    trainer = GANTrainer(
        preset="tiny",
        epochs=1,
        batch_size=16,
        seed=3,
        jit_compile=False,
        sample_frequency=0,
        strategy="multi-worker",
        output_dir=f"{folder}/worker{index}",
    )
    trainer.load_data(synthetic_digits(32, 3))
    trainer.train(verbose=0)
    return {"replicas": trainer.summary["replicas"], "steps": trainer.summary["global_step"]}


def bench(strategy_name: str, sync: bool, preset: str = "dcgan", steps: int = 20) -> dict:
    """Images/s and ms per step of ``steps`` steps (after a warm-up epoch) of ``preset``."""
    import time

    from mnist_gan.data.pipeline import scale_images
    from mnist_gan.gan.model import build_gan
    from mnist_gan.models.presets import make_config
    from tests.conftest import synthetic_digits

    config = make_config(preset, jit_compile=False, batch_size=100)
    strategy = distribute.make_strategy(strategy_name)
    with strategy.scope():
        gan = build_gan(config, seed=0)
    for network in (gan.generator, gan.discriminator):
        distribute.synchronize_batch_norm(network, sync)
    images = scale_images(synthetic_digits(100 * steps, 3), config.pixel_range)
    data = tf.data.Dataset.from_tensor_slices(images).batch(100).repeat()
    gan.fit(data, epochs=1, steps_per_epoch=3, verbose=0)  # trace and warm up
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    seconds = time.perf_counter() - start
    return {
        "strategy": strategy_name,
        "replicas": distribute.replicas(strategy),
        "sync_batch_norm": sync,
        "images_per_second": round(100 * steps / seconds, 1),
        "ms_per_step": round(1000 * seconds / steps, 1),
    }


if __name__ == "__main__":
    what = sys.argv[1]
    if what not in ("worker", "bench1"):
        split_cpu(2)
    if what == "bench1":  # python tests/gan/distribute_check.py bench1: one device
        result = bench("default", False)
    elif what == "bench2":  # bench2 on|off: 2 logical CPU replicas, sync batch norm on or off
        result = bench("mirrored", sys.argv[2] == "on")
    elif what == "worker":
        result = check_worker(sys.argv[2])
    elif what == "noise":
        result = check_noise()
    elif what == "step":
        result = check_step(json.loads(sys.argv[2]))
    elif what == "trainer":
        result = check_trainer(sys.argv[2])
    elif what == "all":  # one TensorFlow start for the three checks
        import time

        result, start = {}, time.perf_counter()
        for name, check in (
            ("noise", check_noise),
            ("step", lambda: check_step(json.loads(sys.argv[3]))),
            ("trainer", lambda: check_trainer(sys.argv[2])),
        ):
            result[name] = check()
            print(f"{name}: {time.perf_counter() - start:.1f}s", file=sys.stderr)
    else:
        raise SystemExit(f"unknown check {what}")
    print("RESULT " + json.dumps(result))

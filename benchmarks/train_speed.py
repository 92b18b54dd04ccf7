"""Training and sampling speed of mnist-gan against the plain TensorFlow loop, in one process.

Run: ``python -m benchmarks.train_speed`` (all presets; ``--presets dcgan,mlp`` for some).
Writes ``benchmarks/results/train_speed.json`` and ``.md``.

For each preset it alternates, ``--repeats`` times: the *model defaults* (``MNISTGAN(preset=P)``,
``compile()`` with no arguments, ``fit`` on a plain pre-scaled float ``tf.data``), the
*package* path (``build_gan`` + the trainer's data), a *same-update reference* (for alternating
presets a hand-written loop in the keras-io GAN guide's style:
:func:`make_alternating_reference_step`), and a *reference loop* written
the way the TensorFlow DCGAN tutorial writes it: one ``@tf.function`` step with two
``GradientTape``s, one generator forward, the discriminator called on the real and the fake
batch separately, ``apply_gradients``, and a ``from_tensor_slices -> shuffle -> batch ->
prefetch`` pipeline; same networks, batch size and optimizers, and the logistic loss without
R1 and without a generator EMA in both (``BENCHMARK_SETTINGS``: the reference has none of
them; R1 costs ``fast`` about 5 % per step in its quality runs). Each timed run follows
a warm-up
(tracing, compilation). Medians and IQRs are reported with the load average of each round,
and the ratios defaults / same-update reference and package / reference per preset, both in
wall-clock images/s, in images per CPU-second of the process (``time.process_time``) and in
*steady* images/s: from the median time between consecutive steps inside a run
(:class:`StepClock`), leaving out ``fit``'s per-call setup. On the VM of docs/speed.md whole
runs come out in multiples of about 1.27 s while the steps inside them do not; the steady and
CPU figures are the ones that measure the code.

Also measured: one-image generation latency through ``MNISTGAN.generate`` (p50, p99) and
images/s at batch 1000; peak resident memory of the process; achieved GFLOP/s from an analytic
FLOP count beside a measured dense-matmul peak of the same machine.

FLOP count: forward multiply-accumulates per image of every Dense/Conv/ConvTranspose layer,
``F_G`` and ``F_D``. A backward pass costs twice its forward (input and weight gradients), one
that only needs input gradients costs once. Per image and step, alternating update:
D step ``F_G + 2 F_D`` forward + ``4 F_D`` backward, G step ``F_G + F_D`` forward + ``F_D + 2 F_G``
backward = ``4 F_G + 8 F_D`` MACs; simultaneous update: ``F_G + 2 F_D`` forward + ``2 F_D``
(D weights) + ``F_D + 2 F_G`` (G through D) = ``3 F_G + 5 F_D`` MACs. FLOPs = 2 x MACs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mnist_gan.data.pipeline import make_dataset, make_epoch_dataset, steps_per_epoch  # noqa: E402
from mnist_gan.gan.model import MNISTGAN, build_gan  # noqa: E402
from mnist_gan.gan.optimizers import make_optimizers  # noqa: E402
from mnist_gan.models.presets import PRESETS, make_config  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


# ------------------------------------------------------------------------------ reference loop
def make_reference_step(generator, discriminator, g_opt, d_opt, config):
    """The TensorFlow DCGAN tutorial's train step, for the given networks and optimizers."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    latent, batch_noise = config.latent_dim, config.noise

    @tf.function
    def train_step(images):
        n = tf.shape(images)[0]
        if batch_noise == "uniform":
            noise = tf.random.uniform([n, latent], -1.0, 1.0)
        else:
            noise = tf.random.normal([n, latent])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = bce(tf.ones_like(fake_output), fake_output)
            disc_loss = bce(tf.ones_like(real_output), real_output) + bce(
                tf.zeros_like(fake_output), fake_output
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return train_step


def make_alternating_reference_step(generator, discriminator, g_opt, d_opt, config):
    """The keras-io GAN guide's alternating step: a discriminator step on real and fake
    images, then a generator step on fresh noise through the updated discriminator; two tapes,
    one ``@tf.function``. The discriminator sees real and fake in two calls (one call on the
    concatenation when the preset fuses them), so both loops run the same update."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    latent, batch_noise = config.latent_dim, config.noise
    fused, mean = config.fused_discriminator, config.d_loss_reduction == "mean"

    def noise(n):
        if batch_noise == "uniform":
            return tf.random.uniform([n, latent], -1.0, 1.0)
        return tf.random.normal([n, latent])

    @tf.function
    def train_step(images):
        n = tf.shape(images)[0]
        generated = generator(noise(n), training=True)
        with tf.GradientTape() as disc_tape:
            if fused:
                logits = discriminator(tf.concat([images, generated], 0), training=True)
                real_output, fake_output = logits[:n], logits[n:]
            else:
                real_output = discriminator(images, training=True)
                fake_output = discriminator(generated, training=True)
            disc_loss = bce(tf.ones_like(real_output), real_output) + bce(
                tf.zeros_like(fake_output), fake_output
            )
            if mean:
                disc_loss = disc_loss / 2.0
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        with tf.GradientTape() as gen_tape:
            fake_output = discriminator(generator(noise(n), training=True), training=True)
            gen_loss = bce(tf.ones_like(fake_output), fake_output)
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        return gen_loss, disc_loss

    return train_step


def reference_dataset(images: np.ndarray, config) -> tf.data.Dataset:
    """The tutorial's pipeline: float images in range, shuffled, batched, prefetched."""
    low, high = config.pixel_range
    x = images.reshape(-1, 28, 28, 1).astype("float32") / 255.0 * (high - low) + low
    if config.image_size != 28:
        x = tf.image.resize(x, (config.image_size,) * 2).numpy()
    return (
        tf.data.Dataset.from_tensor_slices(x)
        .shuffle(len(x))
        .batch(config.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


float_dataset = reference_dataset  # a plain tf.data pipeline of pre-scaled float images


class StepClock(keras.callbacks.Callback):
    """The time at the end of every ``fit`` batch (one per execution of ``steps_per_execution``
    steps), so steps can be timed apart from ``fit``'s per-call setup and teardown."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.stamps.append(time.perf_counter())


def timed_fit(gan: MNISTGAN, dataset: Any, steps: int, callbacks: Any = ()) -> tuple[float, list]:
    """Seconds for a ``fit`` of ``steps`` steps (rounded down to whole executions, at least one),
    and the :class:`StepClock` stamps of its batches (the first is the start)."""
    spe = gan.steps_per_execution or 1
    steps = max(spe, steps - steps % spe)
    clock = StepClock()
    start = time.perf_counter()
    clock.stamps.append(start)
    gan.fit(
        dataset,
        epochs=1,
        steps_per_epoch=steps,
        verbose=0,
        shuffle=False,
        callbacks=[clock, *callbacks],
    )
    return time.perf_counter() - start, clock.stamps


def alternate(
    loops: dict[str, Any], steps: int, repeats: int, batch_size: int
) -> tuple[dict[str, dict[str, list[float]]], list[float]]:
    """Time every loop in turn, ``repeats`` rounds of ``steps`` steps, so that machine load hits
    all alike. Per loop and round: ``wall`` images/s, ``cpu`` images per CPU-second of the
    process and ``steady`` images/s from the run's median step (loops keep ``stamps`` and
    ``spe``); and the 1-minute load average of each round."""
    figures = {key: {"wall": [], "cpu": [], "steady": []} for key in loops}
    loads = []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        for key, loop in loops.items():
            cpu = time.process_time()
            wall = loop.run(steps)
            cpu = time.process_time() - cpu
            figures[key]["wall"].append(steps * batch_size / wall)
            figures[key]["cpu"].append(steps * batch_size / cpu)
            step = steady_step_seconds(loop.stamps, loop.spe)
            figures[key]["steady"].append(batch_size / step)
    return figures, loads


def steady_step_seconds(stamps: list[float], steps_per_stamp: int = 1, period: int = 1) -> float:
    """Median seconds per step between consecutive stamps, the first interval left out (it
    holds the iterator's start and the first batch's wait). With ``period`` > 1 (lazy R1 every
    ``period`` steps: one step in ``period`` is longer) the median is taken over the means of
    whole periods, so the longer steps count as often as they run."""
    intervals = np.diff(stamps)[1:]
    whole = len(intervals) - len(intervals) % period
    periods = intervals[:whole].reshape(-1, period).mean(axis=1)
    return float(np.median(periods)) / steps_per_stamp


class Reference:
    """Networks + optimizers + step of a reference loop for one preset: the TF DCGAN tutorial's
    simultaneous step (``update="simultaneous"``), or the keras-io alternating one."""

    spe = 1

    def __init__(self, config, images: np.ndarray, update: str = "simultaneous") -> None:
        keras.utils.set_random_seed(0)
        gan = MNISTGAN(config=config)
        self.generator, self.discriminator = gan.generator, gan.discriminator
        g_opt, d_opt = make_optimizers(config)
        make = make_reference_step if update == "simultaneous" else make_alternating_reference_step
        self.step = make(self.generator, self.discriminator, g_opt, d_opt, config)
        self.dataset = reference_dataset(images, config)

    def run(self, steps: int) -> float:
        """Seconds for ``steps`` training steps (``self.stamps``: the time after each)."""
        start = time.perf_counter()
        self.stamps = [start]
        done = 0
        while done < steps:
            for batch in self.dataset:
                self.step(batch)
                self.stamps.append(time.perf_counter())
                done += 1
                if done == steps:
                    break
        return time.perf_counter() - start


class ModelDefaults:
    """What the README shows: ``MNISTGAN(preset=P)``, ``gan.compile()`` with no arguments, and
    ``gan.fit(make_dataset(x_train, batch_size))``: a plain ``tf.data`` pipeline (shuffled,
    batched, scaled, prefetched). Only the benchmark's overrides (no R1, logistic loss, no EMA)
    are passed."""

    def __init__(self, config, images: np.ndarray, overrides: dict[str, Any]) -> None:
        keras.utils.set_random_seed(0)
        settings = {**BENCHMARK_SETTINGS, **overrides}
        settings.pop("batch_size", None)
        self.gan = MNISTGAN(preset=config.preset, seed=0, **_model_settings(settings))
        self.gan.compile()
        self.spe = self.gan.steps_per_execution or 1
        self.dataset = make_dataset(
            images, config.batch_size, seed=0, pixel_range=config.pixel_range
        ).repeat()

    def run(self, steps: int) -> float:
        """Seconds for ``steps`` training steps via ``fit`` (steps rounded to executions)."""
        seconds, self.stamps = timed_fit(self.gan, self.dataset, steps)
        return seconds


def _model_settings(settings: dict[str, Any]) -> dict[str, Any]:
    from mnist_gan.config import MODEL_SETTINGS

    return {k: v for k, v in settings.items() if k in MODEL_SETTINGS}


class Package:
    """The package's path: MNISTGAN.fit on the trainer's resident, per-epoch-shuffled data."""

    def __init__(self, config, images: np.ndarray) -> None:
        keras.utils.set_random_seed(0)
        self.gan = build_gan(config, seed=0)
        self.config, self.images = config, images
        self.epochs_seen = 0
        self.spe = config.steps_per_execution

    def run(self, steps: int) -> float:
        """Seconds for ``steps`` training steps via ``fit`` (steps rounded to executions)."""
        c = self.config
        per_epoch = steps_per_epoch(len(self.images), c.batch_size)
        epochs_needed = -(-steps // per_epoch) + 1
        ds = make_epoch_dataset(
            self.images,
            c.batch_size,
            first_epoch=self.epochs_seen,
            last_epoch=self.epochs_seen + epochs_needed,
            seed=0,
            pixel_range=c.pixel_range,
        )
        self.epochs_seen += epochs_needed
        seconds, self.stamps = timed_fit(self.gan, ds, steps)
        return seconds


def ablation(config, images: np.ndarray, steps: int, repeats: int) -> dict[str, float]:
    """Where the package's time goes, for one preset: images/s of

    - ``fit``: the package path (``MNISTGAN.fit`` on the trainer's dataset);
    - ``fit_on_reference_data``: the same ``fit`` on the reference loop's pipeline;
    - ``train_step_loop``: ``gan.train_step`` in a plain ``tf.function`` loop (no ``fit``);
    - ``reference``: the tutorial loop.
    """
    package, reference = Package(config, images), Reference(config, images)
    ref_ds = reference_dataset(images, config).repeat()

    def fit_on_reference(n: int) -> float:
        start = time.perf_counter()
        package.gan.fit(ref_ds, epochs=1, steps_per_epoch=n, verbose=0, shuffle=False)
        return time.perf_counter() - start

    step_fn = tf.function(package.gan.train_step, jit_compile=config.jit_compile)

    def step_loop(n: int) -> float:
        iterator = iter(ref_ds)
        start = time.perf_counter()
        for _ in range(n):
            step_fn(next(iterator))
        return time.perf_counter() - start

    runs = {
        "fit": package.run,
        "fit_on_reference_data": fit_on_reference,
        "train_step_loop": step_loop,
        "reference": reference.run,
    }
    for run in runs.values():
        run(3)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(steps * config.batch_size / run(steps))
    return {name: statistics.median(values) for name, values in times.items()}


# ------------------------------------------------------------------------------ FLOPs
def forward_macs(model: keras.Model) -> int:
    """Multiply-accumulates of one image's forward pass through Dense/Conv layers."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            h, w = layer.input.shape[1:3]
            total += h * w * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2D):
            h, w = layer.output.shape[1:3]
            total += h * w * int(np.prod(layer.kernel.shape))
    return total


def step_flops_per_image(gan: MNISTGAN, update: str) -> int:
    """Training FLOPs per image and step (see the module docstring for the formula)."""
    f_g, f_d = forward_macs(gan.generator), forward_macs(gan.discriminator)
    macs = 3 * f_g + 5 * f_d if update == "simultaneous" else 4 * f_g + 8 * f_d
    return 2 * macs


def matmul_peak_gflops(n: int = 1024, repeats: int = 20) -> float:
    """Measured dense float32 matmul throughput of this machine, GFLOP/s (best of 3)."""
    a = tf.random.normal((n, n))

    @tf.function
    def chain(x):
        for _ in range(repeats):
            x = tf.matmul(x, a) * 1e-3
        return x

    chain(a)
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        chain(a).numpy()
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


# ------------------------------------------------------------------------------ generation
def generation_latency(gan: MNISTGAN, runs: int = 300) -> dict[str, float]:
    """One image through ``gan.generate`` (ms p50/p99) and images/s at batch 1000."""
    for _ in range(20):
        gan.generate(1, seed=0)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        gan.generate(1, seed=i)
        times.append((time.perf_counter() - start) * 1e3)
    gan.generate(1000, seed=0)
    start = time.perf_counter()
    gan.generate(5000, seed=1, batch_size=1000)
    rate = 5000 / (time.perf_counter() - start)
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
        "batch1000_images_per_s": rate,
    }


# ------------------------------------------------------------------------------ main
BENCHMARK_SETTINGS = {"r1_gamma": 0.0, "loss": "bce", "ema_decay": 0.0}


def benchmark_config(name: str, overrides: dict[str, Any]):
    """A preset's settings as both loops run them: the reference loop has no R1 penalty, no
    hinge loss and no generator average, so both run the plain logistic update and the ratio
    compares loops, not algorithms."""
    return make_config(name, **{**BENCHMARK_SETTINGS, **overrides})


def spread(values: list[float]) -> dict[str, float]:
    """Median and interquartile range."""
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3)}


def bench_preset(name: str, steps: int, repeats: int, overrides: dict[str, Any]) -> dict:
    """Alternate, ``repeats`` times, the model-defaults path, the package (trainer data) path,
    the reference loop running the preset's own update and the simultaneous tutorial loop."""
    config = benchmark_config(name, overrides)
    images = np.random.default_rng(0).integers(0, 256, (6400, 28, 28), dtype=np.uint8)
    loops: dict[str, Any] = {
        "defaults": ModelDefaults(config, images, overrides),
        "package": Package(config, images),
        "reference_same": Reference(config, images, config.update),
    }
    if config.update != "simultaneous":
        loops["reference"] = Reference(config, images, "simultaneous")
    warm = max(3, 2 * config.steps_per_execution)
    for loop in loops.values():
        loop.run(warm)
    if steps <= 0:  # size each timed run to about 2 seconds of the reference loop
        probe = 2 if config.image_size > 28 else 5
        per_step = loops["reference_same"].run(probe) / probe
        steps = int(min(600, max(3 if per_step > 1 else 10, 2.0 / per_step)))
    spe = config.steps_per_execution
    steps = max(spe, steps - steps % spe)
    figures, loads = alternate(loops, steps, repeats, config.batch_size)
    runs = {key: f["wall"] for key, f in figures.items()}
    cpu_runs = {key: f["cpu"] for key, f in figures.items()}  # images per CPU-second
    steady_runs = {key: f["steady"] for key, f in figures.items()}  # from the median step
    if "reference" not in runs:
        runs["reference"] = runs["reference_same"]
        cpu_runs["reference"] = cpu_runs["reference_same"]
        steady_runs["reference"] = steady_runs["reference_same"]
    med = {key: statistics.median(values) for key, values in runs.items()}
    cpu_med = {key: statistics.median(values) for key, values in cpu_runs.items()}
    steady_med = {key: statistics.median(values) for key, values in steady_runs.items()}
    flops = step_flops_per_image(loops["package"].gan, config.update)
    ref_flops = step_flops_per_image(loops["package"].gan, "simultaneous")
    result = {
        "preset": name,
        "batch_size": config.batch_size,
        "steps": steps,
        "update": config.update,
        "jit_compile": config.jit_compile,
        "steps_per_execution": config.steps_per_execution,
        "fused_discriminator": config.fused_discriminator,
        "loads": loads,
        "defaults_images_per_s": med["defaults"],
        "package_images_per_s": med["package"],
        "reference_same_images_per_s": med["reference_same"],
        "reference_images_per_s": med["reference"],
        "spread": {key: spread(values) for key, values in runs.items()},
        "cpu_spread": {key: spread(values) for key, values in cpu_runs.items()},
        "cpu_runs": cpu_runs,
        "steady_spread": {key: spread(values) for key, values in steady_runs.items()},
        "steady_runs": steady_runs,
        "defaults_runs": runs["defaults"],
        "package_runs": runs["package"],
        "reference_same_runs": runs["reference_same"],
        "reference_runs": runs["reference"],
        "ratio_defaults_same_update": med["defaults"] / med["reference_same"],
        "cpu_ratio_defaults_same_update": cpu_med["defaults"] / cpu_med["reference_same"],
        "steady_ratio_defaults_same_update": steady_med["defaults"] / steady_med["reference_same"],
        "steady_ratio_package_defaults": steady_med["package"] / steady_med["defaults"],
        "ratio_package_defaults": med["package"] / med["defaults"],
        "cpu_ratio_package_defaults": cpu_med["package"] / cpu_med["defaults"],
        "ratio": med["package"] / med["reference"],
        "package_gflops": med["package"] * flops / 1e9,
        "reference_gflops": med["reference"] * ref_flops / 1e9,
        "train_mflop_per_image": flops / 1e6,
    }
    if name in ("dcgan", "mlp") or overrides.get("latency"):
        result["generation"] = generation_latency(loops["package"].gan)
    return result


def markdown(results: dict) -> str:
    """The README table."""
    lines = [
        f"Machine: {results['machine']}; dense matmul peak {results['matmul_peak_gflops']:.0f} "
        f"GFLOP/s; TensorFlow {results['tensorflow']}, Keras {results['keras']}; "
        f"{results['repeats']} alternating repeats, medians (IQR); "
        f"peak RSS {results['peak_rss_mib']:.0f} MiB; {results.get('date', '')}.",
        "",
        f"Command: `{results.get('command', 'python -m benchmarks.train_speed')}`",
        "",
        "Model defaults (`MNISTGAN(preset=P)`, `compile()`, `fit(make_dataset(...))`) against "
        "a hand-written loop running the same update. *Steady*: images/s from the median "
        "step (the time between consecutive steps, `fit`'s per-call setup left out); *wall*: "
        "whole runs; *CPU*: images per CPU-second of the process. Medians (IQR) of the repeats:",
        "",
        "| preset | update | XLA | defaults, steady img/s | reference, steady img/s | ratio "
        "| wall ratio | CPU ratio | trainer / defaults (steady, wall) | load |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results["presets"]:
        d, f = r["steady_spread"]["defaults"], r["steady_spread"]["reference_same"]
        lines.append(
            f"| {r['preset']} | {r['update']} | {'on' if r['jit_compile'] else 'off'} | "
            f"{d['median']:.0f} ({d['q1']:.0f}–{d['q3']:.0f}) | "
            f"{f['median']:.0f} ({f['q1']:.0f}–{f['q3']:.0f}) | "
            f"**{r['steady_ratio_defaults_same_update']:.2f}×** | "
            f"{r['ratio_defaults_same_update']:.2f}× | "
            f"{r['cpu_ratio_defaults_same_update']:.2f}× | "
            f"{r['steady_ratio_package_defaults']:.2f}×, {r['ratio_package_defaults']:.2f}× | "
            f"{min(r['loads']):.1f}–{max(r['loads']):.1f} |"
        )
    lines += [
        "",
        "The package's path (trainer data, preset settings) against the simultaneous TF DCGAN "
        "tutorial loop:",
        "",
        "| preset | batch | update | XLA | steps/exec | package img/s | reference img/s | "
        "ratio | package GFLOP/s | reference GFLOP/s |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results["presets"]:
        lines.append(
            f"| {r['preset']} | {r['batch_size']} | {r['update']} | "
            f"{'on' if r['jit_compile'] else 'off'} | {r['steps_per_execution']} | "
            f"{r['package_images_per_s']:.0f} | {r['reference_images_per_s']:.0f} | "
            f"**{r['ratio']:.2f}×** | {r['package_gflops']:.1f} | {r['reference_gflops']:.1f} |"
        )
    lines += [
        "",
        "| preset | 1-image p50 | 1-image p99 | images/s at batch 1000 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in results["presets"]:
        if "generation" in r:
            g = r["generation"]
            lines.append(
                f"| {r['preset']} | {g['p50_ms']:.2f} ms | {g['p99_ms']:.2f} ms | "
                f"{g['batch1000_images_per_s']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    """Run the suite and write JSON + markdown; returns the results dict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument(
        "--steps", type=int, default=0, help="timed steps per run (0: about 4 s per run)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override settings for every preset, e.g. update=alternating",
    )
    parser.add_argument("--out", default=str(RESULTS / "train_speed"))
    parser.add_argument(
        "--ablation", metavar="PRESET", help="only break down where one preset's time goes"
    )
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = json.loads(value) if value[:1] in "0123456789tf[-" else value
    if args.ablation:
        config = benchmark_config(args.ablation, overrides)
        images = np.random.default_rng(0).integers(0, 256, (6400, 28, 28), dtype=np.uint8)
        found = ablation(config, images, args.steps or 15, args.repeats)
        print(json.dumps({"preset": args.ablation, "overrides": overrides, **found}))
        return found
    results = {
        "machine": f"{platform.node() or 'host'}: {_cpu_model()}, {os.cpu_count()} CPU threads, "
        f"{platform.machine()}, {_gpu_names() or 'no GPU'}, load {os.getloadavg()[0]:.1f}",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "steps": args.steps,
        "repeats": args.repeats,
        "overrides": overrides,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python -m benchmarks.train_speed "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "matmul_peak_gflops": matmul_peak_gflops(),
        "presets": [],
    }
    for name in args.presets.split(","):
        r = bench_preset(name, args.steps, args.repeats, overrides)
        print(json.dumps({k: v for k, v in r.items() if not k.endswith("_runs")}), flush=True)
        results["presets"].append(r)
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    return results


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _gpu_names() -> str:
    return ", ".join(d.name for d in tf.config.list_physical_devices("GPU"))


if __name__ == "__main__":
    main()

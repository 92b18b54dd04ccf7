"""One-image latency of each export format of a generator, as a markdown table.

Run: ``python -m benchmarks.export_latency`` (the ``dcgan`` and ``fast`` generators, untrained
weights: latency does not depend on them), ``--calls 300 --warmup 30`` by default.

Each generator is exported with :func:`mnist_gan.outputs.export.export_generator` at
``fixed_batch=1`` in every format, loaded back with the format's own runtime in this process,
and called ``warmup`` times, then ``calls`` times on the same noise vector, timing each call
(feeding one noise vector, getting uint8 ``(1, 28, 28)`` back as numpy). The ``keras`` row is
the reference: the generator called eagerly (``training=False``) plus
:func:`mnist_gan.data.images.to_uint8`, as :func:`mnist_gan.gan.render.render_uint8` does.
Runtimes: ``tf.saved_model.load(...).signatures["serving_default"]``,
``onnxruntime.InferenceSession`` (CPU provider), ``ai_edge_litert.interpreter.Interpreter``
(default XNNPACK delegate). Thread counts are each runtime's defaults.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from mnist_gan.gan.render import render_uint8  # noqa: E402
from mnist_gan.outputs.export import FORMATS, export_generator  # noqa: E402


def _runner(fmt: str, path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """A function noise (1, latent_dim) float32 -> uint8 (1, 28, 28) for an artifact."""
    if fmt == "saved_model":
        import tensorflow as tf

        signature = tf.saved_model.load(str(path)).signatures["serving_default"]
        return lambda z: signature(noise=tf.constant(z))["images"].numpy()
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return lambda z: session.run(None, {"noise": z})[0]
    if fmt == "litert":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
        (noise_in,) = interpreter.get_input_details()
        (images_out,) = interpreter.get_output_details()

        def run(z: np.ndarray) -> np.ndarray:
            interpreter.set_tensor(noise_in["index"], z)
            interpreter.invoke()
            return interpreter.get_tensor(images_out["index"])

        return run
    raise ValueError(f"unknown format {fmt!r}")


def _time_calls(fn: Callable[[np.ndarray], np.ndarray], z: np.ndarray, calls: int, warmup: int):
    for _ in range(warmup):
        fn(z)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn(z)
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(np.ceil(0.99 * len(times))) - 1)],
    }


def bench_generator(
    name: str,
    generator: keras.Model,
    latent_dim: int,
    *,
    calls: int = 300,
    warmup: int = 30,
    formats: tuple[str, ...] = FORMATS,
) -> list[dict]:
    """Latency rows ``{generator, format, p50_ms, p99_ms, size_kib}`` for keras + ``formats``.

    Also checks that each export gives the keras reference's pixels (max difference <= 1).
    """
    z = np.random.default_rng(0).standard_normal((1, latent_dim)).astype(np.float32)
    reference = render_uint8(generator, z)
    rows = [
        {
            "generator": name,
            "format": "keras (eager)",
            "size_kib": None,
            **_time_calls(lambda x: render_uint8(generator, x), z, calls, warmup),
        }
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            path = export_generator(generator, tmp, fmt=fmt, fixed_batch=1)
            run = _runner(fmt, path)
            got = run(z)
            diff = np.abs(got.astype(int) - reference.astype(int)).max()
            if got.shape != reference.shape or diff > 1:
                raise AssertionError(f"{name} {fmt}: export differs from keras by {diff}")
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            rows.append(
                {
                    "generator": name,
                    "format": fmt,
                    "size_kib": sum(p.stat().st_size for p in files) / 1024,
                    **_time_calls(run, z, calls, warmup),
                }
            )
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table."""
    lines = [
        "| generator | format | p50 ms | p99 ms | artifact KiB |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        size = "" if r["size_kib"] is None else f"{r['size_kib']:.0f}"
        lines.append(
            f"| {r['generator']} | {r['format']} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {size} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: benchmark the dcgan and fast generators and print the table."""
    from mnist_gan.models.dcgan import build_dcgan_generator
    from mnist_gan.models.fast import build_fast_generator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--generators", default="dcgan,fast", help="comma list: dcgan, fast")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    builders = {"dcgan": build_dcgan_generator, "fast": build_fast_generator}
    keras.utils.set_random_seed(0)
    rows = []
    for name in args.generators.split(","):
        generator = builders[name](100)
        rows += bench_generator(name, generator, 100, calls=args.calls, warmup=args.warmup)
    table = markdown(rows)
    header = (
        f"{args.calls} one-image calls after {args.warmup} warm-up, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, keras {keras.__version__}\n\n"
    )
    print(header + table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(header + table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How fast ``mnist-gan serve`` answers: ``python -m benchmarks.serve_latency``.

Starts a real server process (the shipped presets, uvicorn on 127.0.0.1), then, from this
process over keep-alive HTTP connections:

1. **latency**: ``--requests`` one-image sample requests (``/api/sample?n=1&format=png``,
   fresh seeds, the model ``--model``), one at a time after a warm-up: p50, p90, p99 and max of
   the end-to-end time (request sent to PNG received);
2. **load**: ``--clients`` threads, each with its own connection, send requests for
   ``--seconds`` seconds: requests per second, errors, and the latency percentiles under load;
3. **memory**: the server's resident memory after the warm-up and after ``--memory-requests``
   more requests (the growth must stay within 10 %).

Results: ``benchmarks/results/serve_latency.{json,md}`` and docs/serve.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    """``mnist-gan serve --port PORT`` in its own process, once it answers ``/healthz``."""
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "mnist_gan", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50/p90/p99/max of ``seconds``, in milliseconds."""
    ms = 1e3 * np.asarray(seconds)
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "requests": int(len(ms)),
    }


def one_image(client: Any, base: str, model: str, seed: int) -> float:
    """Seconds for one sample request; raises on a non-200 answer."""
    start = time.perf_counter()
    response = client.get(f"{base}/api/sample", params={"model": model, "n": 1, "seed": seed})
    elapsed = time.perf_counter() - start
    if response.status_code != 200 or response.headers["content-type"] != "image/png":
        raise RuntimeError(f"status {response.status_code}: {response.text[:200]}")
    return elapsed


def load(base: str, model: str, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` threads sending one-image requests for ``seconds``; counts and latencies."""
    import httpx

    times: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()

    def client_loop(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            seed = 10_000_000 * (index + 1)
            while time.monotonic() < stop_at:
                seed += 1
                try:
                    elapsed = one_image(client, base, model, seed)
                except Exception as err:  # noqa: BLE001 - every failure is counted
                    with lock:
                        errors.append(str(err)[:200])
                    continue
                with lock:
                    times.append(elapsed)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return {
        "clients": clients,
        "seconds": round(wall, 2),
        "requests_per_second": round(len(times) / wall, 1),
        "errors": len(errors),
        "first_errors": errors[:3],
        **percentiles(times),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the three measurements, print the table, write the result files."""
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fast", help="a shipped preset (fast)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--memory-requests", type=int, default=10_000)
    parser.add_argument("--out", default=str(RESULTS / "serve_latency"))
    args = parser.parse_args(argv)

    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=30) as client:
            for seed in range(200):  # warm-up: tracing, the ONNX Runtime copy, connections
                one_image(client, base, args.model, seed)
            latency = percentiles(
                [one_image(client, base, args.model, 1000 + i) for i in range(args.requests)]
            )
            rss_before = rss_mb(server.pid)
            for i in range(args.memory_requests):
                one_image(client, base, args.model, 100_000 + i)
            rss_after = rss_mb(server.pid)
        under_load = load(base, args.model, args.clients, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=60)
    result = {
        "model": args.model,
        "latency": latency,
        "load": under_load,
        "memory": {
            "rss_mb_after_warmup": round(rss_before, 1),
            "rss_mb_after": round(rss_after, 1),
            "requests": args.memory_requests,
            "growth_percent": round(100 * (rss_after - rss_before) / rss_before, 2),
        },
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_before": os.getloadavg()[0],
    }
    table = markdown(result)
    print(table)
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    Path(args.out).with_suffix(".md").write_text(table + "\n")
    return result


def markdown(result: dict[str, Any]) -> str:
    """The figures as recorded in docs/serve.md."""
    lat, load_, mem = result["latency"], result["load"], result["memory"]
    return "\n".join(
        [
            f"One-image `/api/sample` (`{result['model']}`, PNG), {lat['requests']} requests one "
            f"at a time: p50 **{lat['p50_ms']:.2f} ms**, p90 {lat['p90_ms']:.2f} ms, p99 "
            f"**{lat['p99_ms']:.2f} ms**, max {lat['max_ms']:.1f} ms.",
            "",
            f"{load_['clients']} concurrent clients for {load_['seconds']:.0f} s: "
            f"**{load_['requests_per_second']:.0f} requests/s**, **{load_['errors']} errors**, "
            f"p50 {load_['p50_ms']:.1f} ms, p99 {load_['p99_ms']:.1f} ms.",
            "",
            f"Server memory: {mem['rss_mb_after_warmup']:.0f} MB after the warm-up, "
            f"{mem['rss_mb_after']:.0f} MB after {mem['requests']:,} more requests "
            f"(**{mem['growth_percent']:+.1f} %**).",
        ]
    )


if __name__ == "__main__":
    main()

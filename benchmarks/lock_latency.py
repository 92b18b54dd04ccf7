"""What the run lock costs a trainer: ``python -m benchmarks.lock_latency [--old FILE]``.

Times ``RunLock(folder).acquire()`` + ``release()`` on a fresh folder (median and p99 of
``--calls`` rounds, after a warm-up). ``--old FILE`` times another implementation of the same
class beside it, loaded from a file (the pid-file lock this package used before it took
``filelock``: ``git show d356182~1:src/mnist_gan/runlock.py > old_runlock.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mnist_gan.reliability.lock import RunLock


def time_lock(lock_class: type, calls: int) -> dict[str, float]:
    """p50/p99 ms of one acquire + release, each round on a new folder."""
    with tempfile.TemporaryDirectory() as root:
        seconds = []
        for i in range(calls + 20):
            folder = Path(root) / str(i)
            folder.mkdir()
            start = time.perf_counter()
            lock_class(folder).acquire().release()
            seconds.append(time.perf_counter() - start)
    values = 1e3 * np.asarray(seconds[20:])
    return {"p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99))}


def load_class(path: str) -> type:
    """``RunLock`` from a module file outside the package."""
    spec = importlib.util.spec_from_file_location("old_runlock", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RunLock


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and print one line per implementation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--old", help="a module file defining the RunLock to compare with")
    args = parser.parse_args(argv)
    rows = [("filelock (now)", RunLock)]
    if args.old:
        rows.insert(0, ("pid file (before)", load_class(args.old)))
    print(f"load {os.getloadavg()[0]:.1f}, {args.calls} acquire+release rounds")
    for name, lock_class in rows:
        result = time_lock(lock_class, args.calls)
        print(f"{name}: p50 {result['p50_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms")


if __name__ == "__main__":
    main()

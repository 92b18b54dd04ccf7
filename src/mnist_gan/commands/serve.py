"""``mnist-gan serve``: the page and the HTTP API (:mod:`mnist_gan.serve`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mnist_gan.errors import MNISTGANError


def check_serve(args: argparse.Namespace) -> None:
    """The port and the sources, checked before TensorFlow loads."""
    from mnist_gan.serve.server import check_port

    if not 0 < args.port < 65536:
        raise MNISTGANError(f"--port must be 1..65535, got {args.port}")
    for source in args.sources:
        if not Path(source).exists():
            raise MNISTGANError(f"{source} does not exist (serve takes folders or .keras files)")
    check_port(args.host, args.port)


def run_serve(args: argparse.Namespace) -> int:
    """Serve the shipped presets and the sources until Ctrl-C or SIGTERM (docs/serve.md)."""
    from mnist_gan.serve.server import run_server

    return run_server(args.sources, args.host, args.port)

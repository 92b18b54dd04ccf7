"""``mnist-gan serve``: open the models, then run the app with uvicorn until Ctrl-C or SIGTERM."""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence

from mnist_gan.errors import MNISTGANError

ALL_INTERFACES = ("0.0.0.0", "::", "")


def check_port(host: str, port: int) -> None:
    """Raise :class:`MNISTGANError` when ``host:port`` cannot be listened on (in use, or not an
    address of this machine), before the models are loaded."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            reason = "is in use" if err.errno == errno.EADDRINUSE else f"cannot be used ({err})"
            raise MNISTGANError(
                f"{host}:{port} {reason}; choose another with --port (or --host)"
            ) from None


def run_server(sources: Sequence[str], host: str = "127.0.0.1", port: int = 8000) -> int:
    """Serve the shipped presets and ``sources`` at ``host:port``; returns 0 once stopped.

    uvicorn stops gracefully on Ctrl-C and SIGTERM: requests in flight finish first.
    """
    import uvicorn

    from mnist_gan.serve.app import create_app
    from mnist_gan.serve.models import open_shelf

    check_port(host, port)
    server_class = _server_class()
    shelf = open_shelf(sources)
    if host in ALL_INTERFACES:
        print(
            f"note: --host {host or '0.0.0.0'} listens on every network interface: anyone who "
            f"can reach this machine's port {port} can use these models (there is no login)"
        )
    shown = "127.0.0.1" if host in ALL_INTERFACES else host
    print(
        f"Serving {len(shelf.names)} model(s) ({', '.join(shelf.names)}) at "
        f"http://{shown}:{port}/ (Ctrl-C stops)",
        flush=True,
    )
    config = uvicorn.Config(
        create_app(shelf), host=host, port=port, log_level="warning", access_log=False
    )
    server_class(config).run()
    print("Stopped.")
    return 0


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, except that Ctrl-C or SIGTERM ends :func:`run_server` normally:
        uvicorn (0.29+) raises the signal again once it has shut down, which would end the
        process by it (exit 130/143, no "Stopped.") instead of returning 0."""

        def handle_exit(self, sig: int, frame: object) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    return Server

"""Where the package's log lines go: library code logs, the front ends decide what is shown.

Every module logs to the ``mnist_gan`` logger and prints nothing. The CLI and the notebook call
:func:`log_to_console` to show INFO lines (resume notes, the run summary) on stdout and
warnings on stderr; a program embedding the package can attach its own handlers instead.
"""

from __future__ import annotations

import logging
import sys


class ConsoleHandler(logging.Handler):
    """INFO lines to stdout, warnings and errors to stderr (looked up per line, not cached)."""

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
        print(self.format(record), file=stream, flush=True)


def log_to_console(level: int = logging.INFO) -> logging.Logger:
    """Show the package's log lines of ``level`` and above on the console (idempotent)."""
    package = logging.getLogger("mnist_gan")
    package.setLevel(level)
    package.propagate = False
    if not any(isinstance(h, ConsoleHandler) for h in package.handlers):
        package.addHandler(ConsoleHandler())
    return package

"""`assay -v`: the `assay` loggers to stderr while a command runs (INFO with -v, DEBUG with -vv).

Library code only ever calls `logging.getLogger(__name__)` (a child of "assay") and logs; nothing configures
logging at import, so assay is quiet unless asked, and an application embedding it decides where logs go.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


# StreamHandler is generic in the type stubs, but can't be subscripted at runtime before Python 3.11.
class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record (a live progress view, or a test runner,
    may replace it while the command runs)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # emit runs under the handler's lock
        super().emit(record)


def log_to_stderr(verbosity: int) -> Callable[[], None]:
    """Send the `assay` loggers to stderr (1: INFO, 2 or more: DEBUG). Returns the function that undoes it."""
    logger = logging.getLogger("assay")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    return undo

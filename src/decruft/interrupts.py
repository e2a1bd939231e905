"""Ctrl-C and SIGTERM around work that leaves containers, images or temporary files behind.

`fix --verify`, the multi-stage conversion and `bench` create engine objects that must be
removed however the run ends: inside `terminate_as_interrupt` a SIGTERM (CI cancelling a job,
``kill``) raises KeyboardInterrupt like Ctrl-C, so the same ``finally`` cleans up; inside
`shielded` both signals are ignored, so the cleanup itself is not cut short. Signal handlers can
only be set from the main thread; elsewhere both are no-ops.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt inside the block."""
    if not _in_main_thread():
        yield
        return

    def handler(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM inside the block (cleanup runs to the end)."""
    if not _in_main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

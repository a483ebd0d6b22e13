"""Polling until something holds, for tests that wait on other processes."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], bool], *, timeout: float, message: str, interval: float = 0.05
) -> float:
    """Poll *condition* until it holds; return the seconds that took. Fail with *message*."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{message} (waited {timeout} s)")
        time.sleep(interval)
    return time.monotonic() - started

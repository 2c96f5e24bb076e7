"""Helpers of the tests that start servers: a free loopback port, and waiting for a server to be ready."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx

HANG_GUARD_S = 120.0
"""How long ``wait_until`` waits: a guard against a hang, never a speed limit."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Callable[[], bool], what: str, guard_s: float = HANG_GUARD_S) -> float:
    """Seconds until ``ready()`` holds (a connection refused or reset counts as not yet); fails after ``guard_s``."""
    start = time.monotonic()
    while time.monotonic() - start < guard_s:
        try:
            if ready():
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what} after {guard_s:g} s")

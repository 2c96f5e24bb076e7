"""Run a coroutine function to completion in a thread of its own.

Playwright's sync API (the browser tests' session fixture) keeps an event loop running in the main thread for the
whole session, so ``anyio.run``/``asyncio.run`` there fail with "Already running asyncio in this thread" whenever
a browser test ran earlier in the same worker. A fresh thread has no loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


def run_isolated(function: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``anyio.run(function, *args)`` in a new thread; its result (or its exception)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, function, *args).result()

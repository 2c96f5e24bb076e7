"""Request body limits, enforced while the body streams in (before any parsing): 413 beyond the size limit,
408 beyond the time limit."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import send_error
from stations.errors import TooLarge


class BodyLimit:
    """ASGI middleware: bodies over ``limit_for(path)`` bytes get 413, by Content-Length before the app runs,
    or — for a chunked body — as soon as the bytes read pass the limit: the app then sees the client gone and
    whatever it answers is dropped."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request, or 413 once its body is known to pass the path's limit."""
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        seen = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if not started:
                        await _too_large(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


def has_body(scope: Scope) -> bool:
    """Whether the request may have a body: it declares a length other than 0 or a transfer coding. A request with
    neither has none (RFC 9112 §6.3; uvicorn's parsers read it so), so there is nothing to limit or time: most
    requests (GET) pass the body middleware untouched.

    >>> has_body({"headers": [(b"host", b"a")]}), has_body({"headers": [(b"content-length", b"0")]})
    (False, False)
    >>> has_body({"headers": [(b"content-length", b"12")]}), has_body({"headers": [(b"transfer-encoding", b"chunked")]})
    (True, True)
    """
    for key, value in scope["headers"]:
        if key == b"transfer-encoding" or (key == b"content-length" and value.strip() != b"0"):
            return True
    return False


async def _too_large(send: Send, limit: int) -> None:
    await send_error(send, 413, TooLarge.code, f"the request body is larger than {limit:,} bytes")


class BodyTimeout:
    """ASGI middleware: a request body must be in within ``timeout_for(path)`` seconds of the request reaching
    the app (its headers are in by then), or the request gets 408 with ``Connection: close`` and the app sees
    the client gone.

    uvicorn bounds neither the time to send a body nor the pace: a client sending a byte a second would hold
    its connection, and whatever the app holds while it reads (formerly a planning turn), for as long as it
    likes. The deadline covers the whole body, not each chunk, so trickling bytes does not extend it.
    """

    def __init__(self, app: ASGIApp, timeout_for: Callable[[str], float]) -> None:
        self.app = app
        self.timeout_for = timeout_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request, or 408 if its body is not in within the path's timeout."""
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        timeout_s = self.timeout_for(scope["path"])
        deadline = time.monotonic() + timeout_s
        body_in = started = expired = False

        async def timed_receive() -> Message:
            nonlocal body_in, expired
            if expired:
                return {"type": "http.disconnect"}
            if body_in:  # after the body only the disconnect is left to wait for: no deadline
                return await receive()
            with anyio.move_on_after(max(0.0, deadline - time.monotonic())):
                message = await receive()
                body_in = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            expired = True
            if not started:
                detail = f"the request body was not received within {timeout_s:g} s"
                await send_error(send, 408, "request_timeout", detail, [(b"connection", b"close")])
            return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if expired:
                return  # the 408 has been sent
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, timed_receive, guarded_send)

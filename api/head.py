"""``HEAD`` on every resource that answers ``GET`` (RFC 9110 §9.3.2): the GET's status and headers, no body.

FastAPI routes take only the methods they name, so without this a ``HEAD`` got 405. The request goes on as a
``GET`` (the access log outside still records ``HEAD``), so a page's headers — its Content-Security-Policy
hashes, its ``Content-Length``, ``ETag`` — are exactly the GET's; the body is dropped on the way out.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware: a ``HEAD`` request is run as ``GET`` and answered without the body.

    Sits outside the security headers (whose page policies hash the body) and inside the access log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a ``HEAD`` request as ``GET`` and drop the body; other requests pass through."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, bodiless)

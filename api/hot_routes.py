"""The hottest routes answered without FastAPI's routing and dependency resolution: ``GET /stations/nearby`` (what
every rider's page asks) and ``GET /healthz`` (what every load balancer asks).

FastAPI's router and its resolution of a route's parameters and dependencies cost ~0.5 ms of CPU per nearby
request here (cProfile, FastAPI 0.165: 13 query parameters), several times the answer itself. ``HotRoutes`` is
the innermost middleware: for a ``GET`` of one of these paths it reads the query string itself
(``api.inputs.plain_values``) and calls the function the route calls; for anything else — a value in a form it
does not read itself, a value the query refuses — it hands the request on, and the FastAPI route answers (with
its 422 wording, its error handlers). Every middleware outside it (access log, compression, security headers,
CORS, limits) applies to both alike. The routes stay declared for the OpenAPI description and as that fallback;
tests/api/test_hot_routes.py checks that lane and route answer alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Answer = Callable[[Scope], Response | None]
"""A hot route's answer to a request's scope (``scope["app"]``: the app, its state), or None to hand it on."""


class HotRoutes:
    """ASGI middleware answering ``GET`` of the paths of ``answers`` itself when their answer is not None."""

    def __init__(self, app: ASGIApp, answers: Mapping[str, Answer]) -> None:
        self.app = app
        self.answers = dict(answers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The lane's answer when it has one, else the app's."""
        if scope["type"] == "http" and scope["method"] == "GET":
            answer = self.answers.get(scope["path"])
            response = answer(scope) if answer is not None else None
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

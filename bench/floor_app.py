"""The framework's floor for bench/load.py: a bare Starlette app answering ``GET /healthz`` with
``{"status":"ok"}`` (and ``GET /answer?bytes=N`` with a fixed JSON text of N bytes),
served by uvicorn with ``--workers`` processes the way ``yizhan serve`` serves (``api.serving.run_workers``: a
listening socket per worker, IPPROTO_TCP so both answer without Nagle's delay), with uvicorn's defaults otherwise
(its choice of event loop and HTTP parser, no access log: nothing of Yizhan's — no middleware, dependencies,
settings or snapshot).

    .venv/bin/python bench/floor_app.py --port 8001 --workers 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def healthz(_request: Request) -> JSONResponse:
    """The smallest JSON answer."""
    return JSONResponse({"status": "ok"})


_ANSWERS: dict[int, bytes] = {}


async def answer(request: Request) -> Response:
    """A fixed JSON answer of ``?bytes=`` bytes (at most 1 MB): the floor for an answer as large as another's, made
    once per size (bench/load.py asks for the size of a nearby answer)."""
    size = min(max(int(request.query_params.get("bytes", "20000")), 12), 1_000_000)
    if size not in _ANSWERS:
        _ANSWERS[size] = b'{"pad":"' + b"x" * (size - 10) + b'"}'
    return Response(_ANSWERS[size], media_type="application/json")


app = Starlette(routes=[Route("/healthz", healthz), Route("/answer", answer)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for api.serving
    import uvicorn

    from api.serving import run_workers

    # "floor_app" imports in the workers too: bench/ is on the path of this script and of what it spawns
    config = uvicorn.Config("floor_app:app", host=args.host, port=args.port, workers=args.workers, access_log=False)
    if args.workers == 1:
        uvicorn.Server(config).run()
    else:
        run_workers(config)


if __name__ == "__main__":
    main()

"""The framework's floor for bench/load.py: a bare Starlette app answering ``GET /healthz`` with
``{"status":"ok"}`` (and ``GET /answer?bytes=N`` with a fixed JSON text of N bytes),
served by uvicorn with ``--workers`` processes the way ``yizhan serve`` serves (``api.serving.run_workers``: a
listening socket per worker, IPPROTO_TCP so both answer without Nagle's delay), with uvicorn's defaults otherwise
(its choice of event loop and HTTP parser, no access log: nothing of Yizhan's — no middleware, dependencies,
settings or snapshot).

With ``--layers``, the same two answers behind Yizhan's whole request pipeline and served as ``yizhan serve``
serves them: ``api.app.install_middleware`` (access log, request id, HEAD, compression, security headers, CORS,
server errors, token check, body limits, the planning cap, the young collections) with these answers as its hot
lanes, as the nearby answer is (no FastAPI routing), ``yizhan serve``'s protocol (``api.serving.uvicorn_options``)
and its access log (``api.access_log.uvicorn_log_config``, records without caller, thread and process), no proxy
headers read (its default), start-up frozen out of the collector's way (as ``api.serving.serving_app``) —
everything of a nearby request but the answer's own work. No registry, no snapshot.

    .venv/bin/python bench/floor_app.py --port 8001 --workers 2
    .venv/bin/python bench/floor_app.py --port 8002 --workers 2 --layers
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def healthz(_request: Request) -> JSONResponse:
    """The smallest JSON answer."""
    return JSONResponse({"status": "ok"})


_ANSWERS: dict[int, bytes] = {}


def fixed_answer(query: str) -> Response:
    """A fixed JSON answer of ``bytes=`` bytes of the query (at most 1 MB): the floor for an answer as large as
    another's, made once per size (bench/load.py asks for the size of a nearby answer)."""
    size = min(max(int(QueryParams(query).get("bytes", "20000")), 12), 1_000_000)
    if size not in _ANSWERS:
        _ANSWERS[size] = b'{"pad":"' + b"x" * (size - 10) + b'"}'
    return Response(_ANSWERS[size], media_type="application/json")


async def answer(request: Request) -> Response:
    """``fixed_answer`` as a route."""
    return fixed_answer(request.url.query)


app = Starlette(routes=[Route("/healthz", healthz), Route("/answer", answer)])


def layered_app(*, freeze: bool = True) -> Starlette:
    """The two answers as hot lanes behind Yizhan's request pipeline (uvicorn's factory, in each worker);
    ``freeze``: start-up's objects out of the collector's way (not in a test's process: ``api.app.create_app``)."""
    from fastapi import FastAPI

    from api.app import install_middleware
    from api.serving import lean_log_records
    from stations.settings import Settings

    lean_log_records()
    lanes = {  # the /healthz text made once, as Yizhan's lane keeps its text
        "/healthz": lambda _scope: Response(_HEALTHZ, media_type="application/json"),
        "/answer": lambda scope: fixed_answer(scope["query_string"].decode("latin-1")),
    }
    layered = FastAPI(openapi_url=None)
    install_middleware(layered, Settings(), lanes)
    if freeze:
        gc.collect()
        gc.freeze()
    return layered


_HEALTHZ = bytes(JSONResponse({"status": "ok"}).body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--layers", action="store_true", help="behind Yizhan's request pipeline, served as it is")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for api.serving
    import uvicorn

    from api.access_log import uvicorn_log_config
    from api.serving import run_workers, uvicorn_options

    # "floor_app" imports in the workers too: bench/ is on the path of this script and of what it spawns
    address = {"host": args.host, "port": args.port, "workers": args.workers, "access_log": False}
    if args.layers:
        # no X-Forwarded-For rewriting: yizhan serve's default (no YIZHAN_TRUSTED_PROXIES); uvicorn's is on
        options = {"factory": True, "log_config": uvicorn_log_config(), "proxy_headers": False, **uvicorn_options()}
        config = uvicorn.Config("floor_app:layered_app", **address, **options)
    else:
        config = uvicorn.Config("floor_app:app", **address)
    if args.workers == 1:
        uvicorn.Server(config).run()
    else:
        run_workers(config)


if __name__ == "__main__":
    main()

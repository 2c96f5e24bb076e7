"""The young generation collected every ``EVERY`` requests (``api.young_collections``), after each answer is out."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.young_collections import EVERY, YoungCollections
from stations.settings import Settings


def test_the_young_generation_is_collected_every_n_requests_once_the_answer_is_sent() -> None:
    sent: list[str] = []
    collections: list[tuple[int, int]] = []  # (generation, answers sent by then)

    async def app(scope: Any, _receive: Any, _send: Any) -> None:
        if scope["type"] == "http":
            sent.append(scope["path"])

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append((info["generation"], len(sent)))

    middleware = YoungCollections(app, every=3)
    gc.disable()  # only the middleware's collections
    gc.collect()  # every generation's count from 0
    gc.callbacks.append(note)
    try:
        for number in range(7):
            asyncio.run(middleware({"type": "http", "path": f"/{number}"}, None, None))
        asyncio.run(middleware({"type": "lifespan"}, None, None))  # not a request: not counted
    finally:
        gc.callbacks.remove(note)
        gc.enable()
    assert collections == [(0, 3), (0, 6)]
    assert middleware.until_next == 2


def test_a_full_collection_comes_once_full_every_s_passed_the_young_one_otherwise() -> None:
    generations: list[int] = []
    now = [0.0]

    async def app(_scope: Any, _receive: Any, _send: Any) -> None:
        return None

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            generations.append(info["generation"])

    middleware = YoungCollections(app, every=2, full_every_s=30.0, clock=lambda: now[0])
    gc.disable()
    gc.callbacks.append(note)
    try:
        for moment in (1.0, 2.0, 10.0, 20.0, 29.9, 30.0, 31.0, 40.0, 59.0, 61.0):
            now[0] = moment
            for _ in range(2):
                asyncio.run(middleware({"type": "http"}, None, None))
    finally:
        gc.callbacks.remove(note)
        gc.enable()
    assert generations == [0, 0, 0, 0, 0, 2, 0, 0, 0, 2]


def test_the_app_collects_the_young_generation_outside_every_other_layer(tmp_path: Any) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'y.sqlite3'}", check_interval_s=0))
    young: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 0:
            young.append(1)

    with TestClient(app) as client:
        client.get("/healthz")
        gc.collect()
        layers, layer = [], app.middleware_stack
        while layer is not None:
            layers.append(type(layer).__name__)
            layer = getattr(layer, "app", None)
        assert layers.index("YoungCollections") < layers.index("AccessLog")  # outside our own layers
        gc.disable()
        gc.callbacks.append(note)
        try:
            for _ in range(2 * EVERY):
                assert client.get("/healthz").status_code == 200
        finally:
            gc.callbacks.remove(note)
            gc.enable()
    assert len(young) == 2

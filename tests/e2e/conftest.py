"""Browser tests: the app served by uvicorn on 127.0.0.1 (a temp SQLite registry of a few stations near West
Lake, two with hostile names), driven by Playwright with Debian's Chromium. Every request that does not go to
the test server is aborted (tiles included), and any JavaScript dialog fails the test.

The browser is the session's shared one (``browser`` in tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from e2e_support import Server, serve


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("e2e")) as running:
        yield running


def _only_loopback(route: Any) -> None:
    url = route.request.url
    if url.startswith(("http://127.0.0.1:", "data:", "blob:", "file:")):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens pages in fresh contexts (phone size by default) that reach only 127.0.0.1; fails on any dialog."""
    contexts: list[Any] = []
    dialogs: list[str] = []
    errors: list[str] = []

    def open_page(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 360, "height": 740})
        context = browser.new_context(**options)
        contexts.append(context)
        context.route("**/*", _only_loopback)
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert dialogs == [], f"a dialog fired: {dialogs}"
    assert errors == [], f"uncaught page errors: {errors}"

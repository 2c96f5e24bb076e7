"""Fixtures shared by the API and CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api import cli
from api.settings import SAMPLE_DIR, get_settings


@pytest.fixture
def sample_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A CLI runner on a fresh SQLite file holding the sample registry (the sample demand layer is the default)."""
    monkeypatch.setenv("YIZHAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setattr(cli, "out", cli.Console(width=200))
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(cli.app, ["import", str(SAMPLE_DIR / "stations.csv")]).exit_code == 0
    yield runner
    get_settings.cache_clear()

"""The layers stay apart: one core, two doors.

``stations`` and ``geo`` import no web framework; ``geo`` imports neither ``stations`` nor ``maps``; ``maps``
imports no ``stations`` or ``api``; the CLI, imported as ``yizhan`` runs it, loads neither FastAPI/Starlette nor
folium (so ``yizhan --help`` and ``yizhan nearby`` start quickly), and no route or app module is imported by it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB = ("fastapi", "starlette", "uvicorn", "folium", "branca", "jinja2", "typer", "rich")
"""Libraries of a door (web framework, page templates, command line) that the core must not import."""


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (at any depth in the file, lazily or not)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "versions" not in p.parts)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("geo", (*WEB, "stations", "maps", "api")),
        ("stations", (*WEB, "api")),
        ("maps", ("fastapi", "starlette", "uvicorn", "typer", "stations", "api")),
    ],
)
def test_the_core_imports_no_door(package: str, forbidden: tuple[str, ...]) -> None:
    found = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules(package)
        for name in imported_roots(path)
        if name.split(".")[0] in forbidden
    }
    # the service draws maps on request: the one place stations may reach the map builders (lazily)
    allowed = {f"stations/service.py: maps.{name}" for name in ("stations", "coverage", "offline")}
    assert found - allowed == set()


def test_the_cli_loads_no_web_framework_and_no_map_library() -> None:
    code = "import json, sys; import api.cli; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout)  # fmt: skip
    roots = {name.split(".")[0] for name in loaded}
    assert roots.isdisjoint({"fastapi", "starlette", "uvicorn", "folium", "branca", "jinja2"}), roots
    assert not [name for name in loaded if name.startswith(("api.routes", "api.app", "maps"))]
    # nor the heavy parts of the core: they load with the commands that need them
    assert roots.isdisjoint({"scipy", "shapely", "geopandas", "pandas", "openpyxl", "alembic", "dask"}), roots


def test_no_cli_module_imports_the_web_app() -> None:
    for path in (ROOT / "api").glob("cli*.py"):
        names = imported_roots(path)
        assert not [n for n in names if n.startswith(("api.app", "api.routes", "fastapi", "starlette"))], path

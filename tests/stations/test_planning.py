"""stations.planning: the package split by concern, its lazy names, the one error siting relabels, the limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import stations.planning as planning
from geo.errors import TargetUnreachable
from geo.siting import SitingProblem
from stations.errors import InvalidValue
from stations.planning import siting
from stations.planning.requests import CoverageRequest, PlanningLimits, SitingRequest
from stations.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
HEAVY = ("numpy", "scipy", "shapely", "pyproj", "pandas", "sqlalchemy")


def loaded_after(code: str) -> set[str]:
    """Top-level names of the modules loaded by a fresh interpreter running ``code``."""
    probe = f"import json, sys; {code}; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(run.stdout)}


@pytest.mark.parametrize(
    "code",
    [
        "import stations.planning.requests",
        "import stations.planning",
        "from stations.planning import CoverageRequest, SitingRequest, Candidate, PlanningLimits",
        "import stations.queries",
    ],
)
def test_the_requests_load_no_scipy_or_shapely(code: str) -> None:
    assert loaded_after(code).isdisjoint(HEAVY)


def test_a_heavy_name_loads_its_module_on_first_use() -> None:
    assert "scipy" in loaded_after("from stations.planning import Planner")


@pytest.mark.parametrize("name", planning.__all__)
def test_every_public_name_is_there_and_is_its_modules(name: str) -> None:
    value = getattr(planning, name)
    module = sys.modules[f"stations.planning.{planning._MODULES[name]}"]
    assert getattr(module, name) is value
    assert name in dir(planning)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Plannr'"):
        planning.Plannr  # noqa: B018


def two_units_kept_apart() -> SitingProblem:
    """Two units of weight 1, each covered by its own candidate only, and the candidates closer than the
    spacing: one site at most, so covering both (target_share 1) is out of reach though the weight is there."""
    return SitingProblem.from_arrays([0, 100], [0, 0], [1, 1], [0, 100], [0, 0], radius_m=10, min_spacing_m=1000)


@pytest.mark.parametrize("method", ["greedy", "exact"])
def test_a_target_the_spacing_keeps_out_of_reach_is_a_target_share_error(method: str) -> None:
    request = SitingRequest(add=None, target_share=1.0, method=method)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue) as caught:
        siting.solve(two_units_kept_apart(), request, total_all=2.0, covered_before=0.0)
    assert caught.value.field == "target_share" and caught.value.value == 1.0
    assert "not reachable" in caught.value.reason


def test_other_solver_errors_are_not_called_target_share_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("a bug in the solver")

    monkeypatch.setattr(siting, "greedy_cover", broken)
    request = SitingRequest(add=None, target_share=0.5)
    with pytest.raises(ValueError, match="a bug in the solver") as caught:
        siting.solve(two_units_kept_apart(), request, total_all=2.0, covered_before=0.0)
    assert not isinstance(caught.value, InvalidValue | TargetUnreachable)


def test_the_limits_are_the_settings() -> None:
    assert PlanningLimits.defaults() == PlanningLimits.from_settings(Settings.model_construct())
    limits = PlanningLimits.from_settings(
        Settings.model_construct(max_new_sites=3, max_time_limit_s=5.0, planning_max_radius_m=800.0)
    )
    near = CoverageRequest(radius_m=800)
    limits.check_siting(SitingRequest(near, add=3, time_limit_s=5))
    for request, field, setting in [
        (SitingRequest(near, add=4), "add", "YIZHAN_MAX_NEW_SITES"),
        (SitingRequest(near, add=1, time_limit_s=5.5), "time_limit_s", "YIZHAN_MAX_TIME_LIMIT_S"),
        (SitingRequest(CoverageRequest(radius_m=801), add=1), "radius_m", "YIZHAN_PLANNING_MAX_RADIUS_M"),
    ]:
        with pytest.raises(InvalidValue) as caught:
            limits.check_siting(request)
        assert caught.value.field == field and setting in caught.value.reason

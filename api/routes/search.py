"""Search route: places a rider can start from without GPS — districts, streets and communities, stations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.deps import ServiceDep
from api.inputs import query_dependency
from stations.places import places_json
from stations.queries import SearchQuery

router = APIRouter(tags=["stations"])

SEARCH_EXAMPLE = {
    "query": "西湖",
    "coordinate_system": "wgs84",
    "places": [
        {"kind": "district", "name": "西湖区", "detail": "", "id": "330106", "stations": 212,
         "coordinates": [120.1302, 30.2594]},
        {"kind": "street", "name": "西湖大道", "detail": "上城区", "id": None, "stations": 3,
         "coordinates": [120.1714, 30.2461]},
        {"kind": "station", "name": "西湖文化广场工会驿站", "detail": "杭州市拱墅区中山北路580号", "id": "HZ-SYN-00042",
         "stations": 1, "coordinates": [120.1653, 30.2781]},
    ],
}  # fmt: skip


@router.get(
    "/search",
    summary="Find a district, street, community or station by name",
    responses={200: {"content": {"application/json": {"example": SEARCH_EXAMPLE}}}},
)
def search(
    service: ServiceDep, query: Annotated[SearchQuery, Depends(query_dependency(SearchQuery))]
) -> dict[str, Any]:
    """Places whose name holds ``q`` (full-width letters count as ASCII, ASCII letters in any case): districts
    (starting where their stations are, never the middle of their bounding box), streets and communities named
    in stations' addresses and names (starting where their stations are), then stations (closed ones hidden),
    ``limit`` in all, each with the point a rider starts from in ``crs``. An empty ``q``, one of more than 100
    characters or with control characters is a 422 that says so."""
    return places_json(query.text, service.search(query), query.crs)

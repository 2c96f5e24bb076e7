"""OGC API – Features (Part 1 Core, GeoJSON encoding) under ``/ogc``: the registry and the planner's answers
for QGIS, ArcGIS and GDAL (``ogrinfo OAPIF:http://host/ogc``).

Landing page, ``/conformance``, ``/collections``, ``/collections/{id}``, ``/collections/{id}/items`` (``bbox``
in CRS84, ``limit``, ``offset``; ``next``/``prev`` links, ``numberMatched``, ``numberReturned``, ``timeStamp``)
and ``/collections/{id}/items/{fid}``. The collections are built in ``stations.features``; here are the links,
media types (``f=json`` or the default, ``application/geo+json`` for features) and statuses: a bad or unknown
query parameter is 400 (the standard asks for it, where the rest of the API says 422), an unknown collection or
feature 404. Links are absolute (what clients such as QGIS need): from the setting ``public_url``, else from
the address the request was sent to.

The parameters are read here from the query string and documented with ``openapi_extra``, so that the OpenAPI
document shows their OGC schemas (``limit``: default and maximum) while a bad value is still a 400.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from api.deps import ServiceDep, get_settings
from api.errors import error_response
from api.routes.stations import GEOJSON, GeoJSONResponse
from geo.errors import GeoError
from stations import features
from stations.errors import InvalidValue, NotFound, domain_error
from stations.features import COLLECTIONS, CRS84, GAPS_LIMIT, Source
from stations.inputs import PLANNING_INPUTS
from stations.queries import CoverageQuery, GapsQuery, planning_request
from stations.service import Service

PREFIX = "/ogc"
router = APIRouter(prefix=PREFIX, tags=["OGC API - Features"])

JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
"""Features per page: by default and at most (a larger ``limit`` is answered with this many, as the standard
allows)."""
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
)
"""What is implemented. Not ``oas30``: FastAPI writes the API definition (``/openapi.json``) as OpenAPI 3.1."""
PLANNING_PATHS = tuple(
    f"{PREFIX}/collections/{name}/items{tail}"
    for name, collection in COLLECTIONS.items()
    if collection.planning
    for tail in ("", "/{fid}")
)
"""Paths that run the planner: the app counts them against the planning concurrency limit."""

FORMAT = {"name": "f", "in": "query", "required": False, "description": "json (default) or geojson",
          "schema": {"type": "string", "enum": ["json", "geojson"]}}  # fmt: skip
ITEMS_PARAMETERS = [
    {
        "name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "west,south,east,north in WGS84 degrees (CRS84: longitude first); features that intersect",
        "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
    },
    {
        "name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
        "description": f"features per page (more than {MAX_LIMIT} is answered with {MAX_LIMIT})",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    {
        "name": "offset", "in": "query", "required": False, "description": "features to skip (the next link sets it)",
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    },
    *[
        {
            "name": spec.name, "in": "query", "required": False,
            "description": f"coverage and gaps only: {spec.help}",
            "schema": {"type": "string" if spec.name == "types" else "number", "default": spec.default},
        }
        for spec in PLANNING_INPUTS
    ],
    FORMAT,
]  # fmt: skip
PLANNING_NAMES = frozenset(spec.name for spec in PLANNING_INPUTS)


def _bad(exc: InvalidValue) -> JSONResponse:
    return error_response(400, exc.code, exc.detail())


def _query(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    """The query parameters of ``request``, each given once and each one of ``allowed`` (else 400)."""
    params = request.query_params
    for name in params:
        if name not in allowed:
            raise InvalidValue(name, params[name], "unknown query parameter", sorted(allowed))
        if len(params.getlist(name)) > 1:
            raise InvalidValue(name, params.getlist(name), "give it once")
    if params.get("f", "json") not in ("json", "geojson"):  # the same JSON either way; HTML is not served
        raise InvalidValue("f", params["f"], "unknown format", ["json", "geojson"])
    return dict(params)


def _integer(params: dict[str, str], name: str, default: int, minimum: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidValue(name, text, "must be a whole number") from None
    if value < minimum:
        raise InvalidValue(name, value, f"must be at least {minimum}")
    return value


def _root(request: Request) -> str:
    """The server's absolute address: the setting ``public_url``, else where the request was sent."""
    public: str | None = get_settings(request).public_url
    return (public or str(request.base_url)).rstrip("/")


def _base(request: Request) -> str:
    """The service's absolute address, e.g. ``http://127.0.0.1:8000/ogc``."""
    return _root(request) + PREFIX


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _source(service: Service, collection_id: str, params: dict[str, str]) -> Source:
    """The features of a collection (the planner's for the question in ``params``); NotFound when there is no
    such collection here."""
    info = COLLECTIONS.get(collection_id)
    planner = service.optional_planner
    if info is None or (collection_id != "stations" and planner is None):
        raise NotFound("collection", collection_id)
    snapshot = service.registry.snapshot()
    if collection_id == "stations":
        return features.station_source(snapshot)
    assert planner is not None  # checked above; for mypy
    if collection_id == "districts":
        return features.district_source(planner.districts, snapshot)
    defaults = {spec.name: spec.default for spec in PLANNING_INPUTS}
    values: dict[str, Any] = {name: params.get(name, defaults[name]) for name in PLANNING_NAMES}
    for name in ("radius_m", "cell_m"):
        try:
            values[name] = float(values[name])
        except ValueError:
            raise InvalidValue(name, values[name], "must be a number of metres") from None
    asked = planning_request(values["radius_m"], values["types"], values["cell_m"])
    try:
        if collection_id == "coverage":
            return features.coverage_source(planner.districts, service.coverage(CoverageQuery(asked)))
        found, serving = service.gaps(GapsQuery(asked, None, GAPS_LIMIT))
    except GeoError as exc:  # e.g. a grid over YIZHAN_MAX_CELLS: a bad parameter, so 400 here as well
        mapped = domain_error(exc)
        raise mapped if isinstance(mapped, InvalidValue) else exc from None
    return features.gap_source(found, serving)


def _available(service: Service) -> list[str]:
    return [name for name in COLLECTIONS if name == "stations" or service.optional_planner is not None]


def _collection(request: Request, service: Service, collection_id: str) -> dict[str, Any]:
    info = COLLECTIONS[collection_id]
    base = f"{_base(request)}/collections/{collection_id}"
    body: dict[str, Any] = {
        "id": info.id,
        "title": info.title,
        "description": info.description,
        "itemType": "feature",
        "links": [
            _link(base, "self", JSON, info.title),
            _link(f"{base}/items", "items", GEOJSON, f"{info.title} (GeoJSON)"),
        ],
    }
    if not info.planning:  # a planning collection's extent would need the planner to run: the districts' box
        box = features.extent(_source(service, collection_id, {}))
        if box is not None:
            body["extent"] = {"spatial": {"bbox": [list(box)], "crs": CRS84}}
    elif service.optional_planner is not None:
        box = features.extent(_source(service, "districts", {}))
        if box is not None:
            body["extent"] = {"spatial": {"bbox": [list(box)], "crs": CRS84}}
    return body


OGCParams = {"parameters": [FORMAT]}
CollectionId = Annotated[str, PathParam(description="stations, districts, coverage or gaps")]


@router.get("", summary="OGC API - Features landing page", openapi_extra=OGCParams)
def landing(request: Request) -> JSONResponse:
    """Links to the API definition, the conformance classes and the collections."""
    try:
        _query(request, frozenset({"f"}))
    except InvalidValue as exc:
        return _bad(exc)
    base, root = _base(request), _root(request)
    return JSONResponse(
        {
            "title": "驿站 Yizhan — OGC API Features",
            "description": "工会服务站登记册及覆盖规划结果（服务站、区县、覆盖率、服务空白），"
            "可在 QGIS、ArcGIS、GDAL 中直接打开；"
            "the union station registry and its coverage planning, for GIS clients.",
            "links": [
                _link(base, "self", JSON, "本页 this document"),
                _link(f"{root}/openapi.json", "service-desc", OPENAPI, "API 定义 (OpenAPI)"),
                _link(f"{root}/docs", "service-doc", "text/html", "API 文档 documentation"),
                _link(f"{base}/conformance", "conformance", JSON, "符合的标准 conformance classes"),
                _link(f"{base}/collections", "data", JSON, "数据集 collections"),
            ],
        }
    )


@router.get("/conformance", summary="Conformance classes", openapi_extra=OGCParams)
def conformance(request: Request) -> JSONResponse:
    """The conformance classes implemented: Part 1 core and GeoJSON."""
    try:
        _query(request, frozenset({"f"}))
    except InvalidValue as exc:
        return _bad(exc)
    return JSONResponse({"conformsTo": list(CONFORMANCE)})


@router.get("/collections", summary="Feature collections", openapi_extra=OGCParams)
def collections(request: Request, service: ServiceDep) -> JSONResponse:
    """Stations, and with district boundaries configured: districts, coverage and gaps."""
    try:
        _query(request, frozenset({"f"}))
    except InvalidValue as exc:
        return _bad(exc)
    base = _base(request)
    return JSONResponse(
        {
            "links": [_link(f"{base}/collections", "self", JSON, "数据集 collections")],
            "collections": [_collection(request, service, name) for name in _available(service)],
        }
    )


@router.get("/collections/{collection_id}", summary="One feature collection", openapi_extra=OGCParams)
def collection(request: Request, service: ServiceDep, collection_id: CollectionId) -> JSONResponse:
    """A collection's title, description, extent (CRS84) and links to its items."""
    try:
        _query(request, frozenset({"f"}))
    except InvalidValue as exc:
        return _bad(exc)
    if collection_id not in _available(service):
        raise NotFound("collection", collection_id)
    return JSONResponse(_collection(request, service, collection_id))


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    response_class=GeoJSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
    openapi_extra={"parameters": ITEMS_PARAMETERS},
)
def items(request: Request, service: ServiceDep, collection_id: CollectionId) -> JSONResponse:
    """A page of the features that intersect ``bbox``, in the collection's order (stations by id, districts
    and coverage in file order, gaps by rank), with ``numberMatched``, ``numberReturned``, ``timeStamp`` and
    ``next``/``prev`` links. Coverage and gaps are computed for ``radius_m``, ``types`` and ``cell_m``."""
    planning = COLLECTIONS.get(collection_id, COLLECTIONS["stations"]).planning
    allowed = frozenset({"f", "bbox", "limit", "offset"} | (PLANNING_NAMES if planning else set()))
    try:
        params = _query(request, allowed)
        bbox = features.parse_bbox(params["bbox"]) if "bbox" in params else None
        limit = min(_integer(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
        offset = _integer(params, "offset", 0, 0)
        source = _source(service, collection_id, params)
    except InvalidValue as exc:
        return _bad(exc)
    found = features.page(source, bbox, limit, offset)
    url = f"{_base(request)}/collections/{collection_id}/items"
    kept = {name: value for name, value in params.items() if name not in ("limit", "offset")}

    def at(start: int) -> str:
        return f"{url}?{urlencode({**kept, 'limit': limit, 'offset': start})}"

    links = [
        _link(at(offset), "self", GEOJSON, "本页 this page"),
        _link(f"{_base(request)}/collections/{collection_id}", "collection", JSON, "数据集 the collection"),
    ]
    if found.has_next:
        links.append(_link(at(offset + limit), "next", GEOJSON, "下一页 next page"))
    if offset > 0:
        links.append(_link(at(max(offset - limit, 0)), "prev", GEOJSON, "上一页 previous page"))
    body = {
        "type": "FeatureCollection",
        "features": found.features,
        "numberMatched": found.number_matched,
        "numberReturned": len(found.features),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    return GeoJSONResponse(body)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=GeoJSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
    openapi_extra={"parameters": [p for p in ITEMS_PARAMETERS if p["name"] in PLANNING_NAMES | {"f"}]},
)
def item(
    request: Request,
    service: ServiceDep,
    collection_id: CollectionId,
    feature_id: Annotated[str, PathParam(description="a station id, an adcode, or a gap's rank")],
) -> JSONResponse:
    """One feature by id; 404 for an id the collection does not hold."""
    planning = COLLECTIONS.get(collection_id, COLLECTIONS["stations"]).planning
    try:
        params = _query(request, frozenset({"f"} | (PLANNING_NAMES if planning else set())))
        source = _source(service, collection_id, params)
    except InvalidValue as exc:
        return _bad(exc)
    position = source.position(feature_id)
    if position is None:
        raise NotFound(collection_id, feature_id)
    feature = source.feature(position)
    base = f"{_base(request)}/collections/{collection_id}"
    feature["links"] = [
        _link(f"{base}/items/{quote(feature_id, safe='')}", "self", GEOJSON, "本要素 this feature"),
        _link(base, "collection", JSON, "数据集 the collection"),
    ]
    return GeoJSONResponse(feature)

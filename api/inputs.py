"""The API's door to ``stations.inputs``: an operation's inputs as query parameters, parsed into its query.

``query_dependency(CoverageQuery)`` is a FastAPI dependency whose signature lists one ``Query`` per input
(name, type, default, bounds, description, examples: all from ``stations.inputs``), and which returns
``CoverageQuery.parse(**values)``. A route then takes ``query: Annotated[CoverageQuery, Depends(...)]``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Query

from stations.errors import InvalidValue
from stations.inputs import REQUIRED, Input


def query_parameter(spec: Input) -> inspect.Parameter:
    """One input as a keyword parameter annotated with its FastAPI ``Query``."""
    options: dict[str, Any] = {"description": spec.help}
    for bound in ("ge", "gt", "le"):
        if getattr(spec, bound) is not None:
            options[bound] = getattr(spec, bound)
    if spec.annotation in (float, float | None):
        options["allow_inf_nan"] = False
    if spec.examples:
        options["examples"] = list(spec.examples)
    if spec.pattern:
        options["pattern"] = spec.pattern
    default = inspect.Parameter.empty if spec.default is REQUIRED else spec.default
    annotation = Annotated[spec.annotation, Query(**options)]  # type: ignore[name-defined]  # built at run time
    return inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def with_inputs(function: Callable[..., Any], inputs: Iterable[Input], result: Any) -> Callable[..., Any]:
    """``function(**values)`` with a signature of one query parameter per input, returning ``result``."""
    parameters = [query_parameter(spec) for spec in inputs]
    # what FastAPI reads: functions have no declared __signature__
    function.__signature__ = inspect.Signature(parameters, return_annotation=result)  # type: ignore[attr-defined]
    function.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": result}
    return function


def query_dependency(query_type: Any) -> Callable[..., Any]:
    """A FastAPI dependency parsing ``query_type.inputs`` from the query string into ``query_type.parse(...)``.

    Asynchronous: parsing is a few microseconds of CPU, which a hop to the thread pool would cost many times."""

    async def parse(**values: Any) -> Any:
        return query_type.parse(**values)

    parse.__name__ = f"{query_type.__name__}_from_query"
    return with_inputs(parse, query_type.inputs, query_type)


_PLAIN = {  # the text of a value the lane converts itself: forms whose meaning is the same for pydantic's lax mode
    int: re.compile(r"(?:0|[1-9][0-9]{0,8})"),
    float: re.compile(r"-?(?:0|[1-9][0-9]{0,5})(?:\.[0-9]{1,15})?"),
    bool: re.compile(r"true|false"),
}
_TEXT = (str, str | None)


def plain_values(query_string: bytes, inputs: Iterable[Input]) -> dict[str, Any] | None:
    """The values of ``inputs`` in a query string, as FastAPI would pass them to ``query_dependency``'s function,
    when each is in its plainest form; None when any is not (FastAPI's own parsing then answers: its 422 wording).

    Plain: every input at most once; numbers in plain decimals (``120.16``, ``10``: no exponent, sign on an
    integer, spaces, ``inf``), within the input's bounds; booleans ``true`` or ``false``; text matching the
    input's pattern. Parameters that are not inputs are left aside, as FastAPI leaves them. For those forms the
    values are the ones pydantic's lax mode makes (the route/lane equality test in tests/api checks it).

    >>> from stations.inputs import NEARBY_INPUTS
    >>> plain_values(b"lon=120.16&lat=30.25&k=5&types=outdoor_worker&_=1", NEARBY_INPUTS)["k"]
    5
    >>> plain_values(b"lon=120.16&lat=30.25&k=1e1", NEARBY_INPUTS) is None, plain_values(b"lat=30", NEARBY_INPUTS)
    (True, None)
    """
    specs = {spec.name: spec for spec in inputs}
    given = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)  # as starlette's QueryParams
    values: dict[str, Any] = {}
    for name, text in given:
        spec = specs.get(name)
        if spec is None:
            continue
        if name in values:
            return None
        kind = spec.annotation if spec.annotation not in (float | None, int | None) else spec.annotation.__args__[0]
        if kind in _TEXT:
            # "\n": Python's "$" matches before a final newline, pydantic's does not
            if spec.pattern is not None and ("\n" in text or re.search(spec.pattern, text) is None):
                return None
            values[name] = text
            continue
        form = _PLAIN.get(kind)
        if form is None or form.fullmatch(text) is None:
            return None
        value = text == "true" if kind is bool else kind(text)
        if _out_of_bounds(spec, value):
            return None
        values[name] = value
    if any(spec.default is REQUIRED and name not in values for name, spec in specs.items()):
        return None
    return values


def _out_of_bounds(spec: Input, value: float) -> bool:
    try:
        spec.check(value)
    except InvalidValue:
        return True
    return False

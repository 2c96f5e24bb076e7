"""The API's door to ``stations.inputs``: an operation's inputs as query parameters, parsed into its query.

``query_dependency(CoverageQuery)`` is a FastAPI dependency whose signature lists one ``Query`` per input
(name, type, default, bounds, description, examples: all from ``stations.inputs``), and which returns
``CoverageQuery.parse(**values)``. A route then takes ``query: Annotated[CoverageQuery, Depends(...)]``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import Query

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

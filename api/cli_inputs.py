"""The CLI's door to ``stations.inputs``: an operation's inputs as typer options (or arguments).

``@with_query(CoverageQuery)`` on a command ``def coverage(query: CoverageQuery, as_json: ...)`` replaces the
``query`` parameter by one option per input (``--radius``, ``--types``, ``--cell``, ``--adcode``: name, type,
default, bounds and help from ``stations.inputs``) and calls the command with ``CoverageQuery.parse(**values)``.
``@with_inputs(SITING_INPUTS, "values")`` does the same but hands the command the values as a dict.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import typer

from stations.inputs import REQUIRED, Input

F = TypeVar("F", bound=Callable[..., Any])


def cli_parameter(spec: Input) -> inspect.Parameter:
    """One input as a typer ``Option`` (or ``Argument``) parameter. Its bounds are checked by ``Input.check``
    (exit 1, naming the input, value and bound, as the API's 422 does), not by click."""
    if spec.argument:
        info: Any = typer.Argument(help=spec.help)
    else:
        info = typer.Option(spec.cli_flag, *([spec.short] if spec.short else []), help=spec.help)
    default = inspect.Parameter.empty if spec.default is REQUIRED else spec.default
    return inspect.Parameter(
        spec.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[spec.annotation, info]
    )


def _replace(command: Callable[..., Any], name: str, inputs: Iterable[Input], build: Callable[..., Any]) -> Any:
    specs = list(inputs)
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(command, eval_str=True).parameters.values()
        if p.name != name
    ]
    hints = {p.name: p.annotation for p in own}

    @functools.wraps(command)
    def wrapper(**values: Any) -> Any:
        given = {spec.name: spec.check(values.pop(spec.name)) for spec in specs}
        return command(**{name: build(given)}, **values)

    parameters = [cli_parameter(spec) for spec in specs] + own
    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]  # what typer reads
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters[: len(specs)]} | hints
    del wrapper.__wrapped__  # typer must see the new signature, not the command's
    return wrapper


def with_query(query_type: Any, name: str = "query") -> Callable[[F], F]:
    """Replace the command's ``name`` parameter by ``query_type.inputs`` as options; pass the parsed query."""

    def decorate(command: F) -> F:
        # the command with its signature replaced: still an F to its callers (typer reads the new signature)
        return _replace(command, name, query_type.inputs, lambda values: query_type.parse(**values))  # type: ignore[no-any-return]

    return decorate


def with_inputs(inputs: Iterable[Input], name: str = "values") -> Callable[[F], F]:
    """Replace the command's ``name`` parameter by ``inputs`` as options; pass their values as a dict."""

    def decorate(command: F) -> F:
        return _replace(command, name, inputs, dict)  # type: ignore[no-any-return]  # as in with_query

    return decorate

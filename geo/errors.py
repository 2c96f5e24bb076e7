"""Every error ``geo`` raises about its input, in one place, under one base: ``GeoError``.

``geo`` knows nothing of the registry or its doors, so these name what went wrong in geo's own terms (a grid
too large, a district file that cannot be used, a target no set of candidates reaches); ``stations.errors.
domain_error`` turns each into the domain error both doors report (HTTP status in ``api/errors.py``, the
CLI's one line in ``api/cli_support.py``). Each is a ``ValueError`` too, as before it had a base of its own.

>>> error = GridTooLarge("cell_m=5 gives 9 cells, more than the limit of 4; use cell_m ≥ 8", cell_m=5.0)
>>> isinstance(error, GeoError), error.cell_m
(True, 5.0)
"""

from __future__ import annotations

from typing import Any


class GeoError(ValueError):
    """Base of the errors ``geo`` raises about the values or files it is given."""

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled with its attributes (dask ships errors from workers back to the client)
        return (type(self), self.args, self.__dict__)


class GridTooLarge(GeoError):
    """More grid cells than allowed; the message suggests a cell size that fits.

    ``cell_m`` is the cell size asked for (metres), ``suggested_cell_m`` the smallest one that fits."""

    def __init__(self, message: str, cell_m: float | None = None, suggested_cell_m: float | None = None) -> None:
        super().__init__(message)
        self.cell_m = cell_m
        self.suggested_cell_m = suggested_cell_m


class DistrictFileError(GeoError):
    """A district file that cannot be used, with the reason."""


class TargetUnreachable(GeoError):
    """A set-covering target that no choice of the candidates reaches (too little coverable demand, or the
    spacing and quotas keep it out of reach)."""

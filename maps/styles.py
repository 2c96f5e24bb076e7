"""Colours shared by the map builders: station types, the coverage scale, gaps, proposals.

Colours are chosen to stay apart from each other and from the coverage scale (ColorBrewer YlGnBu, light =
poorly covered, dark blue = well covered). Labels are not here: the maps take them with their data (the
service passes ``stations.vocabulary``'s).

>>> coverage_colour(0.0), coverage_colour(1.0)
('#ffffcc', '#253494')
>>> coverage_colour(None) == NO_DATA_COLOUR
True
>>> type_colour("driver_home"), type_colour("kiosk") == OTHER_COLOUR
('#6a51a3', True)
"""

from __future__ import annotations

import math

from branca.colormap import LinearColormap

TYPE_COLOURS: dict[str, str] = {
    "outdoor_worker": "#f16913",
    "driver_home": "#6a51a3",
    "nursing_room": "#dd3497",
}
"""Station type → marker colour (on the coverage map and in the station app)."""

OTHER_COLOUR = "#636363"
"""Colour of a type outside ``TYPE_COLOURS``."""

COVERAGE_STOPS = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
"""Colours at covered share 0, 25, 50, 75 and 100 %, interpolated linearly between."""

NO_DATA_COLOUR = "#bdbdbd"
GAP_COLOUR = "#e31a1c"
NIGHT_GAP_COLOUR = "#111111"
"""Night gaps (covered by day, not at night): dark stripes, apart from the gaps' red and readable on the scale."""
COVERED_COLOUR = "#31a354"
PROPOSED_COLOUR = "#e6ab02"
"""Proposed new sites (badges) and the area they would cover: a mustard apart from the scale and the types."""
PROPOSED_OUTLINE = "#7f5f00"
"""Dashed outline of each proposed site's circle."""
PROPOSED_TEXT_COLOUR = "#1a1a1a"

_SCALE = LinearColormap(list(COVERAGE_STOPS), vmin=0.0, vmax=1.0)


def coverage_colour(share: float | None) -> str:
    """Fill colour (``#rrggbb``) of a covered share in 0..1 on the fixed scale; grey when unknown."""
    if share is None or not math.isfinite(share):
        return NO_DATA_COLOUR
    return _SCALE.rgb_hex_str(min(max(float(share), 0.0), 1.0))


def type_colour(kind: str) -> str:
    """Marker colour of a station type."""
    return TYPE_COLOURS.get(kind, OTHER_COLOUR)

"""Pure builders of folium maps and self-contained HTML pages (no file writes, no network).

- ``maps.coverage``: district coverage choropleth, covered area, gaps and stations (``coverage_html``);
- ``maps.page``: ``base_map`` / ``marker_cluster`` that need only the vendored Leaflet, and
  ``self_contained`` that renders a map with its scripts and styles inlined from ``maps/vendor``;
- ``maps.elements``: layers and boxes that carry user text escaped (use them, not ``folium.Popup``);
- ``maps.styles``: colours of station types and of the coverage scale (labels come with the data).

Imports ``geo`` only (``api -> maps -> geo``).
"""

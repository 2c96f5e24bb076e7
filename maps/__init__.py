"""Pure builders of folium maps and HTML pages (coming with the map issues)."""

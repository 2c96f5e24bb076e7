"""Pure spatial computation over numpy arrays, lon, lat in WGS84 degrees and distances in metres.

``crs`` (WGS84/GCJ-02/BD-09), ``distance``, ``index`` (exact nearest), ``districts``, ``grid`` (an equal-area
raster of districts), ``coverage``, ``gaps``, ``siting`` and ``national`` (the batch); ``errors`` holds their
domain errors. Imports no web library and nothing of ``stations``.
"""

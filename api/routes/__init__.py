"""The HTTP routes, one module per resource (stations, editing, imports, reports, coverage, districts, open data,
pages, health); each takes the store, registry and settings through the aliases of ``api.deps``.
"""

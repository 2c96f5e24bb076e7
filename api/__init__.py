"""The two thin doors over the core: the HTTP API and the ``yizhan`` command line.

``api.app`` builds the FastAPI application (state built in its lifespan, dependencies in ``api.deps``, routes
per resource in ``api.routes``, middleware in ``access_log``, ``security``, ``limits``... and errors mapped to
statuses in ``api.errors``); ``api.cli`` and its ``cli_*`` modules are the command line. Both parse input into
the queries of ``stations.queries`` and call ``stations.service.Service``.
"""

"""The core of Yizhan, callable from Python without a web framework (``stations.service.Service``).

The model and its vocabulary, opening hours, the store and its migrations, importers and exporters, the registry
and its snapshots, the settings (``YIZHAN_*``), what each operation takes (``inputs``, ``queries``) and does
(``service``), the domain errors (``errors``), and planning over the registry (``stations.planning``).
"""

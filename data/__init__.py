"""Build scripts of Yizhan's data (the built files beside them are committed).

Run from the repository root, as modules: ``python -m data.build_sample`` (the Hangzhou sample) and
``python -m data.build_national`` (the national districts; ``--stations FILE`` for a synthetic registry).
``data`` is not installed with the ``yizhan`` package: it is importable from the repository root only.
"""

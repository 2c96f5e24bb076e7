"""Text made safe for a page: HTML-escaped (``escape``) or a JavaScript literal that cannot end its ``<script>``
(``js_literal``) — the two ways user text reaches any page Yizhan renders, maps or not. Without folium, so that
pages that draw no map (the keeper console, the rider page's shell) do not load it."""

from __future__ import annotations

import json
from html import escape as _escape
from typing import Any


def escape(text: object) -> str:
    """HTML-escape any value's ``str`` (quotes included), for text and attribute values alike.

    >>> escape('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return _escape(str(text), quote=True)


def js_literal(value: Any) -> str:
    r"""``value`` as a JavaScript literal (JSON) that is safe inside an HTML ``<script>``.

    ``<``, ``>``, ``&`` and ``'`` become ``\u003c``-style escapes (so ``</script>`` and ``<!--`` cannot
    appear), as do U+2028/U+2029; other non-ASCII text is kept as UTF-8 (Chinese stays readable and
    small). NaN and infinity are refused: JSON has no spelling for them.

    >>> js_literal({"name": "</script>", "area": 1.5})
    '{"name":"\\u003c/script\\u003e","area":1.5}'
    >>> js_literal("杭州")
    '"杭州"'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, code)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")

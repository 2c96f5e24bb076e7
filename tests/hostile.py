"""Hostile text: one family for every test of something that shows or stores station text.

A value from the family must come back exactly as it went in (as text: in a page, a JSON string, a CSV cell,
an XLSX cell) and must never be evaluated: not as HTML or script, and not as template source by Jinja2 (which
branca and folium use), JavaScript template literals, Ruby/ERB-style or other engines.
"""

from __future__ import annotations

TEMPLATES = (
    "SSTI[{{ 7*7 }}]X",
    "{% if 1 %}IF-RAN{% endif %}",
    "工会驿站 {# 二号",
    "${7*7}-dollar",
    "#{7*7}-hash",
    "<%= 7*7 %>-erb",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
)
"""Template syntax of Jinja2 (expression, statement, an unclosed comment), JS template literals, Ruby, ERB."""

MARKUP = ("<img src=x onerror=alert(1)>", '"</script><script>alert(2)</script>')
"""HTML and script that must stay text."""

ODDITIES = ("\u202eRTL-override 站", '=HYPERLINK("http://x","点我")')
"""A right-to-left override and a spreadsheet formula."""

ALL = TEMPLATES + MARKUP + ODDITIES

EVALUATED = ("SSTI[49]", "IF-RAN<", ">IF-RAN", "uid=", "49-dollar", "49-hash", "49-erb")
"""What a page would hold if one of ``TEMPLATES`` had been evaluated (``uid=`` from ``id``)."""


def evaluated_in(text: str) -> list[str]:
    """The signs in ``text`` that a template from the family was evaluated (none when all is well).

    >>> evaluated_in("SSTI[{{ 7*7 }}]X"), evaluated_in("SSTI[49]X")
    ([], ['SSTI[49]'])
    """
    return [sign for sign in EVALUATED if sign in text]

"""The keeper console's page shell: one Jinja2 environment, the shared ``base.html``, and the two languages.

Every console page is a template in ``maps/console/templates`` that extends ``base.html`` (blocks ``content``
and ``scripts``); ``render_page`` fills it. Templates are source files of this repository: data (station
names, user names, file contents) enters only as variables, which autoescaping turns into text, or as JSON in a
``<script type="application/json">`` block (``json_block``), so no value is ever compiled as a template and no
value adds an element. ``StrictUndefined`` makes a misspelt variable an error, not an empty string.

The console's style sheet and script (``maps/static/console.css`` and ``console.js``) are inlined into each
page: the app's Content-Security-Policy allows exactly the inline code a page was served with, by hash
(``api.security``), so the pages need no other source. Pages add their own inline ``<script>`` and ``<style>``
in their blocks the same way; never inline event handlers (``onclick=``) or ``javascript:`` URLs.

Chinese by default, English with ``?lang=en``; ``ConsoleShell.link`` keeps the choice in every link and form
action, ``ConsoleShell.t`` picks a text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from maps.safe_text import escape, js_literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
ROLE_NAMES: dict[str, tuple[str, str]] = {
    "viewer": ("查看者", "viewer"),
    "editor": ("编辑", "editor"),
    "admin": ("管理员", "admin"),
}


def language(value: str | None) -> Lang:
    """The console language a ``lang`` query value asks for: ``en`` for English (``en``, ``en-GB``...), else
    Chinese.

    >>> language("en"), language("EN-gb"), language(None), language("fr")
    ('en', 'en', 'zh', 'zh')
    """
    return "en" if (value or "").strip().lower().split("-")[0] == "en" else "zh"


@dataclass(frozen=True, slots=True)
class ConsoleShell:
    """What the page shell shows around every console page: the language, who is signed in (empty on the
    sign-in page), their role, the session's CSRF token, and the current path (with its query)."""

    lang: Lang
    user_name: str | None
    role: str | None
    csrf_token: str
    path: str

    def t(self, zh: str, en: str) -> str:
        """``zh`` or ``en``, in the page's language.

        >>> ConsoleShell("en", None, None, "", "/console").t("站点", "Stations")
        'Stations'
        """
        return en if self.lang == "en" else zh

    def link(self, target: str) -> str:
        """``target`` (a path with or without a query) carrying the page's language: ``lang=en`` added for
        English, any ``lang`` dropped for Chinese (the default).

        >>> shell = ConsoleShell("en", None, None, "", "/console")
        >>> shell.link("/console/stations?q=西湖"), shell.link("/console?lang=en")
        ('/console/stations?q=%E8%A5%BF%E6%B9%96&lang=en', '/console?lang=en')
        """
        parts = urlsplit(target)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
        if self.lang == "en":
            query.append(("lang", "en"))
        return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))

    @property
    def role_name(self) -> str:
        """The role in the page's language (empty when nobody is signed in)."""
        names = ROLE_NAMES.get(self.role or "")
        return "" if names is None else self.t(*names)

    @property
    def can_edit(self) -> bool:
        """Whether write controls are shown: editors and admins (a viewer gets a 403 if it posts anyway)."""
        return self.role in ("editor", "admin")

    @property
    def is_admin(self) -> bool:
        """Whether admin pages (tokens) are linked."""
        return self.role == "admin"

    def switch_language(self) -> str:
        """The current page in the other language (the shell's language link).

        >>> ConsoleShell("zh", None, None, "", "/console/stations?page=2").switch_language()
        '/console/stations?page=2&lang=en'
        """
        other = ConsoleShell("en" if self.lang == "zh" else "zh", None, None, "", self.path)
        return other.link(self.path)


@dataclass(frozen=True, slots=True)
class NavItem:
    """A link of the console's navigation."""

    path: str
    zh: str
    en: str
    admin_only: bool = False


NAV: tuple[NavItem, ...] = (
    NavItem("/console", "首页", "Home"),
    NavItem("/console/stations", "站点", "Stations"),
    NavItem("/console/freshness", "开放时间核实", "Freshness"),
    NavItem("/console/imports", "导入", "Imports"),
    NavItem("/console/reports", "群众反馈", "Rider reports"),
    NavItem("/console/tokens", "令牌", "Tokens", admin_only=True),
)


@cache
def _static(name: str) -> str:
    return (resources.files("maps") / "static" / name).read_text(encoding="utf-8")


@cache
def environment() -> Environment:
    """The console's Jinja2 environment: templates from ``maps/console/templates``, autoescaped, strict."""
    env = Environment(
        loader=PackageLoader("maps", "console/templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["json_block"] = json_block
    return env


def json_block(element_id: str, value: Any) -> Markup:
    r"""``value`` as JSON in ``<script type="application/json" id="element_id">``, safe in HTML (``<``, ``>``,
    ``&`` and ``'`` escaped: no ``</script>`` can end it early); a page's script reads it with
    ``JSON.parse(document.getElementById(id).textContent)``.

    >>> str(json_block("data", {"name": "</script><b>"}))
    '<script type="application/json" id="data">{"name":"\\u003c/script\\u003e\\u003cb\\u003e"}</script>'
    """
    return Markup(f'<script type="application/json" id="{escape(element_id)}">{js_literal(value)}</script>')


def render_page(shell: ConsoleShell, title: str, template_name: str, **variables: Any) -> str:
    """The page ``template_name`` (in ``maps/console/templates``, extending ``base.html``) with ``title``, the
    shell, and ``variables`` (autoescaped wherever a template prints them).

    Every template also gets ``shell``, ``title`` and ``json_block``, and, unless ``variables`` name their own,
    ``t`` (``shell.t``), ``link`` (``shell.link``) and ``csrf_field`` (the hidden ``csrf_token`` input every
    POST form carries). ``base.html`` itself uses only ``shell``, ``title`` and names starting ``yz_``.
    """
    template = environment().get_template(template_name)
    defaults: dict[str, Any] = {
        "t": shell.t,
        "link": shell.link,
        "csrf_field": Markup('<input type="hidden" name="csrf_token" value="{}">').format(shell.csrf_token),
    }
    return template.render(
        {
            **defaults,
            **variables,  # a page may bring its own t, link...: base.html uses only the names below
            "shell": shell,
            "title": title,
            "yz_nav": [item for item in NAV if shell.is_admin or not item.admin_only],
            # our own source files, inlined (see the module docstring)
            "yz_console_css": Markup(_static("console.css")),
            "yz_console_js": Markup(_static("console.js")),
        }
    )

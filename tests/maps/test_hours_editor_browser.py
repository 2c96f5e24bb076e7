"""The weekly hours editor (``maps/static/hours_editor.js``) in headless Chromium on a small test page: it reads
the field's OSM text into its controls, writes what is chosen with the keyboard and the mouse back into the field,
leaves text beyond it to the text field with a note, and has named controls with 44 px targets (axe-core finds no
serious or critical violation)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EDITOR = (ROOT / "maps" / "static" / "hours_editor.js").read_text(encoding="utf-8")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def page_html(value: str, lang: str = "zh-CN") -> str:
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>t</title></head><body><main>
<form><div class="yz-field"><label for="f-opening_hours">开放时间</label>
<input id="f-opening_hours" name="opening_hours" type="text" value="{value}"></div></form></main>
<script>{EDITOR}</script>
<script>window.handle = YizhanHoursEditor.attach(document.getElementById("f-opening_hours"));</script>
</body></html>"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def field(page: Any) -> str:
    return str(page.input_value("#f-opening_hours"))


def test_the_editor_reads_the_field_and_writes_what_is_chosen(page: Any) -> None:
    page.set_content(page_html("Mo-Fr 08:30-11:30,13:30-17:00; PH off"))
    group = page.locator(".yz-he-group").first
    days = group.locator(".yz-he-days input[type=checkbox]")
    assert [days.nth(d).is_checked() for d in range(7)] == [True] * 5 + [False] * 2
    times = group.locator("input[type=time]")
    assert [times.nth(k).input_value() for k in range(4)] == ["08:30", "11:30", "13:30", "17:00"]
    assert page.is_checked("input[type=radio][value=off]")

    days.nth(5).focus()  # Saturday, by keyboard
    page.keyboard.press("Space")
    assert field(page) == "Mo-Sa 08:30-11:30,13:30-17:00; PH off"
    page.get_by_label("全天24小时").check()
    assert field(page) == "Mo-Sa 00:00-24:00; PH off"
    days.nth(6).check()
    page.get_by_label("照常开放（与平日相同）").check()
    assert field(page) == "24/7"
    page.get_by_label("全天24小时").uncheck()
    times.nth(1).fill("12:00")
    times.nth(1).dispatch_event("change")
    assert field(page) == "Mo-Su 08:30-12:00,13:30-17:00"

    page.click("text=添加一组日期")
    second = page.locator(".yz-he-group").nth(1)
    second.locator(".yz-he-days input[type=checkbox]").nth(6).check()  # Sunday: 09:00-17:00 by default
    assert field(page) == "Mo-Sa 08:30-12:00,13:30-17:00; Su 09:00-17:00"
    assert "Mo-Sa 08:30-12:00,13:30-17:00; Su 09:00-17:00" in page.inner_text(".yz-he-result")


def test_text_beyond_the_editor_stays_in_the_text_field_with_a_note(page: Any) -> None:
    page.set_content(page_html("Jan-Mar Mo 08:00-12:00"))
    assert page.is_visible(".yz-he-outside") and not page.is_visible(".yz-he-controls")
    assert field(page) == "Jan-Mar Mo 08:00-12:00"  # not touched
    page.fill("#f-opening_hours", "Mo-Fr 09:00-17:00")  # typing a text within the family shows the controls
    assert page.is_visible(".yz-he-controls") and not page.is_visible(".yz-he-outside")
    page.fill("#f-opening_hours", "周一至周五 9:00-17:00")  # words: the server reads them on save
    assert page.is_visible(".yz-he-outside")
    page.click("text=用编辑器重新设置")
    assert page.is_visible(".yz-he-controls") and field(page) == ""


def test_controls_are_named_and_big_enough_and_english_follows_the_document(page: Any) -> None:
    if not AXE.exists():
        pytest.skip("needs axe-core in node_modules (npm ci)")
    page.set_content(page_html("Mo-Fr 08:30-11:30,13:30-17:00; Sa 09:00-12:00; PH off"))
    small = page.evaluate(
        """() => [...document.querySelectorAll('.yz-hours-editor input, .yz-hours-editor button')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e, ['checkbox', 'radio'].includes(e.type) ? e.closest('label') : e])
            .filter(([e, t]) => { const r = t.getBoundingClientRect(); return r.height < 44 || r.width < 44; })
            .map(([e]) => e.id || e.textContent)"""
    )
    assert small == []
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document.querySelector('.yz-hours-editor')))
            .violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id)"""
    )
    assert violations == []
    page.set_content(page_html("", lang="en"))
    assert page.inner_text(".yz-hours-editor legend") == "Weekly opening hours"
    assert "not set" in page.inner_text(".yz-he-result")

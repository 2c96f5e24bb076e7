"""The keeper console's station pages over HTTP (issue 16): the list against a brute-force filter of the registry,
saving through the form (only the fields changed, history kept), a save that hit a newer revision (both versions
shown, a choice per field, nothing lost), validation in Chinese next to the fields, CSRF, a viewer's read-only
pages and 403, GCJ-02 coordinates when the tiles are Amap's, the freshness page's verify, and hostile text in
every field shown as text."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sample_client import sample_client

from api.sessions import COOKIE_NAME
from stations import hours, search
from stations.hours_words import to_words
from stations.model import Station
from stations.station_form import form_values, payload_at
from tests.hostile import ALL, evaluated_in

PASSWORD = "correct horse battery staple 1"


@dataclass
class Person:
    """A signed-in person: a client carrying their session cookie, and their CSRF token."""

    client: TestClient
    csrf: str


@dataclass
class Console:
    app: FastAPI
    editor: Person
    other_editor: Person
    viewer: Person

    @property
    def registry(self) -> Any:
        return self.app.state.registry


def _person(app: FastAPI, name: str, role: str) -> Person:
    people = app.state.people
    people.create(name, role, PASSWORD)
    signed_in = people.sign_in(name, PASSWORD, "127.0.0.1")
    client = TestClient(app, cookies={COOKIE_NAME: signed_in.secret}, follow_redirects=False)
    return Person(client, signed_in.session.csrf_token)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    database = tmp_path_factory.mktemp("console_stations") / "yizhan.sqlite3"
    with sample_client(database) as client:
        app = client.app
        assert isinstance(app, FastAPI)
        yield Console(
            app, _person(app, "编辑甲", "editor"), _person(app, "编辑乙", "editor"), _person(app, "查看者", "viewer")
        )


def _ids(page: str, table: str = "yz-station-list") -> list[str]:
    start = page.find(f'id="{table}"')
    if start < 0:
        return []
    body = page[start : page.find("</table>", start)]
    return [html.unescape(found) for found in re.findall(r'<tr data-id="([^"]*)"', body)]


def _revision(page: str) -> int:
    found = re.search(r'name="revision" value="(\d+)"', page)
    assert found, page[:2000]
    return int(found.group(1))


def _form(station: Station, crs: str = "wgs84", **changes: str) -> dict[str, Any]:
    values: dict[str, Any] = form_values(station, crs)  # type: ignore[arg-type]
    values["types"] = [kind for kind in values["types"].split(",") if kind]
    values.update(changes)
    return values


# -- the list ------------------------------------------------------------------------------------------------

SORTS = {
    "name": lambda s: (search.normalise(s.name), s.id),
    "district": lambda s: (s.district is None, s.district or "", search.normalise(s.name), s.id),
    "verified_at": lambda s: (s.verified_at or date.min, search.normalise(s.name), s.id),
}


def _expected(stations: tuple[Station, ...], params: dict[str, str], max_age: int) -> list[Station]:
    """The list by brute force: the search rule (``search.brute_force``), each filter, the order, the page."""
    payloads = [s.model_dump(mode="json") for s in stations]
    wanted = search.brute_force(params["q"], payloads) if params["q"].strip() else {s.id for s in stations}
    today = hours.today()
    chosen = [
        s
        for s in stations
        if s.id in wanted
        and (not params["adcode"] or s.adcode == params["adcode"])
        and (not params["type"] or params["type"] in s.types)
        and (not params["stale"] or s.is_stale(today, max_age) == (params["stale"] == "1"))
        and (not params["closed"] or s.is_closed == (params["closed"] == "1"))
    ]
    chosen.sort(key=SORTS[params["sort"]], reverse=params["order"] == "desc")
    size = int(params["per_page"])
    pages = max(1, -(-len(chosen) // size))
    page = min(int(params["page"]), pages)
    return chosen[(page - 1) * size : page * size]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    q=st.sampled_from(["", "驿站", "西湖", "母婴", "ＫＦＣ", "路", "zz-none", "  "]),
    adcode=st.sampled_from(["", "330106", "330110", "330102"]),
    kind=st.sampled_from(["", "outdoor_worker", "driver_home", "nursing_room"]),
    stale=st.sampled_from(["", "1", "0"]),
    closed=st.sampled_from(["", "1", "0"]),
    sort=st.sampled_from(list(SORTS)),
    order=st.sampled_from(["asc", "desc"]),
    per_page=st.sampled_from(["20", "50", "100"]),
    page=st.integers(1, 12),
)
def test_the_list_is_a_brute_force_filter_of_the_registry(console: Console, kind: str, **chosen: Any) -> None:
    params = {**{name: str(value) for name, value in chosen.items()}, "type": kind}
    response = console.viewer.client.get("/console/stations", params=params)
    assert response.status_code == 200, response.text[:500]
    snapshot = console.registry.snapshot()
    expected = _expected(snapshot.stations, params, console.app.state.settings.stale_after_days)
    assert _ids(response.text) == [s.id for s in expected]


def test_the_list_counts_and_pages(console: Console) -> None:
    total = len(console.registry.snapshot().stations)
    page = console.viewer.client.get("/console/stations", params={"per_page": "100", "page": "2"}).text
    pages = -(-total // 100)
    assert f"共 {total} 个站点，第 2/{pages} 页" in page
    assert 'rel="prev"' in page and 'rel="next"' in page
    english = console.viewer.client.get("/console/stations?lang=en&page=999").text
    assert f"{total} stations, page {-(-total // 20)} of {-(-total // 20)}" in english
    assert "lang=en" in english.split('rel="prev"')[0].rsplit("href=", 1)[1]  # the language kept in links


def test_a_bad_list_parameter_is_refused_not_a_500(console: Console) -> None:
    for params in ({"sort": "evil"}, {"type": "kiosk"}, {"per_page": "7"}, {"adcode": "999999"}):
        assert console.viewer.client.get("/console/stations", params=params).status_code == 422


# -- saving ---------------------------------------------------------------------------------------------------


def test_a_save_writes_the_fields_changed_and_the_history_says_who(console: Console) -> None:
    registry = console.registry
    station, revision = registry.versioned("HZ-SYN-00002")
    page = console.editor.client.get("/console/stations/HZ-SYN-00002").text
    assert _revision(page) == revision and 'name="csrf_token"' in page
    form = _form(station, **{"name": "改过的名字", "amenity.wifi": "no", "csrf_token": console.editor.csrf})
    form["revision"] = revision
    response = console.editor.client.post("/console/stations/HZ-SYN-00002", data=form)
    assert response.status_code == 303, response.text[:1000]
    assert response.headers["location"] == f"/console/stations/HZ-SYN-00002?saved={revision + 1}"
    after, new_revision = registry.versioned("HZ-SYN-00002")
    assert new_revision == revision + 1 and after.name == "改过的名字" and after.amenity("wifi") == "no"
    assert (after.lon, after.lat, after.adcode) == (station.lon, station.lat, station.adcode)  # not moved
    entry = registry.history("HZ-SYN-00002")[-1]
    assert entry.actor == "编辑甲" and set(entry.changes) == {"name", "amenities"}
    history = console.viewer.client.get("/console/stations/HZ-SYN-00002/history").text
    assert "编辑甲" in history and "改过的名字" in history and "无线网络" in history
    saved = console.editor.client.get(response.headers["location"]).text
    assert f"已保存（第 {revision + 1} 版）" in saved
    if after.opening_hours:  # the saved hours said in words next to the field
        assert f"已保存的开放时间：{to_words(after.opening_hours)}" in saved


def test_a_new_station_is_created_and_located(console: Console) -> None:
    blank = console.editor.client.get("/console/stations/new").text
    assert 'name="lon"' in blank and "WGS84" in blank
    form = {
        **form_values(None, "wgs84"), "name": "新建的驿站", "types": ["outdoor_worker", "nursing_room"],
        "lon": "120.16", "lat": "30.27", "opening_hours": "Mo-Su 08:00-20:00", "amenity.toilet": "yes",
        "csrf_token": console.editor.csrf,
    }  # fmt: skip
    response = console.editor.client.post("/console/stations/new", data=form)
    assert response.status_code == 303, response.text[:2000]
    station_id = response.headers["location"].split("/")[-1].split("?")[0]
    station, revision = console.registry.versioned(station_id)
    assert revision == 1 and station.name == "新建的驿站" and station.types == ("outdoor_worker", "nursing_room")
    assert station.adcode == "330105" and station.amenities == {"toilet": "yes"}  # 拱墅区, from the position
    taken = console.editor.client.post("/console/stations/new", data={**form, "id": station_id})
    assert taken.status_code == 422 and "这个编号已有站点使用" in taken.text
    english = console.editor.client.get(f"/console/stations/{station_id}?lang=en").text
    assert "Longitude" in english and "Amenities" in english and 'action="/console/stations/' in english


def test_bad_values_are_named_next_to_their_fields_in_chinese_and_nothing_is_written(console: Console) -> None:
    station, revision = console.registry.versioned("HZ-SYN-00003")
    form = _form(
        station, capacity="很多", photo_url="ftp://x", adcode="12", lat="95", opening_hours="每天都开",
        csrf_token=console.editor.csrf,
    )  # fmt: skip
    form["revision"] = revision
    response = console.editor.client.post("/console/stations/HZ-SYN-00003", data=form)
    assert response.status_code == 422
    page = response.text
    for field, words in (("capacity", "必须是整数"), ("lat", "纬度必须在 -90 到 90 之间")):
        assert re.search(rf'<p class="yz-field-error" id="e-{field}">[^<]*{words}', page), field
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', page), field
    assert 'value="很多"' in page  # what was typed is kept
    assert console.registry.versioned("HZ-SYN-00003")[1] == revision
    form.update(lat=str(form_values(station, "wgs84")["lat"]))
    again = console.editor.client.post("/console/stations/HZ-SYN-00003", data=form).text
    assert "必须以 http:// 或 https:// 开头" in again and "6 位数字" in again and "开放时间" in again


def test_control_characters_and_huge_fields_are_refused_and_nothing_is_written(console: Console) -> None:
    station, revision = console.registry.versioned("HZ-SYN-00008")
    form = {
        **_form(station, name="驿站\x00", address="地址\x07"),
        "revision": revision,
        "csrf_token": console.editor.csrf,
    }
    response = console.editor.client.post("/console/stations/HZ-SYN-00008", data=form)
    assert response.status_code == 422 and response.text.count("不能包含控制字符") >= 2
    huge = {**_form(station, name="站" * 2_000_000), "revision": revision, "csrf_token": console.editor.csrf}
    assert console.editor.client.post("/console/stations/HZ-SYN-00008", data=huge).status_code == 413
    long = {**_form(station, name="站" * 201), "revision": revision, "csrf_token": console.editor.csrf}
    assert "最多 200 个字符" in console.editor.client.post("/console/stations/HZ-SYN-00008", data=long).text
    assert console.registry.versioned("HZ-SYN-00008") == (station, revision)


def test_two_editors_conflict_and_nothing_is_lost(console: Console) -> None:
    registry = console.registry
    station, base = registry.versioned("HZ-SYN-00004")
    theirs = _form(station, name="乙改的名字", host="乙改的单位", csrf_token=console.other_editor.csrf)
    theirs["revision"] = base
    assert console.other_editor.client.post("/console/stations/HZ-SYN-00004", data=theirs).status_code == 303
    mine = _form(station, name="甲改的名字", phone="0571-1234", csrf_token=console.editor.csrf)
    mine["revision"] = base
    response = console.editor.client.post("/console/stations/HZ-SYN-00004", data=mine)
    assert response.status_code == 409
    page = response.text
    assert f"您编辑的是第 {base} 版，保存前已有人保存了第 {base + 1} 版" in page
    rows = dict(re.findall(r'<tr data-field="([^"]+)" class="([^"]*)"', page))
    assert set(rows) == {"name", "host", "phone"}  # the fields the two hold differently
    assert "yz-changed-both" in rows["name"] and "yz-changed-both" not in rows["host"]
    assert "乙改的名字" in page and "甲改的名字" in page and "0571-1234" in page
    assert registry.versioned("HZ-SYN-00004")[0].name == "乙改的名字"  # nothing written
    # defaults: mine where I changed it (name, phone), theirs elsewhere (host); choose theirs for the name
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    assert hidden["name"] == "甲改的名字" and hidden["host"] == (station.host or "")
    assert (hidden["revision"], hidden["resolved_at"]) == (str(base), str(base + 1))
    choice = {**mine, "resolved_at": base + 1, "keep.name": "theirs", "keep.host": "theirs", "keep.phone": "yours"}
    assert console.editor.client.post("/console/stations/HZ-SYN-00004", data=choice).status_code == 303
    resolved = registry.versioned("HZ-SYN-00004")[0]
    assert (resolved.name, resolved.host, resolved.phone) == ("乙改的名字", "乙改的单位", "0571-1234")
    # re-applying all my changes over a newer revision
    stale = {**mine, "revision": base}
    again = console.editor.client.post("/console/stations/HZ-SYN-00004", data=stale)
    assert again.status_code == 409
    reapply = {**mine, "resolved_at": base + 2, "keep_all": "yours"}
    assert console.editor.client.post("/console/stations/HZ-SYN-00004", data=reapply).status_code == 303
    final = registry.versioned("HZ-SYN-00004")[0]  # my changes again, their other change kept
    assert (final.name, final.host, final.phone) == ("甲改的名字", "乙改的单位", "0571-1234")


def test_a_save_of_a_station_removed_meanwhile_shows_what_was_sent(console: Console) -> None:
    station, revision = console.registry.versioned("HZ-SYN-00009")
    console.registry.delete("HZ-SYN-00009", "admin", revision, hard=True)
    form = {**_form(station, name="删除后才保存"), "revision": revision, "csrf_token": console.editor.csrf}
    response = console.editor.client.post("/console/stations/HZ-SYN-00009", data=form)
    assert response.status_code == 409 and "这个站点已被删除" in response.text and "删除后才保存" in response.text
    assert 'name="resolved_at"' not in response.text and "yz-save-choices" not in response.text
    gone = console.editor.client.get("/console/stations/HZ-SYN-00009")
    assert gone.status_code == 404 and "没有这个站点" in gone.text
    assert "删除" in console.editor.client.get("/console/stations/HZ-SYN-00009/history").text  # the purge, kept


def test_the_station_at_an_earlier_revision_is_rebuilt_from_its_history(console: Console) -> None:
    registry = console.registry
    before, revision = registry.versioned("HZ-SYN-00005")
    registry.update("HZ-SYN-00005", {"name": "X", "amenities": {"wifi": "yes"}, "phone": None}, "test", revision)
    registry.verify("HZ-SYN-00005", "test")
    assert payload_at(registry, "HZ-SYN-00005", revision) == before.model_dump(mode="json", exclude_none=True)
    assert payload_at(registry, "HZ-SYN-00005", revision + 5) is None


# -- CSRF, roles -------------------------------------------------------------------------------------------------


def test_a_post_without_the_sessions_csrf_token_is_refused_and_writes_nothing(console: Console) -> None:
    station, revision = console.registry.versioned("HZ-SYN-00006")
    for token in (None, "forged", console.other_editor.csrf):
        form = _form(station, name="CSRF 改的")
        form["revision"] = revision
        if token is not None:
            form["csrf_token"] = token
        response = console.editor.client.post("/console/stations/HZ-SYN-00006", data=form)
        assert response.status_code == 403 and "表单已过期或来源不明" in response.text
        verify = {"station_id": "HZ-SYN-00006", "revision": revision, **({"csrf_token": token} if token else {})}
        assert console.editor.client.post("/console/freshness/verify", data=verify).status_code == 403
    assert console.registry.versioned("HZ-SYN-00006") == (station, revision)


def test_a_viewer_sees_no_write_controls_and_gets_403_posting(console: Console) -> None:
    station, revision = console.registry.versioned("HZ-SYN-00007")
    for path in ("/console/stations/HZ-SYN-00007", "/console/stations", "/console/freshness?days=0"):
        page = console.viewer.client.get(path).text
        markup = re.sub(r"<script\b.*?</script>", "", page, flags=re.DOTALL)
        posts = re.findall(r'<form method="post" action="([^"?]*)', markup, re.IGNORECASE)
        assert posts == ["/console/logout"], path  # signing out is the only form that posts
        assert not re.search(
            r"<(input|select|textarea)\b(?![^>]*type=\"(hidden|search|number)\")",
            markup.split('class="yz-filters"')[-1].split("</form>")[-1],
        ), path
        assert "已电话核实</button>" not in page and "新建站点" not in page
    assert station.name in console.viewer.client.get("/console/stations/HZ-SYN-00007").text
    form = {**_form(station, name="查看者改的"), "revision": revision, "csrf_token": console.viewer.csrf}
    assert console.viewer.client.post("/console/stations/HZ-SYN-00007", data=form).status_code == 403
    assert console.viewer.client.get("/console/stations/new").status_code == 403
    verify = {"station_id": "HZ-SYN-00007", "revision": revision, "csrf_token": console.viewer.csrf}
    assert console.viewer.client.post("/console/freshness/verify", data=verify).status_code == 403
    assert console.registry.versioned("HZ-SYN-00007") == (station, revision)


def test_signed_out_pages_go_to_the_sign_in_page(console: Console) -> None:
    anonymous = TestClient(console.app, follow_redirects=False)
    response = anonymous.get("/console/stations?q=西湖")
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login?next=")


# -- freshness -------------------------------------------------------------------------------------------------


def test_freshness_lists_the_stale_stations_and_verifies_one_by_phone(console: Console) -> None:
    registry, settings = console.registry, console.app.state.settings
    page = console.editor.client.get("/console/freshness", params={"adcode": "330106"}).text
    today = hours.today()
    max_age = settings.stale_after_days
    district = [s for s in registry.snapshot().stations if s.adcode == "330106"]
    stale = sorted((s for s in district if s.is_stale(today, max_age)), key=SORTS["verified_at"])
    assert _ids(page, "yz-fresh-list") == [s.id for s in stale[:50]]
    first = stale[0]
    revision = registry.versioned(first.id)[1]
    form = {"station_id": first.id, "revision": revision, "adcode": "330106", "days": "", "page": "1",
            "csrf_token": console.editor.csrf}  # fmt: skip
    response = console.editor.client.post("/console/freshness/verify", data=form)
    assert response.status_code == 303
    assert registry.versioned(first.id)[0].verified_at == today
    assert registry.history(first.id)[-1].action == "verify"
    after = console.editor.client.get(response.headers["location"]).text
    assert "已核实：" in after and first.id not in _ids(after, "yz-fresh-list")
    again = console.editor.client.post("/console/freshness/verify", data=form)  # the revision it showed is old
    assert "刚被他人修改" in console.editor.client.get(again.headers["location"]).text
    ninety = console.viewer.client.get("/console/freshness", params={"days": "90"}).text
    assert "超过 90 天未核实" in ninety or "90 天" in ninety


# -- GCJ-02 ----------------------------------------------------------------------------------------------------


def test_coordinates_are_shown_and_taken_in_gcj02_when_the_tiles_are_amaps(tmp_path: Path) -> None:
    amap = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
    with sample_client(tmp_path / "gcj.sqlite3", tiles=amap, tiles_attribution="© 高德", tiles_crs="gcj02") as client:
        app = client.app
        assert isinstance(app, FastAPI)
        editor = _person(app, "高德编辑", "editor")
        registry = app.state.registry
        station, revision = registry.versioned("HZ-SYN-00010")
        page = editor.client.get("/console/stations/HZ-SYN-00010").text
        shown = form_values(station, "gcj02")
        assert (
            "GCJ-02" in page
            and f'value="{shown["lon"]}"' in page
            and shown["lon"] != form_values(station, "wgs84")["lon"]
        )
        unchanged = {**_form(station, "gcj02", phone="1"), "revision": revision, "csrf_token": editor.csrf}
        assert editor.client.post("/console/stations/HZ-SYN-00010", data=unchanged).status_code == 303
        after, _ = registry.versioned("HZ-SYN-00010")
        assert (after.lon, after.lat) == (station.lon, station.lat)  # no round trip through GCJ-02
        moved = {**unchanged, "lon": "120.170000", "lat": "30.280000", "revision": revision + 1}
        assert editor.client.post("/console/stations/HZ-SYN-00010", data=moved).status_code == 303
        after, _ = registry.versioned("HZ-SYN-00010")
        assert form_values(after, "gcj02")["lon"] == "120.170000" and abs(after.lon - 120.17) > 1e-3


# -- hostile text -------------------------------------------------------------------------------------------------


def test_hostile_text_in_every_field_is_shown_as_text(console: Console) -> None:
    text_fields = ("name", "host", "address", "district", "phone", "source")
    created = []
    for number, hostile in enumerate(ALL):
        form = {
            **form_values(None, "wgs84"), **dict.fromkeys(text_fields, hostile), "types": ["outdoor_worker"],
            "lon": f"{120.15 + number / 1000:.6f}", "lat": "30.25", "photo_url": f"https://img.example.cn/{hostile}",
            "id": f"HOSTILE-{number}", "csrf_token": console.editor.csrf,
        }  # fmt: skip
        response = console.editor.client.post("/console/stations/new", data=form)
        assert response.status_code == 303, (hostile, response.text[:3000])
        created.append((f"HOSTILE-{number}", hostile))
    pages = {
        "list": console.viewer.client.get("/console/stations", params={"q": "HOSTILE", "per_page": "50"}).text,
        "freshness": console.viewer.client.get("/console/freshness", params={"days": "0", "page": "1"}).text,
    }
    for station_id, hostile in created:
        pages[f"{station_id} edit"] = console.editor.client.get(f"/console/stations/{station_id}").text
        pages[f"{station_id} view"] = console.viewer.client.get(f"/console/stations/{station_id}").text
        pages[f"{station_id} history"] = console.viewer.client.get(f"/console/stations/{station_id}/history").text
        for name in (f"{station_id} edit", f"{station_id} view", f"{station_id} history"):
            page = pages[name]
            assert str(escape(hostile)) in page, name  # escaped as Jinja2 writes text
    for name, page in pages.items():
        assert "<img src=x" not in page and "<script>alert" not in page, name
        assert evaluated_in(page) == [], name
    # a conflict page shows them as text too
    station, revision = console.registry.versioned("HOSTILE-0")
    console.registry.update("HOSTILE-0", {"phone": "1"}, "test", revision)
    form = {**_form(station, name=ALL[1]), "revision": revision, "csrf_token": console.editor.csrf}
    conflict = console.editor.client.post("/console/stations/HOSTILE-0", data=form)
    assert conflict.status_code == 409 and evaluated_in(conflict.text) == [] and "<img src=x" not in conflict.text


@pytest.mark.parametrize("path", ["/console/stations", "/console/freshness"])
def test_the_district_filter_lists_every_district_and_keeps_the_choice(console: Console, path: str) -> None:
    page = console.viewer.client.get(path, params={"adcode": "330106"}).text
    select = page.split('<select id="f-adcode" name="adcode">', 1)[1].split("</select>", 1)[0]
    options = re.findall(r'<option value="(\d*)"( selected)?>([^<]*)</option>', select)
    assert options[0] == ("", "", "全部区县") and len(options) == 1 + len(console.registry.districts.adcodes)
    assert [code for code, chosen, _ in options if chosen] == ["330106"]
    assert ("330106", " selected", "西湖区") in options

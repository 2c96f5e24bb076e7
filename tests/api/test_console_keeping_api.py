"""The keeper console's keeping pages over HTTP (TestClient, a SQLite file, signed-in editor and viewer): the
import's dry-run table is the import plan's, a commit writes all or nothing, a rejected row is fixed and
re-imported, a report is resolved with a note; CSRF and roles guard every POST; hostile text shows as text;
the template spreadsheet holds no formula."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from keeper_support import Keeper, csv_bytes, keeper_app

from stations.exporters import FORMULA_START
from stations.import_jobs import ImportJobs
from stations.import_template import TEMPLATE_COLUMNS
from stations.importers import parse_file

PASSWORD = "correct horse battery staple 驿站"
HEADER = "编号,名称,类型,经度,纬度,开放时间,热水"
HOSTILE = '<img src=x onerror=alert(1)>{{ 7*7 }}{% if 1 %}x{% endif %}${7*7}"</script>'


@dataclass
class Person:
    client: TestClient
    csrf: str


@dataclass
class Console:
    keeper: Keeper
    editor: Person
    viewer: Person
    other_editor: Person


def _signed_in(keeper: Keeper, name: str, role: str) -> Person:
    people = keeper.app.state.people
    people.create(name, role, PASSWORD)
    signed = people.sign_in(name, PASSWORD, "testclient")
    client = TestClient(keeper.app, follow_redirects=False)  # not entered: the keeper's client ran the lifespan
    client.cookies.set("yizhan_session", signed.secret, domain="testserver.local", path="/console")
    return Person(client, signed.session.csrf_token)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    path: Path = tmp_path_factory.mktemp("console-keeping") / "yizhan.sqlite3"
    with keeper_app(f"sqlite:///{path}") as keeper:
        keeper.app.state.console_import_jobs = ImportJobs(keeper.app.state.registry, run_inline=True)
        yield Console(
            keeper,
            _signed_in(keeper, "编辑甲", "editor"),
            _signed_in(keeper, "只读乙", "viewer"),
            _signed_in(keeper, "编辑丙", "editor"),
        )


class _Tables(HTMLParser):
    """Cells of each table's body rows, by the table's id; and every form's action."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.forms: list[str] = []
        self._table: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id"):
            self._table = found["id"]
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table and self._in_body:
            self.tables[self._table].append([])
        elif tag == "td" and self._table and self._in_body:
            self._cell = []
        elif tag == "form":
            self.forms.append(found.get("action") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parsed(html: str) -> _Tables:
    tables = _Tables()
    tables.feed(html)
    return tables


def upload(person: Person, data: bytes, name: str = "站点.csv", **form: str) -> Any:
    fields = {"csrf_token": person.csrf, **form}
    return person.client.post("/console/imports", data=fields, files={"file": (name, data, "text/csv")})


def checked(person: Person, data: bytes, name: str = "站点.csv") -> tuple[str, str]:
    """Upload ``data``; the job's id and its page (the dry run ran inline)."""
    response = upload(person, data, name)
    assert response.status_code == 303, response.text
    job_id = response.headers["location"].split("?")[0].rsplit("/", 1)[1]
    page = person.client.get(f"/console/imports/{job_id}")
    assert page.status_code == 200, page.text
    return job_id, page.text


def post(person: Person, path: str, with_csrf: bool = True, **form: str) -> Any:
    return person.client.post(path, data={**({"csrf_token": person.csrf} if with_csrf else {}), **form})


def test_the_dry_run_table_is_the_import_plan(console: Console) -> None:
    keeper = console.keeper
    keeper.add("KP-UPD", name="更新前的驿站", lon=120.1500, lat=30.2700)
    keeper.add("KP-SAME", name="不变的驿站", lon=120.1600, lat=30.2800, opening_hours="24/7")
    keeper.add("KP-NEAR", name="武林街道工会驿站", lon=120.1700, lat=30.2750)
    data = csv_bytes(
        HEADER,
        [
            "KP-NEW1,新增一号驿站,户外劳动者服务站,120.1801,30.2601,,有",
            "KP-UPD,更新后的驿站,户外劳动者服务站,120.1500,30.2700,,",
            "KP-SAME,不变的驿站,户外劳动者服务站,120.1600,30.2800,24/7,",
            "KP-BAD,纬度填错的驿站,户外劳动者服务站,120.1,300,,",
            "KP-DUP,武林街道户外劳动者服务站,户外劳动者服务站,120.17003,30.27502,,",
            "KP-TYPE,类型不明的驿站,加油站,120.19,30.26,,",
        ],
    )
    before = keeper.written()
    plan = keeper.app.state.registry.import_file(data, "站点.csv", dry_run=True)
    job_id, page = checked(console.editor, data)
    assert keeper.written() == before  # a dry run writes nothing
    tables = parsed(page).tables
    added = tables.get("yz-added", [])
    assert [[int(r[0]), r[1], r[2]] for r in added] == [[p.row, p.id, p.name] for p in plan.rows_added]
    assert [[int(r[0]), r[1]] for r in tables.get("yz-updated", [])] == [[p.row, p.id] for p in plan.rows_updated]
    assert [[int(r[0]), r[1]] for r in tables.get("yz-unchanged", [])] == [[p.row, p.id] for p in plan.rows_unchanged]
    assert [(int(r[0]), r[2]) for r in tables["yz-problems"]] == [(p.row, p.value) for p in plan.problems]
    assert [int(r[0]) for r in tables["yz-duplicates"]] == [d.row for d in plan.duplicates]
    assert {p.row for p in plan.problems} == {5, 7} and [d.id for d in plan.duplicates] == ["KP-DUP"]
    reasons = {int(r[0]): (r[1], r[3]) for r in tables["yz-problems"]}
    assert reasons[5] == ("纬度", "纬度必须在 -90 到 90 之间")
    assert reasons[7][0] == "类型" and reasons[7][1].startswith("未知的站点类型")
    assert "名称" in tables["yz-updated"][0][3]  # the fields that change, in Chinese
    assert [c for c in tables["yz-summary"][0]] == ["2", "1", "1", "2", "1"]
    assert "/commit" not in " ".join(parsed(page).forms)  # rejected rows: no commit button
    # the likely duplicate is on the map: both points, in the page's JSON
    assert '"existing":"武林街道工会驿站"' in page and '"new_at":[120.17003,30.27502]' in page
    english = console.editor.client.get(f"/console/imports/{job_id}?lang=en").text
    assert '<html lang="en">' in english and "latitude must be within [-90, 90]" in english
    assert f'action="/console/imports/{job_id}/cancel?lang=en"' in english  # the language kept in the forms


def test_a_rejected_row_is_fixed_and_re_imported(console: Console) -> None:
    keeper, editor = console.keeper, console.editor
    rows = [
        "KP-FIX1,修正一号驿站,户外劳动者服务站,120.2001,30.3001,,有",
        "KP-FIX2,修正二号驿站,司机之家,30.3002,120.2002,,",
    ]
    before = keeper.written()
    job_id, page = checked(editor, csv_bytes(HEADER, rows))
    assert "经度和纬度似乎填反了" in page
    assert post(editor, f"/console/imports/{job_id}/commit").status_code == 303  # refused quietly: bad rows
    assert keeper.written() == before and keeper.client.get("/stations/KP-FIX1").status_code == 404
    assert post(editor, f"/console/imports/{job_id}/cancel").status_code == 303
    assert editor.client.get(f"/console/imports/{job_id}").status_code == 404  # forgotten with its file

    rows[1] = "KP-FIX2,修正二号驿站,司机之家,120.2002,30.3002,,"
    job_id, page = checked(editor, csv_bytes(HEADER, rows))
    assert not parsed(page).tables.get("yz-problems") and f"/console/imports/{job_id}/commit" in parsed(page).forms
    assert post(editor, f"/console/imports/{job_id}/commit").status_code == 303
    done = editor.client.get(f"/console/imports/{job_id}")
    assert 'id="yz-committed"' in done.text and parsed(done.text).tables["yz-summary"][0][0] == "2"
    for station_id in ("KP-FIX1", "KP-FIX2"):
        assert keeper.client.get(f"/stations/{station_id}").status_code == 200
    history = keeper.client.get("/stations/KP-FIX2/history", headers=keeper.auth("viewer")).json()
    assert history["history"][0]["actor"] == "编辑甲"
    status = editor.client.get(f"/console/imports/{job_id}/status").json()
    assert status["state"] == "committed" and status["stage"] == "writing" and status["done"] == status["total"]


def test_a_commit_writes_all_or_nothing(console: Console) -> None:
    keeper, editor = console.keeper, console.editor
    rows = [f"KP-ALL{i},整批驿站{i},母婴室,{120.30 + i / 1000:.4f},30.2,,有" for i in range(5)]
    job_id, _ = checked(editor, csv_bytes(HEADER, rows))
    registry = keeper.app.state.registry
    original = registry.import_file
    calls: list[bool] = []

    def failing(data: bytes, name: str, crs: Any, dry_run: bool, actor: str, progress: Any) -> Any:
        """The import as it is, but the store fails once the fourth row is being written."""
        calls.append(dry_run)
        stages: list[str] = []
        progress.on_stage = lambda stage, _total: stages.append(stage)

        def advance(count: int) -> None:
            written.append(count)
            if stages[-1:] == ["writing"] and sum(written) >= 4:
                raise RuntimeError("disk full")

        written: list[int] = []
        progress.on_advance = advance
        return original(data, name, crs, dry_run, actor, progress)

    before = keeper.written()
    registry.import_file = failing
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            post(editor, f"/console/imports/{job_id}/commit")
    finally:
        del registry.import_file
    assert calls == [False] and keeper.written() == before  # nothing of the five rows written
    assert keeper.client.get("/stations/KP-ALL0").status_code == 404


def test_csrf_missing_or_wrong_is_403_and_nothing_written(console: Console) -> None:
    keeper, editor = console.keeper, console.editor
    job_id, _ = checked(editor, csv_bytes(HEADER, ["KP-CSRF,跨站驿站,户外劳动者服务站,120.21,30.21,,"]))
    keeper.add("KP-CSRF-R", name="报告的驿站", lon=120.1800, lat=30.2900)  # its own: tests run in any order
    report = keeper.app.state.reports.submit("KP-CSRF-R", "closed", "client-csrf", "门锁着")
    before = keeper.written()
    for path, form in (
        (f"/console/imports/{job_id}/commit", {}),
        (f"/console/imports/{job_id}/cancel", {}),
        (f"/console/reports/{report.id}", {"status": "resolved", "note": "x"}),
    ):
        for token in (None, "wrong-token"):
            data = {**form, **({"csrf_token": token} if token else {})}
            response = editor.client.post(path, data=data)
            assert response.status_code == 403, (path, token, response.status_code)
    response = editor.client.post(
        "/console/imports", data={}, files={"file": ("a.csv", csv_bytes(HEADER, ["X,x,母婴室,120,30,,"]))}
    )
    assert response.status_code == 403
    assert keeper.written() == before
    assert editor.client.get(f"/console/imports/{job_id}").status_code == 200  # the job is still there


def test_a_viewer_sees_no_write_controls_and_gets_403(console: Console) -> None:
    keeper, viewer = console.keeper, console.viewer
    keeper.add("KP-VIEW-R", name="被报告的驿站", lon=120.1900, lat=30.2950)  # its own: tests run in any order
    report = keeper.app.state.reports.submit("KP-VIEW-R", "hours_wrong", "client-viewer", "周末不开门")
    imports = viewer.client.get("/console/imports")
    reports = viewer.client.get("/console/reports")
    assert imports.status_code == reports.status_code == 200
    assert parsed(imports.text).forms == [a for a in parsed(imports.text).forms if "/console/imports" not in a]
    assert not [a for a in parsed(reports.text).forms if a.startswith("/console/reports/")]
    assert f"report-{report.id}" in reports.text  # the viewer reads the queue
    before = keeper.written()
    assert post(viewer, f"/console/reports/{report.id}", status="resolved", note="x").status_code == 403
    assert upload(viewer, csv_bytes(HEADER, ["KP-VIEW,只读驿站,母婴室,120.22,30.22,,"])).status_code == 403
    job_id, _ = checked(console.editor, csv_bytes(HEADER, ["KP-VIEW,只读驿站,母婴室,120.22,30.22,,"]))
    assert post(viewer, f"/console/imports/{job_id}/commit").status_code == 403
    assert keeper.written() == before


def test_an_upload_belongs_to_its_session(console: Console) -> None:
    job_id, _ = checked(console.editor, csv_bytes(HEADER, ["KP-MINE,我的驿站,母婴室,120.23,30.23,,"]))
    other = console.other_editor
    assert other.client.get(f"/console/imports/{job_id}").status_code == 404
    assert other.client.get(f"/console/imports/{job_id}/status").status_code == 404
    before = console.keeper.written()
    assert post(other, f"/console/imports/{job_id}/commit").status_code == 404
    assert console.keeper.written() == before


def test_a_report_is_resolved_with_a_note(console: Console) -> None:
    keeper, editor = console.keeper, console.editor
    keeper.add("KP-NOTE", name="搬走的驿站", lon=120.2500, lat=30.3300)  # its own: tests run in any order
    report = keeper.app.state.reports.submit("KP-NOTE", "moved", "client-note", HOSTILE, (120.1702, 30.2752))
    queue = editor.client.get("/console/reports")
    assert f'id="report-{report.id}"' in queue.text and "/console/stations/KP-NOTE" in queue.text
    note = f"已电话核实，站点搬到对面 {HOSTILE}"
    response = post(editor, f"/console/reports/{report.id}", status="resolved", note=note)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/reports?")
    closed = keeper.app.state.reports.list("resolved", station_id="KP-NOTE")[0]
    assert (closed.id, closed.status, closed.resolved_by, closed.resolution) == (report.id, "resolved", "编辑甲", note)
    again = post(editor, f"/console/reports/{report.id}", status="rejected", note="晚了一步")
    assert again.status_code == 409 and "已经被处理过了" in again.text
    shown = editor.client.get("/console/reports?status=resolved").text
    for page in (queue.text, shown):
        _assert_shown_as_text(page)
    assert "已电话核实" in shown


def _assert_shown_as_text(page: str) -> None:
    assert "<img src=x" not in page and '"</script>' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # escaped
    assert "{{ 7*7 }}{% if 1 %}x{% endif %}${7*7}" in page  # template syntax left as written, never run


def test_hostile_cells_are_shown_as_text(console: Console) -> None:
    quoted = '"' + HOSTILE.replace('"', '""') + '"'
    rows = [f"KP-HOST,{quoted},户外劳动者服务站,120.24,30.24,,{quoted}"]
    _, page = checked(console.editor, csv_bytes(HEADER, rows), name=f"{HOSTILE[:28]}.csv")
    _assert_shown_as_text(page)
    assert parsed(page).tables["yz-problems"][0][2] == HOSTILE  # the bad 热水 value, shown whole as text


def test_the_template_has_the_importers_headers_and_no_formula(console: Console) -> None:
    viewer = console.viewer
    xlsx = viewer.client.get("/console/imports/template.xlsx")
    text = viewer.client.get("/console/imports/template.csv")
    assert xlsx.status_code == text.status_code == 200
    assert "attachment" in xlsx.headers["content-disposition"] and xlsx.content[:2] == b"PK"
    for data, name in ((xlsx.content, "t.xlsx"), (text.content, "t.csv")):
        result = parse_file(data, name)
        assert (len(result.stations), result.problems, result.warnings) == (1, [], [])  # every header understood
        assert "synthetic" in (result.stations[0].source or "") and "示例" in result.stations[0].name
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [c.value for c in cells[: len(TEMPLATE_COLUMNS)]] == list(TEMPLATE_COLUMNS)
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula cell
    assert not [c.value for c in cells if isinstance(c.value, str) and c.value.startswith(FORMULA_START)]
    table = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert table[0] == list(TEMPLATE_COLUMNS)
    assert not [v for row in table for v in row if v.startswith(FORMULA_START)]


def test_signed_out_pages_go_to_sign_in(console: Console) -> None:
    client = TestClient(console.keeper.app, follow_redirects=False)
    for path in ("/console/imports", "/console/reports", "/console/imports/template.xlsx"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/login?next=")


def test_a_long_import_shows_its_progress_and_can_be_cancelled(console: Console) -> None:
    """The import runs in a worker thread: while it is held in the middle of its first stage, the status says
    how far it has come, the pages answer, and a cancel stops it with nothing written."""
    keeper, editor = console.keeper, console.editor
    app, registry = keeper.app, keeper.app.state.registry
    original = registry.import_file
    halfway, release = threading.Event(), threading.Event()

    def held(data: bytes, name: str, crs: Any, dry_run: bool, actor: str, progress: Any) -> Any:
        advance = progress.on_advance

        def slow_advance(count: int) -> None:
            advance(count)
            if not halfway.is_set():
                halfway.set()
                release.wait(20)

        progress.on_advance = slow_advance
        return original(data, name, crs, dry_run, actor, progress)

    rows = [
        f"KP-LONG{i},长表驿站{i},母婴室,{120.4 + i / 100_000:.5f},30.3,,有" for i in range(4100)
    ]  # a chunk of 4096 rows, then more
    inline, app.state.console_import_jobs = app.state.console_import_jobs, ImportJobs(registry)
    registry.import_file = held
    before = keeper.written()
    try:
        for finish in ("wait", "cancel"):
            halfway.clear()
            release.clear()
            response = upload(editor, csv_bytes(HEADER, rows))
            assert response.status_code == 303
            job_id = response.headers["location"].rsplit("/", 1)[1]
            assert halfway.wait(20)
            status = editor.client.get(f"/console/imports/{job_id}/status").json()
            assert (status["state"], status["stage"], status["done"]) == ("checking", "validating rows", 4096)
            assert status["total"] >= 4096
            page = editor.client.get(f"/console/imports/{job_id}")
            assert 'data-state="checking"' in page.text and 'value="4096"' in page.text
            assert editor.client.get("/console/reports").status_code == 200  # the app answers meanwhile
            if finish == "cancel":
                assert post(editor, f"/console/imports/{job_id}/cancel").status_code == 303
            release.set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                answer = editor.client.get(f"/console/imports/{job_id}/status")
                if answer.status_code == 404 or answer.json()["state"] != "checking":
                    break
                time.sleep(0.1)
            if finish == "wait":
                assert answer.json()["state"] == "checked"
            else:
                assert answer.status_code == 404  # stopped and forgotten
    finally:
        release.set()
        del registry.import_file
        app.state.console_import_jobs = inline
    assert keeper.written() == before and keeper.client.get("/stations/KP-LONG0").status_code == 404

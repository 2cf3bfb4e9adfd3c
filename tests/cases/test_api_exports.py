"""The incident list as a file through the API: CSV and XLSX, scoped, audited; a large
export is queued, its progress polled and its file downloaded by its owner only."""

import io
import time

import pytest
from openpyxl import load_workbook

from cases.exports import INCIDENT_HEADER
from cases.models import Status
from kaili.models import AuditEntry
from tests import exports
from tests.cases.factories import THEFT, bring_to, report
from tests.factories import force_verified
from tests.kaili.test_celery_worker import live_celery  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def cases(cast):
    """Two cases in zone A (one filed), one in zone B."""
    everyone = {"centre": cast.centre, "handler": cast.handler, "reporter": cast.worker, "department": cast.department}
    streetlight = report(cast.worker, cast.tree.unit_a, title="北京路路灯不亮")
    filed = bring_to(report(cast.worker, cast.tree.grid_a, code=THEFT, title="电动车被盗"), Status.FILED, **everyone)
    zone_b = report(cast.worker_b, cast.tree.unit_b, title="营盘坡路灯不亮")
    return {"a": [streetlight.number, filed.number], "filed": filed.number, "b": zone_b.number}


def csv_table(response) -> list[list[str]]:
    return exports.csv_table(response, "incidents")


def exports_audited() -> list[AuditEntry]:
    return exports.exports_audited("cases.incident")


def test_the_centre_exports_its_list_as_csv_audited(api, cast, cases):
    api.force_authenticate(cast.centre)
    table = csv_table(api.get("/api/incidents/export/", {"format": "csv"}))
    assert table[0] == INCIDENT_HEADER
    assert sorted(row[0] for row in table[1:]) == sorted([*cases["a"], cases["b"]])
    row = next(row for row in table[1:] if row[0] == cases["filed"])
    assert row[1] == "电动车被盗" and row[3] == "盗窃" and row[8] == "已立案"
    (entry,) = exports_audited()
    assert entry.actor == cast.centre and entry.changes["rows"] == 3 and entry.changes["format"] == "csv"


def test_the_export_takes_the_list_filters(api, cast, cases):
    api.force_authenticate(cast.centre)
    table = csv_table(api.get("/api/incidents/export/", {"format": "csv", "status": "filed"}))
    assert [row[0] for row in table[1:]] == [cases["filed"]]
    table = csv_table(api.get("/api/incidents/export/?format=csv&status=filed&status=reported&under=522601001001"))
    assert sorted(row[0] for row in table[1:]) == sorted(cases["a"])
    table = csv_table(api.get("/api/incidents/export/", {"format": "csv", "q": "营盘坡"}))
    assert [row[0] for row in table[1:]] == [cases["b"]]
    entry = exports_audited()[-1]
    assert entry.changes["filters"] == {"q": "营盘坡"} and entry.changes["rows"] == 1
    refused = api.get("/api/incidents/export/", {"format": "csv", "status": "nonsense"})
    assert refused.status_code == 400 and "status" in refused.json()["error"]["fields"]


def test_the_xlsx_file_has_the_header_and_the_rows(api, cast, cases):
    api.force_authenticate(cast.centre)
    rows = exports.xlsx_rows(api.get("/api/incidents/export/", {"format": "xlsx"}))
    assert rows[0] == INCIDENT_HEADER
    assert sorted(row[0] for row in rows[1:]) == sorted([*cases["a"], cases["b"]])
    assert exports_audited()[-1].changes["format"] == "xlsx"


def test_a_zone_b_centre_exports_no_zone_a_rows(api, cast, cases):
    api.force_authenticate(cast.centre_b)
    table = csv_table(api.get("/api/incidents/export/", {"format": "csv"}))
    assert [row[0] for row in table[1:]] == [cases["b"]]
    assert csv_table(api.get("/api/incidents/export/", {"format": "csv", "q": cases["filed"]}))[1:] == []
    assert exports_audited()[0].changes["rows"] == 1


def test_the_leader_exports_too(api, cast, cases):
    force_verified(api, cast.leader)
    table = csv_table(api.get("/api/incidents/export/", {"format": "csv"}))
    assert len(table) == 4


def test_a_grid_worker_may_not_export(api, cast, cases):
    api.force_authenticate(cast.worker)
    response = api.get("/api/incidents/export/", {"format": "csv"})
    assert response.status_code == 403 and response.json()["error"]["message"]
    assert exports_audited() == []


def test_an_unknown_format_is_refused(api, cast, cases):
    api.force_authenticate(cast.centre)
    response = api.get("/api/incidents/export/", {"format": "pdf"})
    assert response.status_code == 400 and "format" in response.json()["error"]["fields"]


def test_a_large_export_is_queued_and_downloaded_by_its_owner_only(
    api, cast, cases, settings, django_capture_on_commit_callbacks
):
    settings.KAILI_EXPORT_INLINE_ROWS = 2
    api.force_authenticate(cast.centre)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.get("/api/incidents/export/", {"format": "csv", "status": ["reported", "filed"]})
    job, body = exports.queued_export(response, kind="cases.incidents", params={"status": ["reported", "filed"]})

    progress = api.get(body["progress_url"]).json()
    assert progress["status"] == "done" and progress["finished"] is True and progress["percent"] == 100
    assert progress["rows"] == 3 and progress["download_url"] == body["download_url"]
    _content, table = exports.downloaded_csv(api, body["download_url"])
    assert table[0] == INCIDENT_HEADER and sorted(row[0] for row in table[1:]) == sorted([*cases["a"], cases["b"]])
    assert exports_audited()[-1].changes["job"] == job.pk

    api.force_authenticate(cast.centre_b)
    assert api.get(body["progress_url"]).status_code == 404
    assert api.get(body["download_url"]).status_code == 404
    api.force_authenticate(None)
    assert api.get(body["download_url"]).status_code in (401, 403)


def test_a_queued_job_cannot_be_downloaded_before_it_is_done(api, cast, cases, settings):
    settings.KAILI_EXPORT_INLINE_ROWS = 2
    api.force_authenticate(cast.centre)
    body = api.get("/api/incidents/export/", {"format": "xlsx"}).json()  # on-commit never runs here
    assert api.get(body["progress_url"]).json()["finished"] is False
    assert api.get(body["download_url"]).status_code == 404


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_writes_a_large_export(api, cast, cases, settings, live_celery):  # noqa: F811
    settings.KAILI_EXPORT_INLINE_ROWS = 2
    api.force_authenticate(cast.centre)
    response = api.get("/api/incidents/export/", {"format": "xlsx"})
    assert response.status_code == 202, response.content
    progress_url = response.json()["progress_url"]
    deadline = time.monotonic() + 30
    progress = api.get(progress_url).json()
    while not progress["finished"] and time.monotonic() < deadline:
        time.sleep(0.2)
        progress = api.get(progress_url).json()
    assert progress["status"] == "done" and progress["rows"] == 3 and progress["percent"] == 100
    download = api.get(response.json()["download_url"])
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 4


def test_files_download_whatever_the_client_accepts(api, cast, cases, settings, django_capture_on_commit_callbacks):
    settings.KAILI_EXPORT_INLINE_ROWS = 2
    api.force_authenticate(cast.centre)
    with django_capture_on_commit_callbacks(execute=True):
        body = api.get("/api/incidents/export/", {"format": "csv"}, HTTP_ACCEPT="text/csv").json()
    download = api.get(body["download_url"], HTTP_ACCEPT="text/csv")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")

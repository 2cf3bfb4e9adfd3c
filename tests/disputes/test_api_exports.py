"""The dispute list as a file through the API: CSV and XLSX, scoped to where the caller may
export, filtered like the list, audited, with the parties' masked numbers only; a large
export is queued and its file downloaded by its owner only."""

import csv
import io

import pytest
from django.utils import timezone

from disputes.exports import DISPUTE_HEADER
from disputes.services import Party
from kaili.models import AuditEntry
from tests import exports
from tests.disputes.factories import make_body, register, triage
from tests.factories import force_verified
from tests.populations.factories import identity_number

pytestmark = pytest.mark.django_db

PHONE = "13987654321"
COLUMN = {name: index for index, name in enumerate(DISPUTE_HEADER)}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def disputes(people):
    """Two disputes in zone A (one triaged, its applicant told with identity number and
    phone), one group dispute in zone B."""
    clear_id = identity_number()
    parties = [Party(role="applicant", name="张三", id_number=clear_id, phone=PHONE), Party(role="respondent", name="李四")]
    drain = register(people.worker, people.tree.unit_a, name="北京路排水沟纠纷", parties=parties, amount="1200.5")
    body = make_body(members=[people.mediator], node=people.tree.zone_a)
    drain = triage(people.centre, drain, people.mediator, body=body)
    land = register(people.worker, people.tree.grid_a, name="北京路宅基地纠纷", code="03")
    wages = register(people.worker_b, people.tree.grid_b, name="营盘坡欠薪纠纷", code="09", people_count=12)
    return {"a": [drain.number, land.number], "drain": drain.number, "b": wages.number, "clear_id": clear_id}


def csv_table(response) -> list[list[str]]:
    return exports.csv_table(response, "disputes")


def exports_audited() -> list[AuditEntry]:
    return exports.exports_audited("disputes.dispute")


def test_the_centre_exports_its_list_as_csv_with_masked_parties_audited(api, people, disputes):
    api.force_authenticate(people.centre)
    response = api.get("/api/disputes/export/", {"format": "csv"})
    table = csv_table(response)
    assert table[0] == DISPUTE_HEADER
    assert sorted(row[0] for row in table[1:]) == sorted([*disputes["a"], disputes["b"]])

    row = dict(zip(DISPUTE_HEADER, next(row for row in table[1:] if row[0] == disputes["drain"]), strict=True))
    unit = people.tree.unit_a
    assert (row["名称"], row["类别"], row["规模"], row["所属网格"]) == (
        "北京路排水沟纠纷",
        "邻里纠纷",
        "一般",
        f"{unit.code} {unit.name}",
    )
    assert (row["来源"], row["状态"], row["调解防线"], row["调解层级"]) == (
        "网格员排查",
        "调解中",
        "人民调解",
        "村（社区）调解委员会",
    )
    assert (row["调解组织"], row["调解员"]) == ("测试村调解委员会", str(people.mediator))
    assert row["当前时限"] and row["是否超期"] == "否" and row["涉及金额"] == "1200.50" and row["涉及人数"] == "2"
    assert (row["群体性风险"], row["矛盾上交"], row["结案时间"]) == ("否", "否", "")
    assert row["登记时间"].startswith(timezone.localdate().isoformat())
    masked = disputes["clear_id"][:6] + "********" + disputes["clear_id"][-4:]
    assert row["主要当事人"] == f"申请人：张三（{masked}）；被申请人：李四"
    content = response.content.decode("utf-8-sig")
    assert disputes["clear_id"] not in content and PHONE not in content

    wages = next(row for row in table[1:] if row[0] == disputes["b"])
    assert wages[COLUMN["群体性风险"]] == "是" and wages[COLUMN["调解层级"]] == "" and wages[COLUMN["涉及人数"]] == "12"
    (entry,) = exports_audited()
    assert entry.actor == people.centre and entry.changes["rows"] == 3 and entry.changes["format"] == "csv"


def test_the_export_takes_the_list_filters(api, people, disputes):
    api.force_authenticate(people.centre)
    table = csv_table(api.get("/api/disputes/export/", {"format": "csv", "status": "mediating"}))
    assert [row[0] for row in table[1:]] == [disputes["drain"]]
    table = csv_table(api.get("/api/disputes/export/?format=csv&status=mediating&status=registered&under=522601001001"))
    assert sorted(row[0] for row in table[1:]) == sorted(disputes["a"])
    table = csv_table(api.get("/api/disputes/export/", {"format": "csv", "q": "欠薪", "group_risk": "true"}))
    assert [row[0] for row in table[1:]] == [disputes["b"]]
    entry = exports_audited()[-1]
    assert entry.changes["filters"] == {"q": "欠薪", "group_risk": "true"} and entry.changes["rows"] == 1
    for bad in ({"status": "nonsense"}, {"occurred_from": "yesterday"}, {"tier": "high"}):
        refused = api.get("/api/disputes/export/", {"format": "csv", **bad})
        assert refused.status_code == 400 and set(bad) <= set(refused.json()["error"]["fields"])
    assert len(exports_audited()) == 3


def test_the_xlsx_file_has_the_header_the_rows_and_no_clear_numbers(api, people, disputes):
    api.force_authenticate(people.centre)
    rows = exports.xlsx_rows(api.get("/api/disputes/export/", {"format": "xlsx"}))
    assert rows[0] == DISPUTE_HEADER
    assert sorted(row[0] for row in rows[1:]) == sorted([*disputes["a"], disputes["b"]])
    cells = " ".join(str(cell) for row in rows for cell in row if cell is not None)
    assert disputes["clear_id"][-4:] in cells and disputes["clear_id"] not in cells and PHONE not in cells
    assert exports_audited()[-1].changes["format"] == "xlsx"


def test_a_zone_b_centre_exports_no_zone_a_rows(api, people, disputes):
    api.force_authenticate(people.centre_b)
    table = csv_table(api.get("/api/disputes/export/", {"format": "csv"}))
    assert [row[0] for row in table[1:]] == [disputes["b"]]
    assert csv_table(api.get("/api/disputes/export/", {"format": "csv", "q": disputes["drain"]}))[1:] == []
    assert exports_audited()[0].changes["rows"] == 1


def test_the_leader_exports_the_whole_city(api, people, disputes):
    force_verified(api, people.leader)
    assert len(csv_table(api.get("/api/disputes/export/", {"format": "csv"}))) == 4


@pytest.mark.parametrize("who", ["worker", "mediator", "judge", "industry_mediator"])
def test_those_without_the_export_permission_are_refused(api, people, disputes, who):
    api.force_authenticate(getattr(people, who))
    response = api.get("/api/disputes/export/", {"format": "csv"})
    assert response.status_code == 403 and response.json()["error"]["message"]
    assert exports_audited() == []


def test_an_unknown_format_is_refused(api, people, disputes):
    api.force_authenticate(people.centre)
    response = api.get("/api/disputes/export/", {"format": "pdf"})
    assert response.status_code == 400 and "format" in response.json()["error"]["fields"]


def test_a_large_export_is_queued_and_downloaded_by_its_owner_only(
    api, people, disputes, settings, django_capture_on_commit_callbacks
):
    settings.KAILI_EXPORT_INLINE_ROWS = 2
    api.force_authenticate(people.centre)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.get("/api/disputes/export/", {"format": "csv", "status": ["registered", "mediating"]})
    job, body = exports.queued_export(response, kind="disputes.disputes", params={"status": ["registered", "mediating"]})

    progress = api.get(body["progress_url"]).json()
    assert progress["status"] == "done" and progress["rows"] == 3 and progress["percent"] == 100
    content, table = exports.downloaded_csv(api, body["download_url"])
    assert table[0] == DISPUTE_HEADER and sorted(row[0] for row in table[1:]) == sorted([*disputes["a"], disputes["b"]])
    assert disputes["clear_id"] not in content and PHONE not in content
    assert exports_audited()[-1].changes["job"] == job.pk

    api.force_authenticate(people.centre_b)
    assert api.get(body["progress_url"]).status_code == 404
    assert api.get(body["download_url"]).status_code == 404


def test_a_queued_export_holds_only_what_its_owner_may_export(
    api, people, disputes, settings, django_capture_on_commit_callbacks
):
    settings.KAILI_EXPORT_INLINE_ROWS = 0
    api.force_authenticate(people.centre_b)
    with django_capture_on_commit_callbacks(execute=True):
        body = api.get("/api/disputes/export/", {"format": "csv"}).json()
    content = b"".join(api.get(body["download_url"]).streaming_content).decode("utf-8-sig")
    assert [row[0] for row in list(csv.reader(io.StringIO(content)))[1:]] == [disputes["b"]]

"""Leaders take the dashboard away: the headline cards and the children table as XLSX
(audited, within their export scope), and a printable report of a node for a period."""

import io
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from dashboard import metrics as m
from dashboard import selectors
from dashboard.formatting import change_text, value_text
from dashboard.periods import Period
from dashboard.report_views import previous_month
from dashboard.rollup import Marks, rollup
from grids.models import AreaType, GridKind
from grids.services import grid_create
from kaili.models import AuditAction, AuditEntry
from tests.dashboard import factories as f
from tests.factories import force_verified

pytestmark = pytest.mark.django_db

EXPORT = "/dashboard/export/"
REPORT = "/dashboard/report/"


def signed_in(client, user):
    if user.totpdevice_set.exists():
        force_verified(client, user)
    else:
        client.force_login(user)
    return client


def workbook_of(response):
    assert response.status_code == 200, response.content[:500]
    return load_workbook(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))


def rows_after(sheet, first_cell: str) -> list[tuple]:
    """The rows below the one whose first cell reads ``first_cell`` (a table's header)."""
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row and row[0] == first_cell)
    return [row for row in rows[start + 1 :] if row and row[0] is not None]


# --- the XLSX export -------------------------------------------------------------------------


def test_the_export_holds_the_cards_and_the_children_as_the_dashboard_reads_them(client, figures, viewers):
    response = signed_in(client, viewers.city_leader).get(EXPORT, {"node": figures.city.code, "period": "2016"})
    book = workbook_of(response)
    assert book.sheetnames == ["总览", "下级区域"]

    period = Period.parse("2016")
    cards = selectors.cards(figures.city, period)
    overview = rows_after(book["总览"], "指标")
    assert [row[0] for row in overview] == [str(card.metric.label) for card in cards]
    for row, card in zip(overview, cards, strict=True):
        assert row[2:7] == pytest.approx((card.value, card.last_year, card.previous, card.year_on_year, card.period_on_period))
    criminal_public_order = overview[m.HEADLINE.index("sum.criminal_public_order")]
    # 2016: two thefts, a robbery and a public-order incident; 2015 one theft more.
    assert criminal_public_order[2:4] == (4, 5)
    assert criminal_public_order[5] == pytest.approx(-0.2)

    children = selectors.children(figures.city, period)
    below = rows_after(book["下级区域"], "编码")
    assert [row[:2] for row in below] == [(child.node.code, child.node.name) for child in children]
    for row, child in zip(below, children, strict=True):
        for index, key in enumerate(m.HEADLINE):
            assert row[3 + 2 * index] == pytest.approx(child.values[key])
            assert row[4 + 2 * index] == pytest.approx(selectors.change(child.values[key], child.last_year[key]))


@pytest.mark.django_db(transaction=True)  # the roll-up runs again: its temp tables live until commit
def test_the_export_says_when_its_data_is_as_of(client, figures, viewers):
    from dashboard.services import run_full_rebuild

    run = run_full_rebuild()
    book = workbook_of(signed_in(client, viewers.t1_leader).get(EXPORT, {"node": figures.t1.code, "period": "2016-05"}))
    facts = {row[0]: row[1] for row in book["总览"].iter_rows(values_only=True) if row and row[0]}
    assert facts["区域"] == figures.t1.name
    assert facts["统计期"] == "2016年5月"
    from django.utils import timezone

    assert facts["数据截至"] == timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M")


def test_the_file_is_named_after_the_node_and_period(client, figures, viewers):
    response = signed_in(client, viewers.city_leader).get(EXPORT, {"node": figures.city.code, "period": "2016Q2"})
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{quote('驾驶舱-522601-2016Q2.xlsx')}" in disposition
    assert response["Cache-Control"] == "no-store"


def test_an_export_is_audited_with_its_node_and_period(client, figures, viewers):
    signed_in(client, viewers.t1_leader).get(EXPORT, {"node": figures.zone_a.code, "period": "2016"})
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == viewers.t1_leader
    assert entry.object_type == "dashboard.statistic"
    assert entry.object_id == figures.zone_a.code
    assert entry.changes["node"] == figures.zone_a.code
    assert entry.changes["period"] == "2016"
    assert entry.changes["rows"] == 1  # zone A's one grid


def test_a_node_outside_the_export_scope_is_not_found_and_not_audited(client, figures, viewers):
    signed_in(client, viewers.t1_leader)
    assert client.get(EXPORT, {"node": figures.t2.code, "period": "2016"}).status_code == 404
    assert client.get(EXPORT, {"node": figures.city.code, "period": "2016"}).status_code == 404
    assert client.get(EXPORT, {"node": "999999", "period": "2016"}).status_code == 404
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_without_the_export_permission_the_export_is_refused(client, figures, viewers):
    response = signed_in(client, viewers.worker).get(EXPORT, {"node": figures.grid_a.code, "period": "2016"})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_a_bad_period_is_refused_naming_the_field(client, figures, viewers):
    response = signed_in(client, viewers.city_leader).get(EXPORT, {"node": figures.city.code, "period": "2016-13"})
    assert response.status_code == 400
    assert "统计期" in response.content.decode()


def test_signing_in_comes_first(client, figures):
    response = client.get(EXPORT, {"node": figures.city.code})
    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]


# --- the printable report ------------------------------------------------------------------


def test_the_report_shows_the_headline_with_year_on_year_and_period_on_period(client, figures, viewers):
    response = signed_in(client, viewers.city_leader).get(REPORT, {"node": figures.city.code, "period": "2016"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "凯里市平安建设年度报告（2016年）" in page
    assert "@media print" not in page  # the print rules live in the stylesheet
    assert "css/dashboard-print.css" in page
    for card in selectors.cards(figures.city, Period.parse("2016")):
        row = page.split(f'data-metric="{card.metric.key}"', 1)[1].split("</tr>", 1)[0]
        assert f'<td class="num" data-value>{value_text(card.metric, card.value)}</td>' in row
        assert change_text(card.year_on_year) in row
        assert change_text(card.period_on_period) in row
    # criminal and public order: 4 against 5 a year earlier
    assert "\u221220.00%" in page


def test_the_monthly_report_is_titled_by_its_month(client, figures, viewers):
    response = signed_in(client, viewers.city_leader).get(REPORT, {"node": figures.t1.code, "period": "2016-05"})
    page = response.content.decode()
    assert "大十字街道平安建设月度报告（2016年5月）" in page
    # the two zones of T1 in the children table, and a line for the signature
    assert f'data-node="{figures.zone_a.code}"' in page and f'data-node="{figures.zone_b.code}"' in page
    assert "填报单位（盖章）" in page
    assert 'onclick="window.print()"' in page


def test_the_report_defaults_to_last_month(client, figures, viewers):
    response = signed_in(client, viewers.city_leader).get(REPORT, {"node": figures.city.code})
    assert response.status_code == 200
    assert f"（{previous_month().label}）" in response.content.decode()


def test_the_breakdowns_list_the_criminal_sub_types_accidents_and_programmes(client, figures, viewers):
    page = signed_in(client, viewers.city_leader).get(REPORT, {"node": figures.city.code, "period": "2016"}).content.decode()
    values = selectors.node_figures(figures.city, Period.parse("2016"), ["incidents.stat.theft", "incidents.stat.robbery"])
    theft = page.split('data-metric="incidents.stat.theft"', 1)[1].split("</tr>", 1)[0]
    assert f"data-value>{round(values['incidents.stat.theft'])}</td>" in theft
    assert "\u221233.33%" in theft  # 2 against 3
    assert 'data-metric="incidents.stat.accident_traffic"' in page
    assert 'data-metric="incidents.stat.nine_hazard"' in page
    assert 'data-table="programmes"' in page and "阳光康复工程" in page
    assert 'data-table="villages"' in page


@pytest.mark.django_db(transaction=True)  # the roll-up runs again: its temp tables live until commit
def test_the_report_reads_in_the_same_queries_however_many_children(client, figures, viewers):
    signed_in(client, viewers.city_leader)
    client.get(REPORT, {"node": figures.city.code, "period": "2016"})  # sessions, caches warm

    with CaptureQueriesContext(connection) as before:
        assert client.get(REPORT, {"node": figures.city.code, "period": "2016"}).status_code == 200
    for number in range(3):
        zone = grid_create(
            actor=None,
            code=f"52260110130{number}",
            name=f"新村{number}",
            kind=GridKind.ZONE,
            parent=figures.t2,
            area_type=AreaType.RURAL,
        )
        grid = grid_create(
            actor=None,
            code=f"{zone.code}001",
            name=f"新村{number}第1网格",
            kind=GridKind.GRID,
            parent=zone,
            area_type=AreaType.RURAL,
        )
        f.incident(grid, f.THEFT, f.at(2016, 4))
    grid_create(actor=None, code="522601102", name="新镇", kind=GridKind.TOWN, parent=figures.city)
    rollup(Marks.everything())
    with CaptureQueriesContext(connection) as after:
        response = client.get(REPORT, {"node": figures.city.code, "period": "2016"})
    assert response.status_code == 200
    assert 'data-node="522601102"' in response.content.decode()
    assert len(after) == len(before), [q["sql"][:120] for q in after.captured_queries]
    assert len(after) <= 20


def test_a_report_outside_the_scope_is_not_found(client, figures, viewers):
    signed_in(client, viewers.zone_a_leader)
    assert client.get(REPORT, {"node": figures.zone_b.code, "period": "2016"}).status_code == 404
    assert client.get(REPORT, {"node": figures.zone_a.code, "period": "2016"}).status_code == 200


def test_a_report_for_a_bad_period_says_what_is_wrong(client, figures, viewers):
    response = signed_in(client, viewers.city_leader).get(REPORT, {"node": figures.city.code, "period": "2016-5"})
    assert response.status_code == 400
    assert "不是有效的统计期" in response.content.decode()


def test_a_grid_worker_has_no_report(client, figures, viewers):
    assert signed_in(client, viewers.worker).get(REPORT, {"node": figures.grid_a.code}).status_code == 403

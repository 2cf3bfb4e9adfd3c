"""The villages' five haves and five nones 五有五无: the data decides organisation, staff
and four of the nones; the town's centre enters venue, funding, mechanism and the fifth
none on the village's page; leaders read them. A village passes 达标 when all ten hold."""

import datetime

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard import assessment as five
from dashboard.models import VillageAssessment
from dashboard.rollup import Marks, rollup
from grids.models import AreaType, GridKind
from grids.services import grid_create
from kaili.models import AuditAction, AuditEntry
from kaili.roles import GRID_WORKER, MEDIATOR
from populations.models import Programme
from tests.dashboard import factories as f
from tests.disputes.factories import make_body
from tests.factories import force_verified, make_user
from tests.populations.factories import make_enrollment, make_person

pytestmark = pytest.mark.django_db

LIST = "/dashboard/assessments/"


def page_of(zone, year: int) -> str:
    return f"/dashboard/assessments/{zone.code}/{year}/"


def signed_in(client, user):
    if user.totpdevice_set.exists():
        force_verified(client, user)
    else:
        client.force_login(user)
    return client


def values(status: five.VillageStatus) -> dict:
    return {item.key: item.value for item in status.items}


def by_zone(statuses) -> dict:
    return {status.zone.code: status for status in statuses}


@pytest.fixture
def villages(figures, viewers):
    """The figures of 2015-2016, plus: zone A has its committee (and, from ``viewers``,
    a grid worker on grid A); zone C a mediator and a drug crime in 2016; zone B a person
    in drug rehabilitation since 2016. Rolled up again."""
    tree = figures
    make_body("北京路社区人民调解委员会", node=tree.zone_a)
    switched_off = make_body("南花村人民调解委员会", node=tree.zone_c)
    switched_off.is_active = False
    switched_off.save()
    make_user("mediator_c", MEDIATOR, [tree.grid_c])
    f.incident(tree.grid_c, "2505", f.at(2016, 2))  # 毒品犯罪
    make_enrollment(make_person(unit=tree.unit_b), Programme.DRUG_REHAB, started_on=datetime.date(2016, 3, 1))
    rollup(Marks.everything())
    return tree


# --- what the data decides -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the roll-up runs again: its temp tables live until commit
def test_the_data_decides_organisation_staff_and_four_nones(villages, viewers):
    statuses = by_zone(five.village_statuses(villages.city, 2016, viewers.city_leader))
    assert list(statuses) == [villages.zone_a.code, villages.zone_b.code, villages.zone_c.code]
    zone_a, zone_b, zone_c = statuses.values()

    # Zone A: its committee, a grid worker; a theft in 2016, nothing else.
    assert values(zone_a) == {
        "organisation": True,
        "staff": True,
        "venue": None,
        "funding": None,
        "mechanism": None,
        "no_drugs": True,
        "no_criminal": False,
        "no_passed_upward": True,
        "no_accident": True,
        "no_other": None,
    }
    # Zone B: no committee, nobody on duty; a robbery, an accident and a person in rehab.
    assert {key: values(zone_b)[key] for key in ("organisation", "staff", "no_drugs", "no_criminal", "no_accident")} == {
        "organisation": False,
        "staff": False,
        "no_drugs": False,
        "no_criminal": False,
        "no_accident": False,
    }
    # Zone C: its committee is switched off; a mediator; a drug crime in 2016.
    assert {key: values(zone_c)[key] for key in ("organisation", "staff", "no_drugs", "no_criminal")} == {
        "organisation": False,
        "staff": True,
        "no_drugs": False,
        "no_criminal": False,
    }
    assert all(item.computed == (item.key not in ("venue", "funding", "mechanism", "no_other")) for item in zone_a.items)
    assert [status.state for status in (zone_a, zone_b, zone_c)] == ["failed", "failed", "failed"]


@pytest.mark.django_db(transaction=True)
def test_a_dispute_passed_upward_counts_in_its_own_year_only(villages, viewers):
    # the dispute of zone C was passed upward in 2015
    assert (
        values(by_zone(five.village_statuses(villages.t2, 2015, viewers.city_leader))[villages.zone_c.code])["no_passed_upward"]
        is False
    )
    assert (
        values(by_zone(five.village_statuses(villages.t2, 2016, viewers.city_leader))[villages.zone_c.code])["no_passed_upward"]
        is True
    )


@pytest.mark.django_db(transaction=True)
def test_the_evidence_behind_the_drug_item_is_the_years_figures(villages, viewers):
    zone_b = by_zone(five.village_statuses(villages.t1, 2016, viewers.t1_leader))[villages.zone_b.code]
    evidence = {e.label: e.value for e in zone_b.by_key["no_drugs"].evidence}
    assert evidence == {"阳光康复工程在册人数": 1, "毒品犯罪": 0}
    # the person was enrolled in 2016: at the end of 2015 nobody was
    earlier = by_zone(five.village_statuses(villages.t1, 2015, viewers.t1_leader))[villages.zone_b.code]
    assert earlier.by_key["no_drugs"].value is True


def test_a_grid_worker_who_left_the_role_does_not_staff_the_village(figures, viewers):
    from kaili.services import user_revoke_role

    assert five.village_statuses(figures.zone_a, 2016, viewers.city_leader)[0].by_key["staff"].value is True
    user_revoke_role(actor=None, user=viewers.worker, role=GRID_WORKER)
    assert five.village_statuses(figures.zone_a, 2016, viewers.city_leader)[0].by_key["staff"].value is False


def test_the_villages_are_those_of_the_node_in_the_users_scope(figures, viewers):
    assert [s.zone for s in five.village_statuses(figures.t1, 2016, viewers.t1_leader)] == [figures.zone_a, figures.zone_b]
    assert [s.zone for s in five.village_statuses(figures.city, 2016, viewers.t1_leader)] == [figures.zone_a, figures.zone_b]
    assert [s.zone for s in five.village_statuses(figures.zone_c, 2016, viewers.zone_a_leader)] == []
    assert five.village_statuses(figures.grid_a, 2016, viewers.city_leader) == []


def test_before_any_roll_up_the_data_says_nothing(tree, viewers):
    statuses = five.village_statuses(tree.city, 2016, viewers.city_leader)
    assert {status.by_key["no_criminal"].value for status in statuses} == {None}


def test_the_villages_are_read_in_the_same_queries_however_many(figures, viewers):
    five.village_statuses(figures.city, 2016, viewers.city_leader)  # the user's scope, cached
    with CaptureQueriesContext(connection) as few:
        five.village_statuses(figures.city, 2016, viewers.city_leader)
    for number in range(6):
        zone = grid_create(
            actor=None,
            code=f"52260110130{number}",
            name=f"新村{number}",
            kind=GridKind.ZONE,
            parent=figures.t2,
            area_type=AreaType.RURAL,
        )
        make_body(f"新村{number}人民调解委员会", node=zone)
        make_user(f"worker_new{number}", GRID_WORKER, [zone])
        VillageAssessment.objects.create(zone=zone, year=2016, has_venue=True)
    # the inserts moved the tree's MPTT columns: a fresh node, and a fresh reader (the
    # scope cached on the old one holds the tree as it was)
    figures.city.refresh_from_db()
    leader = type(viewers.city_leader).objects.get(pk=viewers.city_leader.pk)
    five.village_statuses(figures.city, 2016, leader)
    with CaptureQueriesContext(connection) as many:
        statuses = five.village_statuses(figures.city, 2016, leader)
    assert len(statuses) == 9
    assert len(many) == len(few) <= 4
    assert all(s.by_key["organisation"].value and s.by_key["staff"].value for s in statuses[3:])


# --- the dashboard's villages table ------------------------------------------------------------


def test_the_villages_table_counts_those_that_pass(figures, viewers):
    statuses = five.village_statuses(figures.city, 2016, viewers.city_leader)
    html = render_to_string("dashboard/_villages.html", {"villages": statuses, "year": 2016, "node": figures.city})
    assert "达标 0 / 3" in html
    assert html.count("<tr data-zone=") == 3
    assert f"/dashboard/assessments/{figures.zone_a.code}/2016/" in html
    assert "/dashboard/assessments/?node=522601&amp;year=2016" in html


# --- the assessment page ---------------------------------------------------------------------


@pytest.fixture
def passing_zone(figures, viewers):
    """Zone B in 2014, a year without records, with its committee and grid worker: every
    computed item holds."""
    make_body("营盘坡社区人民调解委员会", node=figures.zone_b)
    make_user("worker_b", GRID_WORKER, [figures.grid_b])
    return figures.zone_b


ALL_HOLD = {
    "has_venue": "true",
    "has_funding": "true",
    "has_mechanism": "true",
    "other_item": "无越级上访",
    "no_other": "true",
    "note": "村委会提供调解室，年度经费已列支。",
}


def test_the_centre_enters_the_four_items_and_the_village_passes(client, passing_zone, viewers):
    signed_in(client, viewers.centre)
    before = five.village_statuses(passing_zone, 2014, viewers.centre)[0]
    assert before.state == "pending"

    response = client.post(page_of(passing_zone, 2014), ALL_HOLD)
    assert response.status_code == 302
    assert response["Location"] == page_of(passing_zone, 2014)

    saved = VillageAssessment.objects.get(zone=passing_zone, year=2014)
    assert (saved.has_venue, saved.has_funding, saved.has_mechanism, saved.no_other) == (True, True, True, True)
    assert saved.assessed_by == viewers.centre
    entry = AuditEntry.objects.get(object_type="dashboard.villageassessment")
    assert entry.action == AuditAction.CREATE and entry.actor == viewers.centre

    after = five.village_statuses(passing_zone, 2014, viewers.centre)[0]
    assert after.passed and after.state == "passed"
    page = client.get(page_of(passing_zone, 2014)).content.decode()
    assert 'data-state="passed"' in page
    assert "无越级上访" in page
    assert "营盘坡社区人民调解委员会" in page  # the committee behind 有组织


def test_an_item_may_be_set_back_to_unassessed(client, passing_zone, viewers):
    signed_in(client, viewers.centre)
    client.post(page_of(passing_zone, 2014), ALL_HOLD)
    client.post(page_of(passing_zone, 2014), {**ALL_HOLD, "has_funding": ""})
    assert VillageAssessment.objects.get(zone=passing_zone, year=2014).has_funding is None
    assert five.village_statuses(passing_zone, 2014, viewers.centre)[0].state == "pending"
    client.post(page_of(passing_zone, 2014), {**ALL_HOLD, "has_funding": "false"})
    assert five.village_statuses(passing_zone, 2014, viewers.centre)[0].state == "failed"


def test_the_fifth_none_needs_its_wording(client, passing_zone, viewers):
    response = signed_in(client, viewers.centre).post(page_of(passing_zone, 2014), {**ALL_HOLD, "other_item": " "})
    assert response.status_code == 400
    assert "认定第五无时，请写明其内容。" in response.content.decode()
    assert not VillageAssessment.objects.exists()


def test_the_page_shows_the_figures_behind_the_computed_items(client, figures, viewers):
    page = signed_in(client, viewers.t1_leader).get(page_of(figures.zone_a, 2016)).content.decode()
    row = page.split('data-item="no_criminal"', 1)[1].split("</tr>", 1)[0]
    assert row.startswith(' data-value="false" data-computed="true"')
    assert "刑事案件 <strong>2</strong> 件" in row  # the two thefts of 2016 in zone A
    accident = page.split('data-item="no_accident"', 1)[1].split("</tr>", 1)[0]
    assert accident.startswith(' data-value="true" data-computed="true"')
    assert "安全事故 <strong>0</strong> 件" in accident
    venue = page.split('data-item="venue"', 1)[1].split("</tr>", 1)[0]
    assert venue.startswith(' data-value="none" data-computed="false"')


def test_leaders_read_the_assessment_but_cannot_change_it(client, passing_zone, viewers):
    signed_in(client, viewers.t1_leader)
    page = client.get(page_of(passing_zone, 2014))
    assert page.status_code == 200
    assert "保存评定" not in page.content.decode()
    assert client.post(page_of(passing_zone, 2014), ALL_HOLD).status_code == 403
    assert not VillageAssessment.objects.exists()


def test_a_village_outside_the_scope_is_not_found(client, figures, viewers):
    signed_in(client, viewers.centre)  # town T1's centre
    assert client.get(page_of(figures.zone_c, 2016)).status_code == 404
    assert client.post(page_of(figures.zone_c, 2016), ALL_HOLD).status_code == 404
    assert signed_in(client, viewers.t2_leader).get(page_of(figures.zone_a, 2016)).status_code == 404
    assert not VillageAssessment.objects.exists()


def test_only_villages_are_assessed(client, figures, viewers):
    signed_in(client, viewers.centre)
    assert client.get(page_of(figures.grid_a, 2016)).status_code == 404
    assert client.get(page_of(figures.t1, 2016)).status_code == 404


def test_a_year_to_come_is_refused(client, figures, viewers):
    next_year = timezone.localdate().year + 1
    response = signed_in(client, viewers.centre).post(page_of(figures.zone_a, next_year), ALL_HOLD)
    assert response.status_code == 400
    assert f"年度 {next_year} 尚未到来" in response.content.decode()
    assert not VillageAssessment.objects.exists()


# --- the list -----------------------------------------------------------------------------------


def test_the_list_filters_by_result(client, passing_zone, viewers):
    signed_in(client, viewers.centre)
    client.post(page_of(passing_zone, 2014), ALL_HOLD)
    signed_in(client, viewers.t1_leader)

    listed = client.get(LIST, {"year": 2014}).content.decode()
    assert 'data-passed="1" data-total="2"' in listed  # T1: zones A and B
    passed = client.get(LIST, {"year": 2014, "state": "passed"}).content.decode()
    assert f'data-zone="{passing_zone.code}"' in passed
    assert 'data-zone="522601001001"' not in passed
    failed = client.get(LIST, {"year": 2014, "state": "failed"}).content.decode()
    assert 'data-zone="522601001001"' in failed  # zone A has no mediation committee
    assert 'data-zone="522601001001"' not in client.get(LIST, {"year": 2014, "state": "pending"}).content.decode()


def test_the_list_is_scoped(client, figures, viewers):
    signed_in(client, viewers.t1_leader)
    assert client.get(LIST, {"node": figures.city.code}).status_code == 404
    assert client.get(LIST, {"node": figures.zone_c.code}).status_code == 404
    assert client.get(LIST, {"year": timezone.localdate().year + 1}).status_code == 400
    assert signed_in(client, viewers.worker).get(LIST).status_code == 403

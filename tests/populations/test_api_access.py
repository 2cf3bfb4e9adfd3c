"""The access matrix of the registry and programme API (DOMAIN.md, "Privacy").

Zone A and zone B each hold a household, a resident enrolled in the mental-health
programme and a left-behind child. For every role, a user of one zone lists, reads,
creates, changes, exports and searches; the other zone's records never show: a record out
of scope is 404 exactly like a missing one, and absent from every list, search and file.
"""

import csv
import datetime
import io
from types import SimpleNamespace

import pytest

from kaili import roles
from kaili.models import AuditAction, AuditEntry
from populations.models import Enrollment, Household, Person, Programme, Visit
from populations.services import visit_record
from tests.populations.factories import identity_number, make_enrollment, make_household, make_officer, make_person

pytestmark = pytest.mark.django_db

WORKER, OFFICER, LEADER, DEPARTMENT, UNIT_HEAD = "worker", "officer", "leader", "department", "unit_head"
ROLES = [WORKER, OFFICER, LEADER, DEPARTMENT, UNIT_HEAD]
# What each role may do anywhere (kaili/roles.py); where is the zone of their grant.
MAY = {
    WORKER: {"view_registry", "edit_registry", "view_enrollment", "add_visit"},
    OFFICER: {"view_registry", "export_person", "view_enrollment", "edit_enrollment", "export_enrollment", "count", "add_visit"},
    LEADER: {"count"},
    DEPARTMENT: {"view_registry", "edit_registry", "export_person"},
    UNIT_HEAD: {"view_registry"},
}
# Which of a zone's enrollments a role sees there: the programme rules.
SEES_PROGRAMMES = {WORKER: {Programme.LEFT_BEHIND}, OFFICER: {Programme.MENTAL_HEALTH}}
# (the user's zone, the other zone)
ZONE_PAIRS = [("a", "b"), ("b", "a")]


@pytest.fixture
def world(tree, user_factory):
    zones = {}
    for zone, node, unit, phone in (
        ("a", tree.zone_a, tree.unit_a, "13800000001"),
        ("b", tree.zone_b, tree.unit_b, "13900000002"),
    ):
        household = make_household(unit, address=f"{zone.upper()}区幸福路 1 号")
        adult = make_person(household, name=f"居民{zone.upper()}", relation="head", phone=phone)
        child = make_person(household, name=f"留守{zone.upper()}", born=datetime.date(2016, 3, 4), sex="F", relation="child")
        mental = make_enrollment(adult, Programme.MENTAL_HEALTH)
        left_behind = make_enrollment(child, Programme.LEFT_BEHIND)
        for enrollment in (mental, left_behind):
            visit_record(actor=None, enrollment=enrollment, kind="visit", visited_on=datetime.date(2026, 7, 1))
        zones[zone] = SimpleNamespace(
            node=node,
            unit=unit,
            household=household,
            adult=adult,
            child=child,
            people={adult.name, child.name},
            enrollments={Programme.MENTAL_HEALTH: mental, Programme.LEFT_BEHIND: left_behind},
        )
    users = {}
    for zone, data in zones.items():
        users[(WORKER, zone)] = user_factory(f"worker_{zone}", roles.GRID_WORKER, [data.node])
        users[(OFFICER, zone)] = make_officer(user_factory, f"officer_{zone}", [data.node], [Programme.MENTAL_HEALTH])
        users[(LEADER, zone)] = user_factory(f"leader_{zone}", roles.LEADER, [data.node])
        users[(DEPARTMENT, zone)] = user_factory(f"department_{zone}", roles.DEPARTMENT, [data.node])
        users[(UNIT_HEAD, zone)] = user_factory(f"unit_head_{zone}", roles.UNIT_HEAD, [data.unit])
    # The tree fixture's nodes were built before later inserts moved their MPTT bounds.
    for node in vars(tree).values():
        node.refresh_from_db()
    return SimpleNamespace(zones=zones, users=users)


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


@pytest.fixture(params=ZONE_PAIRS, ids=["A-sees-B", "B-sees-A"])
def setting(request, api, world, role):
    """The client signed in as ``role`` of one zone, with that zone (``mine``) and the other."""
    mine, theirs = request.param
    api.force_authenticate(world.users[(role, mine)])
    return SimpleNamespace(api=api, role=role, may=MAY[role], mine=world.zones[mine], theirs=world.zones[theirs], world=world)


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def refused_or(expected_status: int, allowed: bool) -> int:
    return expected_status if allowed else 403


# --- households -------------------------------------------------------------------------


def test_households_list_and_retrieve(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    allowed = "view_registry" in setting.may
    listed = api.get("/api/households/")
    if not allowed:
        assert listed.status_code == 403
    else:
        assert [row["number"] for row in rows(listed)] == [mine.household.number]
        assert rows(api.get("/api/households/", {"q": theirs.household.number})) == []
        assert rows(api.get("/api/households/", {"under": theirs.node.code})) == []
    assert api.get(f"/api/households/{mine.household.number}/").status_code == refused_or(200, allowed)
    assert api.get(f"/api/households/{theirs.household.number}/").status_code == refused_or(404, allowed)


def test_households_create_and_update(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    allowed = "edit_registry" in setting.may
    created = api.post("/api/households/", {"unit": mine.unit.code, "address": "新登记 2 号"}, format="json")
    assert created.status_code == refused_or(201, allowed)
    elsewhere = api.post("/api/households/", {"unit": theirs.unit.code, "address": "越界 3 号"}, format="json")
    assert elsewhere.status_code == refused_or(400, allowed)
    assert not Household.objects.filter(unit=theirs.unit, address="越界 3 号").exists()
    changed = api.patch(f"/api/households/{mine.household.number}/", {"doorplate": "1-1"}, format="json")
    assert changed.status_code == refused_or(200, allowed)
    outside = api.patch(f"/api/households/{theirs.household.number}/", {"doorplate": "越界"}, format="json")
    assert outside.status_code == refused_or(404, allowed)
    assert Household.objects.get(pk=theirs.household.pk).doorplate == ""


# --- people -----------------------------------------------------------------------------


def test_people_list_retrieve_and_search(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    allowed = "view_registry" in setting.may
    listed = api.get("/api/persons/")
    assert api.get(f"/api/persons/{mine.adult.pk}/").status_code == refused_or(200, allowed)
    assert api.get(f"/api/persons/{theirs.adult.pk}/").status_code == refused_or(404, allowed)
    if not allowed:
        assert listed.status_code == 403
        assert api.get("/api/persons/", {"q": theirs.adult.identity_number}).status_code == 403
        return
    assert {row["name"] for row in rows(listed)} == mine.people

    def names(**params):
        return {row["name"] for row in rows(api.get("/api/persons/", params))}

    assert names(q=mine.adult.name) == {mine.adult.name}
    assert names(q=mine.adult.identity_number) == names(identity_number=mine.adult.identity_number) == {mine.adult.name}
    assert names(q=theirs.adult.name) == set()
    assert names(q=theirs.adult.identity_number) == names(identity_number=theirs.adult.identity_number) == set()
    assert names(q=theirs.adult.phone) == set()
    assert names(q="居民") == {mine.adult.name}
    assert names(household=theirs.household.number) == names(under=theirs.node.code) == set()
    # Lists show masked numbers only, whoever asks.
    text = listed.content.decode()
    assert mine.adult.identity_number not in text and mine.adult.phone not in text
    assert mine.adult.id_number_masked in text


def test_people_create_and_update(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    allowed = "edit_registry" in setting.may

    def register(household):
        return api.post(
            "/api/persons/",
            {"household": household.number, "name": "新居民", "identity_number": identity_number()},
            format="json",
        )

    assert register(mine.household).status_code == refused_or(201, allowed)
    assert register(theirs.household).status_code == refused_or(400, allowed)
    assert not Person.objects.filter(household=theirs.household, name="新居民").exists()
    assert api.patch(f"/api/persons/{mine.adult.pk}/", {"occupation": "农民"}, format="json").status_code == refused_or(
        200, allowed
    )
    outside = api.patch(f"/api/persons/{theirs.adult.pk}/", {"occupation": "越界"}, format="json")
    assert outside.status_code == refused_or(404, allowed)
    moving_out = api.patch(f"/api/persons/{mine.child.pk}/", {"household": theirs.household.number}, format="json")
    assert moving_out.status_code == refused_or(400, allowed)
    assert Person.objects.get(pk=theirs.adult.pk).occupation == ""
    assert Person.objects.get(pk=mine.child.pk).household_id == mine.household.pk


def test_people_export(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    response = api.get("/api/persons/export/", {"format": "csv"})
    if "export_person" not in setting.may:
        assert response.status_code == 403
        assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()
        return
    assert {row["name"] for row in csv_rows(response)} == mine.people
    searched = api.get("/api/persons/export/", {"format": "csv", "q": theirs.adult.identity_number})
    assert csv_rows(searched) == []
    text = response.content.decode("utf-8-sig")
    assert theirs.adult.identity_number not in text and theirs.adult.id_number_masked not in text
    # Clear numbers only for the people the exporter is responsible for.
    numbers = {row["name"]: row["identity_number"] for row in csv_rows(response)}
    if setting.role == OFFICER:
        assert numbers == {mine.adult.name: mine.adult.identity_number, mine.child.name: mine.child.id_number_masked}
    else:
        assert numbers == {mine.adult.name: mine.adult.id_number_masked, mine.child.name: mine.child.id_number_masked}


def test_reveal(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    allowed = "view_registry" in setting.may
    response = api.get(f"/api/persons/{mine.adult.pk}/reveal/")
    if setting.role == OFFICER:  # the officer of the adult's programme, in the adult's zone
        assert response.status_code == 200 and response.json()["identity_number"] == mine.adult.identity_number
    else:
        assert response.status_code == 403 and mine.adult.identity_number not in response.content.decode()
    outside = api.get(f"/api/persons/{theirs.adult.pk}/reveal/")
    assert outside.status_code == refused_or(404, allowed)
    assert theirs.adult.identity_number not in outside.content.decode()
    expected = {"success"} if setting.role == OFFICER else ({"denied"} if allowed else set())
    reads = AuditEntry.objects.filter(action=AuditAction.READ_SENSITIVE, object_type="populations.person")
    assert set(reads.values_list("outcome", flat=True)) == expected
    assert not reads.filter(object_id=str(theirs.adult.pk)).exists()


# --- enrollments ------------------------------------------------------------------------


def test_enrollments_list_retrieve_and_search(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    allowed = "view_enrollment" in setting.may
    visible = SEES_PROGRAMMES.get(setting.role, set())
    listed = api.get("/api/enrollments/")
    if not allowed:
        assert listed.status_code == 403
    else:
        assert {(row["programme"], row["person_name"]) for row in rows(listed)} == {
            (programme, mine.enrollments[programme].person.name) for programme in visible
        }
        assert rows(api.get("/api/enrollments/", {"person": theirs.adult.pk})) == []
        assert rows(api.get("/api/enrollments/", {"under": theirs.node.code})) == []
        assert theirs.adult.name not in listed.content.decode()
    for programme in (Programme.MENTAL_HEALTH, Programme.LEFT_BEHIND):
        own = api.get(f"/api/enrollments/{mine.enrollments[programme].pk}/")
        assert own.status_code == refused_or(200 if programme in visible else 404, allowed)
        other = api.get(f"/api/enrollments/{theirs.enrollments[programme].pk}/")
        assert other.status_code == refused_or(404, allowed)
        assert api.get(f"/api/enrollments/{theirs.enrollments[programme].pk}/visits/").status_code == refused_or(404, allowed)
    visits = api.get("/api/visits/")
    if allowed:
        assert {row["enrollment"] for row in rows(visits)} == {mine.enrollments[p].pk for p in visible}
        assert rows(api.get("/api/visits/", {"enrollment": theirs.enrollments[Programme.LEFT_BEHIND].pk})) == []
    else:
        assert visits.status_code == 403
    # Only the reads that succeeded are audited, each naming its record.
    audited = set(
        AuditEntry.objects.filter(action=AuditAction.READ_SENSITIVE, object_type="populations.enrollment").values_list(
            "object_id", flat=True
        )
    )
    assert audited == {str(mine.enrollments[p].pk) for p in visible}


def test_enrollments_create_update_and_exit(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    allowed = "edit_enrollment" in setting.may

    def enroll(person):
        return api.post(
            "/api/enrollments/",
            {"person": person.pk, "programme": "mental_health", "started_on": "2026-09-01", "details": {"diagnosis": "bipolar"}},
            format="json",
        )

    assert enroll(mine.child).status_code == refused_or(201, allowed)
    assert enroll(theirs.child).status_code == refused_or(400, allowed)
    assert not Enrollment.objects.filter(person=theirs.child, programme=Programme.MENTAL_HEALTH).exists()
    own, other = mine.enrollments[Programme.MENTAL_HEALTH], theirs.enrollments[Programme.MENTAL_HEALTH]
    assert api.patch(f"/api/enrollments/{own.pk}/", {"attention": "key"}, format="json").status_code == refused_or(200, allowed)
    assert api.patch(f"/api/enrollments/{other.pk}/", {"attention": "key"}, format="json").status_code == refused_or(404, allowed)
    exit_other = api.post(f"/api/enrollments/{other.pk}/exit/", {"exited_on": "2026-10-01", "exit_reason": "moved"})
    assert exit_other.status_code == refused_or(404, allowed)
    assert Enrollment.objects.get(pk=other.pk).attention == "normal"
    assert Enrollment.objects.get(pk=other.pk).status == "active"


def test_visits_are_recorded_only_against_enrollments_in_reach(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    allowed = "add_visit" in setting.may
    visible = SEES_PROGRAMMES.get(setting.role, set())

    def record(enrollment):
        return api.post("/api/visits/", {"enrollment": enrollment.pk, "kind": "visit", "visited_on": "2026-07-02"}, format="json")

    for programme in (Programme.MENTAL_HEALTH, Programme.LEFT_BEHIND):
        own = record(mine.enrollments[programme])
        assert own.status_code == refused_or(201 if programme in visible else 400, allowed), own.content
        other = record(theirs.enrollments[programme])
        assert other.status_code == refused_or(400, allowed)
        if allowed:
            assert "enrollment" in other.json()["error"]["fields"]
    assert not Visit.objects.filter(enrollment__person__unit=theirs.unit, visited_on=datetime.date(2026, 7, 2)).exists()


def test_enrollments_export(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    response = api.get("/api/enrollments/export/", {"format": "csv"})
    if "export_enrollment" not in setting.may:
        assert response.status_code == 403
        return
    assert {row["name"] for row in csv_rows(response)} == {mine.adult.name}
    assert csv_rows(api.get("/api/enrollments/export/", {"under": theirs.node.code})) == []
    assert theirs.adult.name not in response.content.decode("utf-8-sig")


def test_counts(setting):
    api, mine, theirs = setting.api, setting.mine, setting.theirs
    allowed = "count" in setting.may
    own = api.get("/api/enrollments/counts/", {"node": mine.node.code})
    assert own.status_code == refused_or(200, allowed)
    if allowed:
        assert own.json()["node"]["total"] == 2
        assert mine.adult.name not in own.content.decode()
    assert api.get("/api/enrollments/counts/", {"node": theirs.node.code}).status_code == refused_or(404, allowed)


# --- placements and facilities ----------------------------------------------------------


def test_placements_and_facilities_stay_in_the_zone(setting):
    from populations.models import FacilityKind
    from populations.services import facility_create, placement_start

    api, mine, theirs = setting.api, setting.mine, setting.theirs
    places = {}
    for zone in (mine, theirs):
        home = facility_create(
            actor=None, grid=zone.node, kind=FacilityKind.CHILDRENS_HOME, name=f"{zone.node.name}儿童之家", capacity=5
        )
        enrollment = zone.enrollments[Programme.MENTAL_HEALTH]
        places[zone.node.code] = (
            home,
            placement_start(actor=None, enrollment=enrollment, facility=home, started_on=datetime.date(2026, 7, 1)),
        )
    allowed = setting.role == OFFICER  # the only role with programme work (placements, facilities)
    facilities = api.get("/api/facilities/")
    placements = api.get("/api/placements/")
    if not allowed:
        assert facilities.status_code == placements.status_code == 403
        return
    my_home, my_placement = places[mine.node.code]
    their_home, their_placement = places[theirs.node.code]
    assert [row["id"] for row in rows(facilities)] == [my_home.pk]
    assert [row["id"] for row in rows(placements)] == [my_placement.pk]
    assert api.get(f"/api/facilities/{their_home.pk}/").status_code == 404
    assert api.post(f"/api/placements/{their_placement.pk}/end/", {"ended_on": "2026-08-01"}).status_code == 404
    refused = api.post(
        "/api/placements/",
        {"enrollment": mine.enrollments[Programme.MENTAL_HEALTH].pk, "facility": their_home.pk, "started_on": "2026-08-01"},
        format="json",
    )
    assert refused.status_code == 400 and "facility" in refused.json()["error"]["fields"]
    not_theirs = api.post(
        "/api/placements/",
        {"enrollment": theirs.enrollments[Programme.MENTAL_HEALTH].pk, "facility": my_home.pk, "started_on": "2026-08-01"},
        format="json",
    )
    assert not_theirs.status_code == 400 and "enrollment" in not_theirs.json()["error"]["fields"]
    assert not my_home.placements.filter(enrollment__person__unit=theirs.unit).exists()

"""Who reaches which registry and programme records (DOMAIN.md, "Privacy"), at the queryset:
the pages and the API apply exactly these querysets."""

import pytest

from kaili import roles
from kaili.scope import CHANGE, EXPORT, VIEW
from kaili.services import user_grant_role
from populations.models import Enrollment, Household, Person, Programme, ProgrammeOfficer, Visit
from populations.selectors import person_is_responsible, programme_counts, worklist
from populations.services import enrollment_update, visit_record
from tests.populations.factories import make_enrollment, make_officer, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(tree):
    """In zone A and zone B: one person in each of three programmes."""
    made = {}
    for zone, unit in (("a", tree.unit_a), ("b", tree.unit_b)):
        for programme in (Programme.MENTAL_HEALTH, Programme.DRUG_REHAB, Programme.LEFT_BEHIND):
            person = make_person(unit=unit, name=f"{zone}-{programme}")
            made[(zone, programme)] = make_enrollment(person, programme)
    for node in vars(tree).values():
        node.refresh_from_db()
    return made


def names(queryset):
    return sorted(e.person.name for e in queryset.select_related("person"))


def test_a_programme_officer_sees_only_their_programmes_in_their_area(tree, people, user_factory):
    officer = make_officer(user_factory, "anning_a", [tree.zone_a.code], [Programme.MENTAL_HEALTH])
    assert names(Enrollment.objects.restrict(officer)) == ["a-mental_health"]
    assert list(Visit.objects.restrict(officer)) == []
    # Registry: everyone of the zone, masked (the person-level rule below).
    assert Person.objects.restrict(officer).count() == 3
    assert not Person.objects.restrict(officer).filter(unit=tree.unit_b).exists()


def test_an_officer_without_duties_sees_no_programme_records(tree, people, user_factory):
    officer = user_factory("no_duty", roles.PROGRAMME_OFFICER, [tree.city.code])
    assert not Enrollment.objects.restrict(officer).exists()


def test_a_grid_worker_sees_left_behind_people_only_for_visits(tree, people, user_factory):
    worker = user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a.code])
    assert names(Enrollment.objects.restrict(worker)) == ["a-left_behind"]
    assert not Enrollment.objects.restrict(worker, CHANGE).exists()
    left_behind = people[("a", Programme.LEFT_BEHIND)]
    visit = visit_record(actor=worker, enrollment=left_behind, kind="visit", visited_on=left_behind.started_on)
    assert list(Visit.objects.restrict(worker)) == [visit]
    assert list(Visit.objects.restrict(worker, "add")) == [visit]


def test_a_responsible_team_member_sees_their_person(tree, people, user_factory):
    worker = user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a.code])
    drug = people[("a", Programme.DRUG_REHAB)]
    enrollment_update(actor=None, enrollment=drug, team=[worker])
    assert names(Enrollment.objects.restrict(worker)) == ["a-drug_rehab", "a-left_behind"]
    assert person_is_responsible(worker, drug.person)
    assert not person_is_responsible(worker, people[("a", Programme.LEFT_BEHIND)].person)


def test_two_roles_in_two_areas_do_not_mix(tree, people, user_factory):
    """Grid worker in zone A, mental-health officer in zone B: left-behind in A, mental health
    in B, and not mental health in A."""
    user = user_factory("both", roles.GRID_WORKER, [tree.zone_a.code])
    user_grant_role(actor=None, user=user, role=roles.PROGRAMME_OFFICER, codes=[tree.zone_b.code])
    ProgrammeOfficer.objects.create(user=user, programme=Programme.MENTAL_HEALTH)
    assert names(Enrollment.objects.restrict(user)) == ["a-left_behind", "b-mental_health"]
    assert names(Enrollment.objects.restrict(user, CHANGE)) == ["b-mental_health"]
    assert person_is_responsible(user, people[("b", Programme.MENTAL_HEALTH)].person)
    assert not person_is_responsible(user, people[("a", Programme.MENTAL_HEALTH)].person)


def test_leaders_see_counts_not_names(tree, people, user_factory):
    leader = user_factory("leader_t1", roles.LEADER, [tree.t1.code])
    assert not Enrollment.objects.restrict(leader).exists()
    assert not Person.objects.restrict(leader).exists()
    assert not Household.objects.restrict(leader).exists()
    counts = programme_counts(leader, tree.t1)
    assert counts["total"] == {"mental_health": 2, "drug_rehab": 2, "left_behind": 2}
    per_zone = {child.code: tally for child, tally in counts["children"]}
    assert per_zone[tree.zone_a.code] == {"mental_health": 1, "drug_rehab": 1, "left_behind": 1}
    assert programme_counts(leader, tree.t2)["total"] == {}
    assert programme_counts(leader, tree.city)["total"] == {}  # above the leader's grant


def test_registry_scope_per_role(tree, people, user_factory):
    unit_head = user_factory("head_a", roles.UNIT_HEAD, [tree.unit_a.code])
    centre = user_factory("centre_t1", roles.CENTRE_STAFF, [tree.t1.code])
    worker = user_factory("worker_b", roles.GRID_WORKER, [tree.zone_b.code])
    assert Person.objects.restrict(unit_head).count() == 3
    assert not Person.objects.restrict(unit_head, CHANGE).exists()
    assert Person.objects.restrict(centre).count() == 6
    assert Person.objects.restrict(centre, EXPORT).count() == 6
    assert not Person.objects.restrict(worker, EXPORT).exists()
    assert set(Person.objects.restrict(worker, CHANGE).values_list("unit", flat=True)) == {tree.unit_b.pk}
    assert not Enrollment.objects.restrict(centre).exists()


def test_the_worklist_lists_due_and_overdue_in_scope(tree, people, user_factory):
    officer = make_officer(user_factory, "drug_t1", [tree.t1.code], [Programme.DRUG_REHAB])
    # Started 2026-06-01 and tested monthly in year 1: overdue by now.
    rows = list(worklist(officer))
    assert [e.person.name for e in rows] == ["a-drug_rehab", "b-drug_rehab"]
    assert all(e.overdue for e in rows)
    assert list(worklist(officer, within_days=-10_000)) == []


def test_inactive_and_anonymous_users_reach_nothing(tree, people, user_factory):
    from django.contrib.auth.models import AnonymousUser

    officer = make_officer(user_factory, "gone", [tree.city.code], [Programme.MENTAL_HEALTH])
    officer.is_active = False
    assert not Enrollment.objects.restrict(officer, VIEW).exists()
    assert not Enrollment.objects.restrict(AnonymousUser(), VIEW).exists()
    assert not Person.objects.restrict(AnonymousUser(), VIEW).exists()


def test_writes_beyond_the_programme_rules_are_refused_and_leave_nothing(tree, people, user_factory):
    import datetime

    from django.core.exceptions import PermissionDenied

    from populations.services import enrollment_create, enrollment_exit

    officer = make_officer(user_factory, "anning_a", [tree.zone_a.code], [Programme.MENTAL_HEALTH])
    person = people[("a", Programme.LEFT_BEHIND)].person
    before = Enrollment.objects.count()
    with pytest.raises(PermissionDenied):
        enrollment_create(
            actor=officer, person=person, programme=Programme.YOUTH, started_on=datetime.date(2026, 6, 1),
            details={"kind": "idle", "school_status": "in_school"},
        )  # fmt: skip
    assert Enrollment.objects.count() == before
    with pytest.raises(PermissionDenied):
        enrollment_exit(
            actor=officer, enrollment=people[("b", Programme.MENTAL_HEALTH)], exited_on=datetime.date(2026, 7, 1), reason="moved"
        )
    worker = user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a.code])
    with pytest.raises(PermissionDenied):
        visit_record(
            actor=worker, enrollment=people[("a", Programme.MENTAL_HEALTH)], kind="visit", visited_on=datetime.date(2026, 7, 1)
        )


def test_city_level_facilities_are_visible_below_but_zone_ones_stay_in_their_zone(tree, people, user_factory):
    from populations.models import Facility
    from populations.services import facility_create

    facility_create(actor=None, grid=tree.city, kind="rehab_centre", name="市戒毒康复中心", capacity=1000)
    facility_create(actor=None, grid=tree.zone_b, kind="childrens_home", name="营盘坡儿童之家", capacity=20)
    officer = make_officer(user_factory, "drug_a", [tree.zone_a.code], [Programme.DRUG_REHAB])
    assert list(Facility.objects.restrict(officer).values_list("name", flat=True)) == ["市戒毒康复中心"]

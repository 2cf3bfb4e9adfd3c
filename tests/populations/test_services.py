"""The registry and programme services: validation, one write path, audit, capacity."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from grids.services import grid_retire
from kaili.models import AuditAction, AuditEntry
from populations.models import Enrollment, Facility, Household, Person, Placement, Programme
from populations.services import (
    enrollment_create,
    enrollment_exit,
    facility_create,
    facility_update,
    household_create,
    household_update,
    person_create,
    person_reveal,
    person_update,
    placement_end,
    placement_start,
)
from tests.populations.factories import identity_number, make_enrollment, make_household, make_officer, make_person

pytestmark = pytest.mark.django_db


def errors_of(call, **kwargs):
    with pytest.raises(ValidationError) as error:
        call(**kwargs)
    return error.value.message_dict


def test_households_are_numbered_in_their_unit_and_audited(tree):
    first = make_household(tree.unit_a)
    second = make_household(tree.unit_a, address="北京路 2 号")
    assert first.number == tree.unit_a.code + "001"
    assert second.number == tree.unit_a.code + "002"
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="populations.household").count() == 2


def test_households_live_only_in_open_units(tree):
    assert "unit" in errors_of(household_create, actor=None, unit=tree.grid_a, address="北京路 1 号")
    unit = tree.unit_b
    grid_retire(actor=None, grid=unit, reason="测试")
    unit.refresh_from_db()
    with pytest.raises(ValidationError):
        household_create(actor=None, unit=unit, address="营盘坡 1 号")
    assert "address" in errors_of(household_create, actor=None, unit=tree.unit_a, address="  ")


def test_person_derives_sex_and_birth_date_and_the_head_heads_the_household(tree):
    household = make_household(tree.unit_a)
    number = identity_number(datetime.date(1975, 3, 9), "F")
    person = person_create(
        actor=None, household=household, name="吴阿妹", identity_number=number, ethnicity="06", relation="head"
    )
    assert (person.sex, person.birth_date) == ("F", datetime.date(1975, 3, 9))
    assert person.unit == tree.unit_a
    household.refresh_from_db()
    assert household.head == person


@pytest.mark.parametrize(
    "change, field",
    [
        ({"identity_number": "522601199001011230"}, "identity_number"),
        ({"identity_number": "52260119900101"}, "identity_number"),
        ({"ethnicity": "99"}, "ethnicity"),
        ({"phone": "12345"}, "phone"),
        ({"relation": "cousin"}, "relation"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_person_fields_are_refused_by_name_and_nothing_is_written(tree, change, field):
    household = make_household(tree.unit_a)
    fields = {"name": "张三", "identity_number": identity_number(), **change}
    assert field in errors_of(person_create, actor=None, household=household, **fields)
    assert not Person.objects.exists()


def test_duplicate_identity_numbers_are_refused(tree):
    number = identity_number()
    make_person(unit=tree.unit_a, identity_number=number)
    errors = errors_of(person_create, actor=None, household=make_household(tree.unit_b), name="李四", identity_number=number)
    assert errors["identity_number"] == ["身份证号已登记，不能重复登记。"]
    other = make_person(unit=tree.unit_b, name="王五")
    assert "identity_number" in errors_of(person_update, actor=None, person=other, identity_number=number)


def test_moving_a_household_moves_its_people(tree):
    person = make_person(unit=tree.unit_a)
    household_update(actor=None, household=person.household, unit=tree.unit_b)
    person.refresh_from_db()
    assert person.unit == tree.unit_b


def test_updating_a_person_rederives_from_a_corrected_number_and_audits_without_plaintext(tree):
    person = make_person(unit=tree.unit_a)
    corrected = identity_number(datetime.date(1982, 12, 1), "F")
    person_update(actor=None, person=person, identity_number=corrected, phone="13900001111")
    person.refresh_from_db()
    assert (person.birth_date, person.sex, person.identity_number, person.phone) == (
        datetime.date(1982, 12, 1),
        "F",
        corrected,
        "13900001111",
    )
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_type="populations.person").get()
    assert corrected not in str(entry.changes) and "13900001111" not in str(entry.changes)


def test_reveal_is_for_responsible_staff_and_always_audited(tree, user_factory):
    from kaili.roles import GRID_WORKER

    person = make_person(unit=tree.unit_a, phone="13812345678")
    make_enrollment(person, Programme.MENTAL_HEALTH)
    officer = make_officer(user_factory, "anning_officer", [tree.zone_a.code])
    worker = user_factory("worker_a", GRID_WORKER, [tree.zone_a.code])
    assert person_reveal(actor=officer, person=person)["phone"] == "13812345678"
    with pytest.raises(PermissionDenied):
        person_reveal(actor=worker, person=person)
    reads = AuditEntry.objects.filter(action=AuditAction.READ_SENSITIVE, object_id=str(person.pk))
    assert sorted(reads.values_list("actor_username", "outcome")) == [("anning_officer", "success"), ("worker_a", "denied")]


def test_one_active_enrollment_per_programme_and_details_are_checked(tree):
    person = make_person(unit=tree.unit_a)
    make_enrollment(person, Programme.YOUTH)
    assert "programme" in errors_of(
        enrollment_create, actor=None, person=person, programme=Programme.YOUTH, started_on=datetime.date(2026, 1, 1),
        details={"kind": "idle", "school_status": "in_school"},
    )  # fmt: skip
    errors = errors_of(
        enrollment_create, actor=None, person=person, programme=Programme.MENTAL_HEALTH,
        started_on=datetime.date(2026, 1, 1), level=7, details={"diagnosis": "flu"},
    )  # fmt: skip
    assert "level" in errors
    errors = errors_of(
        enrollment_create, actor=None, person=person, programme=Programme.MENTAL_HEALTH,
        started_on=datetime.date(2026, 1, 1), details={"diagnosis": "flu", "shoe_size": 42},
    )  # fmt: skip
    assert "details.shoe_size" in errors
    errors = errors_of(
        enrollment_create, actor=None, person=person, programme=Programme.MENTAL_HEALTH,
        started_on=datetime.date(2026, 1, 1), details={"diagnosis": "flu"},
    )  # fmt: skip
    assert "details.diagnosis" in errors
    assert Enrollment.objects.count() == 1


def test_exit_ends_placements_and_frees_the_place(tree):
    facility = facility_create(actor=None, grid=tree.zone_a, kind="sunshine_home", name="阳光家园", capacity=1)
    first = make_enrollment(make_person(unit=tree.unit_a), Programme.DRUG_REHAB)
    second = make_enrollment(make_person(unit=tree.unit_a, name="李四"), Programme.DRUG_REHAB)
    placement_start(actor=None, enrollment=first, facility=facility, started_on=datetime.date(2026, 6, 2))
    errors = errors_of(placement_start, actor=None, enrollment=second, facility=facility, started_on=datetime.date(2026, 6, 2))
    assert errors["facility"] == ["阳光家园已满（容量 1，在用 1），不能再安置。"]
    enrollment_exit(actor=None, enrollment=first, exited_on=datetime.date(2026, 7, 1), reason="completed")
    assert Placement.objects.get(enrollment=first).ended_on == datetime.date(2026, 7, 1)
    placement_start(actor=None, enrollment=second, facility=facility, started_on=datetime.date(2026, 7, 2))
    assert "capacity" in errors_of(facility_update, actor=None, facility=facility, capacity=0)
    with pytest.raises(ValidationError):
        enrollment_exit(actor=None, enrollment=first, exited_on=datetime.date(2026, 7, 2), reason="completed")


def test_placement_end_refuses_twice(tree):
    facility = facility_create(actor=None, grid=tree.zone_a, kind="childrens_home", name="儿童之家", capacity=5)
    enrollment = make_enrollment(make_person(unit=tree.unit_a))
    placement = placement_start(actor=None, enrollment=enrollment, facility=facility, started_on=datetime.date(2026, 6, 2))
    placement_end(actor=None, placement=placement, ended_on=datetime.date(2026, 6, 30))
    with pytest.raises(ValidationError):
        placement_end(actor=None, placement=placement, ended_on=datetime.date(2026, 7, 1))


@pytest.mark.django_db(transaction=True)
def test_two_placements_at_once_cannot_both_take_the_last_place(tree):
    facility = facility_create(actor=None, grid=tree.zone_a, kind="rehab_centre", name="戒毒康复中心", capacity=1)
    enrollments = [make_enrollment(make_person(unit=tree.unit_a, name=f"人{i}"), Programme.DRUG_REHAB) for i in range(4)]
    barrier = threading.Barrier(len(enrollments))
    outcomes = []

    def place(enrollment):
        try:
            barrier.wait()
            placement_start(actor=None, enrollment=enrollment, facility=facility, started_on=datetime.date(2026, 6, 2))
            outcomes.append("placed")
        except ValidationError:
            outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=place, args=(e,)) for e in enrollments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full", "full", "full", "placed"]
    assert Facility.objects.get(pk=facility.pk).placements.filter(ended_on__isnull=True).count() == 1


def test_households_and_people_count_in_the_grid_record_check(tree):
    from grids.services import grid_record_counts

    make_person(unit=tree.unit_a)
    counts = grid_record_counts(tree.unit_a)
    assert counts and sum(counts.values()) >= 2
    assert Household.objects.count() == 1


def test_a_household_has_at_most_one_head(tree):
    household = make_household(tree.unit_a)
    head = make_person(household, name="吴老大", relation="head")
    errors = errors_of(
        person_create, actor=None, household=household, name="吴老二", identity_number=identity_number(), relation="head"
    )
    assert errors["relation"] == ["该户已有户主吴老大；请先修改原户主的“与户主关系”。"]
    person_update(actor=None, person=head, relation="spouse")
    household.refresh_from_db()
    assert household.head is None
    second = make_person(household, name="吴老二", relation="head")
    household.refresh_from_db()
    assert household.head == second


def test_a_moved_households_number_is_not_given_again(tree):
    moved = make_household(tree.unit_a)
    household_update(actor=None, household=moved, unit=tree.unit_b)
    assert make_household(tree.unit_a).number == tree.unit_a.code + "002"


def test_a_person_moving_house_takes_the_new_households_unit(tree):
    person = make_person(unit=tree.unit_a, relation="head")
    old = person.household
    new_home = make_household(tree.unit_b)
    person_update(actor=None, person=person, household=new_home)
    person.refresh_from_db()
    old.refresh_from_db()
    assert person.unit == tree.unit_b and old.head is None
    new_home.refresh_from_db()
    assert new_home.head == person

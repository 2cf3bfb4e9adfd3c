"""The demo registry and programmes (populations/demo.py): valid, consistent, scaled, idempotent."""

import datetime
import re
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Q
from django.utils import timezone

from grids.models import AreaType, Grid, GridKind
from grids.services import grid_create
from kaili.models import AuditAction, AuditEntry, User
from populations import demo
from populations.identity import parse_identity_number
from populations.models import (
    DETAIL_MODELS,
    CorrectionRecord,
    Enrollment,
    EnrollmentStatus,
    Facility,
    FacilityKind,
    Household,
    MentalHealthRecord,
    Person,
    Placement,
    Programme,
    ProgrammeOfficer,
    Relation,
    SchoolStatus,
    YouthRecord,
)
from populations.selectors import worklist
from populations.services import household_create, household_update

pytestmark = pytest.mark.django_db

SCALE = 0.01
UNIT_HOUSEHOLDS = 10_000  # declared per unit, so that 1% of them is a few hundred households


@pytest.fixture
def small_tree(tree):
    """The shared small tree with two rural units added; every unit declares 10,000 households."""
    for n in (1, 2):
        grid_create(
            actor=None, code=f"{tree.grid_c.code}0{n}", name=f"南花{n}组", kind=GridKind.UNIT, parent=tree.grid_c, households=1
        )
    assert tree.grid_c.area_type == AreaType.RURAL
    Grid.objects.filter(kind=GridKind.UNIT).update(households=UNIT_HOUSEHOLDS)
    return tree


@pytest.fixture
def seeded_small(small_tree):
    return demo.seed_populations(seed=7, scale=SCALE)


def test_households_follow_the_units_at_the_scale(seeded_small):
    assert seeded_small.households_created == 4 * UNIT_HOUSEHOLDS * SCALE == Household.objects.count()
    for unit in Grid.objects.filter(kind=GridKind.UNIT):
        numbers = sorted(Household.objects.filter(unit=unit).values_list("number", flat=True))
        assert numbers == [f"{unit.code}{n:03d}" for n in range(1, 101)]
    sizes = Counter(Household.objects.annotate(n=Count("members")).values_list("n", flat=True))
    assert set(sizes) <= {2, 3, 4}
    assert 2.6 <= seeded_small.people_created / seeded_small.households_created <= 3.2


def test_a_unit_whose_households_moved_away_is_numbered_after_them(small_tree):
    moved = household_create(actor=None, unit=small_tree.unit_a, address="北京路 1 号")
    household_update(actor=None, household=moved, unit=small_tree.unit_b)
    demo.seed_populations(seed=7, scale=SCALE)
    unit = small_tree.unit_a
    numbers = sorted(Household.objects.filter(unit=unit).values_list("number", flat=True))
    assert numbers == [f"{unit.code}{n:03d}" for n in range(2, 102)]  # 001 is taken, though no longer here


def test_a_small_scale_spreads_households_instead_of_rounding_units_to_zero():
    units = [
        demo.UnitInfo(pk=i, code=f"{i:017d}", name="", households=12, rural=False, grid_seq=1, town_id=None, place="")
        for i in range(1000)
    ]
    counts = [count for _unit, count in demo.households_per_unit(units, 0.02)]
    assert sum(counts) == round(1000 * 12 * 0.02) and set(counts) == {0, 1}
    assert [count for _unit, count in demo.households_per_unit(units, 1)] == [12] * 1000


def test_identity_numbers_are_valid_unique_and_mostly_local(seeded_small):
    people = list(Person.objects.all())
    numbers = [person.identity_number for person in people]
    assert len(set(numbers)) == len(numbers)
    for person, number in zip(people, numbers, strict=True):
        born, sex = parse_identity_number(number)
        assert (born, sex) == (person.birth_date, person.sex)
        assert 0 <= person.age_on(timezone.localdate()) <= 90
        assert person.id_number_masked == number[:6] + "********" + number[-4:]
    assert sum(number.startswith("522601") for number in numbers) / len(numbers) > 0.8


def test_people_look_like_kaili(seeded_small):
    ethnicities = Counter(Person.objects.values_list("ethnicity", flat=True))
    assert ethnicities.most_common(1)[0][0] == "06"  # 苗族
    assert {"01", "12"} <= set(ethnicities)
    for person in Person.objects.exclude(phone_encrypted=""):
        assert re.fullmatch(r"1[358]\d{9}", person.phone)
        assert person.age_on(timezone.localdate()) >= 18
    assert Person.objects.filter(residence="floating").exists()
    assert Person.objects.filter(residence="registered").count() > Person.objects.filter(residence="floating").count()
    assert not Person.objects.filter(Q(name="") | Q(occupation="")).exists()
    assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", Person.objects.first().name)


def test_every_person_lives_in_their_households_unit_and_each_household_has_one_head(seeded_small):
    assert not Person.objects.exclude(unit_id=F("household__unit_id")).exists()
    heads = Counter(Person.objects.filter(relation=Relation.HEAD).values_list("household_id", flat=True))
    assert set(heads.values()) == {1} and len(heads) == Household.objects.count()
    assert not Household.objects.filter(head__isnull=True).exists()
    assert not Household.objects.exclude(head__household_id=F("pk")).exists()
    assert not Household.objects.exclude(head__relation=Relation.HEAD).exists()


def test_programmes_follow_the_seed_figures_at_the_scale(seeded_small):
    targets = demo.programme_targets(SCALE)
    assert seeded_small.enrollments == targets
    for programme, size in demo.PROGRAMME_SIZES.items():
        assert targets[programme] == max(1, round(size * SCALE)) or programme in (Programme.CORRECTION, Programme.YOUTH)
    figures = demo.seed_figures(SCALE)
    assert figures == {"care_contracts": 4, "entrepreneurship_support": 3, "sunshine_employed": 6, "returned_to_school": 2}
    active = {"enrollment__status": EnrollmentStatus.ACTIVE}
    contracts = MentalHealthRecord.objects.filter(contract_signed_on__isnull=False, contract_reward__gt=0, **active)
    assert contracts.count() == figures["care_contracts"]
    supported = CorrectionRecord.objects.filter(entrepreneurship_support=True, **active)
    assert supported.count() == figures["entrepreneurship_support"]
    assert Enrollment.objects.active().filter(programme=Programme.CORRECTION).count() > supported.count()
    employed = Placement.objects.current().filter(facility__kind=FacilityKind.SUNSHINE_HOME)
    assert employed.count() == figures["sunshine_employed"]
    assert set(employed.values_list("enrollment__programme", flat=True)) == {Programme.DRUG_REHAB}
    returned = YouthRecord.objects.filter(school_status=SchoolStatus.RETURNED, returned_to_school_on__isnull=False, **active)
    assert returned.count() == figures["returned_to_school"]
    # every active enrollment has its programme's detail record, and people are spread over the units
    for programme, model in DETAIL_MODELS.items():
        assert model.objects.count() == Enrollment.objects.filter(programme=programme).count()
    assert Enrollment.objects.values("person__unit").distinct().count() == 4
    assert Enrollment.objects.filter(status=EnrollmentStatus.EXITED, exited_on__isnull=False, exit_reason__gt="").exists()


def test_the_seed_figures_at_scale_one_and_never_below_one():
    assert demo.seed_figures(1) == {
        "care_contracts": 361,
        "entrepreneurship_support": 283,
        "sunshine_employed": 612,
        "returned_to_school": 167,
    }
    assert set(demo.seed_figures(0.0001).values()) == {1}
    assert demo.programme_targets(0) == dict.fromkeys(Programme.values, 0)
    tiny = demo.programme_targets(0.0001)
    assert tiny[Programme.CORRECTION] == 2 and tiny[Programme.MENTAL_HEALTH] == 1


def test_facilities_are_created_and_never_over_capacity(seeded_small):
    kinds = Counter(Facility.objects.values_list("kind", flat=True))
    assert kinds[FacilityKind.CHILDRENS_HOME] == 13
    assert kinds[FacilityKind.WOMENS_BASE] == 17
    assert kinds[FacilityKind.LABOUR_BASE] == 6
    assert Facility.objects.get(kind=FacilityKind.REHAB_CENTRE).capacity == 1000
    assert {FacilityKind.SUNSHINE_HOME, FacilityKind.SPRING_RAIN_SCHOOL, FacilityKind.ELDERLY_UNIVERSITY} <= set(kinds)
    assert Facility.objects.values("name").distinct().count() == Facility.objects.count()
    over = Facility.objects.annotate(n=Count("placements", filter=Q(placements__ended_on__isnull=True))).filter(
        n__gt=F("capacity")
    )
    assert not over.exists()
    assert not Placement.objects.filter(started_on__lt=F("enrollment__started_on")).exists()


def test_placements_stop_at_capacity(small_tree, monkeypatch):
    plan = [(kind, count, (1,), where) for kind, count, _capacities, where in demo.FACILITY_PLAN]
    monkeypatch.setattr(demo, "FACILITY_PLAN", plan)
    demo.seed_populations(seed=7, scale=SCALE)
    occupied = Facility.objects.annotate(n=Count("placements", filter=Q(placements__ended_on__isnull=True)))
    assert max(occupied.values_list("n", flat=True)) == 1
    assert Placement.objects.filter(facility__kind=FacilityKind.SUNSHINE_HOME).count() == 3  # three homes, one place each


def test_some_members_are_overdue_some_due_and_the_dates_agree_with_the_schedule(seeded_small):
    from populations.services import refresh_all_schedules

    today = timezone.localdate()
    active = Enrollment.objects.active()
    assert active.filter(overdue=True).exists()
    assert active.filter(overdue=False, next_due_on__lte=today + datetime.timedelta(days=7)).exists()
    assert active.filter(next_due_on__gt=today + datetime.timedelta(days=7)).exists()
    assert refresh_all_schedules(today=today)["changed"] == 0  # the load wrote what the schedule says
    assert not Enrollment.objects.filter(visits__visited_on__lt=F("started_on")).exists()
    assert not Enrollment.objects.filter(visits__visited_on__gt=today).exists()


def test_seeding_again_adds_nothing_and_audits_once(seeded_small):
    counts = (Household.objects.count(), Person.objects.count(), Enrollment.objects.count(), Facility.objects.count())
    again = demo.seed_populations(seed=7, scale=SCALE)
    assert (again.households_created, again.people_created, again.enrollments_created, again.facilities_created) == (0, 0, 0, 0)
    assert counts == (Household.objects.count(), Person.objects.count(), Enrollment.objects.count(), Facility.objects.count())
    imports = AuditEntry.objects.filter(action=AuditAction.IMPORT, object_type="populations.person")
    assert imports.count() == 1
    assert imports.get().changes["people"] == counts[1]


def test_a_new_unit_is_filled_on_the_next_run_without_new_programme_members(seeded_small, small_tree):
    grid_create(
        actor=None,
        code=f"{small_tree.grid_c.code}03",
        name="南花3组",
        kind=GridKind.UNIT,
        parent=small_tree.grid_c,
        households=1000,
    )
    again = demo.seed_populations(seed=7, scale=SCALE)
    assert again.households_created == 10
    assert again.enrollments_created == 0  # the programmes already hold their figures
    assert not Person.objects.exclude(unit_id=F("household__unit_id")).exists()


def test_identity_and_phone_numbers_are_not_stored_in_clear(seeded_small):
    people = list(Person.objects.exclude(phone_encrypted="").order_by("?")[:50])
    secrets = [p.identity_number for p in people] + [p.phone for p in people]
    with connection.cursor() as cursor:
        for table in ("populations_person", "populations_household", "kaili_auditentry"):
            cursor.execute(
                f"SELECT count(*) FROM {table} t, unnest(%s::text[]) AS s(v) WHERE strpos(t::text, s.v) > 0",
                [secrets],
            )
            assert cursor.fetchone()[0] == 0, table
        # no column of the registry holds an 18-character identity number (hashes are 64 hex characters)
        cursor.execute(
            "SELECT count(*) FROM populations_person WHERE id_number_encrypted ~ '[0-9]{17}[0-9X]' "
            "OR id_number_masked !~ '^[0-9]{6}[*]{8}[0-9]{3}[0-9X]$' OR phone_encrypted ~ '1[358][0-9]{9}'"
        )
        assert cursor.fetchone()[0] == 0


def test_seed_demo_gives_every_demo_officer_something_to_do(db, capsys):
    """At the default scale (what `make run` loads) every demo account has people to open."""
    call_command("seed_demo", "--no-incidents", verbosity=1)
    out = capsys.readouterr().out
    assert f"人口（比例 {demo.DEFAULT_SCALE:g}）" in out and "安宁工程" in out
    duties = {
        username: set(ProgrammeOfficer.objects.filter(user__username=username).values_list("programme", flat=True))
        for username in demo.DEMO_DUTIES
    }
    assert duties == {username: set(programmes) for username, programmes in demo.DEMO_DUTIES.items()}
    officer = User.objects.get(username="officer")
    mine = Enrollment.objects.restrict(officer)
    assert mine.exists() and set(mine.values_list("programme", flat=True)) == {Programme.DRUG_REHAB}
    assert worklist(officer).exists()
    gridworker = User.objects.get(username="gridworker")
    assert Person.objects.restrict(gridworker).exists()
    assert Enrollment.objects.restrict(gridworker).filter(programme=Programme.LEFT_BEHIND).exists()
    for username in ("officer_justice", "officer_care"):
        user = User.objects.get(username=username)
        assert set(Enrollment.objects.restrict(user).values_list("programme", flat=True)) == set(demo.DEMO_DUTIES[username])
    households = Household.objects.count()
    assert households == demo.planned_households(demo.DEFAULT_SCALE)
    call_command("seed_demo", "--no-incidents", verbosity=0)
    assert Household.objects.count() == households

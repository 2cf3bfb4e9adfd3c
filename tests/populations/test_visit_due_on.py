"""Each visit keeps the date it fell due (``Visit.due_on``), for counting follow-ups due and done on time."""

import datetime
import random
from itertools import groupby

import pytest
from django.db.models import F
from django.utils import timezone

from populations import demo
from populations.models import CorrectionRecord, Enrollment, Programme, Visit
from populations.schedules import RuleBook, add_months
from populations.services import enrollment_exit, refresh_all_schedules, visit_record
from tests.populations.factories import make_enrollment, make_person
from tests.populations.test_demo import seeded_small, small_tree  # noqa: F401  (the demo at a small scale)

pytestmark = pytest.mark.django_db

START = datetime.date(2025, 1, 10)
FOLLOW_UP_FORM = {
    "insight": "partial",
    "sleep": "good",
    "diet": "good",
    "social_function": "fair",
    "medication": "regular",
    "effect": "improved",
}


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def follow_up(enrollment, visited_on, level):
    return visit_record(
        actor=None, enrollment=enrollment, kind="follow_up", visited_on=visited_on, level=level, details=FOLLOW_UP_FORM
    )


def visit(enrollment, visited_on, kind="visit", **fields):
    return visit_record(actor=None, enrollment=enrollment, kind=kind, visited_on=visited_on, **fields)


def due_dates(enrollment, kind="visit"):
    return list(enrollment.visits.filter(kind=kind).order_by("visited_on", "id").values_list("visited_on", "due_on"))


# --- recording a visit -----------------------------------------------------------------


def test_the_first_visit_falls_due_from_the_start_and_each_later_one_from_the_visit_before(tree):
    youth = make_enrollment(make_person(unit=tree.unit_a), Programme.YOUTH, started_on=START)  # monthly
    first = visit(youth, datetime.date(2025, 2, 5))
    second = visit(youth, datetime.date(2025, 3, 20))
    same_day = visit(youth, datetime.date(2025, 3, 20))
    assert first.due_on == datetime.date(2025, 2, 10)
    assert second.due_on == same_day.due_on == datetime.date(2025, 3, 5)  # both answer the visit of 5 February
    assert due_dates(youth) == [
        (datetime.date(2025, 2, 5), datetime.date(2025, 2, 10)),
        (datetime.date(2025, 3, 20), datetime.date(2025, 3, 5)),
        (datetime.date(2025, 3, 20), datetime.date(2025, 3, 5)),
    ]


def test_a_mental_health_follow_up_falls_due_by_the_risk_level_assessed_at_the_one_before(tree):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.MENTAL_HEALTH, started_on=START, level=0)
    found_unstable = follow_up(enrollment, datetime.date(2025, 3, 20), level=3)
    found_stable = follow_up(enrollment, datetime.date(2025, 4, 1), level=0)
    after_stable = follow_up(enrollment, datetime.date(2025, 7, 1), level=0)
    assert found_unstable.due_on == add_months(START, 3)  # level 0 at the start: every 3 months
    assert found_stable.due_on == datetime.date(2025, 3, 20) + days(14)  # assessed level 3: within 2 weeks
    assert after_stable.due_on == add_months(datetime.date(2025, 4, 1), 3)


def test_drug_tests_fall_due_by_the_programme_year_of_the_test_before(tree):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.DRUG_REHAB, started_on=START)
    last_of_year_one = visit(enrollment, datetime.date(2026, 1, 5), kind="drug_test", result="negative")
    first_of_year_two = visit(enrollment, datetime.date(2026, 2, 1), kind="drug_test", result="negative")
    second_of_year_two = visit(enrollment, datetime.date(2026, 3, 20), kind="drug_test", result="negative")
    assert last_of_year_one.due_on == add_months(START, 1)
    assert first_of_year_two.due_on == datetime.date(2026, 2, 5)  # monthly in year 1
    assert second_of_year_two.due_on == datetime.date(2026, 4, 1)  # every 2 months in year 2


def test_a_visit_no_schedule_covers_has_no_due_date(tree):
    drug = make_enrollment(make_person(unit=tree.unit_a), Programme.DRUG_REHAB, started_on=START)
    probation = make_enrollment(make_person(unit=tree.unit_a, name="李四"), Programme.CORRECTION, started_on=START)
    assert visit(drug, datetime.date(2025, 2, 20), kind="counselling").due_on is None
    assert visit(probation, datetime.date(2025, 2, 20), kind="health_report").due_on is None  # only outside prison
    assert visit(probation, datetime.date(2025, 2, 21)).due_on == add_months(START, 1)


def test_a_visit_entered_late_re_dates_the_visits_after_it(tree):
    youth = make_enrollment(make_person(unit=tree.unit_a), Programme.YOUTH, started_on=START)
    visit(youth, datetime.date(2025, 2, 5))
    visit(youth, datetime.date(2025, 6, 20))
    visit(youth, datetime.date(2025, 6, 20))
    visit(youth, datetime.date(2025, 8, 1))
    visit(youth, datetime.date(2025, 3, 1), kind="study", hours=2)  # another kind, unscheduled
    assert [due for _day, due in due_dates(youth)] == [
        datetime.date(2025, 2, 10),
        datetime.date(2025, 3, 5),
        datetime.date(2025, 3, 5),
        datetime.date(2025, 7, 20),
    ]
    late = visit(youth, datetime.date(2025, 4, 12))
    assert late.due_on == datetime.date(2025, 3, 5)
    assert due_dates(youth) == [
        (datetime.date(2025, 2, 5), datetime.date(2025, 2, 10)),
        (datetime.date(2025, 4, 12), datetime.date(2025, 3, 5)),
        (datetime.date(2025, 6, 20), datetime.date(2025, 5, 12)),  # now answers the late visit
        (datetime.date(2025, 6, 20), datetime.date(2025, 5, 12)),
        (datetime.date(2025, 8, 1), datetime.date(2025, 7, 20)),
    ]
    assert due_dates(youth, "study") == [(datetime.date(2025, 3, 1), None)]


def test_a_late_follow_up_re_dates_the_next_one_by_the_level_it_assessed(tree):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.MENTAL_HEALTH, started_on=START, level=0)
    follow_up(enrollment, datetime.date(2025, 3, 1), level=0)
    next_one = follow_up(enrollment, datetime.date(2025, 6, 1), level=0)
    assert next_one.due_on == datetime.date(2025, 6, 1)
    follow_up(enrollment, datetime.date(2025, 5, 10), level=4)  # entered late: risky then
    next_one.refresh_from_db()
    assert next_one.due_on == datetime.date(2025, 5, 24)
    enrollment.refresh_from_db()
    assert enrollment.level == 0  # the latest assessment still holds


# --- the nightly refresh fills visits recorded before due dates were kept ---------------


def test_the_nightly_refresh_dates_undated_visits_once_and_keeps_dates_already_kept(tree):
    mental = make_enrollment(make_person(unit=tree.unit_a), Programme.MENTAL_HEALTH, started_on=START, level=0)
    follow_up(mental, datetime.date(2025, 3, 1), level=0)
    follow_up(mental, datetime.date(2025, 5, 1), level=3)
    follow_up(mental, datetime.date(2025, 5, 12), level=0)
    youth = make_enrollment(make_person(unit=tree.unit_a, name="李四"), Programme.YOUTH, started_on=START)
    visit(youth, datetime.date(2025, 2, 1))
    visit(youth, datetime.date(2025, 3, 15))
    visit(youth, datetime.date(2025, 3, 16), kind="study", hours=2)
    enrollment_exit(actor=None, enrollment=youth, exited_on=datetime.date(2025, 4, 1), reason="completed")
    kept = dict(Visit.objects.values_list("pk", "due_on"))
    assert sum(due is not None for due in kept.values()) == 5

    Visit.objects.update(due_on=None)  # as the visits recorded before the field existed
    result = refresh_all_schedules(today=datetime.date(2025, 6, 1))

    assert result["visits_dated"] == 5
    assert dict(Visit.objects.values_list("pk", "due_on")) == kept  # the exited enrollment's visits too
    # the level assessed at the follow-up before counts, not the enrollment's present one (0: 3 months)
    assert due_dates(mental, "follow_up")[2] == (datetime.date(2025, 5, 12), datetime.date(2025, 5, 15))
    assert refresh_all_schedules(today=datetime.date(2025, 6, 1))["visits_dated"] == 0
    assert dict(Visit.objects.values_list("pk", "due_on")) == kept

    edited = Visit.objects.filter(enrollment=youth, kind="visit").earliest("visited_on")
    Visit.objects.filter(pk=edited.pk).update(due_on=datetime.date(2025, 1, 31))
    Visit.objects.filter(enrollment=mental).update(due_on=None)
    assert refresh_all_schedules(today=datetime.date(2025, 6, 1), batch_size=1)["visits_dated"] == 3
    assert Visit.objects.get(pk=edited.pk).due_on == datetime.date(2025, 1, 31)  # only empty dates are filled


# --- the demo ------------------------------------------------------------------------------


def expected_due_on(rules: RuleBook, enrollment: Enrollment, kind: str, previous: Visit | None):
    """Worked out by hand from the rule: the previous visit (or the start) plus the interval."""
    since = previous.visited_on if previous else enrollment.started_on
    rule = rules.rule_for(enrollment, since, kind)
    return add_months(since, rule.interval_months) + days(rule.interval_days)


def assert_due_dates_follow_the_rule(rules, enrollment, visits):
    for kind, of_kind in groupby(sorted(visits, key=lambda v: (v.kind, v.visited_on)), key=lambda v: v.kind):
        previous = None
        for each in of_kind:
            assert each.due_on is not None
            assert each.due_on == expected_due_on(rules, enrollment, kind, previous), (enrollment.programme, kind)
            previous = each


@pytest.mark.parametrize("programme", [Programme.DRUG_REHAB, Programme.CORRECTION, Programme.MENTAL_HEALTH])
def test_the_demo_writer_dates_the_visits_it_draws(tree, programme):
    rules = RuleBook()
    today = timezone.localdate()
    writer = demo.ProgrammeWriter(random.Random(11), None, today, {}, None, rules)
    enrollment = Enrollment(programme=programme, level=1, started_on=today - days(900))  # into year 3 of drug tests
    if programme == Programme.CORRECTION:  # weekly visits and monthly health reports
        CorrectionRecord(enrollment=enrollment, category="outside_prison", supervision_level="strict")
    drawn = 0
    for _ in range(20):
        visits = writer.visits(enrollment, "ok")
        assert_due_dates_follow_the_rule(rules, enrollment, visits)
        drawn += len(visits)
    assert drawn > 20


@pytest.mark.usefixtures("seeded_small")
def test_the_demos_visits_fall_due_by_the_schedule():
    rules = RuleBook()
    enrollments = Enrollment.objects.select_related("correction").in_bulk()
    visits = Visit.objects.order_by("enrollment_id")
    assert visits.exists() and not visits.filter(due_on__isnull=True).exists()
    for enrollment_id, of_enrollment in groupby(visits, key=lambda v: v.enrollment_id):
        assert_due_dates_follow_the_rule(rules, enrollments[enrollment_id], list(of_enrollment))
    assert not Visit.objects.filter(kind="follow_up").exclude(level=F("enrollment__level")).exists()
    assert refresh_all_schedules()["visits_dated"] == 0

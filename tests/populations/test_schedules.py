"""Each programme's follow-up / visit / test schedule (DOMAIN.md, "Programme rules")."""

import datetime

import pytest

from populations.models import Programme, ScheduleRule
from populations.schedules import RuleBook, add_months, due_state, programme_year
from populations.services import enrollment_update, refresh_all_schedules, visit_record
from tests.populations.factories import make_enrollment, make_person

pytestmark = pytest.mark.django_db

FOLLOW_UP_FORM = {
    "insight": "partial",
    "sleep": "good",
    "diet": "good",
    "social_function": "fair",
    "medication": "regular",
    "effect": "improved",
}
START = datetime.date(2025, 1, 10)


def test_calendar_helpers():
    assert add_months(datetime.date(2026, 1, 31), 1) == datetime.date(2026, 2, 28)
    assert add_months(datetime.date(2026, 11, 15), 3) == datetime.date(2027, 2, 15)
    assert programme_year(START, datetime.date(2026, 1, 9)) == 1
    assert programme_year(START, datetime.date(2026, 1, 10)) == 2
    assert programme_year(START, datetime.date(2028, 1, 10)) == 4
    today = datetime.date(2026, 11, 27)
    assert due_state(datetime.date(2026, 11, 26), today) == "overdue"
    assert due_state(datetime.date(2026, 12, 4), today) == "due"
    assert due_state(datetime.date(2026, 12, 5), today) == ""


@pytest.mark.parametrize(
    "risk_level, interval",
    [(0, lambda d: add_months(d, 3)), (1, lambda d: d + datetime.timedelta(14)), (4, lambda d: d + datetime.timedelta(14))],
)
def test_mental_health_follow_up_follows_the_risk_level(tree, risk_level, interval):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.MENTAL_HEALTH, started_on=START)
    visited = datetime.date(2026, 3, 2)
    visit_record(
        actor=None,
        enrollment=enrollment,
        kind="follow_up",
        visited_on=visited,
        mode="home",
        level=risk_level,
        details=FOLLOW_UP_FORM,
    )
    enrollment.refresh_from_db()
    assert enrollment.level == risk_level
    assert enrollment.last_visit_on == visited
    assert enrollment.next_due_on == interval(visited)


def test_an_older_follow_up_entered_late_does_not_overwrite_the_current_level(tree):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.MENTAL_HEALTH, started_on=START)
    visit_record(
        actor=None, enrollment=enrollment, kind="follow_up", visited_on=datetime.date(2026, 5, 1), level=0, details=FOLLOW_UP_FORM
    )
    visit_record(
        actor=None, enrollment=enrollment, kind="follow_up", visited_on=datetime.date(2026, 4, 1), level=4, details=FOLLOW_UP_FORM
    )
    enrollment.refresh_from_db()
    assert enrollment.level == 0
    assert enrollment.next_due_on == datetime.date(2026, 8, 1)


@pytest.mark.parametrize(
    "last_test, expected",
    [
        (datetime.date(2025, 6, 10), datetime.date(2025, 7, 10)),  # year 1: monthly
        (datetime.date(2026, 3, 10), datetime.date(2026, 5, 10)),  # year 2: every 2 months
        (datetime.date(2027, 3, 10), datetime.date(2027, 6, 10)),  # year 3: every 3 months
    ],
)
def test_drug_tests_follow_the_programme_year(tree, last_test, expected):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.DRUG_REHAB, started_on=START)
    assert enrollment.planned_end_on == datetime.date(2028, 1, 10)  # three years
    rules = RuleBook()
    assert rules.next_due(enrollment, last_test) == expected


def test_drug_test_needs_a_result_and_counselling_does_not_move_the_schedule(tree):
    from django.core.exceptions import ValidationError

    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.DRUG_REHAB, started_on=START)
    with pytest.raises(ValidationError) as error:
        visit_record(actor=None, enrollment=enrollment, kind="drug_test", visited_on=datetime.date(2025, 2, 1))
    assert "result" in error.value.message_dict
    visit_record(actor=None, enrollment=enrollment, kind="drug_test", visited_on=datetime.date(2025, 2, 1), result="negative")
    visit_record(actor=None, enrollment=enrollment, kind="counselling", visited_on=datetime.date(2025, 2, 20))
    enrollment.refresh_from_db()
    assert enrollment.last_visit_on == datetime.date(2025, 2, 1)
    assert enrollment.next_due_on == datetime.date(2025, 3, 1)


def test_correction_visits_follow_the_supervision_level(tree):
    details = {
        "category": "parole",
        "correction_start": START,
        "correction_end": datetime.date(2027, 1, 10),
        "supervision_level": "strict",
    }
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.CORRECTION, started_on=START, details=details)
    assert enrollment.next_due_on == START + datetime.timedelta(days=7)
    assert enrollment.planned_end_on == datetime.date(2027, 1, 10)
    enrollment_update(actor=None, enrollment=enrollment, details={"supervision_level": "ordinary"})
    enrollment.refresh_from_db()
    assert enrollment.next_due_on == add_months(START, 1)


@pytest.mark.parametrize(
    "programme, level, expected",
    [
        (Programme.RELEASED, 3, add_months(START, 1)),
        (Programme.RELEASED, 1, add_months(START, 3)),
        (Programme.YOUTH, 2, add_months(START, 1)),
        (Programme.LEFT_BEHIND, 3, add_months(START, 1)),
        (Programme.LEFT_BEHIND, 1, add_months(START, 3)),
    ],
)
def test_visit_schedules_of_the_other_programmes(tree, programme, level, expected):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), programme, started_on=START, level=level)
    assert enrollment.next_due_on == expected


def test_rules_are_data_an_admin_can_change(tree):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.YOUTH, started_on=START)
    ScheduleRule.objects.filter(programme=Programme.YOUTH).update(interval_months=0, interval_days=10)
    refresh_all_schedules(today=datetime.date(2025, 1, 15))
    enrollment.refresh_from_db()
    assert enrollment.next_due_on == START + datetime.timedelta(days=10)
    assert not enrollment.overdue


def test_the_daily_task_flags_overdue_and_is_idempotent(tree):
    from populations.tasks import refresh_due_visits

    late = make_enrollment(make_person(unit=tree.unit_a), Programme.YOUTH, started_on=START)
    recent = make_enrollment(make_person(unit=tree.unit_a, name="李四"), Programme.YOUTH, started_on=START)
    visit_record(actor=None, enrollment=recent, kind="visit", visited_on=datetime.date.today())
    first = refresh_due_visits.delay().get()
    late.refresh_from_db()
    recent.refresh_from_db()
    assert late.overdue and not recent.overdue
    assert first["overdue"] == 1
    assert refresh_due_visits.delay().get() == {"changed": 0, "overdue": 1, "visits_dated": 0}


def test_temporary_service_outside_prison_also_reports_health_monthly(tree):
    """Two schedules at once: ordinary supervision visits monthly and health reports monthly;
    the earlier due date is the next one, and each kind counts from its own last entry."""
    details = {
        "category": "outside_prison",
        "correction_start": START,
        "correction_end": datetime.date(2027, 1, 10),
        "supervision_level": "ordinary",
    }
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.CORRECTION, started_on=START, details=details)
    assert enrollment.next_due_on == add_months(START, 1)
    visit_record(actor=None, enrollment=enrollment, kind="visit", visited_on=datetime.date(2025, 2, 5))
    enrollment.refresh_from_db()
    assert enrollment.next_due_on == add_months(START, 1)  # the health report is still due from the start
    visit_record(actor=None, enrollment=enrollment, kind="health_report", visited_on=datetime.date(2025, 2, 20))
    enrollment.refresh_from_db()
    assert enrollment.next_due_on == datetime.date(2025, 3, 5)  # now the visit comes first
    refresh_all_schedules(today=datetime.date(2025, 3, 1))
    enrollment.refresh_from_db()
    assert enrollment.next_due_on == datetime.date(2025, 3, 5) and enrollment.last_visit_on == datetime.date(2025, 2, 20)


def test_probation_has_no_health_reports(tree):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.CORRECTION, started_on=START)
    visit_record(actor=None, enrollment=enrollment, kind="visit", visited_on=datetime.date(2025, 2, 5))
    enrollment.refresh_from_db()
    assert enrollment.next_due_on == datetime.date(2025, 3, 5)

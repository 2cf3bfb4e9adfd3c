"""Deadlines on the working calendar: working hours, weekends, holidays, make-up days."""

import datetime

import pytest
from django.utils import timezone

from cases.calendar import WorkingCalendar, working_deadline
from cases.models import CalendarDay

pytestmark = pytest.mark.django_db


def at(day: str, time: str) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.fromisoformat(f"{day}T{time}"))


@pytest.mark.parametrize(
    ("start", "minutes", "deadline"),
    [
        (("2026-11-25", "09:00"), 30, ("2026-11-25", "09:30")),  # inside the morning
        (("2026-11-25", "11:30"), 60, ("2026-11-25", "14:00")),  # over the lunch break
        (("2026-11-25", "12:30"), 10, ("2026-11-25", "13:40")),  # reported at lunch
        (("2026-11-25", "20:00"), 30, ("2026-11-26", "09:00")),  # reported in the evening
        (("2026-11-27", "17:00"), 120, ("2026-11-30", "09:30")),  # Friday evening to Monday
        (("2026-11-28", "10:00"), 0, ("2026-11-30", "08:30")),  # a Saturday report waits for Monday
        (("2026-11-25", "09:00"), 480, ("2026-11-26", "09:00")),  # one working day (streetlight)
    ],
)
def test_working_minutes_skip_nights_lunch_and_weekends(start, minutes, deadline):
    start = at(*start)
    assert working_deadline(start, minutes) == at(*deadline)


def test_holidays_are_skipped_and_make_up_days_are_worked():
    # 2026: National Day 1-7 October off, Saturday 10 October worked (seeded from the State Council notice).
    assert working_deadline(at("2026-09-30", "17:00"), 120) == at("2026-10-08", "09:30")
    assert working_deadline(at("2026-10-09", "17:30"), 60) == at("2026-10-10", "09:00")
    calendar = WorkingCalendar.around(at("2026-09-01", "00:00"))
    assert calendar.is_working_day(datetime.date(2026, 9, 20))  # a Sunday, made up
    assert not calendar.is_working_day(datetime.date(2026, 10, 5))  # a Monday, holiday


def test_an_admin_added_day_off_moves_the_deadline():
    before = working_deadline(at("2026-12-02", "17:00"), 120)
    CalendarDay.objects.create(date=datetime.date(2026, 12, 3), working=False, name="凯里市民族节日")
    assert before == at("2026-12-03", "09:30")
    assert working_deadline(at("2026-12-02", "17:00"), 120) == at("2026-12-04", "09:30")


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (("2026-11-25", "09:00"), ("2026-11-25", "15:00"), 180 + 90),
        (("2026-11-27", "17:00"), ("2026-11-30", "09:30"), 120),
        (("2026-11-25", "10:00"), ("2026-11-25", "09:00"), 0),
    ],
)
def test_minutes_between_counts_working_time_only(start, end, minutes):
    start, end = at(*start), at(*end)
    assert WorkingCalendar.around(start).minutes_between(start, end) == minutes


def test_adding_then_measuring_gives_back_the_minutes():
    start = at("2026-09-29", "16:12")
    calendar = WorkingCalendar.around(start)
    for minutes in (1, 59, 240, 480, 2400, 9600):
        assert calendar.minutes_between(start, calendar.add(start, minutes)) == minutes

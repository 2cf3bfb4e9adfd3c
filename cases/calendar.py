"""The working calendar: deadlines counted in working minutes.

A day is a working day on Monday to Friday unless a ``CalendarDay`` says it is a holiday,
and on a weekend only when a ``CalendarDay`` makes it a make-up working day (调休).
Working minutes run inside ``settings.KAILI_WORKING_HOURS`` in the local time zone.
"""

import datetime

from django.conf import settings
from django.utils import timezone

from cases.models import CalendarDay

# How far ahead the calendar is read for one deadline; a limit longer than this many
# calendar days is not a working-hours limit any more.
HORIZON_DAYS = 400


def _periods() -> list[tuple[datetime.time, datetime.time]]:
    return [(datetime.time.fromisoformat(start), datetime.time.fromisoformat(end)) for start, end in settings.KAILI_WORKING_HOURS]


def working_day_minutes() -> int:
    """The working minutes of one full working day (480 with the default hours)."""
    return sum((end.hour * 60 + end.minute) - (begin.hour * 60 + begin.minute) for begin, end in _periods())


class WorkingCalendar:
    def __init__(self, exceptions: dict[datetime.date, bool] | None = None, periods=None):
        self.exceptions = exceptions or {}
        self.periods = periods or _periods()

    @classmethod
    def around(cls, start: datetime.datetime, days: int = HORIZON_DAYS) -> "WorkingCalendar":
        """The calendar with the exceptions from ``start`` for ``days`` days (one query)."""
        first = timezone.localtime(start).date()
        rows = CalendarDay.objects.filter(date__gte=first, date__lte=first + datetime.timedelta(days=days))
        return cls(dict(rows.values_list("date", "working")))

    def is_working_day(self, day: datetime.date) -> bool:
        return self.exceptions.get(day, day.weekday() < 5)

    def add(self, start: datetime.datetime, minutes: int) -> datetime.datetime:
        """The moment ``minutes`` working minutes after ``start``.

        Zero minutes from outside working hours is the start of the next working period.
        """
        tz = timezone.get_current_timezone()
        local = timezone.localtime(start, tz)
        remaining = datetime.timedelta(minutes=minutes)
        day = local.date()
        for _ in range(HORIZON_DAYS):
            if self.is_working_day(day):
                for begin, end in self.periods:
                    period_start = datetime.datetime.combine(day, begin, tzinfo=tz)
                    period_end = datetime.datetime.combine(day, end, tzinfo=tz)
                    if period_end <= local:
                        continue
                    cursor = max(local, period_start)
                    available = period_end - cursor
                    if remaining <= available:
                        return cursor + remaining
                    remaining -= available
            day += datetime.timedelta(days=1)
        raise ValueError(f"{minutes} working minutes do not fit in {HORIZON_DAYS} days")

    def minutes_between(self, start: datetime.datetime, end: datetime.datetime) -> int:
        """Working minutes from ``start`` to ``end`` (0 when ``end`` is not later)."""
        if end <= start:
            return 0
        tz = timezone.get_current_timezone()
        start, end = timezone.localtime(start, tz), timezone.localtime(end, tz)
        total = datetime.timedelta()
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                for begin, finish in self.periods:
                    lo = max(start, datetime.datetime.combine(day, begin, tzinfo=tz))
                    hi = min(end, datetime.datetime.combine(day, finish, tzinfo=tz))
                    if hi > lo:
                        total += hi - lo
            day += datetime.timedelta(days=1)
        return int(total.total_seconds() // 60)


def working_deadline(start: datetime.datetime, minutes: int) -> datetime.datetime:
    return WorkingCalendar.around(start).add(start, minutes)

"""Statistical periods: months, quarters and years, named by short codes.

A period's code is what the statistics table and the API use: ``2016`` (a year),
``2016Q2`` (a quarter), ``2016-05`` (a month). Periods are calendar periods of local dates;
``start`` is the first day and ``end`` the day after the last.
"""

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

YEAR, QUARTER, MONTH = "year", "quarter", "month"
KINDS = (MONTH, QUARTER, YEAR)
MONTHS_IN = {MONTH: 1, QUARTER: 3, YEAR: 12}

_CODE = re.compile(r"^(?P<year>\d{4})(?:(?:-(?P<month>\d{2}))|(?:Q(?P<quarter>[1-4])))?$")
FIRST_YEAR, LAST_YEAR = 1990, 2100


@dataclass(frozen=True, order=True)
class Period:
    year: int
    kind: str
    number: int = 1  # the month (1-12) or the quarter (1-4); 1 for a year

    @classmethod
    def parse(cls, code: str, *, strict: bool = True) -> "Period":
        """The period a code names; a ValidationError says what is wrong. ``strict=False``
        takes any year (a record dated 1985 by mistake still has a month to recount)."""
        code = "" if code is None else str(code)
        match = _CODE.match(code.strip())
        if not match:
            raise ValidationError(
                _("“%(code)s”不是有效的统计期：年如 2016，季度如 2016Q2，月如 2016-05。") % {"code": code[:20]},
                code="invalid",
            )
        year = int(match["year"])
        if year < 1:
            raise ValidationError(
                _("统计期的年份应在 %(low)d-%(high)d 之间。") % {"low": FIRST_YEAR, "high": LAST_YEAR}, code="invalid"
            )
        if strict and not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValidationError(
                _("统计期的年份应在 %(low)d-%(high)d 之间。") % {"low": FIRST_YEAR, "high": LAST_YEAR}, code="invalid"
            )
        if match["month"]:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise ValidationError(_("“%(code)s”的月份应为 01-12。") % {"code": code}, code="invalid")
            return cls(year, MONTH, month)
        if match["quarter"]:
            return cls(year, QUARTER, int(match["quarter"]))
        return cls(year, YEAR)

    @classmethod
    def month_of(cls, day: datetime.date) -> "Period":
        return cls(day.year, MONTH, day.month)

    @classmethod
    def current(cls, kind: str, today: datetime.date | None = None) -> "Period":
        return cls.month_of(today or timezone.localdate()).containing(kind)

    @property
    def code(self) -> str:
        if self.kind == MONTH:
            return f"{self.year}-{self.number:02d}"
        if self.kind == QUARTER:
            return f"{self.year}Q{self.number}"
        return str(self.year)

    def __str__(self) -> str:
        return self.code

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return _("%(year)d年%(month)d月") % {"year": self.year, "month": self.number}
        if self.kind == QUARTER:
            return _("%(year)d年第%(quarter)d季度") % {"year": self.year, "quarter": self.number}
        return _("%(year)d年") % {"year": self.year}

    @property
    def first_month(self) -> int:
        return {MONTH: self.number, QUARTER: 3 * self.number - 2, YEAR: 1}[self.kind]

    @property
    def start(self) -> datetime.date:
        return datetime.date(self.year, self.first_month, 1)

    @property
    def end(self) -> datetime.date:
        """The day after the period's last day."""
        month = self.first_month + MONTHS_IN[self.kind]
        return datetime.date(self.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)

    def months(self) -> list["Period"]:
        return [Period(self.year, MONTH, self.first_month + i) for i in range(MONTHS_IN[self.kind])]

    def containing(self, kind: str) -> "Period":
        """The period of ``kind`` this one lies in (a month's quarter or year)."""
        month = self.first_month
        if kind == MONTH:
            if self.kind != MONTH:
                raise ValueError(f"{self.code} is not a month")
            return self
        if kind == QUARTER:
            return Period(self.year, QUARTER, (month - 1) // 3 + 1)
        return Period(self.year, YEAR)

    def shifted(self, steps: int) -> "Period":
        """The period ``steps`` periods of the same kind later (earlier when negative)."""
        per_year = 12 // MONTHS_IN[self.kind]
        index = self.year * per_year + (self.number - 1) + steps
        return Period(index // per_year, self.kind, index % per_year + 1)

    def previous(self) -> "Period":
        """The period before (环比)."""
        return self.shifted(-1)

    def last_year(self) -> "Period":
        """The same period a year earlier (同比)."""
        return Period(self.year - 1, self.kind, self.number)

    def trailing(self, count: int) -> list["Period"]:
        """The ``count`` periods ending with this one, oldest first."""
        return [self.shifted(-i) for i in range(count - 1, -1, -1)]

    def is_future(self, today: datetime.date | None = None) -> bool:
        return self.start > (today or timezone.localdate())

    def is_ongoing(self, today: datetime.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.start <= today < self.end


def month_range(first: datetime.date, last: datetime.date) -> list[Period]:
    """Every month from the one holding ``first`` to the one holding ``last``."""
    start, stop = Period.month_of(first), Period.month_of(last)
    months = []
    while start <= stop:
        months.append(start)
        start = start.shifted(1)
    return months

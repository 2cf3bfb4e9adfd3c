"""Follow-up, visit and test schedules (DOMAIN.md, "Programme rules") and visit forms.

The frequencies are rows of ``ScheduleRule`` that an admin edits; ``DEFAULT_RULES`` seeds
them. An enrollment's next due date is its last visit of the scheduled kind (or its start)
plus the interval of the rule matching its key: risk level, programme year or supervision
level. Each recorded visit keeps the due date it answered (``Visit.due_on``, ``RuleBook.due_after``).
"""

import calendar
import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from populations.models import (
    CorrectionCategory,
    Enrollment,
    Programme,
    ScheduleBasis,
    ScheduleRule,
    SupervisionLevel,
    VisitKind,
    level_range,
)

# (programme, basis, key_from, key_to, visit kind, months, days, why)
DEFAULT_RULES = [
    (Programme.MENTAL_HEALTH, ScheduleBasis.LEVEL, 0, 0, VisitKind.FOLLOW_UP, 3, 0, "病情稳定（0级）：每3个月随访1次"),
    (Programme.MENTAL_HEALTH, ScheduleBasis.LEVEL, 1, 2, VisitKind.FOLLOW_UP, 0, 14, "基本稳定（1-2级）：2周内再次随访"),
    (Programme.MENTAL_HEALTH, ScheduleBasis.LEVEL, 3, 5, VisitKind.FOLLOW_UP, 0, 14, "不稳定（3-5级）：转诊并在2周内随访"),
    (Programme.CORRECTION, ScheduleBasis.SUPERVISION, 1, 1, VisitKind.VISIT, 0, 7, "严管：每周走访或报到1次"),
    (Programme.CORRECTION, ScheduleBasis.SUPERVISION, 2, 2, VisitKind.VISIT, 1, 0, "普管：每月走访或报到1次"),
    (Programme.CORRECTION, ScheduleBasis.CATEGORY, 4, 4, VisitKind.HEALTH_REPORT, 1, 0, "暂予监外执行：每月报告病情"),
    (Programme.RELEASED, ScheduleBasis.LEVEL, 3, 3, VisitKind.VISIT, 1, 0, "高风险：每月帮教走访1次"),
    (Programme.RELEASED, ScheduleBasis.LEVEL, 0, 2, VisitKind.VISIT, 3, 0, "中低风险：每季度帮教走访1次"),
    (Programme.DRUG_REHAB, ScheduleBasis.YEAR, 1, 1, VisitKind.DRUG_TEST, 1, 0, "第1年：每月尿检1次"),
    (Programme.DRUG_REHAB, ScheduleBasis.YEAR, 2, 2, VisitKind.DRUG_TEST, 2, 0, "第2年：每2个月尿检1次"),
    (Programme.DRUG_REHAB, ScheduleBasis.YEAR, 3, 99, VisitKind.DRUG_TEST, 3, 0, "第3年起：每3个月尿检1次"),
    (Programme.YOUTH, ScheduleBasis.ANY, 0, 0, VisitKind.VISIT, 1, 0, "每月帮扶走访1次"),
    (Programme.LEFT_BEHIND, ScheduleBasis.LEVEL, 3, 3, VisitKind.VISIT, 1, 0, "困难较大：每月走访1次"),
    (Programme.LEFT_BEHIND, ScheduleBasis.LEVEL, 0, 2, VisitKind.VISIT, 3, 0, "一般：每季度走访1次"),
]

DUE_SOON_DAYS = 7


def seed_schedule_rules() -> int:
    """Create the default rules for programmes that have none; returns rows created."""
    have = set(ScheduleRule.objects.values_list("programme", flat=True))
    rows = [
        ScheduleRule(
            programme=programme,
            basis=basis,
            key_from=key_from,
            key_to=key_to,
            visit_kind=kind,
            interval_months=months,
            interval_days=days,
            note=note,
        )
        for programme, basis, key_from, key_to, kind, months, days, note in DEFAULT_RULES
        if programme not in have
    ]
    ScheduleRule.objects.bulk_create(rows)
    return len(rows)


def add_months(day: datetime.date, months: int) -> datetime.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def programme_year(started_on: datetime.date, on: datetime.date) -> int:
    """1 during the first twelve months after ``started_on``, 2 in the next twelve, ..."""
    year = 1
    while add_months(started_on, 12 * year) <= on:
        year += 1
    return year


CATEGORY_KEYS = {
    CorrectionCategory.SURVEILLANCE: 1,
    CorrectionCategory.PROBATION: 2,
    CorrectionCategory.PAROLE: 3,
    CorrectionCategory.OUTSIDE_PRISON: 4,
}


def assesses_level(programme: str, kind: str) -> bool:
    """Whether a visit of ``kind`` assesses the enrollment's level, which then sets the schedule
    until the next one: each mental-health follow-up assesses the risk level (0-5)."""
    return programme == Programme.MENTAL_HEALTH and kind == VisitKind.FOLLOW_UP


def schedule_key(enrollment: Enrollment, basis: str, on: datetime.date, level: int | None = None) -> int:
    """``level`` stands for the enrollment's level when the one that applied on ``on`` is known."""
    if basis == ScheduleBasis.LEVEL:
        return enrollment.level if level is None else level
    if basis == ScheduleBasis.YEAR:
        return programme_year(enrollment.started_on, on)
    if basis == ScheduleBasis.SUPERVISION:
        correction = getattr(enrollment, "correction", None)
        strict = correction is not None and correction.supervision_level == SupervisionLevel.STRICT
        return 1 if strict else 2
    if basis == ScheduleBasis.CATEGORY:
        correction = getattr(enrollment, "correction", None)
        return CATEGORY_KEYS.get(correction.category, 0) if correction is not None else 0
    return 0


class RuleBook:
    """The schedule rules, read once, for computing many enrollments' due dates."""

    def __init__(self, rules=None):
        self.by_programme: dict[str, list[ScheduleRule]] = {}
        for rule in rules if rules is not None else ScheduleRule.objects.all():
            self.by_programme.setdefault(rule.programme, []).append(rule)

    def rule_for(
        self, enrollment: Enrollment, on: datetime.date, kind: str | None = None, *, level: int | None = None
    ) -> ScheduleRule | None:
        """The first rule (of visit ``kind``, if given) that applies to ``enrollment`` on ``on``."""
        for rule in self.by_programme.get(enrollment.programme, ()):
            if kind is not None and rule.visit_kind != kind:
                continue
            if rule.key_from <= schedule_key(enrollment, rule.basis, on, level) <= rule.key_to:
                return rule
        return None

    def due_for(
        self, enrollment: Enrollment, kind: str, since: datetime.date, *, level: int | None = None
    ) -> datetime.date | None:
        """When a visit of ``kind`` falls due counting from ``since`` (the last such visit, or the
        start): one interval of the rule that applies on ``since``; None when no rule covers it."""
        rule = self.rule_for(enrollment, since, kind, level=level)
        if rule is None:
            return None
        return add_months(since, rule.interval_months) + datetime.timedelta(days=rule.interval_days)

    def due_after(self, enrollment: Enrollment, kind: str, previous=None) -> datetime.date | None:
        """The date a visit of ``kind`` fell due: one interval after ``previous``, the last visit of
        that kind on an earlier day, or after the enrollment's start when there is none.

        When visits of ``kind`` assess the level, the level assessed at ``previous`` is the one
        that set the interval (it was the enrollment's level until the next assessment); the
        enrollment's present level may already be a later one. Before the first assessment the
        enrollment's level counts: when the visit is recorded, the one it was enrolled with;
        when old visits are dated afterwards, its present one (no earlier one is kept).
        """
        if previous is None:
            return self.due_for(enrollment, kind, enrollment.started_on)
        level = previous.level if assesses_level(enrollment.programme, kind) else None
        return self.due_for(enrollment, kind, previous.visited_on, level=level)

    def due_dates(self, enrollment: Enrollment, kind: str, visits, previous=None):
        """Yield each of ``visits`` with the date it fell due (``due_after``).

        ``visits`` are one enrollment's visits of ``kind`` in order of date and id; ``previous``
        is the last visit of that kind before the first of them (None: there is none). Visits
        on the same day all count from the last visit on an earlier day.
        """
        earlier = latest = previous
        for visit in visits:
            if latest is not None and latest.visited_on < visit.visited_on:
                earlier = latest
            yield visit, self.due_after(enrollment, kind, earlier)
            latest = visit

    def scheduled_kinds(self, programme: str) -> set[str]:
        return {rule.visit_kind for rule in self.by_programme.get(programme, ())}

    def next_due(self, enrollment: Enrollment, last_visits) -> datetime.date | None:
        """When the next scheduled visit falls due, or None when no rule applies.

        ``last_visits`` is the last visit of each scheduled kind (``{kind: date}``), or one
        date standing for all of them; a kind never visited counts from the start.
        """
        dues = []
        for kind in sorted(self.scheduled_kinds(enrollment.programme)):
            last = last_visits.get(kind) if isinstance(last_visits, dict) else last_visits
            due = self.due_for(enrollment, kind, last or enrollment.started_on)
            if due is not None:
                dues.append(due)
        return min(dues, default=None)


def due_state(next_due_on: datetime.date | None, today: datetime.date) -> str:
    """ "overdue", "due" (within a week) or "" for an enrollment's next due date."""
    if next_due_on is None:
        return ""
    if next_due_on < today:
        return "overdue"
    if next_due_on <= today + datetime.timedelta(days=DUE_SOON_DAYS):
        return "due"
    return ""


# --- visit forms ------------------------------------------------------------------------

GOOD_FAIR_POOR = {"good": gettext_lazy("良好"), "fair": gettext_lazy("一般"), "poor": gettext_lazy("较差")}

# The mental-health follow-up form (2018 work norm for severe mental disorders, annex).
MENTAL_HEALTH_FOLLOW_UP = {
    "insight": {
        "complete": gettext_lazy("自知力完全"),
        "partial": gettext_lazy("自知力不全"),
        "none": gettext_lazy("自知力缺失"),
    },
    "sleep": GOOD_FAIR_POOR,
    "diet": GOOD_FAIR_POOR,
    "social_function": GOOD_FAIR_POOR,
    "medication": {"regular": gettext_lazy("规律服药"), "intermittent": gettext_lazy("间断服药"), "none": gettext_lazy("不服药")},
    "effect": {
        "cured": gettext_lazy("痊愈"),
        "improved": gettext_lazy("好转"),
        "unchanged": gettext_lazy("无变化"),
        "worse": gettext_lazy("加重"),
    },
}
MENTAL_HEALTH_FLAGS = {
    "risky_behaviours": gettext_lazy("危险行为"),
    "confined": gettext_lazy("关锁"),
    "hospitalised": gettext_lazy("住院"),
    "referred": gettext_lazy("转诊"),
}
DRUG_TEST_RESULTS = {"negative": gettext_lazy("阴性"), "positive": gettext_lazy("阳性"), "refused": gettext_lazy("拒检")}


def clean_visit(*, programme: str, kind: str, level, result: str, hours, details: dict) -> dict:
    """Check a visit's programme-specific fields; return the cleaned ``details``.

    Raises ``ValidationError`` keyed by field.
    """
    details = dict(details or {})
    errors = {}
    if kind == VisitKind.FOLLOW_UP and programme == Programme.MENTAL_HEALTH:
        if level is None or int(level) not in level_range(programme):
            errors["level"] = _("随访须评估危险性等级（0-5 级）。")
        for field, choices in MENTAL_HEALTH_FOLLOW_UP.items():
            value = details.get(field)
            if value in (None, ""):
                errors[f"details.{field}"] = _("随访表须填写该项。")
            elif value not in choices:
                errors[f"details.{field}"] = _("“%(value)s”不是可选值（%(choices)s）。") % {
                    "value": value,
                    "choices": "、".join(choices),
                }
        for flag in MENTAL_HEALTH_FLAGS:
            if flag in details and not isinstance(details[flag], bool):
                errors[f"details.{flag}"] = _("应为是或否。")
    elif level is not None and int(level) not in level_range(programme):
        errors["level"] = _("等级应为 0-3。")
    if kind == VisitKind.DRUG_TEST and result not in DRUG_TEST_RESULTS:
        errors["result"] = _("尿检结果须为阴性、阳性或拒检。")
    if kind in (VisitKind.LABOUR, VisitKind.STUDY) and (hours is None or hours <= 0):
        errors["hours"] = _("请填写时数。")
    if errors:
        raise ValidationError(errors)
    return details

"""The metrics counted straight from the records with the ORM, for one node and period.

A second, independent reading of the definitions in ``dashboard.metrics``: the nightly
consistency check compares a sample of stored values with it, and the tests compare every
stored value they can reach. Slow on purpose (a query per family and node); never used to
draw a page.
"""

import datetime

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from cases.models import OPEN_STATUSES, CategoryKind, Incident
from cases.models import Status as IncidentStatus
from dashboard import metrics as m
from dashboard.periods import Period
from disputes.models import Dispute
from disputes.models import Status as DisputeStatus
from grids.models import Grid
from populations.models import Enrollment, EnrollmentStatus, Household, Person, Programme, Visit


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _under(node: Grid, path: str) -> Q:
    return Q(**{f"{path}__tree_id": node.tree_id, f"{path}__lft__gte": node.lft, f"{path}__lft__lte": node.rght})


def _in(field: str, period: Period, timestamp: bool = True) -> Q:
    start, end = (period.start, period.end)
    if timestamp:
        start, end = _midnight(start), _midnight(end)
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _level_end(period: Period, today: datetime.date) -> datetime.date | None:
    """The day after the month whose level a period shows: its last month, or this month
    while the period is under way; None for a period still to come."""
    if period.start > today:
        return None
    month = Period.month_of(min(period.end - datetime.timedelta(days=1), today))
    return month.end


def incidents(node: Grid, period: Period, today: datetime.date) -> dict:
    rows = Incident.objects.filter(_under(node, "grid"), _in("occurred_at", period)).exclude(status=IncidentStatus.CANCELLED)
    counts = rows.aggregate(
        total=Count("pk"),
        cleared=Count("pk", filter=Q(category__kind=CategoryKind.CRIMINAL, cleared=True)),
        overdue=Count("pk", filter=Q(late=True) | Q(status__in=OPEN_STATUSES, due_at__lt=_midnight(today))),
    )
    values = {
        "incidents.total": counts["total"],
        "incidents.cleared": counts["cleared"],
        "incidents.overdue": counts["overdue"],
    }
    for kind, n in rows.values_list("category__kind").annotate(n=Count("pk")).order_by():
        values[f"incidents.kind.{kind}"] = n
    for key, n in rows.exclude(category__statistic="").values_list("category__statistic").annotate(n=Count("pk")).order_by():
        values[f"incidents.stat.{key}"] = n
    return values


def satisfaction(node: Grid, period: Period) -> dict:
    total, count = 0, 0
    for model in (Incident, Dispute):
        found = model.objects.filter(_under(node, "grid"), _in("closed_at", period), satisfaction__isnull=False).aggregate(
            total=Sum("satisfaction"), count=Count("pk")
        )
        total += found["total"] or 0
        count += found["count"]
    return {"satisfaction.sum": total, "satisfaction.count": count}


def disputes(node: Grid, period: Period) -> dict:
    under = Dispute.objects.filter(_under(node, "grid"))
    registered = under.filter(_in("registered_at", period)).aggregate(
        accepted=Count("pk"),
        resolved=Count("pk", filter=Q(status=DisputeStatus.RESOLVED)),
        passed_upward=Count("pk", filter=Q(passed_upward=True)),
    )
    closed = under.filter(_in("closed_at", period)).aggregate(
        closed=Count("pk"), closed_on_time=Count("pk", filter=Q(late=False))
    )
    return {f"disputes.{key}": value for key, value in {**registered, **closed}.items()}


def followups(node: Grid, period: Period, today: datetime.date) -> dict:
    values = {"followups.due": 0, "followups.on_time": 0}
    visits = Visit.objects.filter(_under(node, "enrollment__person__unit"), _in("due_on", period, timestamp=False))
    for programme, due, on_time in (
        visits.values_list("enrollment__programme")
        .annotate(due=Count("pk"), on_time=Count("pk", filter=Q(visited_on__lte=F("due_on"))))
        .order_by()
    ):
        values["followups.due"] += due
        values["followups.on_time"] += on_time
        values[f"followups.{programme}.due"] = values.get(f"followups.{programme}.due", 0) + due
        values[f"followups.{programme}.on_time"] = values.get(f"followups.{programme}.on_time", 0) + on_time
    waiting = Enrollment.objects.filter(
        _under(node, "person__unit"),
        _in("next_due_on", period, timestamp=False),
        status=EnrollmentStatus.ACTIVE,
        next_due_on__lt=today,
    )
    for programme, due in waiting.values_list("programme").annotate(due=Count("pk")).order_by():
        values["followups.due"] += due
        values[f"followups.{programme}.due"] = values.get(f"followups.{programme}.due", 0) + due
    return values


def programmes(node: Grid, period: Period, today: datetime.date) -> dict:
    end = _level_end(period, today)
    if end is None:
        return {}
    enrolled = Enrollment.objects.filter(_under(node, "person__unit"), started_on__lt=end).filter(
        Q(exited_on__isnull=True) | Q(exited_on__gte=end)
    )
    found = dict(enrolled.values_list("programme").annotate(n=Count("pk")).order_by())
    return {f"programmes.{programme}": found.get(programme, 0) for programme in Programme.values}


def registry(node: Grid, period: Period, today: datetime.date) -> dict:
    end = _level_end(period, today)
    if end is None:
        return {}
    return {
        "registry.households": Household.objects.filter(_under(node, "unit"), created_at__lt=_midnight(end)).count(),
        "registry.residents": Person.objects.filter(_under(node, "unit"), created_at__lt=_midnight(end)).count(),
    }


def derived(values: dict) -> dict:
    result = {}
    for metric in m.DERIVED_METRICS:
        a, b = (values.get(key, 0) or 0 for key in metric.inputs)
        if metric.kind == m.SUM:
            result[metric.key] = a + b
        else:
            result[metric.key] = a / b if b else None
    return result


def direct_values(node: Grid, period: Period | str, today: datetime.date | None = None) -> dict:
    """Every metric of ``node`` over ``period``, counted from the records."""
    period = Period.parse(period) if isinstance(period, str) else period
    today = today or timezone.localdate()
    values = {
        **incidents(node, period, today),
        **satisfaction(node, period),
        **disputes(node, period),
        **followups(node, period, today),
        **programmes(node, period, today),
        **registry(node, period, today),
    }
    values.update(derived(values))
    return values


def direct_family(node: Grid, period: Period | str, family: str, today: datetime.date | None = None) -> dict:
    """The metrics of one family (derived: computed from all the others)."""
    period = Period.parse(period) if isinstance(period, str) else period
    today = today or timezone.localdate()
    if family == m.DERIVED:
        return derived(direct_values(node, period, today))
    counters = {
        m.INCIDENTS: lambda: incidents(node, period, today),
        m.SATISFACTION: lambda: satisfaction(node, period),
        m.DISPUTES: lambda: disputes(node, period),
        m.FOLLOWUPS: lambda: followups(node, period, today),
        m.PROGRAMMES: lambda: programmes(node, period, today),
        m.REGISTRY: lambda: registry(node, period, today),
    }
    return counters[family]()

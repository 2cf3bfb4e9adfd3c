"""Reading the statistics: every page and API answer is a handful of key lookups in the
statistics table, whatever the number of records behind it.

Scope: a user opens a node's figures when a role grants ``dashboard.view_statistic`` on
the node or above it (``kaili.scope``); ``nodes_for`` is the one queryset of nodes they
may open, ``Statistic.objects.restrict`` the one of figures.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Min, Q
from django.utils import timezone

from dashboard import metrics as m
from dashboard.models import PendingMark, RollupRun, Statistic, StatisticLayout
from dashboard.periods import MONTH, Period
from dashboard.rollup import STAT_KINDS
from grids.models import Grid
from kaili.scope import VIEW, Everything, reachable_ranges, scope_filter

VIEW_STATISTIC = "dashboard.view_statistic"
EXPORT_STATISTIC = "dashboard.export_statistic"

Figures = dict[str, float | None]


# --- scope -------------------------------------------------------------------------------


def nodes_for(user, action: str = VIEW):
    """The statistics nodes (city, towns, villages, grids) whose figures ``user`` may see."""
    permission = EXPORT_STATISTIC if action == "export" else VIEW_STATISTIC
    return Grid.objects.filter(scope_filter(reachable_ranges(user, permission), ""), kind__in=STAT_KINDS)


def can_view(user, node: Grid, action: str = VIEW) -> bool:
    return node.kind in STAT_KINDS and nodes_for(user, action).filter(pk=node.pk).exists()


def home_node(user, action: str = VIEW) -> Grid | None:
    """The node a user's dashboard opens on: the highest they may see (by code)."""
    ranges = reachable_ranges(user, EXPORT_STATISTIC if action == "export" else VIEW_STATISTIC)
    if isinstance(ranges, Everything):
        return Grid.objects.filter(parent__isnull=True, kind__in=STAT_KINDS).order_by("code").first()
    return nodes_for(user, action).order_by("level", "code").first()


def search_nodes(user, query: str, limit: int = 20) -> list[Grid]:
    # PostgreSQL text holds no NUL character; a name holds none either.
    query = (query or "").replace("\x00", "").strip()
    if not query:
        return []
    return list(nodes_for(user).filter(Q(name__icontains=query) | Q(code__startswith=query)).order_by("level", "code")[:limit])


def breadcrumb(user, node: Grid) -> list[Grid]:
    """The node's ancestors the user may open, then the node."""
    visible = set(
        nodes_for(user).filter(tree_id=node.tree_id, lft__lte=node.lft, rght__gte=node.rght).values_list("pk", flat=True)
    )
    return [ancestor for ancestor in node.get_ancestors(include_self=True) if ancestor.pk in visible]


# --- figures -----------------------------------------------------------------------------


def layouts() -> dict[str, list[str]]:
    return dict(StatisticLayout.objects.values_list("family", "keys"))


def figures(node_ids, periods, families=None, *, layout: dict | None = None) -> dict[tuple[int, str], Figures]:
    """``(node_id, period code) -> {metric: value}`` in one query; a pair with no row
    maps to ``{}`` (every count 0, every rate unmeasured)."""
    layout = layouts() if layout is None else layout
    codes = [str(period) for period in periods]
    rows = Statistic.objects.filter(node_id__in=list(node_ids), period__in=codes)
    if families is not None:
        rows = rows.filter(family__in=list(families))
    found: dict[tuple[int, str], Figures] = {(node_id, code): {} for node_id in node_ids for code in codes}
    for node_id, period, family, values in rows.values_list("node_id", "period", "family", "figures"):
        found[(node_id, period)].update(zip(layout.get(family, ()), values, strict=False))
    return found


def value(values: Figures, key: str) -> float | None:
    """A metric's value: a count missing is 0, a rate or mean missing is unmeasured."""
    metric = m.metric(key)
    found = values.get(key)
    if found is None and not metric.is_ratio:
        return 0
    return found


def families_of(keys) -> set[str]:
    return {m.metric(key).family for key in keys}


def change(current: float | None, before: float | None) -> float | None:
    """The signed relative change (+0.05 for 5% more); None when there is no base."""
    if current is None or before is None or before == 0:
        return None
    return (current - before) / abs(before)


def good(metric: m.Metric, change_value: float | None) -> bool | None:
    """Whether a change is for the better (for the arrow's colour); None when flat or unknown."""
    if change_value is None or change_value == 0 or metric.better is None:
        return None
    return (change_value > 0) == (metric.better == m.UP)


@dataclass
class Card:
    metric: m.Metric
    value: float | None
    last_year: float | None
    previous: float | None
    # a quarter or year under way, compared with the same months of the earlier periods
    partial: bool = False
    year_on_year: float | None = field(init=False)
    period_on_period: float | None = field(init=False)

    def __post_init__(self):
        self.year_on_year = change(self.value, self.last_year)
        self.period_on_period = change(self.value, self.previous)

    @property
    def year_on_year_good(self) -> bool | None:
        return good(self.metric, self.year_on_year)

    @property
    def period_on_period_good(self) -> bool | None:
        return good(self.metric, self.period_on_period)

    def as_dict(self) -> dict:
        return {
            "key": self.metric.key,
            "label": str(self.metric.label),
            "unit": str(self.metric.unit),
            "kind": self.metric.kind,
            "better": self.metric.better,
            "value": self.value,
            "last_year": self.last_year,
            "previous": self.previous,
            "partial": self.partial,
            "year_on_year": self.year_on_year,
            "period_on_period": self.period_on_period,
            "year_on_year_good": self.year_on_year_good,
            "period_on_period_good": self.period_on_period_good,
        }


def months_begun(period: Period, today: datetime.date | None = None) -> list[Period] | None:
    """The months of a quarter or year under way that have begun; None for a period that
    is over (or a month: it has no smaller part to compare)."""
    today = today or timezone.localdate()
    if period.kind == MONTH or not period.is_ongoing(today):
        return None
    return [month for month in period.months() if month.start <= today]


def _sum_of_months(found: dict, node_id: int, months: list[Period], keys) -> dict[str, float | None]:
    """Metrics over a run of months from their monthly figures: counts added up, levels at
    the last month, rates and means from the added-up parts."""
    total: dict[str, float | None] = {}
    parts = {key for key in keys if not m.metric(key).is_derived}
    parts |= {part for key in keys if m.metric(key).is_derived for part in m.metric(key).inputs}
    for key in parts:
        if m.metric(key).family in m.SNAPSHOT_FAMILIES:
            total[key] = value(found[(node_id, months[-1].code)], key)
        else:
            total[key] = sum(value(found[(node_id, month.code)], key) or 0 for month in months)
    for key in keys:
        metric = m.metric(key)
        if metric.is_derived:
            a, b = (total.get(part) or 0 for part in metric.inputs)
            total[key] = (a + b) if metric.kind == m.SUM else (a / b if b else None)
    return total


def cards(node: Grid, period: Period, keys=m.HEADLINE, *, layout: dict | None = None, today=None) -> list[Card]:
    """Each metric now, the same period last year (同比) and the period before (环比).

    For a quarter or year under way the comparisons take the same months of the earlier
    periods (January to this month against January to the same month last year), not
    their whole length; the months are summed from the monthly figures, in the same query.
    """
    begun = months_begun(period, today)
    if begun is None:
        periods = [period, period.last_year(), period.previous()]
        found = figures([node.pk], periods, families_of(keys), layout=layout)
        values = [found[(node.pk, p.code)] for p in periods]
        return [Card(m.metric(key), *(value(v, key) for v in values)) for key in keys]
    last_year = [month.last_year() for month in begun]
    previous = period.previous().months()[: len(begun)]
    needed = set(keys) | {part for key in keys if m.metric(key).is_derived for part in m.metric(key).inputs}
    found = figures([node.pk], [period, *last_year, *previous], families_of(needed), layout=layout)
    now = found[(node.pk, period.code)]
    before = _sum_of_months(found, node.pk, last_year, keys)
    earlier = _sum_of_months(found, node.pk, previous, keys)
    return [Card(m.metric(key), value(now, key), before[key], earlier[key], partial=True) for key in keys]


@dataclass
class ChildRow:
    node: Grid
    values: dict[str, float | None]
    last_year: dict[str, float | None]


def children(node: Grid, period: Period, keys=m.HEADLINE, *, layout: dict | None = None) -> list[ChildRow]:
    """The node's child statistics nodes with each metric now and a year earlier. A child
    retired (or merged away) is listed only for a period it has figures in: its records of
    then still count in the node, and the rows should add up."""
    kids = list(node.get_children().filter(kind__in=STAT_KINDS).order_by("code"))
    found = figures([kid.pk for kid in kids], [period, period.last_year()], families_of(keys), layout=layout)
    kids = [kid for kid in kids if kid.retired_at is None or found[(kid.pk, period.code)]]
    return [
        ChildRow(
            kid,
            {key: value(found[(kid.pk, period.code)], key) for key in keys},
            {key: value(found[(kid.pk, period.last_year().code)], key) for key in keys},
        )
        for kid in kids
    ]


def trend(node: Grid, period: Period, keys, months: int = 12, *, layout: dict | None = None) -> dict:
    """The ``months`` months ending with the period's last month (or this month, for the
    period under way): ``{"months": [codes], "series": {metric: [values]}}``."""
    today = timezone.localdate()
    last = Period.month_of(min(period.end - datetime.timedelta(days=1), max(today, period.start)))
    codes = last.trailing(months)
    found = figures([node.pk], codes, families_of(keys), layout=layout)
    return {
        "months": [code.code for code in codes],
        "series": {key: [value(found[(node.pk, code.code)], key) for code in codes] for key in keys},
    }


def node_figures(node: Grid, period: Period, keys, *, layout: dict | None = None) -> dict[str, float | None]:
    found = figures([node.pk], [period], families_of(keys), layout=layout)[(node.pk, period.code)]
    return {key: value(found, key) for key in keys}


# --- freshness -----------------------------------------------------------------------


def data_as_of() -> datetime.datetime | None:
    """The moment the figures are complete up to: the start of the last finished run,
    or earlier when changes since are still waiting for the roll-up."""
    last = (
        RollupRun.objects.filter(status=RollupRun.Status.SUCCEEDED, kind__in=[RollupRun.Kind.FULL, RollupRun.Kind.INCREMENTAL])
        .order_by("-finished_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if last is None:
        return None
    waiting = PendingMark.objects.aggregate(oldest=Min("created_at"))["oldest"]
    return min(last, waiting) if waiting else last


def latest_periods(kind: str = MONTH, count: int = 12) -> list[Period]:
    return Period.current(kind).trailing(count)

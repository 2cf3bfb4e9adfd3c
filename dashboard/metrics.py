"""What the dashboard counts: every metric, its family, label, unit and good direction.

A metric's key starts with its family. The roll-up computes the base families from the
records (``dashboard.rollup``) and the derived metrics (rates, means, sums) from the stored
base values of the same node and period:

- ``incidents``: incidents by date of occurrence 发案, cancelled reports excluded: the
  total, by kind (``incidents.kind.criminal``...), by statistic key of the category
  (``incidents.stat.robbery``...), criminal ones cleared 破案 (``incidents.cleared``) and
  those overdue (``incidents.overdue``: handled late at some step, or still open past
  their deadline as of this morning);
- ``satisfaction``: evaluations of incidents and disputes by date of closing;
- ``disputes``: accepted, resolved and passed upward by date of registration, closed and
  closed on time by date of closing (the definitions of ``disputes.measures``);
- ``followups``: follow-ups falling due in the period (visits by the date they fell due,
  and the enrollments whose next due date has passed without a visit) and those done on
  time, in all and per programme;
- ``programmes`` and ``registry``: people enrolled in each programme, households and
  residents registered, at the end of the period (or today, for the period under way).
"""

from dataclasses import dataclass, field

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from cases import catalogue
from cases.models import CategoryKind
from populations.models import Programme

INCIDENTS, SATISFACTION, DISPUTES, FOLLOWUPS, PROGRAMMES, REGISTRY, DERIVED = (
    "incidents",
    "satisfaction",
    "disputes",
    "followups",
    "programmes",
    "registry",
    "derived",
)
# Counted per month from the records dated in it; quarters and years sum the months.
FLOW_FAMILIES = (INCIDENTS, SATISFACTION, DISPUTES, FOLLOWUPS)
# A level at the end of the period, carried forward from month to month.
SNAPSHOT_FAMILIES = (PROGRAMMES, REGISTRY)
BASE_FAMILIES = FLOW_FAMILIES + SNAPSHOT_FAMILIES
DERIVED_PREFIXES = ("rate.", "mean.", "sum.")

UP, DOWN = "up", "down"
COUNT, RATE, MEAN, SUM = "count", "rate", "mean", "sum"


# Units of measure.
PIECES, TIMES, PEOPLE, HOUSEHOLDS, POINTS = _("件"), _("次"), _("人"), _("户"), _("分")


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str = PIECES
    kind: str = COUNT
    better: str | None = None  # the direction of a good change, for the arrows' colour
    inputs: tuple[str, ...] = field(default=())  # derived: (numerator, denominator) or the addends

    @property
    def family(self) -> str:
        return DERIVED if self.key.startswith(DERIVED_PREFIXES) else self.key.split(".", 1)[0]

    @property
    def is_derived(self) -> bool:
        return self.family == DERIVED

    @property
    def is_ratio(self) -> bool:
        return self.kind in (RATE, MEAN)


def _statistic_labels() -> dict[str, str]:
    """Statistic key -> the name of the category that carries it (the catalogue's)."""
    labels = {}
    for major in catalogue.CATEGORY_TREE:
        if major.get("statistic"):
            labels.setdefault(major["statistic"], major["name"])
        for minor in major.get("children", ()):
            if minor.get("statistic"):
                labels.setdefault(minor["statistic"], minor["name"])
    return labels


STATISTIC_LABELS = _statistic_labels()
CRIMINAL_STATISTICS = ("robbery", "theft", "homicide", "fraud", "drug", "criminal_other")
ACCIDENT_STATISTICS = ("accident_safety", "accident_traffic", "accident_fire", "accident_other")
NINE_SMALL_STATISTICS = tuple(key for key in STATISTIC_LABELS if key.startswith("nine_"))


def _prefixed(programme, what):
    """A programme's metric label: "安宁工程在册人数" (in English "…: enrolled")."""
    return format_lazy(_("{programme}{what}"), programme=programme, what=what)


def _base_metrics() -> list[Metric]:
    metrics = [
        Metric("incidents.total", _("事件总数")),
        *(Metric(f"incidents.kind.{kind}", label, better=DOWN) for kind, label in CategoryKind.choices),
        *(Metric(f"incidents.stat.{key}", label, better=DOWN) for key, label in STATISTIC_LABELS.items()),
        Metric("incidents.cleared", _("刑事案件破案数"), better=UP),
        Metric("incidents.overdue", _("超期事件"), better=DOWN),
        Metric("satisfaction.sum", _("满意度评分合计"), unit=POINTS),
        Metric("satisfaction.count", _("满意度评价数"), unit=TIMES),
        Metric("disputes.accepted", _("受理矛盾纠纷"), better=DOWN),
        Metric("disputes.resolved", _("化解矛盾纠纷"), better=UP),
        Metric("disputes.passed_upward", _("矛盾上交"), better=DOWN),
        Metric("disputes.closed", _("结案矛盾纠纷")),
        Metric("disputes.closed_on_time", _("按期结案矛盾纠纷"), better=UP),
        Metric("followups.due", _("应随访（走访）"), unit=TIMES),
        Metric("followups.on_time", _("按时随访（走访）"), unit=TIMES, better=UP),
    ]
    for programme, label in Programme.choices:
        metrics += [
            Metric(f"followups.{programme}.due", _prefixed(label, _("应随访")), unit=TIMES),
            Metric(f"followups.{programme}.on_time", _prefixed(label, _("按时随访")), unit=TIMES, better=UP),
            Metric(f"programmes.{programme}", _prefixed(label, _("在册人数")), unit=PEOPLE),
        ]
    metrics += [
        Metric("registry.households", _("登记户数"), unit=HOUSEHOLDS),
        Metric("registry.residents", _("登记人数"), unit=PEOPLE),
    ]
    return metrics


def _derived_metrics() -> list[Metric]:
    metrics = [
        Metric("rate.clearance", _("刑事破案率"), "%", RATE, UP, ("incidents.cleared", "incidents.kind.criminal")),
        Metric("rate.dispute_resolution", _("纠纷化解率"), "%", RATE, UP, ("disputes.resolved", "disputes.accepted")),
        Metric("rate.dispute_on_time", _("纠纷按期结案率"), "%", RATE, UP, ("disputes.closed_on_time", "disputes.closed")),
        Metric("mean.satisfaction", _("群众满意度"), POINTS, MEAN, UP, ("satisfaction.sum", "satisfaction.count")),
        Metric("rate.followup_on_time", _("按时随访率"), "%", RATE, UP, ("followups.on_time", "followups.due")),
        Metric(
            "sum.criminal_public_order",
            _("刑事治安发案"),
            PIECES,
            SUM,
            DOWN,
            ("incidents.kind.criminal", "incidents.kind.public_order"),
        ),
        Metric("sum.disputes_petitions", _("矛盾信访纠纷"), PIECES, SUM, DOWN, ("disputes.accepted", "incidents.kind.petition")),
    ]
    for programme, label in Programme.choices:
        metrics.append(
            Metric(
                f"rate.followup_on_time.{programme}",
                _prefixed(label, _("按时随访率")),
                "%",
                RATE,
                UP,
                (f"followups.{programme}.on_time", f"followups.{programme}.due"),
            )
        )
    return metrics


METRICS: dict[str, Metric] = {metric.key: metric for metric in (*_base_metrics(), *_derived_metrics())}
DERIVED_METRICS = [metric for metric in METRICS.values() if metric.is_derived]

# The six headline cards 三升三降: three that should rise, three that should fall.
HEADLINE_UP = ("rate.clearance", "rate.dispute_resolution", "mean.satisfaction")
HEADLINE_DOWN = ("sum.criminal_public_order", "sum.disputes_petitions", "incidents.kind.accident")
HEADLINE = HEADLINE_UP + HEADLINE_DOWN


def metric(key: str) -> Metric:
    """The metric of ``key``; a statistic key the catalogue does not know (added by an
    admin later) is still a metric of the incidents family, labelled by its key."""
    if key in METRICS:
        return METRICS[key]
    if key.startswith("incidents.stat.") and len(key) <= 48:
        return Metric(key, key.removeprefix("incidents.stat."), better=DOWN)
    raise KeyError(key)


def is_known(key: str) -> bool:
    try:
        metric(key)
    except KeyError:
        return False
    return True


def family_of(key: str) -> str:
    return metric(key).family

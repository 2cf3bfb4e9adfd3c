"""The villages' five haves and five nones 五有五无 (DOMAIN.md, "The dashboard").

Of the ten items the data decides six, and an assessor enters the other four on the
village's assessment page (``VillageAssessment``, saved through
``dashboard.services.assessment_save``):

- 有组织: an active people's mediation committee sits in the village (``MediationBody``
  of kind committee on the people's line, on the zone or below it);
- 有人员: an active account holds a grid-worker or mediator grant on the zone or below;
- 无吸毒: nobody in the drug-rehabilitation programme at the year's end and no drug crime
  in the year; 无刑事案件, 无矛盾上交, 无事故: none in the year (all four read from the
  statistics table, so they are as fresh as the roll-up);
- 有场所, 有经费, 有机制 and the fifth none (its wording the assessor's): entered.

Organisation and staff are what the tables hold now (they keep no history), so a past
year shows today's answer for them. ``village_statuses`` answers for any number of
villages in the same few queries: the zones with both computed "haves" as subqueries,
the statistics, the assessments.
"""

import datetime
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard import metrics as m
from dashboard import selectors
from dashboard.models import VillageAssessment
from dashboard.periods import YEAR, Period
from disputes.models import BodyKind, LineKind, MediationBody
from grids.models import Grid, GridKind, GridUserObjectPermission
from kaili.roles import GRID_WORKER, MEDIATOR, role_grant_codename

HAVE, NONE = "have", "none"
PASSED, FAILED, PENDING = "passed", "failed", "pending"
STATES = {PASSED: _("达标"), FAILED: _("未达标"), PENDING: _("未评定")}
STAFF_ROLES = (GRID_WORKER, MEDIATOR)
FIRST_YEAR = 2000  # the service's lower bound for an assessment year


@dataclass(frozen=True)
class Item:
    """One of the ten items: ``field`` names the assessment's column when it is entered,
    ``metrics`` the statistics whose zero it means when the data decides it."""

    key: str
    label: str
    group: str
    field: str = ""
    metrics: tuple[str, ...] = ()

    @property
    def computed(self) -> bool:
        return not self.field


ITEMS = (
    Item("organisation", _("有组织"), HAVE),
    Item("staff", _("有人员"), HAVE),
    Item("venue", _("有场所"), HAVE, field="has_venue"),
    Item("funding", _("有经费"), HAVE, field="has_funding"),
    Item("mechanism", _("有机制"), HAVE, field="has_mechanism"),
    Item("no_drugs", _("无吸毒"), NONE, metrics=("programmes.drug_rehab", "incidents.stat.drug")),
    Item("no_criminal", _("无刑事案件"), NONE, metrics=("incidents.kind.criminal",)),
    Item("no_passed_upward", _("无矛盾上交"), NONE, metrics=("disputes.passed_upward",)),
    Item("no_accident", _("无事故"), NONE, metrics=("incidents.kind.accident",)),
    Item("no_other", _("第五无"), NONE, field="no_other"),
)
ENTERED_FIELDS = tuple(item.field for item in ITEMS if item.field)
STATISTIC_KEYS = tuple(key for item in ITEMS for key in item.metrics)


@dataclass(frozen=True)
class Evidence:
    """A figure behind a computed item, as the assessment page shows it."""

    label: str
    value: float | int
    unit: str


@dataclass(frozen=True)
class ItemStatus:
    item: Item
    value: bool | None  # None: 未评定 (not entered, or no statistics yet)
    label: str  # the fifth none reads as the assessor worded it
    evidence: tuple[Evidence, ...] = ()

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def computed(self) -> bool:
        return self.item.computed


@dataclass
class VillageStatus:
    zone: Grid
    year: int
    items: list[ItemStatus]
    assessment: VillageAssessment | None = None
    by_key: dict[str, ItemStatus] = field(init=False, repr=False)

    def __post_init__(self):
        self.by_key = {status.key: status for status in self.items}

    @property
    def passed(self) -> bool:
        """达标: all ten items hold."""
        return all(status.value is True for status in self.items)

    @property
    def state(self) -> str:
        if self.passed:
            return PASSED
        if any(status.value is False for status in self.items):
            return FAILED
        return PENDING

    @property
    def state_label(self) -> str:
        return str(STATES[self.state])

    @property
    def haves(self) -> list[ItemStatus]:
        return [status for status in self.items if status.item.group == HAVE]

    @property
    def nones(self) -> list[ItemStatus]:
        return [status for status in self.items if status.item.group == NONE]


# --- reading ---------------------------------------------------------------------------


def _in_zone(path: str) -> dict:
    """Rows whose node (through ``path``) lies in the outer zone's subtree."""
    return {
        f"{path}__tree_id": OuterRef("tree_id"),
        f"{path}__lft__gte": OuterRef("lft"),
        f"{path}__lft__lte": OuterRef("rght"),
    }


def _count_per_zone(queryset, path: str, counted: str):
    """A subquery counting distinct ``counted`` of ``queryset`` in the outer zone's subtree."""
    rows = (
        queryset.filter(**_in_zone(path))
        .order_by()
        .values(f"{path}__tree_id")
        .annotate(n=Count(counted, distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def committees():
    """The active people's mediation committees (a village's 调委会)."""
    return MediationBody.objects.filter(is_active=True, kind=BodyKind.COMMITTEE, line__kind=LineKind.PEOPLE)


def staff_grants():
    """Grid-worker and mediator grants held by active accounts still in the role."""
    holds_role = reduce(or_, (Q(permission__codename=role_grant_codename(role), user__groups__name=role) for role in STAFF_ROLES))
    return GridUserObjectPermission.objects.filter(holds_role, user__is_active=True)


def villages_under(node: Grid, user):
    """The live villages (zones) under ``node`` whose figures ``user`` may see: the node
    itself when it is a zone, none below a zone."""
    zones = selectors.nodes_for(user).filter(kind=GridKind.ZONE)
    if node.kind == GridKind.ZONE:
        return zones.filter(pk=node.pk)
    if node.kind not in (GridKind.CITY, GridKind.TOWN):
        return zones.none()
    return zones.filter(tree_id=node.tree_id, lft__gt=node.lft, lft__lt=node.rght, retired_at__isnull=True)


def _statistic_status(item: Item, values: dict | None) -> ItemStatus:
    if values is None:
        return ItemStatus(item, None, str(item.label))
    evidence = []
    for key in item.metrics:
        metric = m.metric(key)
        number = selectors.value(values, key) or 0
        evidence.append(Evidence(str(metric.label), int(number) if float(number).is_integer() else number, metric.unit))
    return ItemStatus(item, all(e.value == 0 for e in evidence), str(item.label), tuple(evidence))


def _entered_status(item: Item, assessment: VillageAssessment | None) -> ItemStatus:
    value = getattr(assessment, item.field) if assessment is not None else None
    label = str(item.label)
    if item.key == "no_other" and assessment is not None and assessment.other_item:
        label = assessment.other_item
    return ItemStatus(item, value, label)


def _count_status(item: Item, count: int, unit: str, label: str) -> ItemStatus:
    return ItemStatus(item, count > 0, str(item.label), (Evidence(label, count, unit),))


class VillageStatuses(list):
    """The villages' statuses, with the count a page heads them with (达标 x / y)."""

    @property
    def passed(self) -> int:
        return sum(1 for status in self if status.passed)


def village_statuses(node: Grid, year: int, user, *, layout: dict | None = None) -> VillageStatuses:
    """The villages under ``node`` in ``user``'s scope, by code, with their ten items for
    ``year``. Four queries whatever the number of villages (and one for the layout when
    not given)."""
    zones = list(
        villages_under(node, user)
        .annotate(
            committee_count=_count_per_zone(committees(), "node", "pk"),
            staff_count=_count_per_zone(staff_grants(), "content_object", "user"),
        )
        .order_by("code")
    )
    if not zones:
        return VillageStatuses()
    layout = selectors.layouts() if layout is None else layout
    period = Period(year, YEAR)
    # No statistics yet (never rolled up) or a year still to come: the data cannot say.
    known = bool(layout) and not period.is_future()
    found = (
        selectors.figures([zone.pk for zone in zones], [period], selectors.families_of(STATISTIC_KEYS), layout=layout)
        if known
        else {}
    )
    assessments = {
        assessment.zone_id: assessment
        for assessment in VillageAssessment.objects.restrict(user).filter(zone__in=zones, year=year)
    }
    statuses = VillageStatuses()
    for zone in zones:
        assessment = assessments.get(zone.pk)
        values = found.get((zone.pk, period.code)) if known else None
        items = []
        for item in ITEMS:
            if item.key == "organisation":
                items.append(_count_status(item, zone.committee_count, _("个"), _("人民调解委员会")))
            elif item.key == "staff":
                items.append(_count_status(item, zone.staff_count, _("人"), _("网格员、调解员")))
            elif item.field:
                items.append(_entered_status(item, assessment))
            else:
                items.append(_statistic_status(item, values))
        statuses.append(VillageStatus(zone, year, items, assessment))
    return statuses


@dataclass
class VillageSummary:
    """The counts a report shows: villages, by state, and per item how many hold it."""

    total: int
    states: dict[str, int]
    items: list[tuple[Item, int]]

    @property
    def passed(self) -> int:
        return self.states[PASSED]


def summarise(statuses: list[VillageStatus]) -> VillageSummary:
    states = dict.fromkeys(STATES, 0)
    held = dict.fromkeys((item.key for item in ITEMS), 0)
    for status in statuses:
        states[status.state] += 1
        for item_status in status.items:
            if item_status.value is True:
                held[item_status.key] += 1
    return VillageSummary(len(statuses), states, [(item, held[item.key]) for item in ITEMS])


def zone_committees(zone: Grid) -> list[MediationBody]:
    return list(committees().filter(node__tree_id=zone.tree_id, node__lft__gte=zone.lft, node__lft__lte=zone.rght))


def zone_staff(zone: Grid) -> list:
    """The active grid workers and mediators granted on the zone or below it."""
    from kaili.models import User

    grants = staff_grants().filter(
        content_object__tree_id=zone.tree_id, content_object__lft__gte=zone.lft, content_object__lft__lte=zone.rght
    )
    return list(User.objects.filter(pk__in=grants.values("user_id")).order_by("username"))


def latest_assessable_year(today: datetime.date | None = None) -> int:
    return (today or timezone.localdate()).year

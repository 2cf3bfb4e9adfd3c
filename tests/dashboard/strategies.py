"""Random worlds for the roll-up's tests, and the comparison with the direct counts.

hypothesis is not among the test requirements, so a world is drawn from a seeded
``random.Random``: the same seed gives the same world (on the same day: this month is one
of a world's months), and a failure names its seed.

A world is the small tree (tests/factories.make_tree) with a few more nodes, and a few
dozen records of every family written straight into their tables (the statistics count
what the records say, however they got there): incidents of every kind and criminal
sub-type, cleared, late, cancelled, evaluated; disputes resolved or not, passed upward,
late, closed and evaluated; households and residents; enrollments in the six programmes
(some exited) with their visits. Their dates cluster in a handful of months of 2015-2017
and of this year, some a minute from a month's end in local time.
"""

import datetime
import itertools
import random
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone

from cases.models import Category, CategoryKind
from cases.models import Status as IncidentStatus
from dashboard import selectors
from dashboard.direct import direct_values
from dashboard.models import Statistic
from dashboard.periods import QUARTER, YEAR, Period
from dashboard.rollup import STAT_KINDS
from disputes.models import Dispute
from disputes.models import Status as DisputeStatus
from grids.models import AreaType, Grid, GridKind
from grids.services import grid_create, grid_merge, grid_move
from populations.identity import make_identity_number
from populations.models import Enrollment, EnrollmentStatus, ExitReason, Household, Person, Programme, Visit, VisitKind
from tests.dashboard import factories as f

_numbers = itertools.count(1)
INCIDENT_STATES = (
    IncidentStatus.FILED,
    IncidentStatus.HANDLING,
    IncidentStatus.CLOSED,
    IncidentStatus.EVALUATED,
    IncidentStatus.CANCELLED,
    IncidentStatus.PARKED,
)


def local(year: int, month: int, day: int = 15, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, day, hour, minute))


def last_day(year: int, month: int) -> int:
    return (Period(year, "month", month).end - datetime.timedelta(days=1)).day


def grow_tree(tree):
    """Beside the small tree: a second grid in zone A and a unit in grid C, so that
    merges have a choice and town T2 has households."""
    tree.grid_a2 = grid_create(actor=None, name="北京路第2网格", kind=GridKind.GRID, parent=tree.zone_a, area_type=AreaType.URBAN)
    tree.unit_c = grid_create(actor=None, name="南花1-1十户联防", kind=GridKind.UNIT, parent=tree.grid_c, households=10)
    return tree


def categories_of_every_kind() -> list[Category]:
    """One category per kind and statistic key (every criminal sub-type, the accidents,
    the nine-small items...), and a category without a key."""
    chosen = {}
    for category in Category.objects.order_by("code"):
        chosen.setdefault((category.kind, category.statistic), category)
    kinds = {kind for kind, _statistic in chosen}
    assert kinds == set(CategoryKind.values), kinds
    return list(chosen.values())


@dataclass
class World:
    """Draws records into the database; ``seed`` makes it repeatable."""

    seed: int
    tree: object
    today: datetime.date = field(default_factory=timezone.localdate)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.categories = categories_of_every_kind()
        years = [2015, 2016, 2017]
        candidates = [(year, month) for year in years for month in range(1, 13)]
        candidates += [(self.today.year, month) for month in range(1, self.today.month + 1)]
        # a few months, so that records share months, quarters and years (and the direct
        # counts to compare with stay few: a dozen queries per node and period)
        self.months = [*self.rng.sample(candidates, 2), (self.today.year, self.today.month)]

    # -- dates ----------------------------------------------------------------------------

    def years(self) -> list[str]:
        return sorted({str(year) for year, _month in self.months})

    def moment(self) -> datetime.datetime:
        """A local moment in one of the world's months; a tenth of them a minute inside
        the month's first or last day (one side of midnight in UTC, the other locally)."""
        year, month = self.rng.choice(self.months)
        top = last_day(year, month)
        if (year, month) == (self.today.year, self.today.month):
            top = self.today.day
        roll = self.rng.random()
        if roll < 0.05:
            value = local(year, month, 1, 0, 1)
        elif roll < 0.1 and top == last_day(year, month):
            value = local(year, month, top, 23, 59)
        else:
            value = local(year, month, self.rng.randint(1, top), self.rng.randint(6, 21))
        return min(value, timezone.now() - datetime.timedelta(minutes=5))

    def day(self) -> datetime.date:
        return timezone.localtime(self.moment()).date()

    def later(self, start: datetime.datetime, days: int = 12) -> datetime.datetime:
        return min(start + datetime.timedelta(days=self.rng.randint(0, days), hours=self.rng.randint(0, 12)), timezone.now())

    def later_day(self, start: datetime.date, days: int = 35) -> datetime.date:
        return min(start + datetime.timedelta(days=self.rng.randint(1, days)), self.today)

    # -- where ----------------------------------------------------------------------------

    def open_nodes(self, *kinds) -> list[Grid]:
        return list(Grid.objects.filter(kind__in=kinds, retired_at__isnull=True).order_by("code"))

    def units(self) -> list[Grid]:
        return self.open_nodes(GridKind.UNIT)

    def record_node(self) -> Grid:
        """Mostly grids and units; sometimes a village or a town (a record logged higher up)."""
        roll = self.rng.random()
        if roll < 0.1:
            return self.rng.choice(self.open_nodes(GridKind.ZONE, GridKind.TOWN))
        return self.rng.choice(self.open_nodes(GridKind.GRID, GridKind.UNIT))

    # -- records --------------------------------------------------------------------------

    def incident(self):
        rng = self.rng
        category = rng.choice(self.categories)
        occurred = self.moment()
        status = rng.choice(INCIDENT_STATES)
        fields = {"status": status, "late": rng.random() < 0.3}
        if rng.random() < 0.5:  # cleared: only a criminal case's counts
            fields.update(cleared=True, cleared_on=timezone.localtime(occurred).date())
        if status in (IncidentStatus.CLOSED, IncidentStatus.EVALUATED):
            fields["closed_at"] = self.later(occurred)
        if status == IncidentStatus.EVALUATED:
            fields["satisfaction"] = rng.randint(1, 5)
        return f.incident(self.record_node(), category.code, occurred, **fields)

    def dispute(self):
        rng = self.rng
        registered = self.moment()
        status = rng.choice(list(DisputeStatus.values))
        fields = {"status": status, "passed_upward": rng.random() < 0.3, "late": rng.random() < 0.3}
        if status in (DisputeStatus.RESOLVED, DisputeStatus.UNRESOLVED, DisputeStatus.WITHDRAWN):
            fields["closed_at"] = self.later(registered)
            if status == DisputeStatus.RESOLVED and rng.random() < 0.7:
                fields["satisfaction"] = rng.randint(1, 5)
        return f.dispute(self.record_node(), registered, **fields)

    def household(self, unit: Grid | None = None) -> Household:
        unit = unit or self.rng.choice(self.units())
        household = Household.objects.create(
            number=f"{unit.code[-14:]}{next(_numbers):06d}", unit=unit, address=f"测试路 {next(_numbers)} 号"
        )
        Household.objects.filter(pk=household.pk).update(created_at=self.moment())
        return household

    def person(self, household: Household | None = None) -> Person:
        household = household or self.household()
        n = next(_numbers)
        born = datetime.date(1950, 1, 1) + datetime.timedelta(days=n * 7)
        sex = self.rng.choice("MF")
        person = Person(household=household, unit=household.unit, name=f"居民{n}", sex=sex, birth_date=born)
        person.set_identity_number(make_identity_number("522601", born, n, sex))
        person.save()
        Person.objects.filter(pk=person.pk).update(created_at=max(self.moment(), household_created(household)))
        return person

    def enrollment(self, person: Person | None = None) -> Enrollment:
        rng = self.rng
        person = person or self.person()
        taken = set(person.enrollments.filter(status=EnrollmentStatus.ACTIVE).values_list("programme", flat=True))
        programme = rng.choice([p for p in Programme.values if p not in taken])
        started = self.day()
        fields = {"next_due_on": started + datetime.timedelta(days=rng.randint(5, 30))}
        if rng.random() < 0.35:
            fields = {
                "status": EnrollmentStatus.EXITED,
                "exited_on": self.later_day(started),
                "exit_reason": ExitReason.COMPLETED,
            }
        return Enrollment.objects.create(person=person, programme=programme, started_on=started, **fields)

    def visit(self, enrollment: Enrollment | None = None) -> Visit:
        if enrollment is None:
            enrollments = list(Enrollment.objects.order_by("pk"))
            enrollment = self.rng.choice(enrollments) if enrollments else self.enrollment()
        due_on = None if self.rng.random() < 0.15 else self.later_day(enrollment.started_on, 30)
        visited_on = due_on + datetime.timedelta(days=self.rng.randint(-5, 8)) if due_on else self.today
        return Visit.objects.create(
            enrollment=enrollment, kind=VisitKind.VISIT, visited_on=min(visited_on, self.today), due_on=due_on
        )

    def populate(self, records: int = 36) -> None:
        """About ``records`` records, every family represented."""
        self.enrollment()
        self.visit()
        makers = [self.incident] * 5 + [self.dispute] * 3 + [self.person, self.enrollment, self.visit, self.household]
        for _ in range(records - 2):
            self.rng.choice(makers)()

    # -- the tree changes -----------------------------------------------------------------

    def restructure(self, operations: int = 2) -> list[str]:
        """Random moves (a grid to another village, a village to another town) and merges
        (a grid into another grid, a village into another village) through grids.services;
        returns what was done, for the failure message."""
        done = []
        for _ in range(operations):
            choices = []
            grids, zones, towns = (self.open_nodes(kind) for kind in (GridKind.GRID, GridKind.ZONE, GridKind.TOWN))
            for grid in grids:
                choices += [("move", grid, zone) for zone in zones if zone.pk != grid.parent_id]
                choices += [("merge", grid, other) for other in grids if other.pk != grid.pk]
            for zone in zones:
                choices += [("move", zone, town) for town in towns if town.pk != zone.parent_id]
                choices += [("merge", zone, other) for other in zones if other.pk != zone.pk]
            operation, node, target = self.rng.choice(choices)
            if operation == "move":
                grid_move(actor=None, grid=node, new_parent=target)
            else:
                grid_merge(actor=None, source=node, target=target)
            done.append(f"{operation} {node.code} -> {target.code}")
        return done

    # -- changes the incremental roll-up must follow ---------------------------------------

    def change_something(self) -> str:
        """One change saved through the ORM (``save()``/``delete()``, so the marks follow)."""
        rng = self.rng
        incidents = list(f.Incident.objects.order_by("pk"))
        disputes = list(Dispute.objects.order_by("pk"))
        enrollments = list(Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).order_by("pk"))
        options = ["new incident", "new dispute", "new visit", "new person"]
        if incidents:
            options += ["move incident", "cancel incident", "clear incident", "evaluate incident"]
        if disputes:
            options += ["resolve dispute", "redate dispute"]
        if enrollments:
            options += ["exit enrollment", "redue enrollment"]
        choice = rng.choice(options)
        if choice == "new incident":
            self.incident()
        elif choice == "new dispute":
            self.dispute()
        elif choice == "new visit":
            self.visit()
        elif choice == "new person":
            self.enrollment(self.person())
        elif choice.endswith("incident"):
            incident = rng.choice(incidents)
            if choice == "move incident":
                incident.occurred_at = self.moment()
            elif choice == "cancel incident":
                incident.status = IncidentStatus.CANCELLED
            elif choice == "clear incident":
                incident.cleared = not incident.cleared
            else:
                incident.status, incident.satisfaction = IncidentStatus.EVALUATED, rng.randint(1, 5)
                incident.closed_at = self.later(incident.occurred_at)
            incident.save()
        elif choice.endswith("dispute"):
            dispute = rng.choice(disputes)
            if choice == "resolve dispute":
                dispute.status, dispute.satisfaction = DisputeStatus.RESOLVED, rng.randint(1, 5)
                dispute.closed_at = self.later(dispute.registered_at)
            else:
                dispute.registered_at = self.moment()
            dispute.save()
        else:
            enrollment = rng.choice(enrollments)
            if choice == "exit enrollment":
                enrollment.status, enrollment.exit_reason = EnrollmentStatus.EXITED, ExitReason.MOVED
                enrollment.exited_on, enrollment.next_due_on = self.later_day(enrollment.started_on), None
            else:
                enrollment.next_due_on = self.day()
            enrollment.save()
        return choice


def household_created(household: Household) -> datetime.datetime:
    return Household.objects.values_list("created_at", flat=True).get(pk=household.pk)


# --- what the tests compare ------------------------------------------------------------


def statistics_nodes() -> list[Grid]:
    """Every node that holds statistics, read afresh (moves change the tree columns)."""
    return list(Grid.objects.filter(kind__in=STAT_KINDS).order_by("code"))


def _months_of(values) -> set[str]:
    months = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, datetime.datetime):
            value = timezone.localtime(value).date()
        months.add(Period.month_of(value).code)
    return months


def touched_months() -> set[str]:
    """The months any record's dates fall in."""
    columns = [
        (f.Incident, ("occurred_at", "closed_at")),
        (Dispute, ("registered_at", "closed_at")),
        (Enrollment, ("started_on", "exited_on", "next_due_on")),
        (Visit, ("due_on",)),
        (Household, ("created_at",)),
        (Person, ("created_at",)),
    ]
    months = set()
    for model, names in columns:
        for name in names:
            months |= _months_of(model.objects.values_list(name, flat=True).distinct())
    return months


def periods_to_compare(today: datetime.date | None = None) -> list[Period]:
    """Every month touched, its quarter and year, the periods under way, a year before
    everything and a month to come."""
    today = today or timezone.localdate()
    months = {Period.parse(code) for code in touched_months()}
    current = Period.month_of(today)
    months |= {current, current.shifted(1)}
    periods = set(months) | {Period.parse("2014")}
    periods |= {month.containing(QUARTER) for month in months} | {month.containing(YEAR) for month in months}
    return sorted(periods, key=lambda p: (p.start, p.kind))


def differences(nodes=None, periods=None) -> list[str]:
    """Where a stored value differs from the direct count, as readable lines (the stored
    values read as the dashboard reads them: a count missing is 0, a rate unmeasured)."""
    nodes = statistics_nodes() if nodes is None else nodes
    periods = periods_to_compare() if periods is None else periods
    stored = selectors.figures([node.pk for node in nodes], periods)
    found = []
    for node in nodes:
        for period in periods:
            for key, want in direct_values(node, period).items():
                have = selectors.value(stored[(node.pk, period.code)], key)
                if have != want:
                    found.append(f"{node.code} {period.code} {key}: stored {have}, counted {want}")
    return found


def statistic_rows() -> list[tuple]:
    """The whole statistics table, sorted: to compare two runs."""
    return sorted((row.node_id, row.period, row.family, tuple(row.figures)) for row in Statistic.objects.all())


def record_counts() -> dict[str, int]:
    """How many records a world holds, by model (to keep the examples small)."""
    return {
        model._meta.label: model.objects.aggregate(n=Count("pk"))["n"]
        for model in (f.Incident, Dispute, Household, Person, Enrollment, Visit)
    }

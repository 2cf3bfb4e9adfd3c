"""The demo incidents (cases/demo.py): the seed's criminal figures, every state of the loop
with consistent fields and legal paths, numbers that later reports continue, idempotent."""

import datetime
import itertools
import random
import re
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import ExtractYear
from django.utils import timezone

from cases import demo
from cases.calendar import WorkingCalendar
from cases.models import (
    FINISHED_STATUSES,
    OPEN_STATUSES,
    CategoryKind,
    Department,
    Incident,
    IncidentPerson,
    IncidentTransition,
    Source,
    Status,
)
from cases.selectors import awaiting_check
from cases.workflow import STEP_RULES, Step
from kaili.demo import DEMO_HANDLERS, seed_demo_handlers
from kaili.models import AuditAction, AuditEntry, User
from kaili.roles import CENTRE_STAFF, GRID_WORKER
from tests.cases.factories import report
from tests.factories import make_user
from tests.populations.factories import make_household, make_person

pytestmark = pytest.mark.django_db

SCALE = 0.005  # ~185 other incidents a year beside the (unscaled) ~3,000 criminal ones
NUMBER = re.compile(r"SJ-522601-(\d{4})-(\d{6})")


@pytest.fixture
def demo_cast(tree):
    """The demo accounts whose codes exist in the small tree (grid A is the demo grid
    worker's grid, T1 the centre's town), the two demo handlers, and registry people in unit A."""
    household = make_household(tree.unit_a)
    people = [make_person(household, name=name) for name in ("龙玉兰", "杨光明", "吴金花")]
    seed_demo_handlers()
    return {
        "tree": tree,
        "gridworker": make_user("gridworker", GRID_WORKER, [tree.grid_a]),
        "centre": make_user("centre", CENTRE_STAFF, [tree.t1]),
        "people": people,
    }


# A tenth of the seed's criminal figures, for the tests of everything but those figures
# (the real ones are ~9,000 incidents whatever the scale).
FEWER_CRIMINAL = {
    year: {statistic: max(1, n // 10) for statistic, n in figures.items()} for year, figures in demo.CRIMINAL_FIGURES.items()
}


@pytest.fixture
def loaded(demo_cast, monkeypatch):
    monkeypatch.setattr(demo, "CRIMINAL_FIGURES", FEWER_CRIMINAL)
    return demo.seed_incidents(seed=7, scale=SCALE)


@pytest.fixture
def loaded_in_full(demo_cast):
    return demo.seed_incidents(seed=7, scale=SCALE)


def local_year(moment) -> int:
    return timezone.localtime(moment).year


def test_criminal_incidents_are_the_seeds_figures_at_any_scale_mostly_cleared(loaded_in_full):
    loaded = loaded_in_full
    rows = (
        Incident.objects.filter(category__kind=CategoryKind.CRIMINAL, occurred_at__year__in=demo.DEMO_YEARS)
        .annotate(year=ExtractYear("occurred_at"))
        .values_list("year", "category__statistic")
        .annotate(n=Count("pk"))
        .order_by()
    )
    figures = defaultdict(dict)
    for year, statistic, n in rows:
        figures[year][statistic] = n
    assert figures == demo.CRIMINAL_FIGURES
    assert sum(figures[2016].values()) == 2879 and sum(figures[2015].values()) == 3280
    assert (figures[2016]["robbery"], figures[2016]["theft"], figures[2016]["homicide"]) == (50, 1898, 4)
    assert (figures[2015]["robbery"], figures[2015]["theft"], figures[2015]["homicide"]) == (188, 2058, 14)

    def year_on_year(statistic=None):
        def figure(year):
            return sum(figures[year].values()) if statistic is None else figures[year][statistic]

        return round((figure(2016) - figure(2015)) * 100 / figure(2015), 2)

    assert year_on_year() == -12.23
    assert year_on_year("robbery") == -73.40
    assert year_on_year("theft") == -7.77
    assert year_on_year("homicide") == -71.43
    assert (loaded.change(), loaded.change("robbery"), loaded.change("theft"), loaded.change("homicide")) == (
        -12.23,
        -73.40,
        -7.77,
        -71.43,
    )

    # about two in three are cleared, every homicide
    criminal = Incident.objects.filter(category__kind=CategoryKind.CRIMINAL, occurred_at__year=2016)
    share = criminal.filter(cleared=True).count() / criminal.count()
    assert 0.55 <= share <= 0.8
    assert not criminal.filter(category__statistic="homicide", cleared=False).exists()
    assert not Incident.objects.filter(cleared=True, cleared_on__isnull=True).exists()
    assert not Incident.objects.filter(cleared=False, cleared_on__isnull=False).exists()
    assert not Incident.objects.exclude(category__kind=CategoryKind.CRIMINAL).filter(cleared=True).exists()
    for incident in Incident.objects.filter(cleared=True)[:300]:
        assert timezone.localtime(incident.occurred_at).date() <= incident.cleared_on <= timezone.localdate()
    cleared_steps = IncidentTransition.objects.filter(step=Step.CLEAR).values_list("incident_id", flat=True)
    assert set(cleared_steps) == set(Incident.objects.filter(cleared=True).values_list("pk", flat=True))


def test_the_other_incidents_follow_the_scale_nine_small_and_services_first(loaded):
    others = Incident.objects.exclude(category__kind=CategoryKind.CRIMINAL)
    for year in demo.DEMO_YEARS:
        expected = round((demo.PER_YEAR - sum(demo.CRIMINAL_FIGURES[year].values())) * SCALE)
        assert others.filter(occurred_at__year=year).count() == expected
    history = Incident.objects.filter(occurred_at__year__in=demo.DEMO_YEARS)
    assert history.count() == demo.planned_incidents(SCALE) == sum(loaded.by_year[y] for y in demo.DEMO_YEARS)
    kinds = Counter(others.filter(occurred_at__year__in=demo.DEMO_YEARS).values_list("category__kind", flat=True))
    assert [kind for kind, _n in kinds.most_common(2)] == [CategoryKind.NINE_SMALL, CategoryKind.SERVICE]
    assert set(kinds) == set(CategoryKind.values) - {CategoryKind.CRIMINAL}
    sources = Counter(others.values_list("source", flat=True))
    assert sources.most_common(1)[0][0] == Source.PATROL and set(sources) == set(Source.values)
    assert Incident.objects.filter(urgency="urgent").exists() and Incident.objects.filter(urgency="normal").exists()
    assert not Incident.objects.filter(Q(description="") | Q(place="") | Q(title="")).exists()


def test_every_state_of_the_loop_with_the_fields_it_implies(loaded):
    now = timezone.now()
    states = Counter(Incident.objects.values_list("status", flat=True))
    assert set(states) == set(Status.values) - {Status.TRANSFERRED}
    finished = states[Status.CLOSED] + states[Status.EVALUATED]
    assert finished > 0.8 * sum(states.values())
    steps = Counter(IncidentTransition.objects.values_list("incident_id", flat=True))
    spot = set(IncidentTransition.objects.filter(step=Step.SOLVE_ON_SPOT).values_list("incident_id", flat=True))
    assert spot and Incident.objects.filter(pk__in=spot, category__kind=CategoryKind.NINE_SMALL).count() == len(spot)
    for case in Incident.objects.all():
        status = case.status
        assert case.version == steps[case.pk], case.number
        assert case.occurred_at <= case.reported_at <= now and case.file_due_at is not None
        if status in OPEN_STATUSES:
            assert case.due_at is not None and case.closed_at is None and case.satisfaction is None, case.number
        else:
            assert case.due_at is None, case.number
        expected_due = {
            Status.REPORTED: case.file_due_at,
            Status.FILED: case.dispatch_due_at,
            Status.RETURNED: case.dispatch_due_at,
            Status.DISPATCHED: case.handle_due_at,
            Status.HANDLING: case.handle_due_at,
            Status.REPORTED_BACK: case.check_due_at,
        }
        if status in expected_due:
            assert case.due_at == expected_due[status], case.number
        if status in (Status.DISPATCHED, Status.HANDLING, Status.REPORTED_BACK, Status.PARKED):
            assert case.department_id or case.handler_id, case.number
            assert case.dispatched_at is not None and case.dispatched_at >= case.reported_at
        if status == Status.RETURNED:
            assert case.department_id is None and case.handler_id is None and case.dispatched_at is not None
        if status in (Status.REPORTED, Status.FILED):
            assert case.dispatched_at is None and case.department_id is None
        if status in (Status.REPORTED_BACK, Status.CLOSED, Status.EVALUATED):
            assert case.result, case.number
        if status in (Status.CLOSED, Status.EVALUATED):
            assert case.closed_at is not None and case.closed_at >= case.reported_at
            if case.pk not in spot:
                assert (case.department_id or case.handler_id) and case.dispatched_at and case.check_result, case.number
        else:
            assert case.closed_at is None
        if status == Status.EVALUATED:
            assert 1 <= case.satisfaction <= 5 and case.evaluation
        else:
            assert case.satisfaction is None
    assert Incident.objects.overdue(now).exists()
    assert Incident.objects.open().filter(due_at__gte=now).exists()  # this year's, still in time
    assert Incident.objects.filter(late=True).exists() and Incident.objects.filter(late=False).exists()
    assert Incident.objects.filter(extensions__gt=0).exists()


def test_the_transitions_of_each_incident_form_a_legal_path(loaded):
    cases = {c["pk"]: c for c in Incident.objects.values("pk", "number", "status", "reported_at", "reporter_id", "late")}
    paths = defaultdict(list)
    for row in IncidentTransition.objects.order_by("incident_id", "at", "pk").values(
        "incident_id", "step", "from_status", "to_status", "actor_id", "at", "due_at", "late", "details"
    ):
        paths[row["incident_id"]].append(row)
    assert set(paths) == set(cases)
    steps_seen = Counter()
    for pk, path in paths.items():
        case = cases[pk]
        first = path[0]
        assert (first["step"], first["from_status"], first["to_status"]) == (Step.REPORT, "", Status.REPORTED)
        assert first["at"] == case["reported_at"] and first["actor_id"] == case["reporter_id"]
        for before, after in itertools.pairwise(path):
            rule = STEP_RULES[after["step"]]
            assert after["from_status"] == before["to_status"], case["number"]
            assert after["from_status"] in rule.sources, (case["number"], after["step"])
            assert after["to_status"] == (rule.target or after["from_status"]), case["number"]
            assert after["at"] >= before["at"]
            if rule.meets_deadline and after["due_at"] is not None:
                assert after["late"] == (after["at"] > after["due_at"]), case["number"]
            elif not rule.meets_deadline:
                assert after["due_at"] is None and not after["late"]
            steps_seen[after["step"]] += 1
        assert path[-1]["to_status"] == case["status"], case["number"]
        assert case["late"] == any(row["late"] for row in path), case["number"]
    expected = set(Step.values) - {Step.REPORT, Step.TRANSFER}
    assert set(steps_seen) == expected
    dispatch = IncidentTransition.objects.filter(step=Step.DISPATCH).first()
    assert dispatch.details["department"] and "_department" not in dispatch.details
    assert 1 <= IncidentTransition.objects.filter(step=Step.EVALUATE).first().details["satisfaction"] <= 5


def test_the_demo_accounts_act_where_they_work(loaded, demo_cast):
    tree, gridworker, centre = demo_cast["tree"], demo_cast["gridworker"], demo_cast["centre"]
    in_grid_a = Incident.objects.filter(grid__in=[tree.grid_a, tree.unit_a])
    assert in_grid_a.filter(source=Source.PATROL).exclude(reporter=gridworker).count() == 0
    assert not Incident.objects.filter(reporter=gridworker).exclude(grid__in=[tree.grid_a, tree.unit_a]).exists()
    # every incident lies in town T1 (grid C has no households), whose centre files them all
    assert not Incident.objects.exclude(grid__in=[tree.grid_a, tree.unit_a, tree.grid_b, tree.unit_b]).exists()
    filings = IncidentTransition.objects.filter(step=Step.FILE)
    assert filings.exists() and not filings.exclude(actor=centre).exists()
    for handler in DEMO_HANDLERS:
        user = User.objects.get(username=handler.username)
        department = Department.objects.get(code=handler.department)
        assert department.members.filter(pk=user.pk).exists()
        assert IncidentTransition.objects.filter(step=Step.REPORT_BACK, actor=user).exists()
        assert not Incident.objects.filter(handler=user).exclude(department=department).exists()
    # walk-ins and phone calls name the citizen; the reporter may be empty
    walk_in = Incident.objects.filter(source=Source.WALK_IN).first()
    assert walk_in.reporter_id is None and walk_in.reporter_name


def test_this_year_the_grid_worker_has_reports_to_check_and_the_centre_a_queue(loaded, demo_cast):
    gridworker, centre = demo_cast["gridworker"], demo_cast["centre"]
    recent = timezone.now() - datetime.timedelta(days=14)
    showcase = Incident.objects.filter(reported_at__gte=recent)
    assert loaded.showcase == len(demo.SHOWCASE) == showcase.count()
    assert set(showcase.values_list("reporter", flat=True)) == {gridworker.pk}
    mine = awaiting_check(gridworker)
    assert mine.filter(reported_at__gte=recent, reporter=gridworker).count() >= 2
    queue = Incident.objects.restrict(centre, "change").open().filter(reported_at__gte=recent)
    assert {Status.REPORTED, Status.FILED, Status.RETURNED} <= set(queue.values_list("status", flat=True))
    police = User.objects.get(username="handler_police")
    assert Incident.objects.restrict(police).filter(status=Status.DISPATCHED, reported_at__gte=recent).exists()


def test_numbers_are_unique_well_formed_and_counted_by_year_of_report(loaded):
    by_year = defaultdict(list)
    for number, reported_at in Incident.objects.order_by("reported_at", "pk").values_list("number", "reported_at"):
        match = NUMBER.fullmatch(number)
        assert match, number
        assert int(match[1]) == local_year(reported_at)
        by_year[int(match[1])].append(int(match[2]))
    for year, sequence in by_year.items():
        assert sorted(sequence) == list(range(1, len(sequence) + 1)), year  # no gaps, no repeats
        assert sequence == sorted(sequence), year  # in order of report
    assert set(by_year) >= set(demo.DEMO_YEARS)


def test_a_report_after_the_load_continues_the_numbers(loaded, demo_cast):
    prefix = f"SJ-522601-{timezone.localdate().year}-"
    taken = set(Incident.objects.values_list("number", flat=True))
    assert any(number.startswith(prefix) for number in taken)  # this year's demo incidents
    incident = report(demo_cast["gridworker"], demo_cast["tree"].grid_a)
    assert incident.number not in taken
    assert incident.number == f"{prefix}{sum(number.startswith(prefix) for number in taken) + 1:06d}"


def test_people_involved_come_from_the_registry_of_the_same_unit_or_by_name(loaded, demo_cast):
    tree = demo_cast["tree"]
    linked = IncidentPerson.objects.filter(person__isnull=False).select_related("person", "incident__grid")
    assert linked.exists()
    for involved in linked:
        grid = involved.incident.grid
        assert involved.person.unit_id in (grid.pk, *grid.children.values_list("pk", flat=True))
        assert involved.person.unit_id == tree.unit_a.pk
    named = IncidentPerson.objects.filter(person__isnull=True)
    assert named.exists() and not named.filter(name="").exists()
    roles = set(IncidentPerson.objects.values_list("role", flat=True))
    assert {"victim", "suspect", "party"} <= roles
    assert (
        IncidentPerson.objects.filter(incident__category__kind=CategoryKind.DISPUTE)
        .values("incident")
        .annotate(n=Count("pk"))
        .filter(n=2)
        .exists()
    )


def test_seeding_again_adds_nothing_and_audits_once(loaded, demo_cast):
    counts = (Incident.objects.count(), IncidentTransition.objects.count(), IncidentPerson.objects.count())
    again = demo.seed_incidents(seed=7, scale=SCALE)
    assert (again.created, again.transitions, again.people, again.showcase) == (0, 0, 0, 0)
    assert counts == (Incident.objects.count(), IncidentTransition.objects.count(), IncidentPerson.objects.count())
    assert again.incidents == counts[0] and again.change() == loaded.change()
    imports = AuditEntry.objects.filter(action=AuditAction.IMPORT, object_type="cases.incident")
    assert imports.count() == 1 and imports.get().changes["incidents"] == counts[0]


def test_the_same_seed_gives_the_same_incidents(loaded):
    def fingerprint():
        return list(
            Incident.objects.order_by("number").values_list(
                "number", "category__code", "grid__code", "status", "occurred_at", "reported_at", "description", "late"
            )
        )

    first = fingerprint()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the load's foreign keys now, then start again
        cursor.execute("TRUNCATE cases_incident RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM kaili_numbersequence WHERE key LIKE 'SJ-%%'")
    demo.seed_incidents(seed=7, scale=SCALE)
    second = fingerprint()
    # this year's few incidents are placed relative to the moment of the load
    assert [row for row in first if row[0][10:14] != str(timezone.localdate().year)] == [
        row for row in second if row[0][10:14] != str(timezone.localdate().year)
    ]


def test_the_fast_clock_agrees_with_the_working_calendar(db):
    clock = demo.WorkingClock(datetime.date(2014, 12, 1), datetime.date(2019, 6, 30))
    rng = random.Random(3)
    tz = timezone.get_current_timezone()
    start = datetime.datetime(2015, 1, 1, tzinfo=tz).timestamp()
    for _ in range(300):
        ts = int(start + rng.randrange(3 * 366 * 86400))
        if rng.random() < 0.3:  # exactly on a period boundary
            ts -= ts % 1800
        minutes = rng.choice((1, 10, 30, 60, 120, 210, 420, 480, 2400, 9600))
        moment = datetime.datetime.fromtimestamp(ts, tz)
        expected = WorkingCalendar.around(moment).add(moment, minutes)
        assert clock.add(ts, minutes) == int(expected.timestamp()), (moment, minutes)


def test_nothing_to_seed_on_an_empty_tree(db):
    result = demo.seed_incidents(seed=7, scale=SCALE)
    assert (result.created, result.incidents) == (0, 0)


def test_seed_demo_loads_incidents_for_the_demo_accounts(db, capsys):
    """What `make run` loads: the demo tree, the accounts, incidents at the default scale."""
    call_command("seed_demo", verbosity=0)
    out = capsys.readouterr().out
    assert f"事件（比例 {demo.DEFAULT_SCALE:g}）" in out and "同比 -12.23%" in out and "两抢 50 起（-73.40%）" in out
    assert "handler_city" in out and "承办人（凯里市城市管理局）" in out
    gridworker = User.objects.get(username="gridworker")
    assert awaiting_check(gridworker).filter(reporter=gridworker).exists()
    centre = User.objects.get(username="centre")
    assert Incident.objects.restrict(centre, "change").open().filter(status=Status.REPORTED).exists()
    city = User.objects.get(username="handler_city")
    assert Incident.objects.restrict(city).filter(status__in=FINISHED_STATUSES).exists()
    total = Incident.objects.count()
    assert total == demo.planned_incidents(demo.DEFAULT_SCALE) + 2 * len(demo.SHOWCASE)
    call_command("seed_demo", verbosity=0)
    assert Incident.objects.count() == total and "新建 0 件" in capsys.readouterr().out

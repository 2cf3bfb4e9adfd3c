"""The incremental roll-up (dashboard/marks.py, dashboard/services.py): a record saved
leaves marks in its own transaction, its commit queues the run (eager in the tests), and
afterwards the figures of the periods and nodes it touched equal the direct counts; the
old month of a record moved in time, the old ancestors of a node moved in the tree.
Also the marks' life (rolled back, switched off, drained, kept when a run fails) and
``manage.py rollup``.
"""

import contextlib
import datetime
import threading
import uuid
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from cases.models import Status as IncidentStatus
from cases.services import incident_step
from cases.workflow import Step
from dashboard import metrics as m
from dashboard import selectors, services
from dashboard.marks import QUEUED_KEY
from dashboard.models import PendingMark, RollupRun, Statistic
from dashboard.periods import Period
from dashboard.rollup import LOCK_KEY, Marks, rollup
from disputes.models import Status as DisputeStatus
from grids.services import SplitPart, grid_merge, grid_move, grid_split
from kaili.roles import CENTRE_STAFF, GRID_WORKER
from populations.models import ExitReason, Programme, Visit, VisitKind
from populations.schedules import seed_schedule_rules
from populations.services import enrollment_exit, household_update, person_update, visit_record
from tests.cases.factories import report
from tests.dashboard import factories as f
from tests.dashboard.strategies import differences, statistics_nodes
from tests.factories import make_user
from tests.populations.factories import make_enrollment, make_household, make_person

pytestmark = pytest.mark.django_db


def periods(*codes) -> list[Period]:
    return [Period.parse(code) for code in codes]


def figure(node, code: str, key: str):
    return selectors.node_figures(node, Period.parse(code), [key])[key]


def figures_of(nodes, code: str, key: str) -> list:
    return [figure(node, code, key) for node in nodes]


@pytest.fixture(autouse=True)
def own_cache(settings):
    """The "a run is queued" flag lives in the cache, which is Redis when the broker is and
    may be shared with other test runs: keys of our own, and no flag left over."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    cache.delete(QUEUED_KEY)


@pytest.fixture
def rolled(tree):
    """The small tree rolled up in full; the marks its making left are drained."""
    rollup(Marks.everything())
    PendingMark.objects.all().delete()
    return tree


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs what the saves inside queue on commit: the incremental
    roll-up, eagerly, as a worker would once the transaction commits."""

    @contextlib.contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            yield callbacks
        assert callbacks, "nothing was queued on commit"
        assert not PendingMark.objects.exists(), "the run left marks behind"

    return run


def last_run() -> RollupRun:
    return RollupRun.objects.filter(kind=RollupRun.Kind.INCREMENTAL).order_by("-pk").first()


# --- incidents -------------------------------------------------------------------------


def test_a_new_incident_counts_in_its_month_quarter_and_year_for_every_ancestor(rolled, committed):
    tree = rolled
    with committed():
        f.incident(tree.unit_a, f.THEFT, f.at(2016, 5))

    run = last_run()
    assert (run.status, run.families, run.periods) == (RollupRun.Status.SUCCEEDED, [m.INCIDENTS], ["2016-05"])
    assert run.rows > 0 and run.detail["marks"] == 1
    for code in ("2016-05", "2016Q2", "2016"):
        assert figures_of([tree.grid_a, tree.zone_a, tree.t1, tree.city], code, "incidents.stat.theft") == [1, 1, 1, 1]
        assert figures_of([tree.grid_b, tree.zone_b, tree.t2], code, "incidents.stat.theft") == [0, 0, 0]
    assert differences(statistics_nodes(), periods("2016-04", "2016-05", "2016Q2", "2016", "2015")) == []


def test_an_incident_moved_to_another_year_leaves_its_old_month_quarter_and_year(rolled, committed):
    tree = rolled
    with committed():
        incident = f.incident(tree.grid_b, f.ROBBERY, f.at(2016, 5))
    with committed():
        incident = type(incident).objects.get(pk=incident.pk)
        incident.occurred_at = f.at(2017, 2)
        incident.save()

    assert last_run().periods == ["2016-05", "2017-02"]
    for code in ("2016-05", "2016Q2", "2016"):
        assert figures_of([tree.grid_b, tree.t1, tree.city], code, "incidents.stat.robbery") == [0, 0, 0]
    for code in ("2017-02", "2017Q1", "2017"):
        assert figures_of([tree.grid_b, tree.t1, tree.city], code, "incidents.stat.robbery") == [1, 1, 1]
    assert not Statistic.objects.filter(period__startswith="2016", family=m.INCIDENTS).exists()
    assert differences(statistics_nodes(), periods("2016-05", "2016Q2", "2016", "2017-02", "2017Q1", "2017")) == []


def test_clearing_and_cancelling_change_the_clearance_rate_and_the_counts(rolled, committed):
    tree = rolled
    with committed():
        first = f.incident(tree.grid_a, f.THEFT, f.at(2016, 5))
        second = f.incident(tree.grid_c, f.THEFT, f.at(2016, 5, 20))
    assert figure(tree.city, "2016-05", "rate.clearance") == 0

    with committed():
        first.cleared, first.cleared_on = True, datetime.date(2016, 6, 2)
        first.save()
    assert figure(tree.city, "2016-05", "rate.clearance") == 0.5
    assert figure(tree.t1, "2016Q2", "rate.clearance") == 1
    assert figure(tree.t2, "2016", "rate.clearance") == 0

    with committed():
        second.status = IncidentStatus.CANCELLED
        second.save()
    assert figure(tree.city, "2016-05", "incidents.kind.criminal") == 1
    assert figure(tree.city, "2016", "rate.clearance") == 1
    assert figure(tree.t2, "2016", "rate.clearance") is None  # nothing left to clear there
    assert differences(statistics_nodes(), periods("2016-05", "2016Q2", "2016")) == []


def test_an_incident_reported_and_cancelled_through_the_services(rolled, committed):
    tree = rolled
    worker = make_user("worker_a", GRID_WORKER, [tree.grid_a])
    centre = make_user("centre_t1", CENTRE_STAFF, [tree.t1])
    this_month = Period.month_of(timezone.localdate()).code
    with committed():
        incident = report(worker, tree.grid_a, occurred_at=timezone.now() - datetime.timedelta(minutes=10))
    assert figure(tree.city, this_month, "incidents.total") == 1
    assert figure(tree.zone_a, this_month, "incidents.kind.service") == 1

    with committed():
        incident_step(actor=centre, incident=incident, step=Step.CANCEL, reason="重复上报")
    assert figure(tree.city, this_month, "incidents.total") == 0
    assert differences([tree.city, tree.t1, tree.zone_a, tree.grid_a], [Period.parse(this_month)]) == []


def test_an_evaluation_counts_in_the_month_the_incident_closed(rolled, committed):
    tree = rolled
    with committed():
        incident = f.incident(tree.grid_a, f.STREETLIGHT, f.at(2016, 5, 28))
    with committed():
        incident.status, incident.closed_at, incident.satisfaction = IncidentStatus.EVALUATED, f.at(2016, 6, 3), 4
        incident.save()
    assert figure(tree.city, "2016-06", "mean.satisfaction") == 4
    assert figure(tree.city, "2016-05", "mean.satisfaction") is None
    assert differences(statistics_nodes(), periods("2016-05", "2016-06", "2016Q2")) == []


# --- disputes --------------------------------------------------------------------------


def test_a_dispute_resolved_and_closed_changes_the_resolution_rate_and_satisfaction(rolled, committed):
    tree = rolled
    with committed():
        dispute = f.dispute(tree.grid_c, f.at(2016, 5, 25))
        f.dispute(tree.grid_a, f.at(2016, 5, 26))
    assert figure(tree.city, "2016-05", "rate.dispute_resolution") == 0

    with committed():
        dispute.status, dispute.closed_at, dispute.satisfaction = DisputeStatus.RESOLVED, f.at(2016, 6, 4), 5
        dispute.save()
    run = last_run()
    assert run.families == [m.DISPUTES, m.SATISFACTION] and run.periods == ["2016-05", "2016-06"]
    assert figure(tree.city, "2016-05", "rate.dispute_resolution") == 0.5
    assert figure(tree.t2, "2016Q2", "rate.dispute_resolution") == 1
    assert figure(tree.t1, "2016Q2", "rate.dispute_resolution") == 0
    assert figure(tree.city, "2016-06", "disputes.closed") == 1
    assert figure(tree.zone_c, "2016-06", "mean.satisfaction") == 5
    assert figure(tree.zone_c, "2016-05", "mean.satisfaction") is None
    assert differences(statistics_nodes(), periods("2016-05", "2016-06", "2016Q2", "2016")) == []


# --- people ----------------------------------------------------------------------------


def test_an_enrollment_and_its_exit_change_the_programme_levels_of_the_later_months(rolled, committed):
    tree = rolled
    person = make_person(unit=tree.unit_b, name="龙小明", born=datetime.date(2004, 3, 1))
    with committed():
        enrollment = make_enrollment(person, Programme.YOUTH, started_on=datetime.date(2016, 3, 10))
    key = "programmes.youth"
    this_month = Period.month_of(timezone.localdate()).code
    for code in ("2016-03", "2016-12", "2016Q1", "2016", "2017", this_month):
        assert figures_of([tree.grid_b, tree.t1, tree.city], code, key) == [1, 1, 1], code
    assert figures_of([tree.grid_b, tree.city], "2016-02", key) == [0, 0]

    with committed():
        enrollment_exit(actor=None, enrollment=enrollment, exited_on=datetime.date(2016, 8, 20), reason=ExitReason.COMPLETED)
    assert figure(tree.city, "2016-07", key) == 1
    assert figure(tree.city, "2016Q2", key) == 1
    for code in ("2016-08", "2016Q3", "2016", "2017", this_month):
        assert figures_of([tree.grid_b, tree.t1, tree.city], code, key) == [0, 0, 0], code
    assert (
        differences(
            [tree.city, tree.t1, tree.grid_b, tree.t2],
            periods("2016-02", "2016-03", "2016-07", "2016-08", "2016Q3", "2016", this_month),
        )
        == []
    )


@pytest.fixture
def schedules(db):
    """The visit schedules come with a data migration; a transactional test's flush removes them."""
    seed_schedule_rules()


def test_a_visit_counts_as_due_in_the_month_it_fell_due_and_on_time_or_not(rolled, committed, schedules):
    tree = rolled
    person = make_person(unit=tree.unit_a, name="杨小花", born=datetime.date(2003, 9, 1))
    with committed():
        enrollment = make_enrollment(person, Programme.YOUTH, started_on=datetime.date(2016, 1, 10))
    with committed():
        visit_record(actor=None, enrollment=enrollment, kind=VisitKind.VISIT, visited_on=datetime.date(2016, 2, 8))
    with committed():
        visit_record(actor=None, enrollment=enrollment, kind=VisitKind.VISIT, visited_on=datetime.date(2016, 3, 20))
    # due 10 Feb (a month after the start), done on the 8th; due 8 Mar, done late on the 20th
    assert [figure(tree.city, code, "followups.youth.due") for code in ("2016-02", "2016-03")] == [1, 1]
    assert [figure(tree.city, code, "followups.on_time") for code in ("2016-02", "2016-03")] == [1, 0]
    assert figure(tree.zone_a, "2016Q1", "rate.followup_on_time") == 0.5
    assert differences([tree.city, tree.t1, tree.zone_a, tree.grid_a], periods("2016-02", "2016-03", "2016-04", "2016Q1")) == []


def test_a_visit_entered_late_redates_the_later_ones_and_their_months_follow(rolled, committed, schedules):
    tree = rolled
    person = make_person(unit=tree.unit_a, name="杨小花", born=datetime.date(2003, 9, 1))
    with committed():
        enrollment = make_enrollment(person, Programme.YOUTH, started_on=datetime.date(2016, 1, 10))
    with committed():
        later = visit_record(actor=None, enrollment=enrollment, kind=VisitKind.VISIT, visited_on=datetime.date(2016, 3, 20))
    assert later.due_on == datetime.date(2016, 2, 10)
    with committed():  # entered late: the visit of 20 March now fell due a month after 5 February
        visit_record(actor=None, enrollment=enrollment, kind=VisitKind.VISIT, visited_on=datetime.date(2016, 2, 5))
    assert Visit.objects.get(pk=later.pk).due_on == datetime.date(2016, 3, 5)
    assert differences([tree.city], periods("2016-02", "2016-03", "2016Q1")) == []


def test_households_and_residents_created_and_deleted(rolled, committed):
    tree = rolled
    this_month = Period.month_of(timezone.localdate()).code
    with committed():
        household = make_household(tree.unit_b, address="营盘坡 8 号")
        person = make_person(household, name="吴大山")
        make_person(household, name="吴小山", born=datetime.date(2010, 1, 1), relation="child")
    assert figures_of([tree.grid_b, tree.zone_b, tree.t1, tree.city], this_month, "registry.residents") == [2, 2, 2, 2]
    assert figure(tree.city, this_month, "registry.households") == 1
    assert figure(tree.t2, this_month, "registry.residents") == 0

    with committed():
        person.delete()
    assert figure(tree.city, this_month, "registry.residents") == 1
    with committed():
        for member in household.members.all():
            member.delete()
        household.delete()
    assert figure(tree.city, this_month, "registry.households") == 0
    assert not Statistic.objects.filter(family=m.REGISTRY).exists()


def test_a_household_moved_to_another_unit_moves_its_households_and_residents(rolled, committed):
    tree = rolled
    this_month = Period.month_of(timezone.localdate()).code
    with committed():
        household = make_household(tree.unit_a, address="北京路 9 号")
        make_person(household, name="潘一")
    with committed():
        household_update(actor=None, household=household, unit=tree.unit_b)
    assert figures_of([tree.zone_a, tree.zone_b], this_month, "registry.residents") == [0, 1]


def test_a_resident_moved_to_a_household_of_another_unit_moves_with_it(rolled, committed):
    tree = rolled
    this_month = Period.month_of(timezone.localdate()).code
    with committed():
        there = make_household(tree.unit_b, address="营盘坡 1 号")
        person = make_person(unit=tree.unit_a, name="潘二")
    with committed():
        person_update(actor=None, person=person, household=there)
    assert figures_of([tree.zone_a, tree.zone_b], this_month, "registry.residents") == [0, 1]


# --- the tree --------------------------------------------------------------------------


def test_a_grid_moved_to_a_village_of_another_town_moves_its_figures_up_the_new_branch(rolled, committed):
    tree = rolled
    with committed():
        f.incident(tree.grid_b, f.THEFT, f.at(2016, 5))
        f.dispute(tree.unit_b, f.at(2015, 11))
    with committed():
        grid_move(actor=None, grid=tree.grid_b, new_parent=tree.zone_c)

    assert last_run().families == sorted(m.BASE_FAMILIES)  # a move changes every figure above it
    for code in ("2016-05", "2016"):
        old, new = [tree.zone_b, tree.t1], [tree.zone_c, tree.t2]
        assert figures_of(old + new + [tree.city], code, "incidents.stat.theft") == [0, 0, 1, 1, 1]
    assert figures_of([tree.zone_b, tree.t1, tree.zone_c, tree.t2], "2015", "disputes.accepted") == [0, 0, 1, 1]
    assert differences(statistics_nodes(), periods("2015-11", "2015", "2016-05", "2016")) == []


def test_a_grid_merged_into_another_counts_under_it_and_its_ancestors(rolled, committed):
    tree = rolled
    with committed():
        f.incident(tree.grid_b, f.THEFT, f.at(2016, 5))
        f.incident(tree.unit_b, f.THEFT, f.at(2016, 5))
        f.incident(tree.grid_c, f.THEFT, f.at(2016, 5))
    with committed():
        grid_merge(actor=None, source=tree.grid_b, target=tree.grid_c)

    merged = figures_of([tree.grid_c, tree.zone_c, tree.t2, tree.zone_b, tree.t1, tree.city], "2016", "incidents.stat.theft")
    assert merged == [3, 3, 3, 0, 0, 3]
    # the retired grid keeps what was logged on it; its unit moved to grid C with its records
    assert figure(tree.grid_b, "2016", "incidents.stat.theft") == 1
    assert differences(statistics_nodes(), periods("2016-05", "2016Q2", "2016")) == []


def test_a_village_split_gives_its_grid_and_figures_to_the_new_village(rolled, committed):
    tree = rolled
    with committed():
        f.incident(tree.unit_a, f.THEFT, f.at(2016, 5))
        f.incident(tree.zone_a, f.THEFT, f.at(2016, 5))  # logged on the village itself: stays
    with committed():
        (east,) = grid_split(actor=None, grid=tree.zone_a, parts=[SplitPart(name="北京路东社区", children=[tree.grid_a.code])])

    assert figures_of([tree.zone_a, east, tree.grid_a, tree.t1, tree.city], "2016", "incidents.stat.theft") == [1, 1, 1, 2, 2]
    assert differences(statistics_nodes(), periods("2016-05", "2016")) == []


# --- the marks -------------------------------------------------------------------------


def test_a_save_rolled_back_leaves_no_marks_and_queues_nothing(rolled, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        f.incident(rolled.grid_a, f.THEFT, f.at(2016, 5))
        assert PendingMark.objects.exists()
        raise RuntimeError("the request failed")
    assert not PendingMark.objects.exists()
    assert callbacks == []


def test_no_marks_when_the_statistics_do_not_follow_saves(rolled, settings, django_capture_on_commit_callbacks):
    settings.KAILI_STATS_ON_SAVE = False
    with django_capture_on_commit_callbacks() as callbacks:
        f.incident(rolled.grid_a, f.THEFT, f.at(2016, 5))
        f.dispute(rolled.grid_a, f.at(2016, 5))
    assert not PendingMark.objects.exists()
    assert callbacks == []


def test_a_save_marks_the_months_it_leaves_and_enters_per_family(rolled):
    incident = f.incident(rolled.grid_a, f.THEFT, f.at(2016, 5))
    PendingMark.objects.all().delete()
    incident.occurred_at, incident.closed_at, incident.satisfaction = f.at(2016, 9), f.at(2016, 10, 1, hour=0), 3
    incident.save()
    marks = sorted(PendingMark.objects.values_list("family", "month"))
    assert marks == [(m.INCIDENTS, "2016-05"), (m.INCIDENTS, "2016-09"), (m.SATISFACTION, "2016-10")]


def test_the_pending_marks_are_drained_by_one_recorded_run(rolled, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:  # queued, not run
        f.incident(rolled.grid_a, f.THEFT, f.at(2016, 5))
        f.incident(rolled.grid_b, f.PUBLIC_ORDER, f.at(2016, 7))
        f.dispute(rolled.grid_c, f.at(2016, 7))
    assert len(callbacks) == 3
    marks = PendingMark.objects.count()
    assert marks == 3
    assert figure(rolled.city, "2016", "incidents.total") == 0  # not yet

    run = services.run_pending()
    assert not PendingMark.objects.exists()
    assert (run.kind, run.status) == (RollupRun.Kind.INCREMENTAL, RollupRun.Status.SUCCEEDED)
    assert run.families == [m.DISPUTES, m.INCIDENTS] and run.periods == ["2016-05", "2016-07"]
    assert run.detail["marks"] == marks and run.cells > 0 and run.rows > 0 and run.finished_at >= run.started_at
    assert run.detail["seconds"] > 0 and set(run.detail["phases"]) >= {"tree", "incidents", "disputes"}
    assert figure(rolled.city, "2016", "sum.criminal_public_order") == 2
    assert figure(rolled.city, "2016", "disputes.accepted") == 1
    assert services.run_pending() is None  # nothing left


@pytest.mark.django_db(transaction=True)
def test_a_failed_run_keeps_the_marks_for_the_next(tree):
    cache.set(QUEUED_KEY, 1)  # a run is queued already: the saves below only add marks
    f.incident(tree.grid_a, f.THEFT, f.at(2016, 5))
    marks = PendingMark.objects.count()
    assert marks > 0

    holding, release = threading.Event(), threading.Event()

    def hold_the_rollup_lock():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_rollup_lock)
    holder.start()
    try:
        assert holding.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        with pytest.raises(OperationalError):
            services.run_pending()
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    failed = RollupRun.objects.get()
    assert failed.status == RollupRun.Status.FAILED and "lock timeout" in failed.error
    assert PendingMark.objects.count() == marks

    run = services.run_pending()
    assert run.status == RollupRun.Status.SUCCEEDED and not PendingMark.objects.exists()
    assert figure(tree.city, "2016-05", "incidents.stat.theft") == 1


# --- manage.py rollup ------------------------------------------------------------------


def rollup_command(*args) -> str:
    out = StringIO()
    call_command("rollup", *args, stdout=out)
    return out.getvalue()


def test_the_command_drains_the_pending_marks(rolled):
    assert "没有待更新的统计" in rollup_command()
    f.incident(rolled.grid_a, f.THEFT, f.at(2016, 5))
    out = rollup_command()
    run = last_run()
    assert "增量更新完成" in out and f"写入 {run.rows:,} 行" in out and f"计算 {run.cells:,} 行" in out
    assert not PendingMark.objects.exists()
    assert figure(rolled.city, "2016-05", "incidents.stat.theft") == 1


def test_the_command_rebuilds_everything(rolled):
    f.incident(rolled.grid_a, f.THEFT, f.at(2016, 5))
    out = rollup_command("--full")
    run = RollupRun.objects.get(kind=RollupRun.Kind.FULL)
    assert "全量重算完成" in out and f"计算 {run.cells:,} 行" in out and run.cells == Statistic.objects.count()
    assert not PendingMark.objects.exists()  # covered by the rebuild
    assert figure(rolled.city, "2016", "incidents.stat.theft") == 1


def test_the_command_recomputes_the_months_since_a_day(rolled):
    incident = f.incident(rolled.grid_a, f.THEFT, f.at(2016, 5))
    f.incident(rolled.grid_b, f.THEFT, f.at(2015, 12))
    rollup_command()
    # a bulk change leaves no marks: --since puts the months from May 2016 right
    type(incident).objects.filter(pk=incident.pk).update(occurred_at=f.at(2016, 9))
    assert figure(rolled.city, "2016-05", "incidents.stat.theft") == 1

    out = rollup_command("--since", "2016-01-01")
    run = last_run()
    assert "增量更新完成" in out and run.periods == ["2016-01", Period.month_of(timezone.localdate()).code]
    assert [figure(rolled.city, code, "incidents.stat.theft") for code in ("2016-05", "2016-09", "2016")] == [0, 1, 1]
    assert differences(statistics_nodes(), periods("2015-12", "2015", "2016-05", "2016-09", "2016Q2", "2016Q3", "2016")) == []


def test_the_command_checks_a_sample(rolled):
    f.incident(rolled.grid_a, f.THEFT, f.at(2016, 5))
    rollup_command("--full")
    out = rollup_command("--check", "--sample", "20")
    run = RollupRun.objects.get(kind=RollupRun.Kind.CHECK)
    assert f"核对 {run.cells:,} 个数值，不一致 0 个。" in out and run.cells > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2016-13-01"], "--since 应为 YYYY-MM-DD 格式的日期：2016-13-01"),
        (["--since", "2016/01/01"], "--since 应为 YYYY-MM-DD 格式的日期"),
        (["--since", "2999-01-01"], "--since 不能晚于今天。"),
        (["--full", "--check"], "只能选一个"),
        (["--full", "--since", "2016-01-01"], "只能选一个"),
    ],
)
def test_the_command_refuses_bad_options(db, args, message):
    with pytest.raises(CommandError, match=message):
        rollup_command(*args)
    assert not RollupRun.objects.exists()

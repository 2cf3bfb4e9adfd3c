"""Benchmarks: the dashboard's statistics at a million incidents (issue 7, "Performance").

    make bench                       # runs this after bench/disputes.py
    .venv/bin/python bench/dashboard.py [--runs 3] [--page-runs 20] [--skip-10m] [--rebuild]
    .venv/bin/python bench/dashboard.py --drop-10m     # only take the ten-million copies out again

In a database of its own (``kaili_bench_dashboard``), with a million incidents, a hundred
thousand disputes and the Kaili registry:

0. the data: the demo tree and accounts, the registry at scale 1 (about 232 thousand
   households and 670 thousand residents, their programmes, enrollments and visits, as
   ``bench/populations.py`` loads it), about ``--incidents`` incidents of 2015-2017 as
   ``bench/cases.py`` loads them and about ``--disputes`` disputes as ``bench/disputes.py``
   does (the registry first, so that incidents and disputes link its people). What is there
   is kept (``--rebuild`` loads everything again); a registry of another size is replaced,
   the incidents' links to its people re-pointed at people of the same unit or grid.
1. the full rebuild, ``rollup(Marks.everything())``, beside the floor: for each table the
   roll-up reads, one ``GROUP BY`` over the same rows with the keys the roll-up needs (the
   record's node, the month of its date in Asia/Shanghai, the columns its metrics look at),
   counted in PostgreSQL (``SELECT count(*) FROM (... GROUP BY ...)``) with the roll-up's
   ``work_mem``; the floor is the sum over the tables. Median of ``--runs`` each after a
   warm-up (the warm-up rebuild runs under auto_explain: the plans of its slow statements
   are printed and kept);
2. the time from saving one incident (``cases.services.incident_report``, as the API does)
   to its count in the statistics of its grid and of the city, with a real Celery worker
   (``celery -A kaili worker -P solo``, Redis broker ``redis://127.0.0.1:6379/7``);
   ``--saves`` times, one after the other. Then what the worker does for one save, the
   incremental run for this month's incidents, in process: its phases, and the plans of
   its statements slower than 50 ms;
3. incident creation through the API on gunicorn (2 workers, ``--clients`` clients for
   ``--seconds``) with the roll-up on save (``KAILI_STATS_ON_SAVE=1``, the worker draining)
   and off (``KAILI_STATS_ON_SAVE=0``), alternated off, on, off, on... (``--rounds`` pairs),
   medians compared; and how long the worker needs after the load to catch up;
4. the dashboard as a city leader (verified TOTP), through the Django test client in
   process (server time, query count): the city's page for 2016 and a grid's for 2016-05,
   ``/api/stats/`` and ``/api/stats/children/``; a page or API not answering 200 yet is
   skipped (and said so), and the selectors behind them (``cards``, ``children``,
   ``trend``) are measured directly all the same. Then (unless ``--skip-10m``) the
   incidents grow to ten million: nine copies of the 2015-2017 incidents shifted by whole
   years (-21, -18, ... -3, +3, +6: 1994-2023, the same density every year; numbers
   ``<number>-x<k>``; transitions and people are not copied, the roll-up does not read
   them; foreign keys are not checked for the copies, valid by construction), VACUUM
   ANALYZE, the ten-million rebuild and floor (one run each), the incremental run and the
   same reads again. The copies are then taken out (``--keep-10m`` keeps them; a later
   run takes them out first; ``--drop-10m`` takes them out alone), the table compacted
   and the statistics rebuilt at one million.

Prints a table and writes everything to ``var/bench/dashboard.json``. The worker and
gunicorn are stopped at the end whatever happens; the incidents the benchmark reported are
removed again (and the statistics follow). Nothing is asserted.
"""

import argparse
import contextlib
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    BENCH_MARK,
    audited_load,
    measure,
    print_table,
    vacuum,
    vacuum_after_load,
    write_results,
)
from bench.run import setup_django  # noqa: E402

DATABASE = "kaili_bench_dashboard"
BROKER = "redis://127.0.0.1:6379/7"
OUTPUT = ROOT / "var" / "bench" / "dashboard.json"
CITY = "522601"
GRID = "522601001001001"  # the demo grid worker's grid: where the benchmark reports
LEADER = "leader_city"
WORK_MEM = "256MB"  # what rollup() sets for its transaction
SLOW_SECONDS = 1.0  # auto_explain threshold in the warm-up rebuild
LONG_ARRAY = re.compile(r"'\{[^}]{60,}\}'")

# The ten-million copies: year shifts (whole years, so months and seasons stay), each copy
# numbered <number>-x<k>. Periods start at 1990 (dashboard.periods.FIRST_YEAR).
COPY_SHIFTS = (-21, -18, -15, -12, -9, -6, -3, 3, 6)
COPY_PATTERN = "%-x_"
DEMO_YEARS = ("2015-01-01", "2018-01-01")  # local dates

ROLLUP_TABLES = (
    "cases_incident", "disputes_dispute", "populations_enrollment", "populations_visit",
    "populations_household", "populations_person",
)  # fmt: skip

# One GROUP BY per table the roll-up reads, over the same rows, with the keys its metrics
# need: the record's node, the month of its date, the columns the metrics look at.
FLOOR = {
    "cases_incident": """
        SELECT grid_id, date_trunc('month', occurred_at AT TIME ZONE %(tz)s), category_id, cleared, late, count(*)
        FROM cases_incident WHERE status <> 'cancelled' GROUP BY 1, 2, 3, 4, 5
    """,
    "disputes_dispute": """
        SELECT grid_id, date_trunc('month', registered_at AT TIME ZONE %(tz)s), status, passed_upward, late, count(*)
        FROM disputes_dispute GROUP BY 1, 2, 3, 4, 5
    """,
    "populations_enrollment": """
        SELECT p.unit_id, e.programme, e.status, date_trunc('month', e.started_on), count(*)
        FROM populations_enrollment e JOIN populations_person p ON p.id = e.person_id GROUP BY 1, 2, 3, 4
    """,
    "populations_visit": """
        SELECT p.unit_id, e.programme, date_trunc('month', v.due_on), v.visited_on <= v.due_on, count(*)
        FROM populations_visit v JOIN populations_enrollment e ON e.id = v.enrollment_id
        JOIN populations_person p ON p.id = e.person_id GROUP BY 1, 2, 3, 4
    """,
    "populations_household": """
        SELECT unit_id, date_trunc('month', created_at AT TIME ZONE %(tz)s), count(*) FROM populations_household GROUP BY 1, 2
    """,
    "populations_person": """
        SELECT unit_id, date_trunc('month', created_at AT TIME ZONE %(tz)s), count(*) FROM populations_person GROUP BY 1, 2
    """,
}


def say(text: str = "") -> None:
    print(text, flush=True)


def sql(statement: str, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def median_of(values):
    return round(statistics.median(values), 3) if values else None


# --- 0. the data -------------------------------------------------------------------------


def registry_tables():
    from populations.models import DETAIL_MODELS, Enrollment, Facility, Household, Person, Placement, Visit

    # children first; persons and households point at each other (deferred keys, one transaction)
    models = [*DETAIL_MODELS.values(), Placement, Visit, Enrollment.team.through, Enrollment, Person, Household, Facility]
    return [model._meta.db_table for model in models]


def replace_registry(seed: int) -> dict:
    """The registry at scale 1 in place of whatever is there. Incidents and dispute parties
    keep their rows: their links are let go first (the name kept), and afterwards each
    incident's person is re-pointed at a person of the new registry in the same unit or grid."""
    from django.db import transaction

    from populations.demo import seed_populations

    with transaction.atomic():
        sql("DROP TABLE IF EXISTS bench_dashboard_relink")
        sql(
            """
            CREATE TABLE bench_dashboard_relink AS
            SELECT ip.id, i.grid_id, p.name FROM cases_incidentperson ip
            JOIN cases_incident i ON i.id = ip.incident_id JOIN populations_person p ON p.id = ip.person_id
            """
        )
        sql("UPDATE cases_incidentperson ip SET person_id = NULL, name = r.name FROM bench_dashboard_relink r WHERE ip.id = r.id")
        sql("UPDATE disputes_disputeparty SET person_id = NULL WHERE person_id IS NOT NULL")
        for table in registry_tables():
            sql(f"DELETE FROM {table}")
    say("generating the registry at scale 1 ...")
    result = seed_populations(seed=seed, scale=1.0)
    with transaction.atomic():
        sql("SELECT setseed(0.2016)")
        relinked = sql(
            """
            WITH grid_people AS (
                SELECT unit_id AS grid_id, array_agg(id ORDER BY id) AS ids FROM populations_person GROUP BY 1
                UNION ALL
                SELECT u.parent_id, array_agg(p.id ORDER BY p.id)
                FROM populations_person p JOIN grids_grid u ON u.id = p.unit_id GROUP BY 1
            )
            UPDATE cases_incidentperson ip
            SET person_id = g.ids[1 + floor(random() * cardinality(g.ids))::int], name = ''
            FROM bench_dashboard_relink r JOIN grid_people g ON g.grid_id = r.grid_id
            WHERE ip.id = r.id
            """
        )
        sql("DROP TABLE bench_dashboard_relink")
    vacuum_after_load(["cases_incidentperson", *registry_tables()])
    say(f"  re-linked {relinked:,} incident people to the new registry")
    return {
        "households": result.households_created,
        "people": result.people_created,
        "enrollments": result.enrollments_created,
        "visits": result.visits_created,
        "seconds": round(result.seconds, 1),
        "relinked_incident_people": relinked,
        "this_run": True,
    }


def prepare_registry(args) -> dict:
    from populations.demo import planned_households
    from populations.models import Enrollment, Household, Person, Visit

    planned = planned_households(1.0)
    present = Household.objects.count()
    if present != planned:
        say(f"registry: {present:,} households, {planned:,} at scale 1: loading the Kaili registry")
        load = replace_registry(args.seed)
    else:
        load = audited_load("populations.person", ("households", "people", "enrollments", "visits", "seconds"))
        load["this_run"] = False
        say(f"registry already loaded at scale 1; the load took {load['seconds']} s")
    load.update(
        total_households=Household.objects.count(),
        total_people=Person.objects.count(),
        total_enrollments=Enrollment.objects.count(),
        total_visits=Visit.objects.count(),
    )
    say(
        f"  {load['total_households']:,} households, {load['total_people']:,} people, "
        f"{load['total_enrollments']:,} enrollments, {load['total_visits']:,} visits"
    )
    return load


def prepare(args) -> dict:
    """Registry, incidents, disputes (each kept when it is all there)."""
    from bench import cases as cases_bench
    from bench import disputes as disputes_bench
    from cases.seeding import seed_case_tables
    from grids.demo import seed_demo_tree
    from kaili.demo import seed_demo_users
    from kaili.roles import sync_roles

    if copies_present():
        drop_copies()
    if args.rebuild:
        say("--rebuild: dropping incidents, disputes and the registry")
        cases_bench.wipe_incidents()
        disputes_bench.wipe_disputes()
        sql(f"TRUNCATE {', '.join(registry_tables())} RESTART IDENTITY CASCADE")
    # what seed_demo_base loads, but the registry at scale 1 before its small one
    sync_roles()
    seed_case_tables()
    seed_demo_tree(seed=args.seed)
    seed_demo_users(seed=args.seed)
    registry = prepare_registry(args)
    loads = SimpleNamespace(seed=args.seed, rebuild=False)  # what --rebuild asked for is wiped above
    incidents = cases_bench.prepare(SimpleNamespace(**vars(loads), incidents=args.incidents))
    disputes = disputes_bench.prepare(SimpleNamespace(**vars(loads), disputes=args.disputes))
    numbers = sql(
        "SELECT (SELECT count(*) - count(DISTINCT number) FROM cases_incident) + "
        "(SELECT count(*) - count(DISTINCT number) FROM disputes_dispute)"
    )[0][0]
    say(f"  duplicate record numbers: {numbers}")
    vacuum(ROLLUP_TABLES)
    return {"registry": registry, "incidents": incidents, "disputes": disputes, "duplicate_numbers": numbers}


# --- 1. full rebuild vs the floor ----------------------------------------------------------


def table_rows() -> dict:
    return {table: sql(f"SELECT count(*) FROM {table}")[0][0] for table in ROLLUP_TABLES}


def floor_once(table: str) -> tuple[float, int]:
    """Seconds for the table's GROUP BY, and the groups it made."""
    from django.conf import settings
    from django.db import transaction

    with transaction.atomic():
        sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
        started = time.perf_counter()
        groups = sql(f"SELECT count(*) FROM ({FLOOR[table]}) g", {"tz": settings.TIME_ZONE})[0][0]
        return time.perf_counter() - started, groups


def floor_plan(table: str) -> str:
    from django.conf import settings
    from django.db import transaction

    from bench.common import EXPLAIN

    with transaction.atomic():
        sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
        rows = sql(EXPLAIN + FLOOR[table], {"tz": settings.TIME_ZONE})
    return "\n".join(row[0] for row in rows)


def measure_floor(runs: int) -> dict:
    tables = {}
    for table in FLOOR:
        floor_once(table)  # warm-up
        samples, groups = [], 0
        for _ in range(runs):
            seconds, groups = floor_once(table)
            samples.append(seconds)
        tables[table] = {
            "median": median_of(samples),
            "min": round(min(samples), 3),
            "max": round(max(samples), 3),
            "groups": groups,
        }
        say(f"  floor {table:<24} median {tables[table]['median']:7.3f} s  ({groups:,} groups)")
    return {"seconds": round(sum(t["median"] for t in tables.values()), 3), "tables": tables}


class SlowPlans:
    """auto_explain for this session: statements slower than ``seconds`` come back as
    notices with their plans (EXPLAIN ANALYZE), kept here."""

    def __init__(self, seconds: float = SLOW_SECONDS):
        self.seconds = seconds
        self.plans: list[str] = []

    def __enter__(self):
        from django.db import connection

        connection.ensure_connection()
        self.raw = connection.connection
        self.raw.add_notice_handler(self.notice)
        for setting in (
            "LOAD 'auto_explain'",
            f"SET auto_explain.log_min_duration = '{int(self.seconds * 1000)}ms'",
            "SET auto_explain.log_analyze = on",
            "SET auto_explain.log_buffers = on",
            "SET auto_explain.log_level = notice",
        ):
            sql(setting)
        return self

    def notice(self, diagnostic):
        message = diagnostic.message_primary or ""
        if "plan:" in message:
            # the lookup arrays (a node for each of the tree's ids) would fill pages
            self.plans.append(LONG_ARRAY.sub("'{…}'", message))

    def __exit__(self, *exc):
        sql("SET auto_explain.log_min_duration = -1")
        self.raw.remove_notice_handler(self.notice)
        return False


def explained_rebuild() -> tuple[object, list[str]]:
    from dashboard.rollup import Marks, rollup

    try:
        with SlowPlans() as slow:
            result = rollup(Marks.everything())
        return result, slow.plans
    except Exception as error:  # auto_explain missing: a plain warm-up
        say(f"  (auto_explain not available: {error})")
        return rollup(Marks.everything()), []


def statistic_size() -> dict:
    rows, size = sql("SELECT count(*), pg_total_relation_size('dashboard_statistic') FROM dashboard_statistic")[0]
    return {"rows": rows, "megabytes": round(size / 2**20, 1)}


def measure_rebuild(runs: int, label: str) -> dict:
    """The floor, then the rebuild: a warm-up under auto_explain and ``runs`` timed."""
    from dashboard.rollup import Marks, rollup

    say(f"\n== full rebuild vs the floor ({label}) ==")
    rows = table_rows()
    say("  rows read: " + ", ".join(f"{table} {n:,}" for table, n in rows.items()))
    floor = measure_floor(runs)
    say(f"  floor (sum of the medians): {floor['seconds']:.3f} s")
    for table in ("cases_incident",):
        floor.setdefault("plans", {})[table] = floor_plan(table)
        say(f"\n  plan of the floor's {table} GROUP BY:\n{floor['plans'][table]}\n")
    warm, plans = explained_rebuild()
    say(f"  warm-up rebuild (auto_explain on): {warm.seconds:.3f} s, phases {warm.phases}")
    for plan in plans:
        say(f"\n  slow statement of the rebuild (> {SLOW_SECONDS:g} s):\n{plan}\n")
    results = []
    for i in range(runs):
        result = rollup(Marks.everything())
        results.append(result)
        say(f"  rebuild {i + 1}/{runs}: {result.seconds:.3f} s, {result.cells:,} rows, phases {result.phases}")
    middle = sorted(results, key=lambda r: r.seconds)[len(results) // 2]
    seconds = median_of([r.seconds for r in results])
    ratio = round(seconds / floor["seconds"], 2) if floor["seconds"] else None
    say(f"  rebuild median {seconds:.3f} s vs floor {floor['seconds']:.3f} s: {ratio}x (target <= 3x)")
    return {
        "rows_read": rows,
        "floor": floor,
        "rebuild": {
            "median": seconds,
            "min": round(min(r.seconds for r in results), 3),
            "max": round(max(r.seconds for r in results), 3),
            "runs": [r.seconds for r in results],
            "rows_written": middle.cells,
            "phases_of_median_run": middle.phases,
            "warm_up_seconds": warm.seconds,
            "slow_statement_plans": plans,
        },
        "ratio": ratio,
        "statistic_table": statistic_size(),
    }


def single_rebuild(label: str) -> dict:
    """One floor pass and one rebuild (the ten-million figures take long enough)."""
    from dashboard.rollup import Marks, rollup

    say(f"\n== full rebuild vs the floor ({label}, one run each) ==")
    rows = table_rows()
    say("  rows read: " + ", ".join(f"{table} {n:,}" for table, n in rows.items()))
    tables = {}
    for table in FLOOR:
        seconds, groups = floor_once(table)
        tables[table] = {"median": round(seconds, 3), "groups": groups}
        say(f"  floor {table:<24} {seconds:7.3f} s  ({groups:,} groups)")
    floor = round(sum(t["median"] for t in tables.values()), 3)
    plan = floor_plan("cases_incident")
    say(f"\n  plan of the floor's cases_incident GROUP BY:\n{plan}\n")
    result = rollup(Marks.everything())
    ratio = round(result.seconds / floor, 2) if floor else None
    say(f"  rebuild {result.seconds:.3f} s vs floor {floor:.3f} s: {ratio}x; {result.cells:,} rows; phases {result.phases}")
    return {
        "rows_read": rows,
        "floor": {"seconds": floor, "tables": tables, "plans": {"cases_incident": plan}},
        "rebuild": {"seconds": result.seconds, "rows_written": result.cells, "phases": result.phases},
        "ratio": ratio,
        "statistic_table": statistic_size(),
    }


# --- the worker ------------------------------------------------------------------------------


class Worker:
    """A real Celery worker on the bench database and the Redis broker, stopped on exit."""

    def __init__(self, name: str):
        self.log_path = ROOT / "var" / "bench" / f"celery-{name}.log"
        self.process = None

    def __enter__(self):
        from django.core.cache import cache

        from dashboard.marks import QUEUED_KEY
        from kaili.celery import app

        purged = app.control.purge()  # tasks left by earlier runs or loads
        cache.delete(QUEUED_KEY)
        env = {**os.environ, "CELERY_BROKER_URL": BROKER, "DJANGO_SETTINGS_MODULE": "kaili.settings", "DJANGO_DEBUG": "0"}
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "celery"), "-A", "kaili", "worker", "-P", "solo", "-c", "1", "-l", "warning"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self.wait_ready(app)
        except BaseException:
            self.__exit__()
            raise
        say(f"  Celery worker {self.process.pid} ready (purged {purged} old tasks)")
        return self

    def wait_ready(self, app) -> None:
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {self.process.returncode}; see {self.log_path}")
            if app.control.ping(timeout=1.0):
                return
        raise RuntimeError("the Celery worker did not answer within 90 s")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        say(f"  Celery worker stopped (log: {self.log_path.relative_to(ROOT)})")
        return False


def wait_drained(timeout: float = 300) -> float | None:
    """Seconds until no mark is pending and no incremental run is running (None: timeout)."""
    from dashboard.models import PendingMark, RollupRun

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        running = RollupRun.objects.filter(kind=RollupRun.Kind.INCREMENTAL, status=RollupRun.Status.RUNNING).exists()
        if not running and not PendingMark.objects.exists():
            return round(time.perf_counter() - started, 3)
        time.sleep(0.05)
    return None


def forget_reports() -> int:
    """Delete the incidents the benchmark reported (their marks go to the running worker)."""
    from bench.cases import forget_bench_reports
    from cases.models import Incident

    removed = Incident.objects.filter(description__contains=BENCH_MARK).count()
    forget_bench_reports()
    drained = wait_drained()
    say(f"  removed the {removed:,} incidents the benchmark reported; statistics caught up in {drained} s")
    return removed


def incremental_runs(since: datetime.datetime) -> dict:
    from dashboard.models import RollupRun

    runs = list(RollupRun.objects.filter(kind=RollupRun.Kind.INCREMENTAL, started_at__gte=since))
    seconds = [run.seconds for run in runs if run.seconds is not None]  # started to finished, as recorded
    return {
        "runs": len(runs),
        "failed": sum(run.status == RollupRun.Status.FAILED for run in runs),
        "marks": sum(run.detail.get("marks", 0) for run in runs),
        "median_seconds": median_of(seconds),
        "max_seconds": round(max(seconds), 3) if seconds else None,
        "total_seconds": round(sum(seconds), 3),
    }


# --- 2. save -> statistics -----------------------------------------------------------------


def incremental_profile(runs: int, label: str) -> dict:
    """What the worker does for a save: the incremental run for this month's incidents, in
    process (median of ``runs`` and its phases), then once more under auto_explain for the
    plans of its statements slower than 50 ms."""
    from django.utils import timezone

    from dashboard import metrics as m
    from dashboard.periods import Period
    from dashboard.rollup import Marks, rollup

    marks = Marks()
    marks.add(m.INCIDENTS, [Period.month_of(timezone.localdate()).code])
    rollup(marks)  # warm-up
    results = sorted((rollup(marks) for _ in range(runs)), key=lambda result: result.seconds)
    middle = results[len(results) // 2]
    with SlowPlans(0.05) as slow:
        rollup(marks)
    say(f"  [{label}] incremental run, this month's incidents, in process: median {middle.seconds:.3f} s, phases {middle.phases}")
    for plan in slow.plans:
        say(f"\n  [{label}] slow statement of the incremental run (> 50 ms, auto_explain on):\n{plan}\n")
    return {
        "median": middle.seconds,
        "min": results[0].seconds,
        "max": results[-1].seconds,
        "phases_of_median_run": middle.phases,
        "slow_statement_plans": slow.plans,
    }


def statistic_total(node_id: int, period: str, index: int) -> float:
    from dashboard.models import Statistic

    figures = (
        Statistic.objects.filter(node_id=node_id, period=period, family="incidents").values_list("figures", flat=True).first()
    )
    return figures[index] if figures else 0


def save_latency(args) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from cases.models import Category
    from cases.services import incident_report
    from dashboard import metrics as m
    from dashboard.models import StatisticLayout
    from dashboard.periods import Period
    from grids.models import Grid
    from kaili.models import User

    say("\n== save -> statistics, with a Celery worker ==")
    worker = User.objects.get(username="gridworker")
    grid, city = Grid.objects.get(code=GRID), Grid.objects.get(code=CITY)
    category = Category.objects.get(code="1201")
    since = timezone.now()
    samples, commits = [], []
    with Worker("latency"):
        wait_drained()
        for i in range(args.saves):
            month = Period.month_of(timezone.localdate()).code
            index = StatisticLayout.objects.get(family=m.INCIDENTS).keys.index("incidents.total")
            before = {node.pk: statistic_total(node.pk, month, index) for node in (grid, city)}
            started = time.perf_counter()
            with transaction.atomic():
                incident_report(
                    actor=worker,
                    category=category,
                    grid=grid,
                    description=f"路灯不亮，夜间行人看不清路面{BENCH_MARK} 统计时延 {i}）。",
                    occurred_at=timezone.now() - datetime.timedelta(minutes=1),
                    place="北京路社区第1网格菜市场门口",
                )
            committed = time.perf_counter() - started
            seen = None
            while time.perf_counter() - started < 60:
                if all(statistic_total(pk, month, index) >= value + 1 for pk, value in before.items()):
                    seen = time.perf_counter() - started
                    break
                time.sleep(0.02)
            commits.append(committed)
            samples.append(seen)
            say(
                f"  save {i + 1}/{args.saves}: committed in {committed * 1000:.0f} ms, in the statistics after "
                + (f"{seen:.3f} s" if seen else "more than 60 s")
            )
            time.sleep(0.5)
        runs = incremental_runs(since)
        forget_reports()
    profile = incremental_profile(args.runs, "1M")
    seen = [s for s in samples if s is not None]
    result = {
        "saves": args.saves,
        "median_seconds": median_of(seen),
        "max_seconds": round(max(seen), 3) if seen else None,
        "min_seconds": round(min(seen), 3) if seen else None,
        "timed_out": len(samples) - len(seen),
        "samples": [None if s is None else round(s, 3) for s in samples],
        "commit_median_ms": round(statistics.median(commits) * 1000, 1),
        "incremental_runs": runs,
        "incremental_in_process": profile,
    }
    say(f"  median {result['median_seconds']} s, max {result['max_seconds']} s (target < 5 s); worker runs: {runs}")
    return result


# --- 3. throughput with the roll-up on save on and off -------------------------------------


def start_gunicorn(port: int, stats_on_save: bool):
    """bench/cases.py's gunicorn, on the Redis broker, with the roll-up on save on or off."""
    from bench import cases

    env = {"CELERY_BROKER_URL": BROKER, "KAILI_STATS_ON_SAVE": "1" if stats_on_save else "0"}
    return cases.start_gunicorn(port, env=env, log_name="gunicorn-dashboard.log")


def throughput(args) -> dict:
    from django.utils import timezone

    from bench.cases import free_port, load, stop_gunicorn, token

    say("\n== incident creation throughput, roll-up on save on / off ==")
    (ROOT / "var" / "bench" / "gunicorn-dashboard.log").write_text("")
    order = [False, True] * args.rounds
    rounds = []
    with Worker("throughput"):
        for stats_on in order:
            mode = "on" if stats_on else "off"
            port = free_port()
            process = start_gunicorn(port, stats_on)
            try:
                key = token(port)
                load(port, key, {"report": 2}, 2)  # warm both workers up
                wait_drained()
                since = timezone.now()
                figures = load(port, key, {"report": args.clients}, args.seconds)["report"]
                figures["catch_up_seconds"] = wait_drained() if stats_on else None
            finally:
                stop_gunicorn(process)
            figures["incremental_runs"] = incremental_runs(since) if stats_on else None
            rounds.append({"roll_up_on_save": mode, **figures})
            say(
                f"  roll-up on save {mode:<3}: {figures['requests_per_second']:7.1f} req/s  "
                f"median {figures['median_ms']:6.1f} ms  p95 {figures['p95_ms']:6.1f} ms  errors {figures['errors']}"
                + (
                    f"  worker: {figures['incremental_runs']}, caught up {figures['catch_up_seconds']} s after"
                    if stats_on
                    else ""
                )
            )
        forget_reports()
    on = median_of([r["requests_per_second"] for r in rounds if r["roll_up_on_save"] == "on"])
    off = median_of([r["requests_per_second"] for r in rounds if r["roll_up_on_save"] == "off"])
    ratio = round(on / off, 3) if off else None
    say(f"  median on {on} req/s, off {off} req/s: {ratio:.1%} of the throughput without it (target >= 90%)")
    return {
        "clients": args.clients,
        "seconds": args.seconds,
        "workers": 2,
        "on": on,
        "off": off,
        "ratio": ratio,
        "rounds": rounds,
    }


# --- 4. the dashboard's reads ----------------------------------------------------------------


def verified_client(user):
    """A test client signed in as ``user`` who has passed TOTP (leaders must)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = user.totpdevice_set.filter(confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="bench", confirmed=True
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def reads(args, label: str) -> list[dict]:
    from dashboard import metrics as m
    from dashboard import selectors
    from dashboard.periods import Period
    from grids.models import Grid
    from kaili.models import User

    say(f"\n== the dashboard at {label} ==")
    leader = User.objects.get(username=LEADER)
    client = verified_client(leader)
    plan = [
        ("city page", f"/dashboard/?node={CITY}&period=2016"),
        ("grid page", f"/dashboard/?node={GRID}&period=2016-05"),
        ("city stats API", f"/api/stats/?node={CITY}&period=2016"),
        ("city children API", f"/api/stats/children/?node={CITY}&period=2016"),
    ]
    rows = []
    for name, path in plan:
        row_label = f"[{label}] {name}: GET {path}"
        status = client.get(path).status_code
        if status != 200:
            say(f"{row_label:<66} skipped: answers {status} (not written yet?)")
            rows.append({"label": row_label, "skipped": f"answers {status}"})
            continue

        def run(path=path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        rows.append(measure(row_label, run, args.page_runs))

    def selector_reads(code: str, period_code: str, what: str):
        """What a page or API answer reads: the node (scoped), the layouts, then ``what``."""

        def run():
            node = Grid.objects.get(code=code)
            assert selectors.can_view(leader, node)
            period = Period.parse(period_code)
            layout = selectors.layouts()
            if what in ("cards", "page"):
                selectors.cards(node, period, layout=layout)
            if what in ("children", "page"):
                selectors.children(node, period, layout=layout)
            if what in ("trend", "page"):
                selectors.trend(node, period, m.HEADLINE, layout=layout)
            if what == "page":
                selectors.breadcrumb(leader, node)
                selectors.data_as_of()

        return run

    for code, period_code, place in ((CITY, "2016", "city"), (GRID, "2016-05", "grid")):
        for what in ("cards", "children", "trend", "page"):
            text = "cards+children+trend+breadcrumb+as-of" if what == "page" else what
            rows.append(
                measure(
                    f"[{label}] selectors, {place} {period_code}: {text}", selector_reads(code, period_code, what), args.page_runs
                )
            )
    return rows


# --- ten million -----------------------------------------------------------------------------


def copies_present() -> int:
    return sql("SELECT count(*) FROM cases_incident WHERE number LIKE %s", [COPY_PATTERN])[0][0]


@contextlib.contextmanager
def unchecked_keys():
    """One transaction without foreign-key checks (``session_replication_role = replica``;
    cases_incident has no other triggers): a copy points where its original does and
    nothing points at a copy, so checking 10-50 million references proves nothing."""
    from django.db import transaction

    with transaction.atomic():
        sql("SET LOCAL session_replication_role = replica")
        yield


def free_bytes() -> int:
    data = sql("SHOW data_directory")[0][0]
    try:
        return shutil.disk_usage(data).free
    except OSError:
        return shutil.disk_usage(ROOT).free


def grow(args) -> dict | None:
    """Nine shifted copies of the 2015-2017 incidents, one batch per copy (resumable)."""
    from django.conf import settings

    say("\n== growing to ten million incidents ==")
    say(subprocess.run(["df", "-h", "/work"], capture_output=True, text=True).stdout.rstrip())
    size = sql("SELECT pg_total_relation_size('cases_incident')")[0][0]
    need = size * len(COPY_SHIFTS) * 1.3
    free = free_bytes()
    say(f"  cases_incident takes {size / 2**30:.2f} GB; nine copies need about {need / 2**30:.1f} GB, {free / 2**30:.1f} GB free")
    if free < need + 5 * 2**30:
        say("  not enough disk space: ten million skipped")
        return None
    columns = [
        (name, kind)
        for name, kind in sql(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'cases_incident' AND column_name <> 'id' ORDER BY ordinal_position"
        )
    ]

    def shifted(name: str, kind: str) -> str:
        if name == "number":
            return "number || '-x' || %(k)s"
        if name == "client_key":
            return "NULL"  # unique per reporter
        if kind == "timestamp with time zone":
            return f"{name} + make_interval(years => %(years)s)"
        if kind == "date":
            return f"({name} + make_interval(years => %(years)s))::date"
        return name

    names = ", ".join(name for name, _kind in columns)
    values = ", ".join(shifted(name, kind) for name, kind in columns)
    started = time.perf_counter()
    batches = []
    for k, years in enumerate(COPY_SHIFTS, 1):
        if sql("SELECT EXISTS (SELECT 1 FROM cases_incident WHERE number LIKE %s)", [f"%-x{k}"])[0][0]:
            say(f"  copy {k} ({years:+d} years) already there")
            continue
        batch_started = time.perf_counter()
        with unchecked_keys():
            inserted = sql(
                f"""
                INSERT INTO cases_incident ({names})
                SELECT {values} FROM cases_incident
                WHERE occurred_at >= %(start)s AND occurred_at < %(end)s AND number NOT LIKE %(copy)s
                  AND description NOT LIKE %(mark)s
                """,
                {"k": str(k), "years": years, "start": local_span()[0], "end": local_span()[1], "copy": COPY_PATTERN,
                 "mark": f"%{BENCH_MARK}%"},
            )  # fmt: skip
        seconds = time.perf_counter() - batch_started
        batches.append({"copy": k, "years": years, "rows": inserted, "seconds": round(seconds, 1)})
        say(f"  copy {k} ({years:+d} years): {inserted:,} incidents in {seconds:.1f} s")
    vacuum_started = time.perf_counter()
    vacuum(["cases_incident"])
    total = sql("SELECT count(*) FROM cases_incident")[0][0]
    result = {
        "incidents": total,
        "batches": batches,
        "insert_seconds": round(vacuum_started - started, 1),
        "vacuum_seconds": round(time.perf_counter() - vacuum_started, 1),
        "table_gigabytes": round(sql("SELECT pg_total_relation_size('cases_incident')")[0][0] / 2**30, 2),
        "time_zone": settings.TIME_ZONE,
    }
    say(
        f"  {total:,} incidents; inserted in {result['insert_seconds']} s, VACUUM ANALYZE {result['vacuum_seconds']} s; "
        f"the table now takes {result['table_gigabytes']} GB"
    )
    return result


def local_span() -> tuple[datetime.datetime, datetime.datetime]:
    from django.utils import timezone

    tz = timezone.get_current_timezone()
    return tuple(datetime.datetime.fromisoformat(day).replace(tzinfo=tz) for day in DEMO_YEARS)


def drop_copies(rebuild: bool = True) -> dict:
    """Take the copies out, compact the table and rebuild the statistics at one million."""
    from dashboard.rollup import Marks, rollup

    started = time.perf_counter()
    with unchecked_keys():
        deleted = sql("DELETE FROM cases_incident WHERE number LIKE %s", [COPY_PATTERN])
    say(f"  deleted {deleted:,} copied incidents in {time.perf_counter() - started:.1f} s; compacting the table ...")
    sql("VACUUM FULL cases_incident")
    vacuum(["cases_incident"])
    result = {"deleted": deleted, "seconds": round(time.perf_counter() - started, 1)}
    if rebuild:
        result["rebuild_seconds"] = rollup(Marks.everything()).seconds
    say(f"  back to {sql('SELECT count(*) FROM cases_incident')[0][0]:,} incidents in {time.perf_counter() - started:.1f} s")
    return result


# --- output ----------------------------------------------------------------------------------


def summary(results: dict) -> None:
    say("\n| figure | value | target |\n|---|---:|---|")
    for label, part in (("1M", results.get("rebuild")), ("10M", results.get("rebuild_10m"))):
        if not part:
            continue
        rebuild = part["rebuild"].get("median", part["rebuild"].get("seconds"))
        say(f"| full rebuild, {label} incidents (s) | {rebuild:.2f} | |")
        say(f"| floor: one GROUP BY per table, {label} (s) | {part['floor']['seconds']:.2f} | |")
        say(f"| rebuild / floor, {label} | {part['ratio']}x | <= 3x |")
        say(f"| statistics rows, {label} | {part['statistic_table']['rows']:,} | |")
    latency = results.get("latency")
    if latency:
        say(f"| save -> statistics, median / max (s) | {latency['median_seconds']} / {latency['max_seconds']} | < 5 s |")
    served = results.get("throughput")
    if served:
        say(f"| POST /api/incidents/, roll-up on save off (req/s) | {served['off']} | |")
        say(f"| POST /api/incidents/, roll-up on save on (req/s) | {served['on']} | |")
        say(f"| on / off | {served['ratio']:.1%} | >= 90% |")
    rows = [row for label in ("1M", "10M") for row in results.get("reads", {}).get(label, [])]
    if rows:
        print_table(rows)
    reads = results.get("reads", {})
    if "1M" in reads and "10M" in reads:
        say("\n| read | 1M median ms | 10M median ms | 1M queries | 10M queries |\n|---|---:|---:|---:|---:|")
        ten = {row["label"].removeprefix("[10M] "): row for row in reads["10M"]}
        for row in reads["1M"]:
            name = row["label"].removeprefix("[1M] ")
            other = ten.get(name, {})
            if "skipped" in row or "skipped" in other or not other:
                say(f"| {name} | skipped | | | |")
                continue
            say(f"| {name} | {row['median']:.1f} | {other['median']:.1f} | {row['queries']} | {other['queries']} |")


def load_average() -> list[float]:
    """The machine's load (other processes share it: the figures are only as quiet as it)."""
    return [round(value, 2) for value in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed full rebuilds and floor passes (default 3)")
    parser.add_argument("--page-runs", type=int, default=20, help="runs per page, API and selector read (default 20)")
    parser.add_argument("--saves", type=int, default=10, help="incidents saved one by one for the latency (default 10)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients on gunicorn (default 8)")
    parser.add_argument("--seconds", type=float, default=15, help="seconds per throughput round (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs of throughput rounds (default 2)")
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--disputes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--rebuild", action="store_true", help="load the registry, incidents and disputes again")
    parser.add_argument("--skip-10m", action="store_true", help="no ten-million step")
    parser.add_argument("--keep-10m", action="store_true", help="leave the ten-million copies in place at the end")
    parser.add_argument("--drop-10m", action="store_true", help="only take the ten-million copies out again, then stop")
    parser.add_argument(
        "--steps",
        default="rebuild,latency,throughput,reads",
        help="which of rebuild,latency,throughput,reads to run (default all; the data is always prepared)",
    )
    args = parser.parse_args()
    steps = {step.strip() for step in args.steps.split(",") if step.strip()}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    os.environ["CELERY_BROKER_URL"] = BROKER  # before Django reads its settings: saves queue on Redis
    setup_django(DATABASE)

    from django.conf import settings

    settings.DEBUG = False
    if args.drop_10m:
        present = copies_present()
        say(f"{present:,} copied incidents present")
        if present:
            drop_copies()
        return

    results: dict = {"database": DATABASE, "broker": BROKER, "args": vars(args)}
    started = time.perf_counter()
    results["load"] = prepare(args)
    results["cpus"] = os.cpu_count()
    results["load_average"] = {"start": load_average()}
    if "rebuild" in steps:
        results["rebuild"] = measure_rebuild(args.runs, "1M incidents")
        results["load_average"]["after rebuild"] = load_average()
    if "latency" in steps:
        results["latency"] = save_latency(args)
        results["load_average"]["after latency"] = load_average()
    if "throughput" in steps:
        results["throughput"] = throughput(args)
        results["load_average"]["after throughput"] = load_average()
    if "reads" in steps:
        results["reads"] = {"1M": reads(args, "1M")}
        results["load_average"]["after reads 1M"] = load_average()
        if not args.skip_10m:
            grown = grow(args)
            if grown:
                results["grow_10m"] = grown
                try:
                    results["rebuild_10m"] = single_rebuild("10M incidents")
                    results["incremental_10m"] = incremental_profile(args.runs, "10M")
                    results["reads"]["10M"] = reads(args, "10M")
                    results["load_average"]["after reads 10M"] = load_average()
                finally:
                    if not args.keep_10m:
                        say("\n== back to one million ==")
                        results["drop_10m"] = drop_copies()
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average"]["end"] = load_average()
    say(f"\nload average (1, 5, 15 min) on {os.cpu_count()} CPUs: {results['load_average']}")
    summary(results)
    write_results(OUTPUT, ROOT, **results)


if __name__ == "__main__":
    main()

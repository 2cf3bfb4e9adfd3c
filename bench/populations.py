"""Benchmarks: the resident registry and the six programmes at Kaili scale.

    make bench                       # runs this after bench/grid_tree.py
    .venv/bin/python bench/populations.py [--scale 1] [--runs 20] [--fresh]

In a database of its own (``kaili_bench_populations``): loads the demo grid tree, then the
demo registry at ``--scale`` (1 = ~232 thousand households, ~670 thousand people; reused
when it is already there at that scale, ``--fresh`` to time the load again), and times:
one person found by exact identity number (a grid worker; the city-wide department), an
officer's due-visits worklist (town and city officers running all six programmes, the
widest case), one grid's people (first page and count, for its grid worker) and the daily
schedule refresh. Prints median, min and max over ``--runs`` and the queries of one run,
then a markdown table; the plan of any read slower than 50 ms. Nothing is asserted.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import EXPLAIN, SLOW_MS, print_table  # noqa: E402
from bench.run import setup_django  # noqa: E402


class QueryCounter:
    """Counts queries without keeping their text (a bulk load's INSERTs are megabytes)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure(label: str, fn, runs: int, before=None) -> dict:
    """Median/min/max milliseconds over ``runs`` and the query count of the last run."""
    from django.db import connection

    samples, queries = [], 0
    for _ in range(runs):
        if before:
            before()
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
        queries = counter.count
    result = {"label": label, "median": statistics.median(samples), "min": min(samples), "max": max(samples), "queries": queries}
    print(
        f"{label:<58} median {result['median']:9.1f} ms  min {result['min']:9.1f}  max {result['max']:9.1f}  "
        f"queries {queries:>5}",
        flush=True,
    )
    return result


def wipe_populations() -> None:
    from django.db import connection

    from populations.models import DETAIL_MODELS, Enrollment, Facility, Household, Person, Placement, Visit

    models = [Household, Person, Enrollment, Enrollment.team.through, Visit, Placement, Facility, *DETAIL_MODELS.values()]
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def bench_user(username: str, role: str, code: str, programmes=()):
    from kaili.models import User
    from kaili.scope import forget_cached_scope
    from kaili.services import user_grant_role
    from populations.models import ProgrammeOfficer

    user, created = User.objects.get_or_create(username=username)
    if created:
        user_grant_role(actor=None, user=user, role=role, codes=[code])
    for programme in programmes:
        ProgrammeOfficer.objects.get_or_create(user=user, programme=programme)
    user = User.objects.get(pk=user.pk)

    def fresh():
        """What a new request starts from: no scope or duties cached on the user."""
        forget_cached_scope(user)
        user.__dict__.pop("_kaili_programmes", None)

    return user, fresh


def explain(label: str, queryset) -> None:
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(EXPLAIN + sql, params)
        print(f"\nEXPLAIN ANALYZE of {label}:\n" + "\n".join(row[0] for row in cursor.fetchall()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="population scale (1 = Kaili, default)")
    parser.add_argument("--runs", type=int, default=20, help="runs per read measurement (default 20)")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--fresh", action="store_true", help="drop the registry and time the load again")
    parser.add_argument("--explain", action="store_true", help="print the query plans of every read")
    args = parser.parse_args()
    setup_django("kaili_bench_populations")

    from django.conf import settings
    from django.db.models import Count, Sum

    from grids.demo import seed_demo_tree
    from grids.models import Grid, GridKind
    from kaili import roles
    from kaili.models import AuditAction, AuditEntry
    from kaili.roles import sync_roles
    from populations.demo import planned_households, seed_populations
    from populations.models import Enrollment, Household, Person, Programme
    from populations.selectors import persons_for, worklist
    from populations.services import refresh_all_schedules

    settings.DEBUG = False
    sync_roles()
    tree = seed_demo_tree(seed=args.seed)
    print(f"tree: {sum(tree.nodes_by_kind.values()):,} nodes, {tree.households:,} households in the units", flush=True)

    rows = []
    planned = planned_households(args.scale)
    if args.fresh or Household.objects.count() != planned:
        wipe_populations()
        loaded = {}

        def load():
            loaded["result"] = seed_populations(seed=args.seed, scale=args.scale)

        result = measure(f"generate the registry at scale {args.scale:g}", load, 1)
        seed = loaded["result"]
        people, seconds = seed.people_created, seed.seconds
    else:
        entry = AuditEntry.objects.filter(action=AuditAction.IMPORT, object_type="populations.person").order_by("-id").first()
        people, seconds = Person.objects.count(), (entry.changes.get("seconds") if entry else None) or 0
        print(f"registry already loaded at scale {args.scale:g} (--fresh to time the load again); it took {seconds:.1f} s")
        result = {"label": f"generate the registry at scale {args.scale:g} (earlier run, audited)", "median": seconds * 1000}
        result.update(min=result["median"], max=result["median"], queries=None)
    rows.append(result)
    enrolled = dict(Enrollment.objects.active().values_list("programme").annotate(n=Count("pk")).values_list("programme", "n"))
    print(
        f"  {Household.objects.count():,} households, {people:,} people"
        + (f", {people / seconds:,.0f} people/s" if seconds else "")
        + "; active: "
        + ", ".join(f"{p} {enrolled.get(p, 0):,}" for p in Programme.values),
        flush=True,
    )

    # The busiest grid (most households), its grid worker; a city-wide department account.
    grid = (
        Grid.objects.filter(kind=GridKind.GRID, retired_at__isnull=True)
        .annotate(total=Sum("children__households"))
        .order_by("-total", "code")
        .first()
    )
    worker, worker_fresh = bench_user("bench_grid_worker", roles.GRID_WORKER, grid.code)
    department, department_fresh = bench_user("bench_department", roles.DEPARTMENT, "522601")
    town_officer, town_fresh = bench_user("bench_officer_town", roles.PROGRAMME_OFFICER, "522601001", Programme.values)
    city_officer, city_fresh = bench_user("bench_officer_city", roles.PROGRAMME_OFFICER, "522601", Programme.values)
    sample = Person.objects.filter(unit__parent=grid).order_by("pk").first()
    identity = sample.identity_number
    print(f"grid {grid.code} ({grid.total} households in its units); searching {sample.id_number_masked}", flush=True)

    def identity_search(user):
        return lambda: Person.objects.restrict(user).with_identity_number(identity)

    def grid_page():
        return persons_for(worker).order_by("household__number", "id")[:50]

    def check(queryset, expected=None):
        def run():
            found = list(queryset())
            assert expected is None or [p.pk for p in found] == expected, found

        return run

    reads = [
        ("identity number search, grid worker", identity_search(worker), worker_fresh, [sample.pk]),
        ("identity number search, city department", identity_search(department), department_fresh, [sample.pk]),
        ("worklist[:50], town officer (6 programmes)", lambda: worklist(town_officer)[:50], town_fresh, None),
        ("worklist[:50], city officer (6 programmes)", lambda: worklist(city_officer)[:50], city_fresh, None),
        ("one grid's people, first 50 by household number", grid_page, worker_fresh, None),
    ]
    for label, queryset, before, expected in reads:
        row = measure(label, check(queryset, expected), args.runs, before=before)
        rows.append(row)
        if args.explain or row["median"] > SLOW_MS:
            before()
            explain(label, queryset())
    row = measure("one grid's people, count", lambda: persons_for(worker).count(), args.runs, before=worker_fresh)
    rows.append(row)
    if args.explain or row["median"] > SLOW_MS:
        worker_fresh()
        explain("one grid's people, count", persons_for(worker).order_by().values("pk"))
    print("  the grid has", persons_for(worker).count(), "people; the town officer's worklist", worklist(town_officer).count(),
          "rows, the city officer's", worklist(city_officer).count())  # fmt: skip

    refreshed = {}
    rows.append(
        measure(
            f"refresh_all_schedules() ({sum(enrolled.values()):,} active)",
            lambda: refreshed.update(refresh_all_schedules()),
            3,
        )
    )
    print(f"  {refreshed}")

    print_table(rows)


if __name__ == "__main__":
    main()

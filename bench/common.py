"""What the per-app benchmarks share: timing one read with its queries (and the plan of the
slowest), the demo data they load on, signed-in test clients, and the table they print."""

import datetime
import json
import statistics
import time

SLOW_MS = 50
EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY OFF) "
BENCH_MARK = "（压测"  # in the text of every record a benchmark writes


class QueryRecorder:
    """Counts the queries of a run and keeps the slowest (text, parameters, milliseconds)."""

    def __init__(self):
        self.count = 0
        self.slowest = (None, None, 0.0)

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = (time.perf_counter() - start) * 1000
            if elapsed > self.slowest[2] and not many:
                self.slowest = (sql, params, elapsed)


def explain(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(EXPLAIN + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def measure(label: str, fn, runs: int) -> dict:
    """Median/min/max milliseconds over ``runs``, the queries of the last run, and the plan
    of its slowest query when that took more than SLOW_MS."""
    from django.db import connection

    samples, recorder = [], None
    fn()  # warm up: first-use imports, URL resolver, plan caches
    for _ in range(runs):
        recorder = QueryRecorder()
        with connection.execute_wrapper(recorder):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
    sql, params, slowest = recorder.slowest
    row = {
        "label": label,
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "queries": recorder.count,
        "slowest_query_ms": round(slowest, 1),
    }
    print(
        f"{label:<66} median {row['median']:8.1f} ms  min {row['min']:8.1f}  max {row['max']:8.1f}  "
        f"queries {recorder.count:>3}  slowest query {slowest:6.1f} ms",
        flush=True,
    )
    if slowest > SLOW_MS and sql:
        row["slowest_query"] = sql
        row["explain"] = explain(sql, params)
        print(f"\n  slowest query ({slowest:.1f} ms):\n  {sql}\n\n{row['explain']}\n", flush=True)
    return row


# --- data ----------------------------------------------------------------------------


def seed_demo_base(seed: int) -> None:
    """The roles, case tables, demo tree, demo accounts and a small registry (scale 0.02, so
    that records link registry people) every record benchmark loads on."""
    from cases.seeding import seed_case_tables
    from grids.demo import seed_demo_tree
    from kaili.demo import seed_demo_users
    from kaili.roles import sync_roles
    from populations.demo import seed_populations

    sync_roles()
    seed_case_tables()
    tree = seed_demo_tree(seed=seed)
    seed_demo_users(seed=seed)
    seed_populations(seed=seed, scale=0.02)
    print(f"tree: {sum(tree.nodes_by_kind.values()):,} nodes, {tree.households:,} households", flush=True)


def demo_span(years) -> tuple[datetime.datetime, datetime.datetime]:
    """From the first of January of the first demo year to that of the year after the last."""
    from django.utils import timezone

    tz = timezone.get_current_timezone()
    return datetime.datetime(years[0], 1, 1, tzinfo=tz), datetime.datetime(years[-1] + 1, 1, 1, tzinfo=tz)


def wipe(tables, number_prefix: str) -> None:
    """Empty ``tables`` (and what points at them) and restart their record numbers."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        cursor.execute(f"DELETE FROM kaili_numbersequence WHERE key LIKE '{number_prefix}-%%'")


def forget_marked(model, field: str) -> int:
    """Drop the records earlier runs wrote (BENCH_MARK in their ``field``), so that every
    run reads the same data."""
    return model.objects.filter(**{f"{field}__contains": BENCH_MARK}).delete()[0]


def vacuum(tables) -> None:
    """What autovacuum does some minutes after a bulk load: the visibility map (index-only
    scans) and fresh statistics."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


def vacuum_after_load(tables) -> None:
    started = time.perf_counter()
    vacuum(tables)
    print(f"  VACUUM (ANALYZE) after the load: {time.perf_counter() - started:.1f} s", flush=True)


def audited_load(object_type: str, keys) -> dict:
    """What the last audited demo load of ``object_type`` reported, for ``keys``."""
    from kaili.models import AuditAction, AuditEntry

    entry = AuditEntry.objects.filter(action=AuditAction.IMPORT, object_type=object_type).order_by("-id").first()
    changes = entry.changes if entry else {}
    return {key: changes.get(key) for key in keys}


def status_totals(model) -> dict:
    """status -> number of rows of ``model``."""
    from django.db.models import Count

    return dict(model.objects.values_list("status").annotate(n=Count("pk")).order_by().values_list("status", "n"))


# --- reads ---------------------------------------------------------------------------


def page_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path.split("?")[0])
    except Resolver404:
        return False
    return True


def signed_in_get(users):
    """``get(username, path)``: a run that reads ``path`` as that user (a test client each)."""
    from django.test import Client

    clients = {}
    for user in users:
        client = Client()
        client.force_login(user)
        clients[user.username] = client

    def get(who, path):
        def run():
            response = clients[who].get(path)
            assert response.status_code == 200, (path, response.status_code, response.content[:300])

        return run

    return get


def measure_plan(plan, get, runs: int) -> list[dict]:
    """Measure every (label, username, path) of ``plan``; a URL that does not exist yet is skipped."""
    rows = []
    for label, who, path in plan:
        if not page_exists(path):
            print(f"{label:<66} skipped: no such URL yet", flush=True)
            rows.append({"label": label, "skipped": "no such URL"})
            continue
        rows.append(measure(label, get(who, path), runs))
    return rows


def measure_post(label: str, user, path: str, body, runs: int) -> dict:
    """POST ``body(sequence)`` to ``path`` through the API as ``user``, in process; each a 201."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    counter = iter(range(10**9))

    def run():
        response = client.post(path, body(next(counter)), format="json")
        assert response.status_code == 201, response.content[:300]

    return measure(label, run, runs)


# --- results -------------------------------------------------------------------------


def print_table(rows) -> None:
    print("\n| measurement | median ms | min ms | max ms | queries |\n|---|---:|---:|---:|---:|")
    for row in rows:
        if "skipped" in row:
            print(f"| {row['label']} | skipped: {row['skipped']} | | | |")
        else:
            queries = "" if row["queries"] is None else row["queries"]
            print(f"| {row['label']} | {row['median']:,.1f} | {row['min']:,.1f} | {row['max']:,.1f} | {queries} |")


def write_results(output, root, **parts) -> None:
    """``parts`` with the time of the run as JSON in ``output``."""
    output.write_text(json.dumps({"at": datetime.datetime.now(datetime.UTC).isoformat(), **parts}, ensure_ascii=False, indent=2))
    print(f"\nwritten to {output.relative_to(root)}")

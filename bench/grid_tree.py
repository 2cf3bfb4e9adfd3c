"""Benchmarks: the grid tree's writes and reads at Kaili scale (the seed_demo hierarchy).

    make bench                       # runs this after bench/run.py
    .venv/bin/python bench/grid_tree.py [--runs 5]

In a database of its own (``kaili_bench_tree``): imports the whole hierarchy from CSV into
an empty tree, exports it, moves a zone with all its grids and units to another town
(and back), creates one unit, lists one grid's subtree through the API, and runs the
integrity check. Prints the median, min and max of several runs and the SQL queries of
one run. Nothing is asserted: the figures go into the notes.
"""

import argparse
import csv
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import setup_django  # noqa: E402


def kaili_csv(seed: int) -> tuple[bytes, int]:
    from grids.demo_kaili import generate_kaili_rows
    from grids.exports import EXPORT_HEADER

    rows = generate_kaili_rows(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in EXPORT_HEADER])
    return buffer.getvalue().encode("utf-8"), len(rows)


def measure(label: str, fn, runs: int, before=None) -> dict:
    """Median/min/max milliseconds over ``runs`` and the query count of the last run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples, queries = [], 0
    for _ in range(runs):
        if before:
            before()
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
        queries = len(captured)
    result = {"label": label, "median": statistics.median(samples), "min": min(samples), "max": max(samples), "queries": queries}
    print(
        f"{label:<44} median {result['median']:9.1f} ms  min {result['min']:9.1f}  max {result['max']:9.1f}  "
        f"queries {queries:>6}",
        flush=True,
    )
    return result


def empty_tree() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE grids_grid RESTART IDENTITY CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args()
    setup_django("kaili_bench_tree")

    from django.conf import settings
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from grids.exports import grids_to_csv
    from grids.imports import import_grid_file
    from grids.integrity import tree_faults
    from grids.models import Grid, GridKind, GridUserObjectPermission
    from grids.services import grid_create, grid_delete, grid_move
    from kaili import roles
    from kaili.models import User
    from kaili.roles import sync_roles
    from kaili.services import user_grant_role

    settings.DEBUG = False
    data, rows = kaili_csv(args.seed)
    print(f"Kaili hierarchy from seed {args.seed}: {rows:,} rows, {len(data) / 1024:,.0f} KiB of CSV")

    def load():
        plan = import_grid_file("kaili.csv", data, actor=None)
        assert plan.ok and len(plan.creates) == rows, plan.summary()

    measure("import whole hierarchy (empty tree)", load, args.runs, before=empty_tree)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE grids_grid")  # what autovacuum does after a load; the moves below churn rows
    counts = {kind: Grid.objects.filter(kind=kind).count() for kind in GridKind.values}
    print("  nodes: " + ", ".join(f"{kind} {n:,}" for kind, n in counts.items()))
    measure("re-import unchanged (check only)", lambda: import_grid_file("kaili.csv", data, actor=None), args.runs)
    measure("export whole hierarchy to CSV", lambda: grids_to_csv(Grid.objects.active()), args.runs)
    measure("grids_check on the whole tree", lambda: tree_faults(), args.runs)

    zone = Grid.objects.filter(kind=GridKind.ZONE).order_by("-code").first()  # a zone of the last town
    home = zone.parent
    away = Grid.objects.get(code="522601001")
    subtree = zone.get_descendant_count() + 1
    direction = {"to": away}

    def move_zone():
        target = direction["to"]
        grid_move(actor=None, grid=zone, new_parent=target)
        direction["to"] = home if target == away else away

    measure(f"move a zone ({subtree} nodes) to another town", move_zone, args.runs * 2)

    grid = Grid.objects.filter(kind=GridKind.GRID).order_by("code")[600]
    created = []

    def create_unit():
        created.append(grid_create(actor=None, name=f"新单元{len(created)}", kind=GridKind.UNIT, parent=grid, households=12))

    measure("create one unit", create_unit, args.runs)
    for unit in created:
        grid_delete(actor=None, grid=unit)

    sync_roles()
    worker, _ = User.objects.get_or_create(username="bench_grid_worker")
    worker.groups.add(Group.objects.get(name=roles.GRID_WORKER))
    if not GridUserObjectPermission.objects.filter(user=worker).exists():
        user_grant_role(actor=None, user=worker, role=roles.GRID_WORKER, codes=[grid.code])
    client = APIClient()
    client.force_authenticate(worker)

    def list_subtree():
        response = client.get("/api/grids/", {"page_size": 500})
        assert response.status_code == 200 and response.json()["count"] == grid.get_descendant_count() + 1

    measure(f"API: list one grid's subtree ({grid.get_descendant_count() + 1} nodes)", list_subtree, args.runs * 2)

    def children():
        response = client.get(f"/api/grids/{grid.code}/children/")
        assert response.status_code == 200

    measure("API: one grid's children with totals", children, args.runs * 2)
    leader, _ = User.objects.get_or_create(username="bench_city_leader")
    if not GridUserObjectPermission.objects.filter(user=leader).exists():
        user_grant_role(actor=None, user=leader, role=roles.LEADER, codes=["522601"])
    client.force_authenticate(leader)
    measure("API: the city's 18 towns with totals", lambda: client.get("/api/grids/522601/children/"), args.runs * 2)
    faults = tree_faults()
    print(f"grids_check after the runs: {len(faults)} faults")


if __name__ == "__main__":
    main()

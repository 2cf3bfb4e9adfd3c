"""Benchmarks: the grid-scope function on a Kaili-scale tree.

    make bench            # or: .venv/bin/python bench/run.py [--units-per-grid N]

Builds (once) a tree of 1 city, 18 towns, 199 zones, 1,255 grids and their ten-household
units in a separate database ``kaili_bench`` (same server as DATABASE_URL, or the embedded
one), then times the scope function for users granted at each level and prints the query
plan of the scoped node query. Nothing here is asserted: the figures go into the notes.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_database_url(name: str = "kaili_bench") -> str:
    from kaili.database import embedded_database_url

    url = os.environ.get("DATABASE_URL")
    if not url:
        return embedded_database_url(name)
    import psycopg

    base, _, _name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def setup_django(name: str = "kaili_bench") -> None:
    os.environ["DATABASE_URL"] = bench_database_url(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaili.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_tree(units_per_grid: int) -> int:
    """Bulk-load the tree with precomputed MPTT columns (benchmark data, not a service path)."""
    from django.db import transaction

    from grids.models import Grid

    if Grid.objects.filter(code="522601").exists():
        return Grid.objects.count()
    towns, zones_total, grids_total = 18, 199, 1255
    zone_counts = [zones_total // towns + (1 if i < zones_total % towns else 0) for i in range(towns)]
    grid_counts = [grids_total // zones_total + (1 if i < grids_total % zones_total else 0) for i in range(zones_total)]

    nodes, counter = [], [0]

    def add(code, name, kind, level, parent_index, area=""):
        counter[0] += 1
        node = Grid(code=code, name=name, kind=kind, level=level, tree_id=1, lft=counter[0], rght=0, area_type=area)
        node._parent_index = parent_index
        nodes.append(node)
        return len(nodes) - 1

    def close(index):
        counter[0] += 1
        nodes[index].rght = counter[0]

    city = add("522601", "凯里市", "city", 0, None)
    zone_no = 0
    for t in range(towns):
        town = add(f"522601{t + 1:03d}", f"镇{t + 1}", "town", 1, city)
        for z in range(zone_counts[t]):
            zone = add(f"522601{t + 1:03d}{z + 1:03d}", f"村{zone_no + 1}", "zone", 2, town, "rural")
            for g in range(grid_counts[zone_no]):
                grid = add(f"{nodes[zone].code}{g + 1:03d}", f"网格{g + 1}", "grid", 3, zone, "rural")
                for u in range(units_per_grid):
                    unit = add(f"{nodes[grid].code}{u + 1:02d}", f"单元{u + 1}", "unit", 4, grid)
                    close(unit)
                close(grid)
            close(zone)
            zone_no += 1
        close(town)
    close(city)

    with transaction.atomic():
        # Parents first, level by level, so each child can point at a saved parent.
        for level in range(5):
            batch = [n for n in nodes if n.level == level]
            for n in batch:
                n.parent = nodes[n._parent_index] if n._parent_index is not None else None
            Grid.objects.bulk_create(batch, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE grids_grid")
    return len(nodes)


def time_it(fn, repeat: int = 30) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units-per-grid", type=int, default=13, help="ten-household units per grid (default 13 ≈ 16k units)")
    args = parser.parse_args()
    setup_django()

    from django.contrib.auth.models import Group
    from django.db import connection
    from guardian.shortcuts import assign_perm

    from grids.models import Grid
    from kaili import roles
    from kaili.models import User
    from kaili.scope import forget_cached_scope, reachable_nodes

    total = build_tree(args.units_per_grid)
    print(f"tree: {total} nodes ({Grid.objects.filter(kind='unit').count()} units)")

    subjects = {
        "city leader": ("522601", roles.LEADER),
        "town leader": ("522601001", roles.LEADER),
        "last town leader": ("522601018", roles.LEADER),
        "zone grid worker": ("522601001001", roles.GRID_WORKER),
        "grid worker": ("522601001001001", roles.GRID_WORKER),
    }
    for label, (code, role) in subjects.items():
        user, _ = User.objects.get_or_create(username=f"bench_{role}_{code}")
        user.groups.add(Group.objects.get(name=role))
        assign_perm(f"grids.role_{role}", user, Grid.objects.get(code=code))

        def scope_and_count(user=user):
            forget_cached_scope(user)
            return reachable_nodes(user).count()

        def first_page(user=user):
            forget_cached_scope(user)
            return list(reachable_nodes(user).order_by("code")[:50])

        nodes = scope_and_count()
        median_count, worst_count = time_it(scope_and_count)
        median_page, worst_page = time_it(first_page)
        print(
            f"{label:<17} {code:<16} reaches {nodes:>6} nodes | "
            f"scope+count median {median_count:6.2f} ms (max {worst_count:6.2f}) | "
            f"scope+first page median {median_page:6.2f} ms (max {worst_page:6.2f})"
        )

    explain = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
    for town in ("522601001", "522601018"):
        user = User.objects.get(username=f"bench_{roles.LEADER}_{town}")
        forget_cached_scope(user)
        sql, params = reachable_nodes(user).order_by("code")[:50].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(explain + sql, params)
            print(f"\nEXPLAIN of town {town} leader's first page (by code):\n" + "\n".join(row[0] for row in cursor.fetchall()))
    user = User.objects.get(username=f"bench_{roles.LEADER}_522601001")
    forget_cached_scope(user)
    count_sql, count_params = reachable_nodes(user).values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(explain + "SELECT count(*) FROM (" + count_sql + ") s", count_params)
        print("\nEXPLAIN of the town leader's node count:\n" + "\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()

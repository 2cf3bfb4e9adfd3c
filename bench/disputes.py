"""Benchmarks: disputes at a hundred thousand (issue 6).

    .venv/bin/python bench/disputes.py [--disputes 100000] [--runs 20] [--rebuild] [--load-only]

In a database of its own (``kaili_bench_disputes``, on the server of DATABASE_URL or the
embedded one): the demo tree, the demo accounts, a small registry (scale 0.02, so that
parties link registry people) and about ``--disputes`` disputes of 2015-2017 made by the
demo generator (``disputes.demo.seed_disputes``) at the scale that gives that many, with
their parties, sessions, agreements and transitions. They are kept between runs when they
are all there (``--rebuild`` drops them and times the load again). Then, through the
Django test client in this process (server time: middleware, session, view,
serialisation), median, min and max over ``--runs`` and the queries of one run:

(a) a grid worker's list: ``/api/disputes/`` (first page) as ``gridworker``;
(b) the centre's queue: ``/api/disputes/?under=<town>&open=true``,
    ``/api/disputes/?overdue=true&line=people``, ``/api/disputes/counts/``,
    ``/api/disputes/supervision/``, and the ``/disputes/`` queue and
    ``/disputes/supervision/`` pages;
(c) one dispute: ``/api/disputes/<number>/`` and the ``/disputes/<number>/`` page;
(d) registering a dispute through the API, in process;
(e) the dashboard measures (``disputes.measures``) over the city for 2016, whole and by
    town.

A URL that does not exist yet is skipped (and said so). Prints a table, the plan of any
query slower than 50 ms, and writes everything to ``var/bench/disputes.json``. Nothing is
asserted.
"""

import argparse
import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    BENCH_MARK,
    audited_load,
    demo_span,
    forget_marked,
    measure,
    measure_plan,
    measure_post,
    page_exists,
    print_table,
    seed_demo_base,
    signed_in_get,
    status_totals,
    vacuum,
    vacuum_after_load,
    wipe,
    write_results,
)
from bench.run import setup_django  # noqa: E402

DATABASE = "kaili_bench_disputes"
OUTPUT = ROOT / "var" / "bench" / "disputes.json"
TOWN = "522601001"
GRID = "522601001001001"
DISPUTE_TABLES = (
    "disputes_dispute", "disputes_dispute_mediators", "disputes_disputeparty", "disputes_disputetransition",
    "disputes_mediationsession", "disputes_mediationsession_mediators", "disputes_agreement", "disputes_followup",
    "disputes_judicialconfirmation", "disputes_entrustedmediation",
)  # fmt: skip


# --- data ----------------------------------------------------------------------------


def scale_for(disputes: int) -> float:
    """The demo scale that makes about ``disputes`` disputes in 2015-2017."""
    from disputes import demo

    return disputes / sum(demo.YEAR_COUNTS.values())


def wipe_disputes() -> None:
    wipe(("disputes_dispute",), "MD")


def forget_bench_registrations() -> int:
    """Drop the disputes earlier runs registered (BENCH_MARK in their summary)."""
    from disputes.models import Dispute

    return forget_marked(Dispute, "summary")


def prepare(args) -> dict:
    """Tree, accounts, registry, disputes; returns what the load took."""
    from disputes import demo
    from disputes.models import Dispute

    seed_demo_base(args.seed)
    scale = scale_for(args.disputes)
    planned = sum(demo.year_counts(scale).values())
    start, end = demo_span(demo.DEMO_YEARS)
    present = Dispute.objects.filter(registered_at__gte=start, registered_at__lt=end).count()
    if args.rebuild or present != planned:
        if present:
            print(f"dropping {Dispute.objects.count():,} disputes (planned {planned:,} at scale {scale:.3f})", flush=True)
        wipe_disputes()
        print(f"generating {planned:,} disputes at scale {scale:.3f} ...", flush=True)
        result = demo.seed_disputes(seed=args.seed, scale=scale)
        vacuum_after_load(DISPUTE_TABLES)
        load = {
            "disputes": result.created,
            "parties": result.parties,
            "sessions": result.sessions,
            "agreements": result.agreements,
            "transitions": result.transitions,
            "seconds": round(result.seconds, 1),
            "scale": scale,
            "this_run": True,
        }
    else:
        load = audited_load("disputes.dispute", ("disputes", "parties", "sessions", "agreements", "transitions", "seconds"))
        load.update(scale=scale, this_run=False)
        print(f"disputes already loaded (--rebuild to time the load again); the load took {load['seconds']} s", flush=True)
        if forget_bench_registrations():
            vacuum(DISPUTE_TABLES)
    statuses = status_totals(Dispute)
    load["total"] = sum(statuses.values())
    load["by_status"] = statuses
    print(
        f"  {load['total']:,} disputes; load: {load['disputes']:,} disputes, {load['parties']:,} parties, "
        f"{load['sessions']:,} sessions, {load['agreements']:,} agreements, {load['transitions']:,} transitions "
        f"in {load['seconds']} s" + (f" ({load['disputes'] / load['seconds']:,.0f} disputes/s)" if load["seconds"] else ""),
        flush=True,
    )
    return load


# --- reads ---------------------------------------------------------------------------


def reads(args) -> list[dict]:
    from django.db.models import Count

    from disputes.models import Dispute
    from kaili.models import User

    worker = User.objects.get(username="gridworker")
    centre = User.objects.get(username="centre")
    get = signed_in_get((worker, centre))
    case = (
        Dispute.objects.filter(grid__code__startswith=TOWN, status="resolved")
        .annotate(steps=Count("transitions"))
        .order_by("-steps", "number")
        .values_list("number", "steps")
        .first()
    )
    print(
        f"gridworker sees {Dispute.objects.restrict(worker).count():,} disputes; the centre's town has "
        f"{Dispute.objects.filter(grid__code__startswith=TOWN).count():,}; dispute {case[0]} has {case[1]} steps",
        flush=True,
    )
    plan = [
        ("(a) grid worker: GET /api/disputes/ (first page)", "gridworker", "/api/disputes/"),
        (f"(b) centre: GET /api/disputes/?under={TOWN}&open=true", "centre", f"/api/disputes/?under={TOWN}&open=true"),
        ("(b) centre: GET /api/disputes/?overdue=true&line=people", "centre", "/api/disputes/?overdue=true&line=people"),
        ("(b) centre: GET /api/disputes/counts/", "centre", "/api/disputes/counts/"),
        ("(b) centre: GET /api/disputes/supervision/", "centre", "/api/disputes/supervision/"),
        ("(b) centre: GET /disputes/ (queue page)", "centre", "/disputes/"),
        ("(b) centre: GET /disputes/supervision/ (page)", "centre", "/disputes/supervision/"),
        (f"(c) centre: GET /api/disputes/{case[0]}/", "centre", f"/api/disputes/{case[0]}/"),
        (f"(c) centre: GET /disputes/{case[0]}/ (page)", "centre", f"/disputes/{case[0]}/"),
    ]
    rows = measure_plan(plan, get, args.runs)
    if page_exists("/api/disputes/"):
        label = "(d) grid worker: POST /api/disputes/ (in process)"
        rows.append(measure_post(label, worker, "/api/disputes/", registration_body, args.runs))
    rows += measure_measures(args.runs)
    return rows


def registration_body(sequence: int) -> dict:
    today = datetime.date.today()
    return {
        "name": f"张李两家排水沟纠纷（压测 {sequence}）",
        "category": "02",
        "grid": GRID,
        "summary": f"两家因排水沟堵塞互相指责，多次争吵{BENCH_MARK} {sequence}）。",
        "occurred_on": (today - datetime.timedelta(days=2)).isoformat(),
        "source": "screening",
        "place": "北京路社区第1网格",
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
    }


def measure_measures(runs: int) -> list[dict]:
    try:
        from disputes import measures
    except ImportError:
        print(f"{'(e) disputes.measures':<66} skipped: no such module yet", flush=True)
        return [{"label": "(e) disputes.measures", "skipped": "no such module"}]
    from disputes.models import Dispute
    from grids.models import Grid

    city = Grid.objects.get(code="522601")
    start, end = datetime.date(2016, 1, 1), datetime.date(2017, 1, 1)
    rows = [
        measure(
            "(e) dispute_measures: the city, 2016", lambda: measures.dispute_measures(Dispute.objects.all(), start, end), runs
        )
    ]
    if hasattr(measures, "dispute_measures_by_child"):
        rows.append(
            measure(
                "(e) dispute_measures_by_child: the city by town, 2016",
                lambda: measures.dispute_measures_by_child(city, start, end),
                runs,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--disputes", type=int, default=100_000, help="disputes of 2015-2017 (default a hundred thousand)")
    parser.add_argument("--runs", type=int, default=20, help="runs per read measurement (default 20)")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--rebuild", action="store_true", help="drop the disputes and time the load again")
    parser.add_argument("--load-only", action="store_true", help="load (or check) the data and stop")
    args = parser.parse_args()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    setup_django(DATABASE)

    from django.conf import settings

    settings.DEBUG = False
    loaded = prepare(args)
    if args.load_only:
        return
    try:
        rows = reads(args)
    finally:
        print(f"\nremoved the {forget_bench_registrations():,} disputes the benchmark registered", flush=True)

    print_table(rows)
    write_results(OUTPUT, ROOT, load=loaded, reads=rows)


if __name__ == "__main__":
    main()

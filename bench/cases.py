"""Benchmarks: incidents at a million (issue 5).

    make bench                       # runs this after bench/populations.py
    .venv/bin/python bench/cases.py [--incidents 1000000] [--runs 20] [--rebuild] [--clients 8] [--seconds 15]

In a database of its own (``kaili_bench_cases``): the demo tree, the demo accounts, a small
registry (scale 0.02, so that incidents link people) and about ``--incidents`` incidents
of 2015-2017 made by the demo generator (``cases.demo.seed_incidents``) at the scale that
gives that many. The incidents are kept between runs when they are all there
(``--rebuild`` drops them and times the load again). Then, through the Django test
client in this process (server time: middleware, session, view, serialisation), median,
min and max over ``--runs`` and the queries of one run:

(a) a grid worker's list: ``/api/incidents/`` (first page) as ``gridworker``, and the
    ``/cases/mine/`` page if it exists;
(b) the centre's queue for its town with filters (``under``, ``status=dispatched``,
    ``overdue``, a category) and the open queue of the town, through the API and the
    ``/cases/queue/`` page;
(c) one case: ``/api/incidents/<number>/`` and the ``/cases/<number>/`` page;
(d) reporting an incident through the API on gunicorn with 2 workers: requests per
    second with ``--clients`` concurrent clients for ``--seconds``, beside the same server
    answering a trivial view (``/api/categories/?q=1201``, one category) alone and at the
    same time.

Prints a table, the plan of any query slower than 50 ms, and writes everything to
``var/bench/cases.json``. Gunicorn is stopped at the end whatever happens. Nothing is asserted.
"""

import argparse
import datetime
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    BENCH_MARK,
    audited_load,
    demo_span,
    forget_marked,
    measure_plan,
    measure_post,
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

DATABASE = "kaili_bench_cases"
TRIVIAL = "/api/categories/?q=1201"
OUTPUT = ROOT / "var" / "bench" / "cases.json"
INCIDENT_TABLES = ("cases_incident", "cases_incidenttransition", "cases_incidentperson")


# --- data ----------------------------------------------------------------------------


def scale_for(incidents: int) -> float:
    """The demo scale that makes about ``incidents`` incidents in 2015-2017."""
    from cases import demo

    criminal = sum(sum(year.values()) for year in demo.CRIMINAL_FIGURES.values())
    return max(0.0, (incidents - criminal) / (demo.PER_YEAR * len(demo.DEMO_YEARS) - criminal))


def wipe_incidents() -> None:
    wipe(("cases_incident", "cases_incidenttransition", "cases_incidentperson", "cases_incidentattachment"), "SJ")


def forget_bench_reports() -> int:
    """Drop the incidents earlier runs reported (BENCH_MARK in their description)."""
    from cases.models import Incident

    return forget_marked(Incident, "description")


def prepare(args) -> dict:
    """Tree, accounts, registry, incidents; returns what the load took."""
    from cases import demo
    from cases.models import Incident

    seed_demo_base(args.seed)
    scale = scale_for(args.incidents)
    planned = demo.planned_incidents(scale)
    start, end = demo_span(demo.DEMO_YEARS)
    present = Incident.objects.filter(occurred_at__gte=start, occurred_at__lt=end).count()
    if args.rebuild or present != planned:
        if present:
            print(f"dropping {Incident.objects.count():,} incidents (planned {planned:,} at scale {scale:.4f})", flush=True)
        wipe_incidents()
        print(f"generating {planned:,} incidents at scale {scale:.4f} ...", flush=True)
        result = demo.seed_incidents(seed=args.seed, scale=scale)
        vacuum_after_load(INCIDENT_TABLES)
        load = {
            "incidents": result.created,
            "transitions": result.transitions,
            "people": result.people,
            "seconds": round(result.seconds, 1),
            "scale": scale,
            "this_run": True,
        }
    else:
        load = audited_load("cases.incident", ("incidents", "transitions", "people", "seconds"))
        load.update(scale=scale, this_run=False)
        print(f"incidents already loaded (--rebuild to time the load again); the load took {load['seconds']} s", flush=True)
        if forget_bench_reports():
            vacuum(INCIDENT_TABLES)
    statuses = status_totals(Incident)
    load["total"] = sum(statuses.values())
    load["by_status"] = statuses
    print(
        f"  {load['total']:,} incidents; load: {load['incidents']:,} incidents, {load['transitions']:,} transitions, "
        f"{load['people']:,} people in {load['seconds']} s"
        + (f" ({load['incidents'] / load['seconds']:,.0f} incidents/s)" if load["seconds"] else ""),
        flush=True,
    )
    return load


# --- reads ---------------------------------------------------------------------------


def reads(args) -> list[dict]:
    from django.db.models import Count

    from cases.models import Incident
    from kaili.models import User

    worker = User.objects.get(username="gridworker")
    centre = User.objects.get(username="centre")
    town = "522601001"
    get = signed_in_get((worker, centre))
    mine = Incident.objects.restrict(worker).count()
    case = (
        Incident.objects.filter(grid__code__startswith=town, status="evaluated")
        .annotate(steps=Count("transitions"))
        .order_by("-steps", "number")
        .values_list("number", "steps")
        .first()
    )
    queue = f"under={town}&status=dispatched&overdue=true&category=12"
    queue_all = f"under={town}&open=true"
    print(
        f"gridworker sees {mine:,} incidents; the centre's town has "
        f"{Incident.objects.filter(grid__code__startswith=town).count():,}; case {case[0]} has {case[1]} steps",
        flush=True,
    )
    plan = [
        ("(a) grid worker: GET /api/incidents/ (first page)", "gridworker", "/api/incidents/"),
        ("(a) grid worker: GET /cases/mine/ (page)", "gridworker", "/cases/mine/"),
        (f"(b) centre: GET /api/incidents/?{queue}", "centre", f"/api/incidents/?{queue}"),
        (f"(b) centre: GET /api/incidents/?{queue_all}", "centre", f"/api/incidents/?{queue_all}"),
        (f"(b) centre: GET /cases/queue/?{queue} (page)", "centre", f"/cases/queue/?{queue}"),
        (f"(b) centre: GET /cases/queue/?{queue_all} (page)", "centre", f"/cases/queue/?{queue_all}"),
        (f"(b) centre: GET /api/incidents/counts/?under={town}", "centre", f"/api/incidents/counts/?under={town}"),
        (f"(c) centre: GET /api/incidents/{case[0]}/", "centre", f"/api/incidents/{case[0]}/"),
        (f"(c) centre: GET /cases/{case[0]}/ (page)", "centre", f"/cases/{case[0]}/"),
        (f"(-) anyone: GET {TRIVIAL} (trivial view)", "gridworker", TRIVIAL),
    ]
    rows = measure_plan(plan, get, args.runs)
    rows.append(
        measure_post("(d) grid worker: POST /api/incidents/ (in process)", worker, "/api/incidents/", report_body, args.runs)
    )
    return rows


def report_body(sequence: int) -> dict:
    occurred = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=30)
    return {
        "category": "1201",
        "grid": "522601001001001",
        "description": f"路灯不亮，夜间行人看不清路面{BENCH_MARK} {sequence}）。",
        "occurred_at": occurred.isoformat(),
        "source": "patrol",
        "place": "新华社区第1网格菜市场门口",
    }


# --- gunicorn ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, *, env: dict | None = None, log_name: str = "gunicorn.log") -> subprocess.Popen:
    """Two gunicorn workers on ``port``; tasks eager (no broker) unless ``env`` says otherwise."""
    base = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
    base.update(DJANGO_SETTINGS_MODULE="kaili.settings", DJANGO_DEBUG="0", **(env or {}))
    log = open(ROOT / "var" / "bench" / log_name, "a")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "kaili.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT,
        env=base,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log = log
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            log.close()
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see var/bench/{log_name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    stop_gunicorn(process)
    raise RuntimeError("gunicorn did not start within a minute")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log.close()


def token(port: int) -> str:
    from kaili.demo import DEMO_PASSWORD

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"username": "gridworker", "password": DEMO_PASSWORD})
    connection.request("POST", "/api/auth/token/", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"token: {response.status} {payload}")
    return payload["token"]


def load(port: int, key: str, clients: dict[str, int], seconds: float) -> dict:
    """Run ``clients`` ({"report": n, "trivial": m}) concurrent keep-alive clients for
    ``seconds``; requests per second and latencies of each kind."""
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    results = {kind: {"ok": 0, "errors": 0, "latencies": []} for kind in clients}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    sequence = iter(range(10**9))

    def client(kind: str):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        ok = errors = 0
        latencies = []
        while time.perf_counter() < stop:
            start = time.perf_counter()
            try:
                if kind == "report":
                    with lock:
                        number = next(sequence)
                    connection.request("POST", "/api/incidents/", json.dumps(report_body(number)), headers)
                else:
                    connection.request("GET", TRIVIAL, headers=headers)
                response = connection.getresponse()
                response.read()
                good = response.status in (200, 201)
            except (OSError, http.client.HTTPException):
                good = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            latencies.append((time.perf_counter() - start) * 1000)
            ok, errors = ok + good, errors + (not good)
        connection.close()
        with lock:
            results[kind]["ok"] += ok
            results[kind]["errors"] += errors
            results[kind]["latencies"] += latencies

    threads = [threading.Thread(target=client, args=(kind,)) for kind, n in clients.items() for _ in range(n)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    summary = {}
    for kind, result in results.items():
        latencies = sorted(result["latencies"]) or [0.0]
        summary[kind] = {
            "clients": clients[kind],
            "requests_per_second": round(result["ok"] / elapsed, 1),
            "ok": result["ok"],
            "errors": result["errors"],
            "median_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        }
    return summary


def throughput(args) -> dict:
    port = free_port()
    process = start_gunicorn(port)
    try:
        key = token(port)
        load(port, key, {"trivial": 2, "report": 2}, 2)  # warm both workers up
        phases = {
            "trivial alone": {"trivial": args.clients},
            "report alone": {"report": args.clients},
            "both at once": {"report": args.clients // 2 or 1, "trivial": args.clients // 2 or 1},
        }
        results = {}
        for phase, clients in phases.items():
            results[phase] = load(port, key, clients, args.seconds)
            for kind, figures in results[phase].items():
                print(
                    f"gunicorn -w 2, {phase:<13} {kind:<8} {figures['clients']:>2} clients: "
                    f"{figures['requests_per_second']:7.1f} req/s  median {figures['median_ms']:7.1f} ms  "
                    f"p95 {figures['p95_ms']:7.1f} ms  errors {figures['errors']}",
                    flush=True,
                )
        return {"port": port, "workers": 2, "seconds": args.seconds, "phases": results}
    finally:
        stop_gunicorn(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=1_000_000, help="incidents of 2015-2017 (default one million)")
    parser.add_argument("--runs", type=int, default=20, help="runs per read measurement (default 20)")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--rebuild", action="store_true", help="drop the incidents and time the load again")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients on gunicorn (default 8)")
    parser.add_argument("--seconds", type=float, default=15, help="seconds per gunicorn phase (default 15)")
    parser.add_argument("--no-gunicorn", action="store_true", help="skip the requests-per-second part")
    args = parser.parse_args()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    setup_django(DATABASE)

    from django.conf import settings

    settings.DEBUG = False
    loaded = prepare(args)
    try:
        rows = reads(args)
        served = None if args.no_gunicorn else throughput(args)
    finally:
        print(f"\nremoved the {forget_bench_reports():,} incidents the benchmark reported", flush=True)

    print_table(rows)
    if served:
        print("\n| gunicorn -w 2 | kind | clients | req/s | median ms | p95 ms | errors |\n|---|---|---:|---:|---:|---:|---:|")
        for phase, kinds in served["phases"].items():
            for kind, f in kinds.items():
                print(
                    f"| {phase} | {kind} | {f['clients']} | {f['requests_per_second']:,.1f} | {f['median_ms']:,.1f} | "
                    f"{f['p95_ms']:,.1f} | {f['errors']} |"
                )
    write_results(OUTPUT, ROOT, load=loaded, reads=rows, gunicorn=served)


if __name__ == "__main__":
    main()

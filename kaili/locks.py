"""Transaction-scoped PostgreSQL advisory locks, with every key the project uses."""

from django.db import connection, transaction

# Keys are global per database; every one the project takes is listed here.
AUDIT_CHAIN_LOCK = 522601_0001
GRID_TREE_LOCK = 522601_0002
STATISTICS_ROLLUP_LOCK = 522601_0003  # one roll-up of the dashboard's statistics at a time
STATISTICS_REBUILD_REQUEST_LOCK = 522601_0004  # two "rebuild now" clicks start one run


def advisory_xact_lock(key: int) -> None:
    """Block until this transaction holds ``key``; released at commit or rollback."""
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("advisory_xact_lock needs an open transaction")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])

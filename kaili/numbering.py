"""Readable record numbers (``SJ-522601-2026-000123``, ``MD-522601-2026-000045``).

Each key's counter is one row updated in place inside the caller's transaction: two
writers never get the same number (the second waits for the first to commit), and a
number whose record is rolled back is handed out again, so the numbers have no gaps.
"""

from django.db import connection

from kaili.models import NumberSequence


def next_in_sequence(key: str) -> int:
    """The next number under ``key`` (1, 2, 3, ...), atomically."""
    table = NumberSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, last) VALUES (%s, 1) "
            f"ON CONFLICT (key) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [key],
        )
        return cursor.fetchone()[0]


def record_number(prefix: str, division: str, year: int, width: int = 6) -> str:
    """``PREFIX-division-year-000123``: the next number of that prefix, place and year."""
    key = f"{prefix}-{division}-{year}"
    return f"{key}-{next_in_sequence(key):0{width}d}"


def reserve_numbers(prefix: str, division: str, year: int, count: int, width: int = 6) -> list[str]:
    """``count`` consecutive numbers at once (bulk loads)."""
    key = f"{prefix}-{division}-{year}"
    table = NumberSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, last) VALUES (%s, %s) "
            f"ON CONFLICT (key) DO UPDATE SET last = {table}.last + EXCLUDED.last RETURNING last",
            [key, count],
        )
        last = cursor.fetchone()[0]
    return [f"{key}-{n:0{width}d}" for n in range(last - count + 1, last + 1)]

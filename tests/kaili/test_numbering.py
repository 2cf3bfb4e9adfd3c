"""Readable record numbers: consecutive per key, never handed out twice at once."""

import threading

import pytest
from django.db import connection, transaction

from kaili.numbering import record_number, reserve_numbers


@pytest.mark.django_db
def test_numbers_run_per_prefix_place_and_year():
    assert record_number("SJ", "522601", 2026) == "SJ-522601-2026-000001"
    assert record_number("SJ", "522601", 2026) == "SJ-522601-2026-000002"
    assert record_number("SJ", "522601", 2025) == "SJ-522601-2025-000001"
    assert record_number("MD", "522601", 2026) == "MD-522601-2026-000001"


@pytest.mark.django_db
def test_a_reserved_block_is_continued_by_single_numbers():
    assert reserve_numbers("SJ", "522601", 2016, 3) == [
        "SJ-522601-2016-000001",
        "SJ-522601-2016-000002",
        "SJ-522601-2016-000003",
    ]
    assert record_number("SJ", "522601", 2016) == "SJ-522601-2016-000004"


@pytest.mark.django_db
def test_a_rolled_back_number_is_handed_out_again():
    with pytest.raises(RuntimeError), transaction.atomic():
        record_number("SJ", "522601", 2026)
        raise RuntimeError("the record was refused")
    assert record_number("SJ", "522601", 2026) == "SJ-522601-2026-000001"


@pytest.mark.django_db(transaction=True)
def test_writers_at_once_never_share_a_number():
    numbers, barrier = [], threading.Barrier(6)

    def take():
        try:
            barrier.wait()
            for _ in range(10):
                with transaction.atomic():
                    numbers.append(record_number("SJ", "522601", 2026))
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [f"SJ-522601-2026-{n:06d}" for n in range(1, 61)]

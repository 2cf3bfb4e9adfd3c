"""A real Celery worker consumes a task from the configured broker and writes to the database."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from kaili.celery import app
from kaili.models import AuditCheck
from kaili.tasks import audit_verify_task


@pytest.fixture
def live_celery():
    """A worker thread on the configured broker (Redis in CI, the in-memory transport without one)."""
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    app.conf.task_always_eager = False  # conftest restores it after the test
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield app


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_audit_check_and_stores_its_result(tree, live_celery):
    assert not AuditCheck.objects.exists()
    audit_verify_task.delay()
    deadline = time.monotonic() + 30
    while not AuditCheck.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    check = AuditCheck.objects.get()
    assert check.ok and check.rows_checked > 0

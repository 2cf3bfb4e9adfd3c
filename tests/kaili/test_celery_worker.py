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
    """The configured broker (Redis in CI), or the in-memory transport when none is set."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "result_backend")}
    app.conf.update(task_always_eager=False, broker_url=settings.CELERY_BROKER_URL or "memory://", result_backend=None)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield app
    finally:
        app.conf.update(saved)


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

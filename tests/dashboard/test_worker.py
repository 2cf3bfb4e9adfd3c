"""With a real Celery worker running, an incident saved through the services shows in the
city's figures within seconds: the commit queues ``rollup_pending``, the worker drains the
marks and the statistics follow."""

import datetime
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from dashboard import selectors
from dashboard.marks import QUEUED_KEY
from dashboard.models import PendingMark, RollupRun
from dashboard.periods import Period
from kaili.celery import app
from kaili.roles import GRID_WORKER
from tests.cases.factories import THEFT, report
from tests.factories import make_user

DEADLINE = 15  # seconds; the target is under 5


@pytest.fixture
def live_celery(settings):
    """A worker thread on the configured broker (Redis when CELERY_BROKER_URL says so, the
    in-memory transport otherwise), with cache keys of its own: the cache may be shared
    with other test runs. (It consumes the default queue: changing the app's default queue
    at run time sends later tests' tasks where no worker listens.)"""
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    app.conf.task_always_eager = False  # conftest restores it after the test
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield app


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_saved_incident_shows_in_the_city_figures_within_seconds(tree, live_celery):
    cache.delete(QUEUED_KEY)
    worker = make_user("worker_a", GRID_WORKER, [tree.grid_a])
    month = Period.month_of(timezone.localdate())
    keys = ["incidents.stat.theft"]
    assert selectors.node_figures(tree.city, month, keys) == {"incidents.stat.theft": 0}

    with transaction.atomic():
        report(worker, tree.unit_a, code=THEFT, occurred_at=timezone.now() - datetime.timedelta(minutes=5))
        assert PendingMark.objects.exists()
    saved = time.monotonic()
    while time.monotonic() - saved < DEADLINE:
        if selectors.node_figures(tree.city, month, keys) == {"incidents.stat.theft": 1}:
            break
        time.sleep(0.1)
    seconds = time.monotonic() - saved

    assert selectors.node_figures(tree.city, month, keys) == {"incidents.stat.theft": 1}, f"not shown after {seconds:.1f} s"
    assert selectors.node_figures(tree.grid_a, month, keys) == {"incidents.stat.theft": 1}
    run = RollupRun.objects.get(kind=RollupRun.Kind.INCREMENTAL)
    assert run.status == RollupRun.Status.SUCCEEDED and run.task_id  # the worker ran it
    assert run.periods == [month.code]
    assert not PendingMark.objects.exists()
    assert cache.get(QUEUED_KEY) is None  # the next save queues a run again

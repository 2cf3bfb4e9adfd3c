"""The roll-up's Celery tasks: the incremental update queued on commit, the nightly full
rebuild and consistency check, and the admin's "rebuild now"."""

import datetime

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from dashboard import services
from dashboard.marks import QUEUED_KEY
from dashboard.models import RollupRun
from kaili.progress import CachedProgress

RETRIED = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, autoretry_for=RETRIED, retry_backoff=True, retry_backoff_max=60, max_retries=5)
def rollup_pending(self) -> int | None:
    """Drain the pending marks; returns the run's id (None when nothing was pending)."""
    # Cleared first: a save committed from now on queues another run.
    cache.delete(QUEUED_KEY)
    run = services.run_pending(task_id=self.request.id or "")
    return run.pk if run else None


@shared_task(bind=True, autoretry_for=RETRIED, retry_backoff=True, max_retries=3)
def rollup_full(self, run_id: int | None = None) -> int:
    """A full rebuild, recorded on run ``run_id`` when the admin asked for it."""
    run = RollupRun.objects.get(pk=run_id) if run_id else None
    if run is not None and run.status != RollupRun.Status.RUNNING:
        run = None  # a retry after the first attempt failed records a run of its own
    run = run or services._start(RollupRun.Kind.FULL, task_id=self.request.id or "")
    services.run_full_rebuild(run=run, progress=CachedProgress(run.progress_key))
    return run.pk


@shared_task(bind=True, autoretry_for=RETRIED, retry_backoff=True, max_retries=3)
def rollup_check(self, sample: int = 200) -> int:
    """Compare a sample of stored values with direct counts; a mismatch queues a rebuild."""
    run = services.run_consistency_check(sample=sample)
    if run.mismatches:
        rollup_full.delay()
    return run.pk


@shared_task
def purge_old_runs(days: int = 30) -> int:
    """Incremental runs are many; keep a month of them (full runs and checks stay)."""
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = RollupRun.objects.filter(kind=RollupRun.Kind.INCREMENTAL, started_at__lt=cutoff).delete()
    return deleted

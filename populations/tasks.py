"""Daily work of the programmes: who is due a visit, who is overdue."""

from celery import shared_task

from populations.import_tasks import run_people_import  # noqa: F401  (the worker finds tasks here)
from populations.services import refresh_all_schedules


@shared_task(name="populations.tasks.refresh_due_visits", autoretry_for=(Exception,), retry_backoff=60, max_retries=3)
def refresh_due_visits() -> dict:
    """Recompute every active enrollment's next due date and overdue flag (idempotent)."""
    return refresh_all_schedules()

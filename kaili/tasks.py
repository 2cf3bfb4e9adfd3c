"""Periodic checks of the platform itself."""

from celery import shared_task

from kaili.audit import audit_verify_and_store


@shared_task(bind=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def audit_verify_task(self) -> int:
    """Verify the audit chain and store the result; returns the AuditCheck id."""
    _report, check = audit_verify_and_store()
    return check.pk


@shared_task(bind=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def run_export(self, job_id: int) -> int:
    """Write one export job's file (kaili.exports); returns the row count."""
    from kaili.exports import run_export_job

    return run_export_job(job_id).rows or 0


@shared_task
def purge_old_exports_task() -> int:
    from kaili.exports import purge_old_exports

    return purge_old_exports()

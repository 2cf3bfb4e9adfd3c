"""Periodic checks of the platform itself."""

from celery import shared_task

from kaili.audit import audit_verify_and_store


@shared_task(bind=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def audit_verify_task(self) -> int:
    """Verify the audit chain and store the result; returns the AuditCheck id."""
    _report, check = audit_verify_and_store()
    return check.pk

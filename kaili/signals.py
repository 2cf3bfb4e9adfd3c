"""Sign-in events go to the audit trail; services announce the records they write in bulk."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import Signal, receiver

from kaili.audit import audit_record, client_ip
from kaili.models import AuditAction, AuditOutcome

# Sent by a service after it wrote records with bulk_create or bulk_update, which send no
# post_save: ``sender`` the model, ``instances`` the records written (as they were loaded
# and as they are now), ``created`` whether they are new. The dashboard's statistics follow.
records_saved_in_bulk = Signal()


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.LOGIN, obj=user, ip_address=client_ip(request) if request else None)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action=AuditAction.LOGOUT, obj=user, ip_address=client_ip(request) if request else None)


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    audit_record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        object_type="kaili.user",
        outcome=AuditOutcome.FAILURE,
        changes={"username": str(credentials.get("username", ""))[:150]},
        ip_address=client_ip(request) if request else None,
    )

"""Writing and verifying the audit trail.

``audit_record`` is called by every service in the same transaction as the change it
describes. Rows are chained: each stores the keyed hash of the row before it, under a
transaction-scoped advisory lock so the chain order is the commit order.
"""

import contextvars
import datetime
import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kaili.locks import AUDIT_CHAIN_LOCK, advisory_xact_lock
from kaili.models import AuditAction, AuditCheck, AuditEntry, AuditOutcome

GENESIS_HASH = "0" * 64

_request_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("kaili_request_ip", default=None)


def set_request_ip(ip: str | None) -> contextvars.Token:
    return _request_ip.set(ip)


def reset_request_ip(token: contextvars.Token) -> None:
    _request_ip.reset(token)


def client_ip(request) -> str | None:
    # Behind the intranet proxy REMOTE_ADDR is the proxy; trust X-Forwarded-For only when told to.
    if settings.KAILI_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


def _normalise(changes) -> dict:
    return json.loads(json.dumps(changes or {}, ensure_ascii=False, default=str))


def _content(entry: AuditEntry) -> str:
    return json.dumps(
        [
            entry.at.astimezone(datetime.UTC).isoformat(),
            entry.actor_id,
            entry.actor_username,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.object_repr,
            entry.ip_address,
            entry.outcome,
            entry.changes,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    key = settings.AUDIT_CHAIN_KEY.encode()
    return hmac.new(key, (prev_hash + _content(entry)).encode(), hashlib.sha256).hexdigest()


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    outcome: str = AuditOutcome.SUCCESS,
    changes: dict | None = None,
    ip_address: str | None = None,
) -> AuditEntry:
    """Append one audit row; joins the caller's transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    entry = AuditEntry(
        at=timezone.now(),
        actor=actor if authenticated else None,
        actor_username=(actor.get_username() if authenticated else (changes or {}).get("username", "system"))[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        object_repr=object_repr[:200],
        ip_address=ip_address or _request_ip.get(),
        outcome=outcome,
        changes=_normalise(changes),
    )
    with transaction.atomic():
        advisory_xact_lock(AUDIT_CHAIN_LOCK)
        previous = AuditEntry.objects.order_by("-id").values_list("row_hash", flat=True).first()
        entry.prev_hash = previous or GENESIS_HASH
        entry.row_hash = chain_hash(entry.prev_hash, entry)
        entry.save(force_insert=True)
    return entry


def audit_members_changed(*, actor, obj, before: set[int], field: str = "members", **context) -> None:
    """Audit who joined and who left ``obj``'s ``field`` (a department, a mediation body, a
    court): membership opens the records the group works on, so each change is a grant or
    a withdrawal, like a role. ``context`` goes into every row (e.g. the group's code)."""
    from django.contrib.auth import get_user_model

    after = set(getattr(obj, field).values_list("pk", flat=True))
    users = dict(get_user_model().objects.filter(pk__in=before ^ after).values_list("pk", "username"))
    for action, changed in ((AuditAction.GRANT, after - before), (AuditAction.REVOKE, before - after)):
        for pk in sorted(changed):
            audit_record(actor=actor, action=action, obj=obj, changes={"member": users.get(pk, str(pk)), **context})


@dataclass
class ChainReport:
    ok: bool
    rows_checked: int
    last_id: int | None
    last_hash: str
    problem: str = ""


def audit_verify_chain(*, progress=None) -> ChainReport:
    """Recompute the whole chain; report the first row that does not match."""
    expected_prev = GENESIS_HASH
    checked, last_id = 0, None
    rows = AuditEntry.objects.order_by("id").iterator(chunk_size=2000)
    for entry in rows:
        if entry.prev_hash != expected_prev:
            return ChainReport(False, checked, last_id, expected_prev, f"第 {entry.id} 行的前序哈希不符：其前一行被删除或修改。")
        if chain_hash(entry.prev_hash, entry) != entry.row_hash:
            return ChainReport(False, checked, last_id, expected_prev, f"第 {entry.id} 行的内容与其哈希不符：该行被修改。")
        expected_prev, last_id = entry.row_hash, entry.id
        checked += 1
        if progress:
            progress(checked)
    previous_check = AuditCheck.objects.filter(ok=True, last_id__isnull=False).order_by("-id").first()
    if previous_check and not AuditEntry.objects.filter(id=previous_check.last_id, row_hash=previous_check.last_hash).exists():
        return ChainReport(
            False,
            checked,
            last_id,
            expected_prev,
            f"上次校验时的最后一行（第 {previous_check.last_id} 行）已不存在或被修改：审计记录被截断。",
        )
    return ChainReport(True, checked, last_id, expected_prev)


def audit_verify_and_store(*, progress=None) -> tuple[ChainReport, AuditCheck]:
    report = audit_verify_chain(progress=progress)
    check = AuditCheck.objects.create(
        ok=report.ok,
        rows_checked=report.rows_checked,
        last_id=report.last_id,
        last_hash=report.last_hash if report.ok else "",
        problem=report.problem,
    )
    return report, check

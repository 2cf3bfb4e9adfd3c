"""Exports of filtered lists: small ones answered at once, large ones run by a Celery task
with a progress bar and a download link.

An app registers an ``Exporter`` once: how to rebuild the scoped, filtered rows from the
user and the filters (so the task applies the same scope as the page, in the worker), the
header, and the name of the audited object type. ``export_response_or_job`` answers a
request; ``run_export_job`` is the task's body; ``kaili.export_views`` shows a job's
progress and serves its file to the person who asked for it, and to nobody else.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.utils import timezone

from kaili.audit import audit_record
from kaili.models import AuditAction, AuditOutcome, ExportJob
from kaili.progress import CachedProgress
from kaili.tabular import table_file

EXPORT_FORMATS = ("csv", "xlsx")
PROGRESS_EVERY = 500


@dataclass(frozen=True)
class Exporter:
    kind: str  # "cases.incidents"
    object_type: str  # the audit row's object type, "cases.incident"
    filename: str  # "incidents" -> incidents-20261127.xlsx
    header: list[str]
    # (user, filters) -> the scoped, filtered queryset to export
    queryset: Callable
    # (queryset, user) -> rows
    rows: Callable[..., Iterable[list]]
    # filters as the audit row keeps them (searched numbers masked)
    audit_filters: Callable[[dict], dict] = dict


EXPORTERS: dict[str, Exporter] = {}


def register_exporter(exporter: Exporter) -> Exporter:
    EXPORTERS[exporter.kind] = exporter
    return exporter


def filtered_for_export(user, filters: dict, filterset_class):
    """The records ``user`` may export (of the filterset's model, scoped for EXPORT),
    filtered as the list was. A filter that does not validate is refused rather than
    dropped (django-filter would quietly ignore it and export more than was asked).
    ``filters`` holds strings, and lists of strings for the filters taking several values,
    as the job keeps them."""
    from kaili.scope import EXPORT

    data = QueryDict(mutable=True)
    for key, value in (filters or {}).items():
        data.setlist(key, [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)])
    model = filterset_class._meta.model
    queryset = model.objects.none() if user is None else model.objects.restrict(user, EXPORT)
    filterset = filterset_class(data=data, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
    return filterset.qs


def local_minute(value) -> str:
    """A moment as a file shows it: local time to the minute; empty for none."""
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""


def _filename(exporter: Exporter, file_format: str) -> str:
    return f"{exporter.filename}-{timezone.localdate():%Y%m%d}.{file_format}"


def _audit(actor, exporter: Exporter, filters: dict, file_format: str, rows: int, job=None, outcome=AuditOutcome.SUCCESS):
    changes = {"format": file_format, "filters": exporter.audit_filters(filters), "rows": rows}
    if job is not None:
        changes["job"] = job.pk
    audit_record(actor=actor, action=AuditAction.EXPORT, object_type=exporter.object_type, changes=changes, outcome=outcome)


def _counted(rows: Iterable[list], total: int, progress) -> Iterable[list]:
    progress("导出", 0, total)
    for done, row in enumerate(rows, start=1):
        yield row
        if done % PROGRESS_EVERY == 0:
            progress("导出", done, total)
    progress("导出", total, total)


def export_response_or_job(*, actor, kind: str, filters: dict, file_format: str, inline_rows: int | None = None):
    """An ``HttpResponse`` with the file when the list is small; otherwise a queued
    ``ExportJob`` (its task started on commit)."""
    exporter = EXPORTERS[kind]
    queryset = exporter.queryset(actor, filters)
    total = queryset.count()
    limit = settings.KAILI_EXPORT_INLINE_ROWS if inline_rows is None else inline_rows
    if total > limit:
        return queue_export(actor=actor, kind=kind, filters=filters, file_format=file_format)
    content, content_type = table_file(exporter.header, exporter.rows(queryset, actor), file_format, exporter.filename)
    _audit(actor, exporter, filters, file_format, total)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{_filename(exporter, file_format)}"'
    return response


def queue_export(*, actor, kind: str, filters: dict, file_format: str) -> ExportJob:
    from kaili.tasks import run_export

    job = ExportJob.objects.create(kind=kind, params=filters, file_format=file_format, created_by=actor)
    transaction.on_commit(lambda: run_export.delay(job.pk))
    return job


def run_export_job(job_id: int, progress=None) -> ExportJob:
    """Write a job's file; the rows are those its owner may export *now*."""
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    if job.is_finished:
        return job
    exporter = EXPORTERS[job.kind]
    progress = progress or CachedProgress(job.progress_key)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING)
    actor = job.created_by
    try:
        queryset = exporter.queryset(actor, job.params) if actor.is_active else exporter.queryset(None, job.params).none()
        total = queryset.count()
        rows = _counted(exporter.rows(queryset, actor), total, progress)
        content, _content_type = table_file(exporter.header, rows, job.file_format, exporter.filename)
    except Exception as error:
        job.status, job.error, job.finished_at = ExportJob.Status.FAILED, str(error)[:2000], timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        _audit(actor, exporter, job.params, job.file_format, 0, job, AuditOutcome.FAILURE)
        raise
    with transaction.atomic():
        job.filename = _filename(exporter, job.file_format)
        job.file.save(job.filename, ContentFile(content), save=False)
        job.rows, job.status, job.finished_at = total, ExportJob.Status.DONE, timezone.now()
        job.save(update_fields=["filename", "file", "rows", "status", "finished_at"])
        _audit(actor, exporter, job.params, job.file_format, total, job)
    return job


def purge_old_exports(days: int = 7) -> int:
    """Delete export files older than ``days`` (the rows stay, as a record)."""
    cutoff = timezone.now() - datetime.timedelta(days=days)
    count = 0
    for job in ExportJob.objects.filter(finished_at__lt=cutoff).exclude(file=""):
        job.file.delete(save=True)
        count += 1
    return count

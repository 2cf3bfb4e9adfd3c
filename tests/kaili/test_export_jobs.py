"""Exports: a small list answered at once, a large one by a Celery task with progress,
downloaded by the person who asked and nobody else, audited either way."""

import datetime
import os

import pytest
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from grids.models import Grid
from kaili.exports import EXPORTERS, Exporter, export_response_or_job, purge_old_exports, register_exporter, run_export_job
from kaili.models import AuditEntry, ExportJob
from kaili.roles import CENTRE_STAFF
from kaili.scope import EXPORT
from tests.factories import make_user


def grid_queryset(user, filters):
    queryset = Grid.objects.none() if user is None else Grid.objects.restrict(user, EXPORT)
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    return queryset.order_by("code")


def grid_rows(queryset, user):
    for grid in queryset:
        if grid.code == "boom":
            raise RuntimeError("cannot write this row")
        yield [grid.code, grid.name]


@pytest.fixture
def grid_exporter():
    exporter = register_exporter(
        Exporter(
            kind="tests.grids",
            object_type="grids.grid",
            filename="grids",
            header=["code", "name"],
            queryset=grid_queryset,
            rows=grid_rows,
        )
    )
    yield exporter
    EXPORTERS.pop("tests.grids")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def centre(tree):
    return make_user("centre_t1", CENTRE_STAFF, [tree.t1])


def test_a_small_export_is_answered_at_once_and_audited(centre, grid_exporter):
    response = export_response_or_job(actor=centre, kind="tests.grids", filters={}, file_format="csv", inline_rows=100)
    assert isinstance(response, HttpResponse)
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "code,name"
    assert "522601001" in text and "522601101" not in text  # town T2 is outside the scope
    entry = AuditEntry.objects.get(action="export", object_type="grids.grid")
    assert entry.changes["rows"] == len(text.splitlines()) - 1 and entry.actor == centre


def test_a_large_export_becomes_a_job_the_owner_downloads(client, centre, grid_exporter, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = export_response_or_job(
            actor=centre, kind="tests.grids", filters={"kind": "zone"}, file_format="xlsx", inline_rows=1
        )
    assert isinstance(job, ExportJob)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.rows == 2 and job.filename.endswith(".xlsx")
    client.force_login(centre)
    page = client.get(reverse("export-detail", args=[job.pk]))
    assert reverse("export-download", args=[job.pk]) in page.content.decode()
    progress = client.get(reverse("export-progress", args=[job.pk])).json()
    assert progress["finished"] and progress["percent"] == 100 and progress["rows"] == 2
    download = client.get(reverse("export-download", args=[job.pk]))
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    assert b"".join(download.streaming_content)[:2] == b"PK"  # an XLSX is a zip file
    assert AuditEntry.objects.get(action="export", object_type="grids.grid").changes["job"] == job.pk


def test_nobody_else_sees_or_downloads_a_job(client, tree, centre, grid_exporter):
    job = ExportJob.objects.create(kind="tests.grids", file_format="csv", created_by=centre)
    run_export_job(job.pk)
    colleague = make_user("centre_other", CENTRE_STAFF, [tree.t1])
    client.force_login(colleague)
    for name in ("export-detail", "export-progress", "export-download"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404


def test_the_job_exports_what_its_owner_may_export_when_it_runs(tree, centre, grid_exporter):
    job = ExportJob.objects.create(kind="tests.grids", file_format="csv", created_by=centre)
    centre.is_active = False
    centre.save(update_fields=["is_active"])
    job = run_export_job(job.pk)
    assert job.status == ExportJob.Status.DONE and job.rows == 0


def test_a_failing_job_is_marked_failed_and_audited(tree, centre, grid_exporter):
    Grid.objects.filter(pk=tree.zone_a.pk).update(code="boom")
    job = ExportJob.objects.create(kind="tests.grids", file_format="csv", created_by=centre)
    with pytest.raises(RuntimeError):
        run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and "cannot write" in job.error and not job.file
    assert AuditEntry.objects.get(action="export", object_type="grids.grid").outcome == "failure"


def test_old_export_files_are_purged_but_the_jobs_kept(tree, centre, grid_exporter):
    job = run_export_job(ExportJob.objects.create(kind="tests.grids", file_format="csv", created_by=centre).pk)
    path = job.file.path
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - datetime.timedelta(days=8))
    assert purge_old_exports(days=7) == 1
    job.refresh_from_db()
    assert not job.file
    assert not os.path.exists(path)

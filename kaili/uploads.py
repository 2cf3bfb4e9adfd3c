"""The file import pages: upload, dry run, confirm, with a progress bar (a Celery task).

The grid import (``grids/import_views.py``) and the registry import
(``populations/import_views.py``) are these views with their own model (a
``kaili.models.FileImport``), start function, templates and URL namespace. Each app
names them once on a subclass of ``ImportAccessMixin`` and mixes that into the views.

The URL names under the namespace are ``import``, ``import-detail``,
``import-progress``, ``import-confirm`` and ``import-errors``; the pages render
``templates/kaili/import_form.html`` and ``import_detail.html`` through the app's own.
"""

import csv

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.generic import DetailView, FormView, View

from kaili.progress import CachedProgress
from kaili.tabular import MAX_FILE_BYTES


class UploadForm(forms.Form):
    """One CSV or XLSX file; subclasses give the field its label and help text."""

    file = forms.FileField()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("只支持 CSV 或 XLSX（Excel）文件。"))
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("文件超过 %(mb)d MB。") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
        return upload


def progress_of(upload) -> dict:
    """The task's last report, its phase in the reader's language (the worker stores the msgid)."""
    progress = dict(CachedProgress.read(upload.progress_key) or {})
    if progress.get("phase"):
        progress["phase"] = _(progress["phase"])
    return progress


def csv_attachment(filename: str) -> HttpResponse:
    """An empty CSV download, begun with a byte order mark so that Excel reads it as UTF-8."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    return response


class ImportAccessMixin(LoginRequiredMixin):
    """Who may import, and which uploads they see: their own (a superuser's, everyone's).

    An app's subclass sets the class attributes and ``may_import``.
    """

    model = None  # a kaili.models.FileImport
    start_import = None  # staticmethod(start function): (actor, filename, content, dry_run, confirms=None) -> upload
    url_namespace = ""  # "grids" -> "grids:import-detail" ...
    content_field = "content"  # the file's bytes, left out of lists
    title = ""  # the pages' heading (lazy)
    errors_filename = "import-{pk}-errors.csv"

    def may_import(self, user) -> bool:
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not self.may_import(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def uploads(self):
        uploads = self.model.objects.select_related("created_by").defer(self.content_field)
        return uploads if self.request.user.is_superuser else uploads.filter(created_by=self.request.user)

    def redirect_to_detail(self, upload):
        return redirect(f"{self.url_namespace}:import-detail", pk=upload.pk)

    def get_context_data(self, **kwargs):
        urls = {name: f"{self.url_namespace}:import-{name}" for name in ("detail", "progress", "confirm", "errors")}
        urls["index"] = f"{self.url_namespace}:import"
        return super().get_context_data(import_title=self.title, import_urls=urls, **kwargs)


class ImportFormView(ImportAccessMixin, FormView):
    """The upload form (a dry run) and the latest uploads."""

    form_class = UploadForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(recent=self.uploads()[:20], **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        with transaction.atomic():
            record = self.start_import(actor=self.request.user, filename=upload.name, content=upload.read(), dry_run=True)
        return self.redirect_to_detail(record)


class ImportDetailView(ImportAccessMixin, DetailView):
    """One upload: its progress, summary and errors, and the confirm button after a clean dry run."""

    context_object_name = "upload"
    change_keys = ()  # the summary counts that are changes; none, and there is nothing to confirm

    def get_queryset(self):
        return self.uploads()

    def get_context_data(self, **kwargs):
        upload = self.object
        confirmed = self.model.objects.filter(confirms=upload).order_by("-id").first()
        changes = sum(upload.summary.get(key, 0) for key in self.change_keys)
        valid = upload.status == self.model.Status.VALID
        return super().get_context_data(
            progress=progress_of(upload),
            confirmed=confirmed,
            error_count=upload.summary.get("errors", len(upload.errors)),
            can_confirm=upload.dry_run and valid and confirmed is None and changes > 0,
            nothing_to_do=valid and changes == 0,
            **kwargs,
        )


class ImportProgressView(ImportAccessMixin, View):
    """The task's progress as JSON, polled by static/js/import-progress.js."""

    def get(self, request, pk):
        upload = get_object_or_404(self.uploads().only("id", "status", "created_by", "created_at"), pk=pk)
        progress = progress_of(upload)
        return JsonResponse(
            {
                "status": upload.status,
                "status_display": upload.get_status_display(),
                "finished": upload.is_finished,
                "phase": progress.get("phase", ""),
                "done": progress.get("done", 0),
                "total": progress.get("total", 0),
                "percent": 100 if upload.is_finished else progress.get("percent", 0),
            }
        )


class ImportConfirmView(ImportAccessMixin, View):
    """Runs the import of a valid dry run's file, once, however often the button is pressed."""

    def post(self, request, pk):
        dry_run = get_object_or_404(self.uploads().filter(dry_run=True), pk=pk)
        with transaction.atomic():
            # one confirmation per dry run, even when the button is pressed twice
            dry_run = self.model.objects.select_for_update().get(pk=dry_run.pk)
            already = self.model.objects.filter(confirms=dry_run).first()
            if already is not None:
                return self.redirect_to_detail(already)
            if not self.confirmable(dry_run):
                messages.error(request, _("只有校验通过的文件才能确认导入。"))
                return self.redirect_to_detail(dry_run)
            record = self.start_import(
                actor=request.user,
                filename=dry_run.filename,
                content=self.content_of(dry_run),
                dry_run=False,
                confirms=dry_run,
            )
        return self.redirect_to_detail(record)

    def confirmable(self, dry_run) -> bool:
        return dry_run.status == self.model.Status.VALID

    def content_of(self, dry_run) -> bytes:
        return bytes(getattr(dry_run, self.content_field))


class ImportErrorsView(ImportAccessMixin, View):
    """The error list as CSV, to fix the file row by row."""

    def get(self, request, pk):
        upload = get_object_or_404(self.uploads().only("id", "filename", "errors", "created_by"), pk=pk)
        response = csv_attachment(self.errors_filename.format(pk=upload.pk))
        writer = csv.writer(response)
        writer.writerow([_("行号"), _("列"), _("原因")])
        for error in upload.errors:
            # the column's name as the file had it where the import keeps it (a Chinese header)
            writer.writerow([error["line"], error.get("label") or error["column"], error["message"]])
        return response

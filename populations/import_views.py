"""The registry import page: upload, dry run, confirm, with a progress bar (a Celery task).

For whoever may register people (system admins, departments, grid workers); what a file
may touch is bounded by the uploader's scope when the task runs (populations/imports.py).
"""

import csv

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, FormView, View

from kaili.progress import CachedProgress
from kaili.scope import ADD, user_can
from kaili.tabular import MAX_FILE_BYTES
from populations.exports import PEOPLE_HEADER
from populations.imports import COLUMN_LABELS, people_import_start
from populations.models import PeopleImport, Person

CHANGE_KEYS = ("households_created", "households_updated", "people_created", "people_updated")


class PeopleImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("人口文件（CSV 或 XLSX）"),
        help_text=format_lazy(
            "{}{}{}{}",
            gettext_lazy("表头："),
            ",".join(PEOPLE_HEADER),
            gettext_lazy("；或中文表头："),
            ",".join(COLUMN_LABELS[column] for column in PEOPLE_HEADER),
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("只支持 CSV 或 XLSX（Excel）文件。"))
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("文件超过 %(mb)d MB。") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
        return upload


def progress_of(upload: PeopleImport) -> dict:
    """The task's last report, its phase in the reader's language (the worker stores the msgid)."""
    progress = dict(CachedProgress.read(upload.progress_key) or {})
    if progress.get("phase"):
        progress["phase"] = _(progress["phase"])
    return progress


class ImportAccessMixin(LoginRequiredMixin):
    """For those who may register people somewhere; each upload is its uploader's own."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not user_can(request.user, Person, ADD):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def uploads(self):
        uploads = PeopleImport.objects.select_related("created_by").defer("content_encrypted")
        return uploads if self.request.user.is_superuser else uploads.filter(created_by=self.request.user)


class PeopleImportView(ImportAccessMixin, FormView):
    form_class = PeopleImportForm
    template_name = "populations/import_form.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(recent=self.uploads()[:20], **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        with transaction.atomic():
            record = people_import_start(actor=self.request.user, filename=upload.name, content=upload.read(), dry_run=True)
        return redirect("populations:import-detail", pk=record.pk)


class PeopleImportDetailView(ImportAccessMixin, DetailView):
    template_name = "populations/import_detail.html"
    context_object_name = "upload"

    def get_queryset(self):
        return self.uploads()

    def get_context_data(self, **kwargs):
        upload = self.object
        confirmed = PeopleImport.objects.filter(confirms=upload).first()
        changes = sum(upload.summary.get(key, 0) for key in CHANGE_KEYS)
        return super().get_context_data(
            progress=progress_of(upload),
            confirmed=confirmed,
            error_count=upload.summary.get("errors", len(upload.errors)),
            can_confirm=upload.dry_run and upload.status == PeopleImport.Status.VALID and confirmed is None and changes > 0,
            nothing_to_do=upload.status == PeopleImport.Status.VALID and changes == 0,
            **kwargs,
        )


class PeopleImportProgressView(ImportAccessMixin, View):
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


class PeopleImportConfirmView(ImportAccessMixin, View):
    def post(self, request, pk):
        dry_run = get_object_or_404(self.uploads().filter(dry_run=True), pk=pk)
        with transaction.atomic():
            # one confirmation per dry run, even when the button is pressed twice (and a
            # unique constraint behind it)
            dry_run = PeopleImport.objects.select_for_update().get(pk=dry_run.pk)
            already = PeopleImport.objects.filter(confirms=dry_run).first()
            if already is not None:
                return redirect("populations:import-detail", pk=already.pk)
            if dry_run.status != PeopleImport.Status.VALID or not dry_run.content_encrypted:
                messages.error(request, _("只有校验通过的文件才能确认导入。"))
                return redirect("populations:import-detail", pk=dry_run.pk)
            record = people_import_start(
                actor=request.user,
                filename=dry_run.filename,
                content=dry_run.read_content(),
                dry_run=False,
                confirms=dry_run,
            )
        return redirect("populations:import-detail", pk=record.pk)


class PeopleImportErrorsView(ImportAccessMixin, View):
    """The error list as CSV, to fix the file row by row."""

    def get(self, request, pk):
        upload = get_object_or_404(self.uploads().only("id", "filename", "errors", "created_by"), pk=pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="people-import-{upload.pk}-errors.csv"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow([_("行号"), _("列"), _("原因")])
        for error in upload.errors:
            writer.writerow([error["line"], error.get("label") or error["column"], error["message"]])
        return response


class PeopleImportTemplateView(ImportAccessMixin, View):
    """An empty file with the Chinese header, saved so that Excel opens it as UTF-8."""

    def get(self, request):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="people-template.csv"'
        response.write("\ufeff")
        csv.writer(response).writerow([COLUMN_LABELS[column] for column in PEOPLE_HEADER])
        return response

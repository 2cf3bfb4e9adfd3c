"""The registry import page: upload, dry run, confirm, with a progress bar (a Celery task).

For whoever may register people (system admins, departments, grid workers); what a file
may touch is bounded by the uploader's scope when the task runs (populations/imports.py).
The views are kaili/uploads.py's, for PeopleImport and people_import_start, plus a blank
template to download.
"""

import csv

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from django.views.generic import View

from kaili import uploads
from kaili.scope import ADD, user_can
from populations.exports import PEOPLE_HEADER
from populations.imports import COLUMN_LABELS, people_import_start
from populations.models import PeopleImport, Person

CHANGE_KEYS = ("households_created", "households_updated", "people_created", "people_updated")


class PeopleImportForm(uploads.UploadForm):
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


class ImportAccessMixin(uploads.ImportAccessMixin):
    """For those who may register people somewhere; each upload is its uploader's own."""

    model = PeopleImport
    start_import = staticmethod(people_import_start)
    url_namespace = "populations"
    content_field = "content_encrypted"
    title = gettext_lazy("导入人口")
    errors_filename = "people-import-{pk}-errors.csv"

    def may_import(self, user) -> bool:
        return user_can(user, Person, ADD)


class PeopleImportView(ImportAccessMixin, uploads.ImportFormView):
    form_class = PeopleImportForm
    template_name = "populations/import_form.html"


class PeopleImportDetailView(ImportAccessMixin, uploads.ImportDetailView):
    template_name = "populations/import_detail.html"
    change_keys = CHANGE_KEYS


class PeopleImportProgressView(ImportAccessMixin, uploads.ImportProgressView):
    pass


class PeopleImportConfirmView(ImportAccessMixin, uploads.ImportConfirmView):
    def confirmable(self, dry_run) -> bool:
        # the file is dropped once the import is done or refused
        return super().confirmable(dry_run) and bool(dry_run.content_encrypted)

    def content_of(self, dry_run) -> bytes:
        return dry_run.read_content()


class PeopleImportErrorsView(ImportAccessMixin, uploads.ImportErrorsView):
    pass


class PeopleImportTemplateView(ImportAccessMixin, View):
    """An empty file with the Chinese header, saved so that Excel opens it as UTF-8."""

    def get(self, request):
        response = uploads.csv_attachment("people-template.csv")
        csv.writer(response).writerow([COLUMN_LABELS[column] for column in PEOPLE_HEADER])
        return response

"""The grid import page: upload, dry run, confirm, with a progress bar (a Celery task).

The views are kaili/uploads.py's, for GridImport and grid_import_start.
"""

from django import forms
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from grids.exports import EXPORT_HEADER
from grids.imports import grid_import_start
from grids.models import Grid, GridImport
from kaili import uploads
from kaili.scope import ADD, CHANGE, user_can


class GridImportForm(uploads.UploadForm):
    file = forms.FileField(
        label=gettext_lazy("网格文件（CSV 或 XLSX）"),
        help_text=format_lazy("{}{}", gettext_lazy("表头："), ",".join(EXPORT_HEADER)),
    )


class ImportAccessMixin(uploads.ImportAccessMixin):
    """Imports change the tree: for those who may add and change nodes (system admins)."""

    model = GridImport
    start_import = staticmethod(grid_import_start)
    url_namespace = "grids"
    content_field = "content"
    title = gettext_lazy("导入网格")
    errors_filename = "grid-import-{pk}-errors.csv"

    def may_import(self, user) -> bool:
        return user_can(user, Grid, ADD) and user_can(user, Grid, CHANGE)


class GridImportView(ImportAccessMixin, uploads.ImportFormView):
    form_class = GridImportForm
    template_name = "grids/import_form.html"


class GridImportDetailView(ImportAccessMixin, uploads.ImportDetailView):
    template_name = "grids/import_detail.html"
    change_keys = ("created", "updated", "moved")


class GridImportProgressView(ImportAccessMixin, uploads.ImportProgressView):
    pass


class GridImportConfirmView(ImportAccessMixin, uploads.ImportConfirmView):
    pass


class GridImportErrorsView(ImportAccessMixin, uploads.ImportErrorsView):
    pass


def import_detail_url(upload: GridImport) -> str:
    return reverse("grids:import-detail", kwargs={"pk": upload.pk})

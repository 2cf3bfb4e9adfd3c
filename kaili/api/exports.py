"""File exports in the API: the ``format`` parameter names the file format (csv / xlsx); a
list's filters become an export, answered with the file or, when it is large, with the
queued job (202)."""

from django.urls import reverse
from django.utils.translation import gettext as _
from django_filters.filters import MultipleChoiceFilter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from kaili.api.errors import error_response
from kaili.exports import EXPORT_FORMATS, export_response_or_job
from kaili.models import ExportJob
from kaili.tabular import XLSX_CONTENT_TYPE

# Query parameters that are not list filters (the file format, the page, the order).
NOT_FILTERS = ("format", "page", "page_size", "ordering")
FORMAT_PARAMETER = OpenApiParameter("format", OpenApiTypes.STR, enum=list(EXPORT_FORMATS), description="文件格式")
FILE_RESPONSES = {(200, "text/csv"): OpenApiTypes.BINARY, (200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}


class FileExportMixin:
    """DRF would read the ``format`` query parameter as a renderer choice; for file
    exports it names the file format instead."""

    def perform_content_negotiation(self, request, force=False):
        if getattr(self, "action", None) == "export":
            return super().perform_content_negotiation(request, force=True)
        return super().perform_content_negotiation(request, force)

    def export_format(self, request) -> str | None:
        file_format = request.query_params.get("format", "csv")
        return file_format if file_format in EXPORT_FORMATS else None

    def filtered_export(self, request, *, filterset_class, kind: str):
        """The list filtered by the request's query as a file of ``kind``, audited; a large
        one is queued (202) and its progress and file are at ``/api/exports/{job}/``."""
        file_format = self.export_format(request)
        if file_format is None:
            return format_refused()
        filters = filterset_class(data=request.query_params, queryset=filterset_class._meta.model.objects.none())
        if not filters.is_valid():
            raise exceptions.ValidationError(filters.errors)
        answer = export_response_or_job(
            actor=request.user, kind=kind, filters=export_filters(request.query_params, filterset_class), file_format=file_format
        )
        return queued_export(answer) if isinstance(answer, ExportJob) else answer


class ExportQueuedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status = serializers.CharField()
    progress_url = serializers.CharField()
    download_url = serializers.CharField()
    page_url = serializers.CharField()


def export_filters(query_params, filterset_class) -> dict:
    """The list filters of a request as the export job keeps them (JSON): a list for each
    filter taking several values, the last value for the others."""
    several = {name for name, field in filterset_class.base_filters.items() if isinstance(field, MultipleChoiceFilter)}
    return {
        key: query_params.getlist(key) if key in several else query_params.get(key)
        for key in query_params
        if key not in NOT_FILTERS
    }


def queued_export(job: ExportJob) -> Response:
    """The answer to an export queued as a job: where to follow it and fetch the file."""
    body = {
        "job": job.pk,
        "status": job.status,
        "progress_url": reverse("exportjob-detail", kwargs={"pk": job.pk}),
        "download_url": reverse("exportjob-download", kwargs={"pk": job.pk}),
        "page_url": reverse("export-detail", kwargs={"pk": job.pk}),
    }
    return Response(ExportQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def format_refused():
    return error_response("invalid_format", _("format 只能是 csv 或 xlsx。"), fields={"format": [_("只能是 csv 或 xlsx。")]})

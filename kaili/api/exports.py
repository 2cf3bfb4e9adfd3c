"""File exports in the API: the ``format`` parameter names the file format (csv / xlsx)."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from kaili.api.errors import error_response
from kaili.exports import EXPORT_FORMATS
from kaili.tabular import XLSX_CONTENT_TYPE

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


def format_refused():
    return error_response("invalid_format", _("format 只能是 csv 或 xlsx。"), fields={"format": [_("只能是 csv 或 xlsx。")]})

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action

from grids import services
from grids.api.serializers import GridSerializer
from grids.exports import EXPORT_FORMATS, XLSX_CONTENT_TYPE, grid_export_response
from grids.filtersets import GridFilterSet
from grids.models import Grid
from kaili.api.base import ScopedReadOnlyViewSet
from kaili.api.errors import error_response


class GridViewSet(mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """The grid tree within the caller's scope, addressed by code."""

    queryset = Grid.objects.select_related("parent").order_by("code")
    serializer_class = GridSerializer
    filterset_class = GridFilterSet
    lookup_field = "code"
    lookup_value_regex = r"\d{6,17}"
    ordering_fields = ["code", "name"]
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer):
        serializer.instance = services.grid_rename(
            actor=self.request.user,
            grid=serializer.instance,
            name=serializer.validated_data.get("name", serializer.instance.name),
        )

    @extend_schema(
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["csv", "xlsx"], description="文件格式")],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY},
    )
    @action(detail=False, methods=["get"], url_path="export", url_name="export")
    def export(self, request):
        """The caller's part of the tree in the import format (round-trips through import)."""
        file_format = request.query_params.get("format", "csv")
        if file_format not in EXPORT_FORMATS:
            return error_response("invalid_format", "format 只能是 csv 或 xlsx。", fields={"format": ["只能是 csv 或 xlsx。"]})
        grids = self.filter_queryset(self.get_queryset())
        return grid_export_response(actor=request.user, grids=grids, file_format=file_format, filters=request.query_params.dict())

    # DRF's `format` query parameter would otherwise select a renderer for the export.
    def perform_content_negotiation(self, request, force=False):
        if getattr(self, "action", None) == "export":
            return super().perform_content_negotiation(request, force=True)
        return super().perform_content_negotiation(request, force)

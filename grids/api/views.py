from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from grids import selectors, services
from grids.api import serializers as s
from grids.exports import EXPORT_FORMATS, grid_export_response
from grids.filtersets import GridFilterSet
from grids.history import names_in_scope
from grids.models import Grid
from kaili.api.base import ScopedReadOnlyViewSet
from kaili.api.errors import error_response
from kaili.scope import ADD, CHANGE, VIEW
from kaili.tabular import XLSX_CONTENT_TYPE


class GridViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, ScopedReadOnlyViewSet):
    """The grid tree within the caller's scope, addressed by code.

    Reads are scoped to the nodes a user is granted and their subtrees; ``ancestors``
    gives the names above them for breadcrumbs. Writes (create, PATCH, move, merge, split,
    retire, delete) are for system admins and go through ``grids.services``.
    """

    queryset = Grid.objects.select_related("parent", "merged_into").order_by("code")
    serializer_class = s.GridSerializer
    filterset_class = GridFilterSet
    lookup_field = "code"
    lookup_value_regex = r"\d{6,17}"
    ordering_fields = ["code", "name"]
    scope_actions = {
        "children": VIEW,
        "ancestors": VIEW,
        "history": VIEW,
        "roots": VIEW,
        "move": CHANGE,
        "merge": CHANGE,
        "split": CHANGE,
        "retire": CHANGE,
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            queryset = selectors.with_subtree_totals(queryset)
        return queryset

    def filter_queryset(self, queryset):
        # The list filters (open nodes only by default) choose rows to list; a node asked for
        # by code is found whether open or retired.
        return queryset if self.detail else super().filter_queryset(queryset)

    def _node_in_scope(self, code: str, action: str, field: str) -> Grid:
        node = selectors.grid_in_scope(user=self.request.user, code=code, action=action)
        if node is None:
            raise ValidationError({field: [_("网格 %(code)s 不存在或不在您的管辖范围内。") % {"code": code}]})
        return node

    def _respond(self, grid: Grid, status_code=status.HTTP_200_OK) -> Response:
        grid = selectors.with_subtree_totals(Grid.objects.filter(pk=grid.pk)).select_related("parent", "merged_into").get()
        return Response(s.GridSerializer(grid).data, status=status_code)

    @extend_schema(request=s.GridCreateSerializer, responses={201: s.GridSerializer})
    def create(self, request):
        data = s.GridCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        parent_code = values.pop("parent", "")
        parent = self._node_in_scope(parent_code, ADD, "parent") if parent_code else None
        if parent is None and not request.user.is_superuser:
            raise ValidationError({"parent": [_("请指定上级网格。")]})
        grid = services.grid_create(actor=request.user, parent=parent, **values)
        return self._respond(grid, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        grid = self.get_object()
        data = s.GridSerializer(grid, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in ("name", "area_type", "households", "boundary", "centre")}
        return self._respond(services.grid_update(actor=request.user, grid=grid, **changes))

    def perform_destroy(self, instance):
        services.grid_delete(actor=self.request.user, grid=instance)

    @extend_schema(responses=s.GridSerializer(many=True))
    @action(detail=False, methods=["get"])
    def roots(self, request):
        """Where the caller's tree starts: the outermost nodes they are granted."""
        return Response(s.GridSerializer(selectors.grid_roots(user=request.user), many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("include_retired", OpenApiTypes.BOOL, description="含已撤销、已并入的下级")],
        responses=s.GridSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def children(self, request, code=None):
        """The node's children in scope, with open-children counts and household totals."""
        grid = self.get_object()
        include_retired = request.query_params.get("include_retired", "").lower() in ("1", "true", "yes")
        children = selectors.grid_children(user=request.user, grid=grid, include_retired=include_retired)
        page = self.paginate_queryset(children)
        return self.get_paginated_response(s.GridSerializer(page, many=True).data)

    @extend_schema(responses=s.GridAncestorSerializer(many=True))
    @action(detail=True, methods=["get"])
    def ancestors(self, request, code=None):
        """Codes and names from the city down to the node's parent (for breadcrumbs)."""
        return Response(s.GridAncestorSerializer(selectors.grid_path(grid=self.get_object()), many=True).data)

    @extend_schema(responses=s.GridEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, code=None):
        """Created, renamed, moved from where, merged into what, split, retired."""
        events = list(selectors.grid_history(grid=self.get_object(), limit=500))
        names = names_in_scope(request.user, events)
        return Response(s.GridEventSerializer(events, many=True, context={"names": names}).data)

    @extend_schema(request=s.GridMoveSerializer, responses=s.GridSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, code=None):
        """Move the node with its subtree under another parent (its code stays)."""
        data = s.GridMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grid = self.get_object()
        new_parent = self._node_in_scope(data.validated_data["parent"], ADD, "parent")
        return self._respond(services.grid_move(actor=request.user, grid=grid, new_parent=new_parent))

    @extend_schema(request=s.GridMergeSerializer, responses=s.GridSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, code=None):
        """Merge this node into another of the same kind; answers with the merged-into node."""
        data = s.GridMergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = self.get_object()
        target = self._node_in_scope(data.validated_data["into"], CHANGE, "into")
        return self._respond(services.grid_merge(actor=request.user, source=source, target=target))

    @extend_schema(request=s.GridSplitSerializer, responses=s.GridSerializer(many=True))
    @action(detail=True, methods=["post"])
    def split(self, request, code=None):
        """Create new siblings and move the chosen children into them."""
        data = s.GridSplitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grid = self.get_object()
        if grid.parent_id:
            self._node_in_scope(grid.parent.code, ADD, "parts")
        parts = [services.SplitPart(**part) for part in data.validated_data["parts"]]
        created = services.grid_split(actor=request.user, grid=grid, parts=parts)
        return Response(s.GridSerializer(created, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.GridRetireSerializer, responses=s.GridSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request, code=None):
        """Retire the node: it keeps its records and history and takes nothing new."""
        data = s.GridRetireSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grid = services.grid_retire(actor=request.user, grid=self.get_object(), reason=data.validated_data.get("reason", ""))
        return self._respond(grid)

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

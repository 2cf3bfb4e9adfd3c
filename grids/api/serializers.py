from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from grids.history import describe_event
from grids.models import AreaType, Grid, GridEvent, GridKind


class GridSerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", read_only=True, default=None)
    merged_into_code = serializers.CharField(source="merged_into.code", read_only=True, default=None)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    is_retired = serializers.BooleanField(read_only=True)
    children_count = serializers.IntegerField(read_only=True, default=None)
    households_total = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Grid
        fields = [
            "code",
            "name",
            "kind",
            "kind_display",
            "parent_code",
            "area_type",
            "households",
            "children_count",
            "households_total",
            "boundary",
            "centre",
            "is_retired",
            "retired_at",
            "merged_into_code",
            "level",
        ]
        read_only_fields = ["code", "kind", "retired_at", "level"]


class GridCreateSerializer(serializers.Serializer):
    parent = serializers.CharField(label=_("上级编码"), required=False, allow_blank=True)
    code = serializers.CharField(label=_("编码"), required=False, allow_blank=True, help_text=_("留空则按上级编码自动编号"))
    name = serializers.CharField(label=_("名称"), max_length=100)
    kind = serializers.ChoiceField(label=_("层级"), choices=GridKind.choices)
    area_type = serializers.ChoiceField(label=_("城乡类型"), choices=AreaType.choices, required=False, allow_blank=True)
    households = serializers.IntegerField(label=_("户数"), required=False, allow_null=True, min_value=0)
    boundary = serializers.JSONField(required=False, allow_null=True)
    centre = serializers.JSONField(required=False, allow_null=True)


class GridMoveSerializer(serializers.Serializer):
    parent = serializers.CharField(label=_("新上级编码"))


class GridMergeSerializer(serializers.Serializer):
    into = serializers.CharField(label=_("并入网格编码"))


class SplitPartSerializer(serializers.Serializer):
    name = serializers.CharField(label=_("新网格名称"), max_length=100)
    children = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    code = serializers.CharField(required=False, allow_blank=True)
    area_type = serializers.ChoiceField(choices=AreaType.choices, required=False)
    households = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class GridSplitSerializer(serializers.Serializer):
    parts = SplitPartSerializer(many=True, allow_empty=False)


class GridRetireSerializer(serializers.Serializer):
    reason = serializers.CharField(label=_("撤销原因"), required=False, allow_blank=True, max_length=200)


class GridAncestorSerializer(serializers.ModelSerializer):
    """Breadcrumbs: an ancestor's name may be shown even where its records may not."""

    class Meta:
        model = Grid
        fields = ["code", "name", "kind"]


class GridEventSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    actor = serializers.CharField(source="actor.username", read_only=True, default=None)
    text = serializers.SerializerMethodField(help_text=_("事件经过（文字）"))

    class Meta:
        model = GridEvent
        fields = ["kind", "kind_display", "at", "actor", "detail", "text"]

    def get_text(self, event) -> list[str]:
        return describe_event(event, names=self.context.get("names", {}))

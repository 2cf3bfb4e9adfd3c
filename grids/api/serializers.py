from rest_framework import serializers

from grids.models import Grid


class GridSerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", read_only=True, default=None)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    is_retired = serializers.BooleanField(read_only=True)

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
            "boundary",
            "centre",
            "is_retired",
            "retired_at",
        ]
        read_only_fields = [f for f in fields if f != "name"]

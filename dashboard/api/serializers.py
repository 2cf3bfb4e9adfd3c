"""What the statistics API answers: a node with the path to it, a period with its
neighbours, metric definitions, headline cards (value, 同比, 环比), the children table and
the monthly trend. Read-only: the figures are the roll-up's (``dashboard.selectors``).

A value is a count, a sum, a rate as a fraction (0.25 for 25%) or a mean; null when there
was nothing to measure (a rate over no cases). A change is the signed relative change
(-0.1223 for -12.23%); null when there is no base to compare with.
"""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dashboard import selectors


@extend_schema_field(OpenApiTypes.NUMBER)
class FigureField(serializers.Field):
    """A metric's value; whole numbers (every count) as integers."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        value = float(value)
        return int(value) if value.is_integer() else value


def figures_by_metric(label: str):
    return serializers.DictField(child=FigureField(), label=label)


def changes_by_metric(label: str):
    return serializers.DictField(child=serializers.FloatField(allow_null=True), label=label)


class StatNodeBriefSerializer(serializers.Serializer):
    code = serializers.CharField(label=_("区域编码"))
    name = serializers.CharField(label=_("名称"))


class StatNodeSerializer(StatNodeBriefSerializer):
    kind = serializers.CharField(label=_("层级"), help_text="city / town / zone / grid")
    path = StatNodeBriefSerializer(many=True, label=_("路径"), help_text=_("从本人可查看的最高一级区域到本区域"))


class StatPeriodSerializer(serializers.Serializer):
    code = serializers.CharField(label=_("统计期"), help_text="2016 / 2016Q2 / 2016-05")
    kind = serializers.CharField(label=_("类型"), help_text="year / quarter / month")
    label = serializers.CharField(label=_("名称"))
    start = serializers.DateField(label=_("首日"))
    end = serializers.DateField(label=_("截止日（不含）"), help_text=_("统计期最后一天的次日"))
    previous = serializers.CharField(label=_("上期（环比）"))
    last_year = serializers.CharField(label=_("去年同期（同比）"))


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField(label=_("指标键"))
    label = serializers.CharField(label=_("名称"))
    unit = serializers.CharField(label=pgettext_lazy("计量", "单位"))
    kind = serializers.CharField(label=_("类型"), help_text="count / rate / mean / sum")
    better = serializers.CharField(allow_null=True, label=_("向好方向"), help_text=_("up / down；null 为无所谓好坏"))
    family = serializers.CharField(label=_("指标类"))


class StatCardSerializer(serializers.Serializer):
    """One metric now, the same period last year (同比) and the period before (环比)."""

    key = serializers.CharField(source="metric.key", label=_("指标键"))
    label = serializers.CharField(source="metric.label", label=_("名称"))
    unit = serializers.CharField(source="metric.unit", label=pgettext_lazy("计量", "单位"))
    kind = serializers.CharField(source="metric.kind", label=_("类型"), help_text="count / rate / mean / sum")
    better = serializers.CharField(source="metric.better", allow_null=True, label=_("向好方向"))
    value = FigureField(label=_("本期"))
    last_year = FigureField(label=_("去年同期"))
    previous = FigureField(label=_("上期"))
    partial = serializers.BooleanField(
        label=_("本期未结束"), help_text=_("季度、年度尚未结束时，去年同期和上期取相同的月份（1 月至本月）")
    )
    year_on_year = serializers.FloatField(allow_null=True, label=_("同比"))
    period_on_period = serializers.FloatField(allow_null=True, label=_("环比"))
    year_on_year_good = serializers.BooleanField(allow_null=True, label=_("同比向好"))
    period_on_period_good = serializers.BooleanField(allow_null=True, label=_("环比向好"))


class StatsSerializer(serializers.Serializer):
    node = StatNodeSerializer()
    period = StatPeriodSerializer()
    data_as_of = serializers.DateTimeField(allow_null=True, label=_("数据截至"))
    metrics = StatCardSerializer(many=True)


class StatChildSerializer(serializers.Serializer):
    """A child node's row of the children table (``selectors.ChildRow``)."""

    code = serializers.CharField(source="node.code", label=_("区域编码"))
    name = serializers.CharField(source="node.name", label=_("名称"))
    kind = serializers.CharField(source="node.kind", label=_("层级"))
    values = figures_by_metric(_("本期"))
    last_year = figures_by_metric(_("去年同期"))
    year_on_year = serializers.SerializerMethodField(label=_("同比"))

    @extend_schema_field(changes_by_metric(_("同比")))
    def get_year_on_year(self, row: selectors.ChildRow) -> dict:
        return {key: selectors.change(now, row.last_year.get(key)) for key, now in row.values.items()}


class StatsChildrenSerializer(serializers.Serializer):
    node = StatNodeSerializer()
    period = StatPeriodSerializer()
    data_as_of = serializers.DateTimeField(allow_null=True, label=_("数据截至"))
    metrics = MetricSerializer(many=True)
    children = StatChildSerializer(many=True)


class StatsTrendSerializer(serializers.Serializer):
    node = StatNodeSerializer()
    period = StatPeriodSerializer()
    data_as_of = serializers.DateTimeField(allow_null=True, label=_("数据截至"))
    months = serializers.ListField(child=serializers.CharField(), label=_("月份"), help_text=_("由早到晚，如 2016-05"))
    series = serializers.DictField(
        child=serializers.ListField(child=FigureField()), label=_("各指标逐月数值"), help_text=_("与 months 一一对应")
    )

"""The statistics API (issue 7): a node's headline cards, its children table, its monthly
trend, and the metric definitions.

Every answer is read from the roll-up's statistics (``dashboard.selectors``), a fixed
handful of queries whatever the number of records behind it. ``?node=&period=&metrics=``
are read through ``DashboardQuery``, which keeps the node within the caller's scope: a
node out of scope is not found (404), with the very answer a missing code gets. A caller
whose roles grant the dashboard nowhere is refused (403). Privileged roles (leaders) pass
their second factor at sign-in or when asking for a token (``kaili.middleware``,
``/api/auth/token/``), as everywhere in the API.
"""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard import metrics as m
from dashboard import selectors
from dashboard.api import serializers as s
from dashboard.models import Statistic
from dashboard.queries import DashboardQuery
from kaili.scope import VIEW, user_can

TREND_MONTHS, TREND_MONTHS_MAX = 12, 36

NODE_PARAMETER = OpenApiParameter(
    "node", OpenApiTypes.STR, description="区域编码（市、镇/街道、村/社区、网格）；缺省为本人可查看的最高一级区域"
)
PERIOD_PARAMETER = OpenApiParameter(
    "period",
    OpenApiTypes.STR,
    pattern=r"^\d{4}(-\d{2}|Q[1-4])?$",
    description="统计期：年如 2016，季度如 2016Q2，月如 2016-05；缺省为本年",
)
METRICS_PARAMETER = OpenApiParameter(
    "metrics", OpenApiTypes.STR, description="指标键，逗号分隔（见 /api/stats/metrics/）；缺省为六项核心指标（三升三降）"
)
MONTHS_PARAMETER = OpenApiParameter(
    "months", OpenApiTypes.INT, default=TREND_MONTHS, description=f"趋势的月数，1-{TREND_MONTHS_MAX}，到统计期的最后一个月为止"
)
QUERY_PARAMETERS = [NODE_PARAMETER, PERIOD_PARAMETER, METRICS_PARAMETER]


class StatisticPermission(permissions.BasePermission):
    """Signed in, with a role granting the dashboard somewhere; which nodes is the query's
    business (``DashboardQuery``)."""

    message = gettext_lazy("您没有查看统计数据的权限。")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated) and user_can(user, Statistic, VIEW)


class TrendQuery(DashboardQuery):
    months = forms.CharField(label=gettext_lazy("月数"), required=False)

    def clean_months(self) -> int:
        text = (self.cleaned_data.get("months") or "").strip()
        if not text:
            return TREND_MONTHS
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= TREND_MONTHS_MAX):
            raise forms.ValidationError(
                _("月数应为 1 到 %(high)d 之间的整数，而不是“%(text)s”。") % {"high": TREND_MONTHS_MAX, "text": text[:20]},
                code="invalid",
            )
        return int(text)


def refusal(query: DashboardQuery) -> exceptions.APIException:
    """A node not found (or out of scope: the same answer) is a 404; anything else a 400
    naming the fields."""
    node_errors = query.errors.as_data().get("node", [])
    for error in node_errors:
        if error.code == "not_found":
            return exceptions.NotFound(error.messages[0])
        if error.code == "no_scope":
            return exceptions.PermissionDenied(error.messages[0])
    return exceptions.ValidationError({field: list(messages) for field, messages in query.errors.items()})


def located(user, node) -> dict:
    return {"code": node.code, "name": node.name, "kind": node.kind, "path": selectors.breadcrumb(user, node)}


class StatisticsView(APIView):
    permission_classes = [permissions.IsAuthenticated, StatisticPermission]
    query_class = DashboardQuery

    def asked(self, request) -> dict:
        """The node, the period and the metrics asked for (the headline ones by default)."""
        query = self.query_class(request.query_params, user=request.user)
        if not query.is_valid():
            raise refusal(query)
        asked = dict(query.cleaned_data)
        asked["metrics"] = asked["metrics"] or list(m.HEADLINE)
        asked["layout"] = query.layout
        return asked

    def heading(self, request, asked: dict) -> dict:
        """What every answer starts with: where, when, and how fresh."""
        return {
            "node": located(request.user, asked["node"]),
            "period": asked["period"],
            "data_as_of": selectors.data_as_of(),
        }


class StatsView(StatisticsView):
    @extend_schema(parameters=QUERY_PARAMETERS, responses=s.StatsSerializer)
    def get(self, request):
        """A node's figures for a period: each metric now, the same period last year (同比)
        and the period before (环比), with the signed changes and whether they are good."""
        asked = self.asked(request)
        cards = selectors.cards(asked["node"], asked["period"], asked["metrics"], layout=asked["layout"])
        return Response(s.StatsSerializer({**self.heading(request, asked), "metrics": cards}).data)


class ChildrenView(StatisticsView):
    @extend_schema(parameters=QUERY_PARAMETERS, responses=s.StatsChildrenSerializer)
    def get(self, request):
        """The node's child nodes (nodes merged away are counted in the one they were
        merged into), each with the metrics now, a year earlier and the change."""
        asked = self.asked(request)
        rows = selectors.children(asked["node"], asked["period"], asked["metrics"], layout=asked["layout"])
        body = {
            **self.heading(request, asked),
            "metrics": [m.metric(key) for key in asked["metrics"]],
            "children": rows,
        }
        return Response(s.StatsChildrenSerializer(body).data)


class TrendView(StatisticsView):
    query_class = TrendQuery

    @extend_schema(parameters=[*QUERY_PARAMETERS, MONTHS_PARAMETER], responses=s.StatsTrendSerializer)
    def get(self, request):
        """The metrics month by month: the ``months`` months ending with the period's last
        month (or this month, for the period under way)."""
        asked = self.asked(request)
        trend = selectors.trend(asked["node"], asked["period"], asked["metrics"], asked["months"], layout=asked["layout"])
        return Response(s.StatsTrendSerializer({**self.heading(request, asked), **trend}).data)


class MetricsView(APIView):
    permission_classes = [permissions.IsAuthenticated, StatisticPermission]

    @extend_schema(responses=s.MetricSerializer(many=True))
    def get(self, request):
        """Every metric the statistics hold, the derived ones (rates, means, sums)
        included; also the statistic keys an administrator added to categories since."""
        known = dict(m.METRICS)
        for keys in selectors.layouts().values():
            for key in keys:
                if key not in known and m.is_known(key):
                    known[key] = m.metric(key)
        return Response(s.MetricSerializer(known.values(), many=True).data)

"""The leaders' dashboard page (issue 7): the six headline cards 三升三降 of one node and
period with 同比 and 环比, the child nodes to drill into (a table and a map), 12-month
trends, category breakdowns and the six programmes.

Every figure is a key lookup in the statistics table (``dashboard.selectors``), so the
page costs the same handful of queries whatever the number of records behind it. A node
outside the user's scope is a 404 like a missing one (a code cannot be probed); a user who
may read no dashboard anywhere gets 403. Leaders pass TOTP before reaching any page
(``kaili.middleware.RequireTwoFactorMiddleware``).
"""

import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboard import assessment, selectors
from dashboard import metrics as m
from dashboard.formatting import change_view, sort_key, value_text
from dashboard.periods import KINDS, MONTH, QUARTER, YEAR, Period
from dashboard.queries import DashboardQuery
from grids.models import GridKind
from grids.selectors import grid_ancestor_paths
from kaili.pages import no_store
from kaili.scope import Everything, NodeRange, reachable_ranges
from populations.models import Programme

SEARCH_LIMIT = 20
DEFAULT_MAP_METRIC = m.HEADLINE_DOWN[0]
TREND_COUNTS = ("sum.criminal_public_order", "sum.disputes_petitions", "incidents.kind.accident")
TREND_RATES = ("rate.clearance", "rate.dispute_resolution")
BREAKDOWNS = (
    ("criminal", gettext_lazy("刑事案件分类"), tuple(f"incidents.stat.{key}" for key in m.CRIMINAL_STATISTICS)),
    ("accidents", gettext_lazy("各类事故分类"), tuple(f"incidents.stat.{key}" for key in m.ACCIDENT_STATISTICS)),
    ("nine-small", gettext_lazy("九小事件"), tuple(f"incidents.stat.{key}" for key in m.NINE_SMALL_STATISTICS)),
)
PROGRAMME_COUNTS = tuple(f"programmes.{programme}" for programme in Programme.values)
PROGRAMME_RATES = tuple(f"rate.followup_on_time.{programme}" for programme in Programme.values)
KIND_LABELS = {MONTH: gettext_lazy("月"), QUARTER: gettext_lazy("季"), YEAR: gettext_lazy("年")}
# How many periods of each kind the period box suggests, ending with the current one.
SUGGESTED_PERIODS = {MONTH: 24, QUARTER: 12, YEAR: 12}
NOT_FOUND = gettext_lazy("该区域不存在或不在您的管辖范围内。")


def _card_view(card: selectors.Card) -> dict:
    metric = card.metric
    return {
        "key": metric.key,
        "label": metric.label,
        "value": value_text(metric, card.value),
        "unit": metric.unit if metric.kind in (m.COUNT, m.SUM) and card.value is not None else "",
        "last_year": value_text(metric, card.last_year),
        "previous": value_text(metric, card.previous),
        "year_on_year": change_view(card.year_on_year, card.year_on_year_good),
        "period_on_period": change_view(card.period_on_period, card.period_on_period_good),
    }


# --- links -------------------------------------------------------------------------------


def page_url(node_code: str, period: Period, metric: str = DEFAULT_MAP_METRIC) -> str:
    query = {"node": node_code, "period": period.code}
    if metric != DEFAULT_MAP_METRIC:
        query["metric"] = metric
    return f"{reverse('dashboard:home')}?{urlencode(query)}"


def _as_kind(period: Period, kind: str, today: datetime.date) -> Period:
    """The period of ``kind`` a picker switch lands on: the one holding ``period``, or for a
    finer kind its last one that has begun (the period's last month, or this month)."""
    if kind == period.kind:
        return period
    if KINDS.index(kind) > KINDS.index(period.kind):
        return period.containing(kind)
    last_day = min(period.end - datetime.timedelta(days=1), max(today, period.start))
    return Period.month_of(last_day).containing(kind)


def _period_picker(node_code: str, period: Period | None, metric: str, today: datetime.date) -> dict:
    """The picker's kind switch (links to the month, quarter or year holding the period),
    the periods its box suggests, and the previous and next period."""
    kinds = []
    for kind in (MONTH, QUARTER, YEAR):
        target = _as_kind(period, kind, today) if period else Period.current(kind, today)
        kinds.append(
            {
                "label": KIND_LABELS[kind],
                "url": page_url(node_code, target, metric),
                "current": period is not None and kind == period.kind,
            }
        )
    picker = {"kinds": kinds}
    if period is not None:
        following = period.shifted(1)
        picker.update(
            suggested=list(reversed(Period.current(period.kind, today).trailing(SUGGESTED_PERIODS[period.kind]))),
            previous={"period": period.previous(), "url": page_url(node_code, period.previous(), metric)},
            next=None if following.is_future(today) else {"period": following, "url": page_url(node_code, following, metric)},
        )
    return picker


# --- the page ------------------------------------------------------------------------------


def _require_dashboard(user) -> None:
    """403 for a user who may read no dashboard anywhere (a grid worker)."""
    if not reachable_ranges(user, selectors.VIEW_STATISTIC):
        raise PermissionDenied


def _search_results(user, query: str) -> list[dict]:
    nodes = selectors.search_nodes(user, query, limit=SEARCH_LIMIT)
    paths = grid_ancestor_paths(nodes)
    # the path names only the ancestors the user may open, as the breadcrumb does
    ranges = reachable_ranges(user, selectors.VIEW_STATISTIC)

    def visible(ancestor) -> bool:
        return isinstance(ranges, Everything) or any(
            reach.contains(NodeRange(ancestor.tree_id, ancestor.lft, ancestor.rght)) for reach in ranges
        )

    return [
        {
            "code": node.code,
            "name": node.name,
            "kind": node.get_kind_display(),
            "path": " › ".join(ancestor.name for ancestor in paths[node.pk] if visible(ancestor)),
        }
        for node in nodes
    ]


def _child_rows(rows: list[selectors.ChildRow], period: Period, metric: str) -> list[dict]:
    headline = [m.metric(key) for key in m.HEADLINE]
    result = []
    for row in rows:
        cells = []
        for headline_metric in headline:
            current, before = row.values[headline_metric.key], row.last_year[headline_metric.key]
            change = selectors.change(current, before)
            cells.append(
                {
                    "key": headline_metric.key,
                    "value": current,
                    "text": value_text(headline_metric, current),
                    "sort": sort_key(current),
                    "year_on_year": change_view(change, selectors.good(headline_metric, change)),
                }
            )
        result.append({"node": row.node, "url": page_url(row.node.code, period, metric), "cells": cells})
    return result


def _map_data(rows: list[dict]) -> dict | None:
    """The children's boundaries as one GeoJSON FeatureCollection (named by code, as sibling
    names need not be unique) and each child's headline figures; None without boundaries."""
    features, regions = [], []
    for row in rows:
        node = row["node"]
        boundary = node.boundary if isinstance(node.boundary, dict) else None
        if not boundary or boundary.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        features.append({"type": "Feature", "properties": {"name": node.code}, "geometry": boundary})
        regions.append(
            {
                "code": node.code,
                "name": node.name,
                "url": row["url"],
                "values": {cell["key"]: cell["value"] for cell in row["cells"]},
                "texts": {cell["key"]: cell["text"] for cell in row["cells"]},
            }
        )
    if not features:
        return None
    return {"geojson": {"type": "FeatureCollection", "features": features}, "regions": regions}


def _series(keys, values_of, scale: float = 1) -> list[dict]:
    series = []
    for key in keys:
        metric = m.metric(key)
        values = [None if value is None else round(value * scale, 2) for value in values_of(key)]
        series.append({"key": key, "name": str(metric.label), "values": values})
    return series


def _chart_data(node, period: Period, trend: dict, breakdown: dict, map_data: dict | None, metric: str) -> dict:
    headline = {
        key: {"label": str(m.metric(key).label), "kind": m.metric(key).kind, "better": m.metric(key).better} for key in m.HEADLINE
    }
    return {
        "node": {"code": node.code, "name": node.name},
        "period": period.code,
        "trend": {
            "months": trend["months"],
            "counts": _series(TREND_COUNTS, trend["series"].get),
            "rates": _series(TREND_RATES, trend["series"].get, scale=100),
        },
        "breakdowns": {
            name: {"title": str(title), "items": [{"name": str(m.metric(key).label), "value": breakdown[key]} for key in keys]}
            for name, title, keys in BREAKDOWNS
        },
        "programmes": {
            "names": [str(label) for label in Programme.labels],
            "counts": [breakdown[key] for key in PROGRAMME_COUNTS],
            "rates": [None if breakdown[key] is None else round(breakdown[key] * 100, 1) for key in PROGRAMME_RATES],
        },
        "map": map_data,
        "metric": metric,
        "headline": headline,
        "strings": {
            "people": _("在册人数"),
            "onTime": _("按时随访率"),
            "noData": _("无数据"),
            "high": _("高"),
            "low": _("低"),
            "searching": _("正在搜索…"),
            "noMatch": _("没有找到匹配的区域。"),
            "searchFailed": _("搜索失败，请刷新页面后重试。"),
            "chartsMissing": _("图表组件未能加载。"),
        },
    }


def _refusal(request, context: dict, errors: list[tuple[str, str]]):
    """The page with the form errors, each naming its field (status 400)."""
    context["errors"] = errors
    return no_store(render(request, "dashboard/home.html", context, status=400))


@login_required
def home(request):
    """GET ?node=<code>&period=<code>&metric=<map metric>; by default the user's home node,
    the current year and the first "down" metric."""
    user = request.user
    _require_dashboard(user)
    form = DashboardQuery(request.GET, user=user)
    form.is_valid()
    node_errors = form.errors.as_data().get("node")
    if node_errors:
        if node_errors[0].code == "no_scope":
            raise PermissionDenied
        raise Http404(NOT_FOUND)
    node = form.cleaned_data["node"]
    today = timezone.localdate()
    search_query = request.GET.get("q", "").strip()[:50]

    errors = []
    if "period" in form.errors:
        errors.append((form.fields["period"].label, form.errors["period"][0]))
    metric = request.GET.get("metric") or DEFAULT_MAP_METRIC
    if metric not in m.HEADLINE:
        errors.append((_("地图指标"), _("请从列出的指标中选择。")))
        metric = DEFAULT_MAP_METRIC
    period = None if errors else form.cleaned_data["period"]
    context = {
        "node": node,
        "breadcrumb": [
            (crumb, page_url(crumb.code, period, metric) if period else None) for crumb in selectors.breadcrumb(user, node)
        ],
        "is_grid": node.kind == GridKind.GRID,
        "search_query": search_query,
        "search_results": _search_results(user, search_query) if search_query else None,
        "period": period,
        "period_text": period.code if period else request.GET.get("period", ""),
        "picker": _period_picker(node.code, period, metric, today),
        "map_metric": metric,
        "map_metrics": [(key, m.metric(key).label) for key in m.HEADLINE],
        "default_map_metric": DEFAULT_MAP_METRIC,
    }
    if errors:
        context["errors"] = errors
        return no_store(render(request, "dashboard/home.html", context, status=400))

    layout = form.layout
    cards = [_card_view(card) for card in selectors.cards(node, period, layout=layout)]
    context["period_partial"] = selectors.months_begun(period) is not None
    context["period_ongoing"] = period.is_ongoing()
    children = [] if context["is_grid"] else _child_rows(selectors.children(node, period, layout=layout), period, metric)
    trend = selectors.trend(node, period, TREND_COUNTS + TREND_RATES, layout=layout)
    breakdown_keys = [key for _name, _title, keys in BREAKDOWNS for key in keys] + list(PROGRAMME_COUNTS + PROGRAMME_RATES)
    breakdown = selectors.node_figures(node, period, breakdown_keys, layout=layout)
    map_data = _map_data(children)
    as_of = selectors.data_as_of()
    node_query = urlencode({"node": node.code, "period": period.code})
    context.update(
        cards_up=cards[: len(m.HEADLINE_UP)],
        cards_down=cards[len(m.HEADLINE_UP) :],
        headline=[m.metric(key) for key in m.HEADLINE],
        # The table's columns after the name: each metric's value, then its 同比.
        headline_columns=[(m.metric(key), 2 * i + 1, 2 * i + 2) for i, key in enumerate(m.HEADLINE)],
        children=children,
        has_map=map_data is not None,
        data=_chart_data(node, period, trend, breakdown, map_data, metric),
        data_as_of=timezone.localtime(as_of).strftime("%Y-%m-%d %H:%M") if as_of else None,
        export_url=f"{reverse('dashboard:export')}?{node_query}",
        report_url=f"{reverse('dashboard:report')}?{node_query}",
        assessments_url=f"{reverse('dashboard:assessments')}?{urlencode({'node': node.code, 'year': period.year})}",
        # A town's or a village's own villages; the city's 199 are on the assessments page.
        villages=assessment.village_statuses(node, period.year, user, layout=layout)
        if node.kind in VILLAGE_TABLE_KINDS
        else None,
        year=period.year,
    )
    return no_store(render(request, "dashboard/home.html", context))


VILLAGE_TABLE_KINDS = (GridKind.TOWN, GridKind.ZONE)


@login_required
def node_search(request):
    """GET ?q=: the statistics nodes within the user's scope whose name holds ``q`` or
    whose code starts with it, as JSON ``{"results": [{code, name, kind, path}]}``."""
    _require_dashboard(request.user)
    query = request.GET.get("q", "").strip()[:50]
    return no_store(JsonResponse({"results": _search_results(request.user, query) if query else []}))

"""The dashboard's exports, the printable monthly report, the villages' assessment pages
and the roll-up's runs (issue 7).

Every figure is read from the statistics table (``dashboard.selectors``) in a fixed
number of queries whatever the size of the area. A node is resolved by
``DashboardQuery``: one outside the user's scope answers 404 like a missing one.
"""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from dashboard import assessment as five
from dashboard import metrics as m
from dashboard import selectors
from dashboard.formatting import change_text, value_text
from dashboard.forms import AssessmentForm, AssessmentListQuery, check_year
from dashboard.models import RollupRun, VillageAssessment
from dashboard.periods import MONTH, Period
from dashboard.queries import DashboardQuery
from dashboard.services import assessment_save, request_full_rebuild
from grids.models import GridKind
from kaili.audit import audit_record
from kaili.forms import apply_service_errors
from kaili.models import AuditAction
from kaili.pages import PAGE_SIZE, no_store, query_without
from kaili.progress import CachedProgress
from kaili.scope import CHANGE, reachable_ranges, scope_predicate
from kaili.tabular import XLSX_CONTENT_TYPE
from populations.models import Programme

REBUILD_PERMISSION = "dashboard.rebuild_statistic"
RUNS_PERMISSION = "dashboard.view_rolluprun"
VILLAGE_ROWS_SHOWN = 300


# --- numbers as people read them ---------------------------------------------------------


def card_row(card: selectors.Card) -> dict:
    return {
        "key": card.metric.key,
        "label": str(card.metric.label),
        "unit": card.metric.unit,
        "value": value_text(card.metric, card.value),
        "last_year": value_text(card.metric, card.last_year),
        "previous": value_text(card.metric, card.previous),
        "year_on_year": change_text(card.year_on_year),
        "period_on_period": change_text(card.period_on_period),
        "year_on_year_good": card.year_on_year_good,
        "period_on_period_good": card.period_on_period_good,
    }


def child_rows(rows: list[selectors.ChildRow], keys) -> list[dict]:
    metrics = [m.metric(key) for key in keys]
    return [
        {
            "node": row.node,
            "cells": [
                {
                    "value": value_text(metric, row.values[metric.key]),
                    "year_on_year": change_text(selectors.change(row.values[metric.key], row.last_year[metric.key])),
                    "good": selectors.good(metric, selectors.change(row.values[metric.key], row.last_year[metric.key])),
                }
                for metric in metrics
            ],
        }
        for row in rows
    ]


# --- resolving ?node=&period= ------------------------------------------------------------


def resolved(form: DashboardQuery) -> DashboardQuery:
    """The form when valid or wrong only in what the caller shows as a 400; a node the
    user may not open is a 404 (like a missing one), no dashboard at all a 403."""
    if form.is_valid():
        return form
    node_errors = form.errors.as_data().get("node", [])
    if any(error.code == "no_scope" for error in node_errors):
        raise PermissionDenied
    if node_errors:
        raise Http404
    return form


def refuse_without_dashboard(user) -> None:
    """403 for a user whose roles show no statistics anywhere (a grid worker)."""
    if not reachable_ranges(user, selectors.VIEW_STATISTIC):
        raise PermissionDenied


def field_error(form) -> str:
    field, message = form.first_error()
    label = form.fields[field].label if field in form.fields else ""
    return f"{label}：{message}" if label else message


# --- XLSX export -------------------------------------------------------------------------

COUNT_FORMAT, RATE_FORMAT, MEAN_FORMAT = "#,##0", "0.00%", "0.00"
CHANGE_FORMAT = "+0.00%;-0.00%;0.00%"


def _number_format(metric: m.Metric) -> str:
    return {m.RATE: RATE_FORMAT, m.MEAN: MEAN_FORMAT}.get(metric.kind, COUNT_FORMAT)


def _put(sheet, row: int, column: int, value, number_format: str | None = None):
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # a name beginning with "=" is text, not a formula
    if number_format and value is not None:
        cell.number_format = number_format
    return cell


def local_minute(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else _("尚无完成的统计")


def dashboard_workbook(node, period: Period, cards, children, as_of) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    overview = workbook.active
    overview.title = _("总览")
    overview.append([_("%(node)s 平安建设统计（%(period)s）") % {"node": node.name, "period": period.label}])
    overview["A1"].font = Font(bold=True, size=14)
    overview.append([_("区域"), node.name, node.code])
    overview.append([_("统计期"), period.label, period.code])
    overview.append([_("数据截至"), local_minute(as_of)])
    overview.append([])
    header = [_("指标"), pgettext("计量", "单位"), _("本期"), _("去年同期"), _("上期"), _("同比"), _("环比")]
    overview.append(header)
    first = overview.max_row + 1
    for offset, card in enumerate(cards):
        row, number_format = first + offset, _number_format(card.metric)
        _put(overview, row, 1, str(card.metric.label))
        _put(overview, row, 2, str(card.metric.unit))
        for column, value in ((3, card.value), (4, card.last_year), (5, card.previous)):
            _put(overview, row, column, value, number_format)
        _put(overview, row, 6, card.year_on_year, CHANGE_FORMAT)
        _put(overview, row, 7, card.period_on_period, CHANGE_FORMAT)
    for cell in overview[first - 1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (22, 8, 12, 12, 12, 10, 10), strict=True):
        overview.column_dimensions[letter].width = width

    below = workbook.create_sheet(_("下级区域"))
    metrics = [card.metric for card in cards]
    paired = [(str(metric.label), _("%(label)s同比") % {"label": metric.label}) for metric in metrics]
    below.append([_("编码"), _("名称"), _("层级"), *(text for pair in paired for text in pair)])
    for cell in below[1]:
        cell.font = Font(bold=True)
    for row_number, child in enumerate(children, start=2):
        _put(below, row_number, 1, child.node.code)
        _put(below, row_number, 2, child.node.name)
        _put(below, row_number, 3, child.node.get_kind_display())
        for index, metric in enumerate(metrics):
            now, before = child.values[metric.key], child.last_year[metric.key]
            _put(below, row_number, 4 + 2 * index, now, _number_format(metric))
            _put(below, row_number, 5 + 2 * index, selectors.change(now, before), CHANGE_FORMAT)
    below.column_dimensions["A"].width = 18
    below.column_dimensions["B"].width = 20
    below.freeze_panes = "D2"

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@login_required
def export(request):
    """The headline cards and the children table of a node and period, as XLSX (audited)."""
    if not reachable_ranges(request.user, selectors.EXPORT_STATISTIC):
        raise PermissionDenied
    form = resolved(DashboardQuery(request.GET, user=request.user, action="export"))
    if not form.is_valid():
        return HttpResponseBadRequest(field_error(form), content_type="text/plain; charset=utf-8")
    node, period = form.cleaned_data["node"], form.cleaned_data["period"]
    layout = form.layout
    cards = selectors.cards(node, period, layout=layout)
    children = selectors.children(node, period, layout=layout)
    content = dashboard_workbook(node, period, cards, children, selectors.data_as_of())
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        object_type="dashboard.statistic",
        object_id=node.code,
        object_repr=str(node),
        changes={"node": node.code, "period": period.code, "format": "xlsx", "rows": len(children)},
    )
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    filename = _("驾驶舱-%(node)s-%(period)s.xlsx") % {"node": node.code, "period": period.code}
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return no_store(response)


# --- the printable monthly report ---------------------------------------------------------


def _programme_rows(found: dict) -> list[dict]:
    rows = []
    for programme, label in [*Programme.choices, ("", _("合计"))]:
        if programme:
            keys = (f"programmes.{programme}", f"followups.{programme}.due", f"followups.{programme}.on_time")
            rate = f"rate.followup_on_time.{programme}"
        else:
            keys = (None, "followups.due", "followups.on_time")
            rate = "rate.followup_on_time"
        enrolled, due, on_time = (found[key] if key else None for key in keys)
        rows.append(
            {
                "label": label,
                "enrolled": card_row(enrolled) if enrolled else None,
                "due": card_row(due),
                "on_time": card_row(on_time),
                "rate": card_row(found[rate]),
            }
        )
    return rows


def _programme_keys() -> list[str]:
    keys = []
    for programme, _label in Programme.choices:
        keys += [
            f"programmes.{programme}",
            f"followups.{programme}.due",
            f"followups.{programme}.on_time",
            f"rate.followup_on_time.{programme}",
        ]
    return [*keys, "followups.due", "followups.on_time", "rate.followup_on_time"]


def report_sections() -> list[tuple[str, list[str]]]:
    """The report's breakdown tables: a title and the metrics it lists."""
    return [
        (
            _("刑事案件"),
            [
                "incidents.kind.criminal",
                *(f"incidents.stat.{key}" for key in m.CRIMINAL_STATISTICS),
                "incidents.cleared",
                "rate.clearance",
            ],
        ),
        (_("治安案件与信访"), ["incidents.kind.public_order", "incidents.kind.petition"]),
        (_("安全事故"), ["incidents.kind.accident", *(f"incidents.stat.{key}" for key in m.ACCIDENT_STATISTICS)]),
        (_("九小工作"), ["incidents.kind.nine_small", *(f"incidents.stat.{key}" for key in m.NINE_SMALL_STATISTICS)]),
        (
            _("矛盾纠纷"),
            [
                "disputes.accepted",
                "disputes.resolved",
                "rate.dispute_resolution",
                "disputes.passed_upward",
                "disputes.closed",
                "disputes.closed_on_time",
                "rate.dispute_on_time",
                "mean.satisfaction",
            ],
        ),
    ]


def previous_month() -> Period:
    return Period.current(MONTH).previous()


def report_context(user, node, period: Period) -> dict:
    """Everything the monthly report shows, in a fixed number of queries."""
    sections = report_sections()
    keys = list(dict.fromkeys([*m.HEADLINE, *(key for _title, keys in sections for key in keys), *_programme_keys()]))
    layout = selectors.layouts()
    found = {card.metric.key: card for card in selectors.cards(node, period, keys, layout=layout)}
    villages = five.village_statuses(node, period.year, user, layout=layout)
    return {
        "node": node,
        "period": period,
        "headline": [card_row(found[key]) for key in m.HEADLINE],
        "headline_labels": [str(m.metric(key).label) for key in m.HEADLINE],
        "children": child_rows(selectors.children(node, period, layout=layout), m.HEADLINE),
        "sections": [(title, [card_row(found[key]) for key in section_keys]) for title, section_keys in sections],
        "programmes": _programme_rows(found),
        "villages": five.summarise(villages) if villages else None,
        "village_year": period.year,
        "as_of": selectors.data_as_of(),
        "printed_on": timezone.localdate(),
    }


@login_required
def monthly_report(request):
    """``?node=&period=``: a print-styled report of a node for a period (by default the
    month before this one; a quarter or a year works the same)."""
    refuse_without_dashboard(request.user)
    data = request.GET.copy()
    if not data.get("period"):
        data["period"] = previous_month().code
    form = resolved(DashboardQuery(data, user=request.user))
    asked = {"node": data.get("node", ""), "period": data.get("period", "")}
    if not form.is_valid():
        context = {"error": field_error(form), "asked": asked}
        return no_store(render(request, "dashboard/report.html", context, status=400))
    context = report_context(request.user, form.cleaned_data["node"], form.cleaned_data["period"])
    context["asked"] = {"node": context["node"].code, "period": context["period"].code}
    context["can_export"] = selectors.can_view(request.user, context["node"], "export")
    return no_store(render(request, "dashboard/report.html", context))


# --- the villages' assessments -------------------------------------------------------------


def may_assess(user, zone) -> bool:
    """Whether ``user`` enters the assessment of ``zone`` (the centre's staff of its area)."""
    return scope_predicate(user, VillageAssessment, CHANGE)(zone)


@login_required
def assessments(request):
    """``?node=&year=&state=``: the villages under a node with their ten items."""
    refuse_without_dashboard(request.user)
    form = resolved(AssessmentListQuery(request.GET, user=request.user))
    if not form.is_valid():
        context = {
            "form": form,
            "error": field_error(form),
            "node_value": request.GET.get("node", ""),
            "year_value": request.GET.get("year", ""),
        }
        return no_store(render(request, "dashboard/assessments.html", context, status=400))
    node, year, state = form.cleaned_data["node"], form.cleaned_data["year"], form.cleaned_data["state"]
    statuses = five.village_statuses(node, year, request.user)
    counts = dict.fromkeys(five.STATES, 0)
    for status in statuses:
        counts[status.state] += 1
    listed = [status for status in statuses if not state or status.state == state]
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    base = query_without(request, "state")
    chips = [{"label": _("全部"), "n": len(statuses), "url": f"?{base}", "current": not state}]
    for key, label in five.STATES.items():
        url = f"?{base}&state={key}" if base else f"?state={key}"
        chips.append({"label": label, "n": counts[key], "url": url, "current": state == key})
    context = {
        "form": form,
        "node": node,
        "year": year,
        "node_value": node.code,
        "year_value": year,
        "page": page,
        "query": query_without(request),
        "chips": chips,
        "items": five.ITEMS,
        "total": len(statuses),
        "passed": counts[five.PASSED],
        "breadcrumb": selectors.breadcrumb(request.user, node),
    }
    return no_store(render(request, "dashboard/assessments.html", context))


@login_required
@require_http_methods(["GET", "POST"])
def assessment(request, code: str, year: int):
    """One village's ten items for a year: the computed ones with the figures behind
    them; the entered ones as a form for the centre's staff, read-only for others."""
    zone = selectors.nodes_for(request.user).filter(code=code, kind=GridKind.ZONE).first() if code.isdigit() else None
    if zone is None:
        raise Http404
    try:
        check_year(year)
    except ValidationError as error:
        context = {"zone": zone, "year": year, "error": " ".join(error.messages)}
        return no_store(render(request, "dashboard/assessment.html", context, status=400))
    can_edit = may_assess(request.user, zone)
    form = None
    status_code = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        form = AssessmentForm(request.POST)
        if form.is_valid():
            try:
                assessment_save(actor=request.user, zone=zone, year=year, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(error, form)
            else:
                messages.success(request, _("已保存 %(zone)s %(year)d 年度的五有五无评定。") % {"zone": zone.name, "year": year})
                return redirect("dashboard:assessment", code=zone.code, year=year)
        status_code = 400
    village = five.village_statuses(zone, year, request.user)[0]
    if can_edit and form is None:
        form = AssessmentForm.for_assessment(village.assessment)
    context = {
        "zone": zone,
        "year": year,
        "village": village,
        "form": form if can_edit else None,
        "committees": five.zone_committees(zone),
        "staff": five.zone_staff(zone),
        "breadcrumb": selectors.breadcrumb(request.user, zone),
        "previous_year": year - 1 if year > five.FIRST_YEAR else None,
        "next_year": year + 1 if year < five.latest_assessable_year() else None,
    }
    return no_store(render(request, "dashboard/assessment.html", context, status=status_code))


# --- the roll-up's runs -----------------------------------------------------------------------


@login_required
@require_POST
def rebuild(request):
    """ "立即重算": a full rebuild by the worker, unless one is already under way."""
    if not request.user.has_perm(REBUILD_PERMISSION):
        raise PermissionDenied
    run, started = request_full_rebuild(actor=request.user)
    if not started:
        messages.warning(
            request,
            _("已有一次全量重算正在进行（%(time)s 开始），请等它完成后再试。")
            % {"time": timezone.localtime(run.started_at).strftime("%H:%M")},
        )
        return redirect("dashboard:rollup-run", pk=run.pk)
    messages.success(request, _("已开始全量重算。"))
    return redirect("dashboard:rollup-run", pk=run.pk)


def run_progress(run: RollupRun) -> dict:
    finished = run.status != RollupRun.Status.RUNNING
    progress = CachedProgress.read(run.progress_key) or {}
    return {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "status_display": run.get_status_display(),
        "finished": finished,
        "phase": progress.get("phase", ""),
        "done": progress.get("done", 0),
        "total": progress.get("total", 0),
        "percent": 100 if finished else progress.get("percent", 0),
        "cells": run.cells,
        "rows": run.rows,
        "seconds": run.seconds,
        "error": run.error,
    }


@login_required
def rollup_run(request, pk: int):
    """A run with its progress; ``?format=json`` for the page's poll."""
    if not request.user.has_perm(RUNS_PERMISSION):
        raise PermissionDenied
    run = get_object_or_404(RollupRun.objects.select_related("requested_by"), pk=pk)
    progress = run_progress(run)
    if request.GET.get("format") == "json":
        return no_store(JsonResponse(progress))
    context = {
        "run": run,
        "progress": progress,
        "json_url": f"{reverse('dashboard:rollup-run', args=[run.pk])}?format=json",
        "can_rebuild": request.user.has_perm(REBUILD_PERMISSION),
    }
    return no_store(render(request, "dashboard/rollup_run.html", context))

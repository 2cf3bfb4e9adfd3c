"""Pages of the incident loop: server-rendered, phone first for grid workers.

- ``report``: the grid worker's report form (category search, grid preselected, camera
  upload, people lookup); ``incident-report.js`` keeps a local draft until the server
  confirms, and the same client key never creates a second case.
- ``mine``: the worker's own reports, with the ones reported back (to check) on top.
- ``detail``: the case page with its timeline, deadlines and one small form per step the
  viewer may take now (``cases.workflow.available_steps``); ``step`` takes one.
- ``queue``: the centre's queue with filters, counts per status, bulk dispatch, export.
- ``department``: the cases dispatched to the user or their departments.

Every read goes through ``Incident.objects.restrict``: a user who may not do the action
anywhere gets 403, a case outside their scope is a 404 like a missing one. Writes go
through ``cases.services`` only. Pages that show personal data are sent ``no-store``.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import selectors
from cases.calendar import working_day_minutes
from cases.filtersets import IncidentFilterSet
from cases.forms import (
    STEP_FORMS,
    BulkDispatchForm,
    MineFilterForm,
    PersonLookupForm,
    QueueFilterForm,
    ReportForm,
    new_report_initial,
)
from cases.models import Department, Incident, IncidentAttachment, PersonRole, Status, user_department_ids
from cases.services import (
    REPORTABLE_KINDS,
    department_for,
    incident_bulk_dispatch,
    incident_opened,
    incident_report,
    incident_step,
)
from cases.workflow import Step, available_steps, may_take
from grids.selectors import grid_path
from kaili.exceptions import Conflict
from kaili.files import private_file_response
from kaili.forms import apply_service_errors
from kaili.pages import (
    PAGE_SIZE,
    area_nodes,
    create_once,
    filtered_export,
    labelled_transitions,
    no_store,
    node_choices,
    paged,
    query_without,
    queue_filtering,
    record_for_step,
    render_page,
    step_entries,
    tab_links,
)
from kaili.scope import ADD, CHANGE, EXPORT, VIEW, user_can
from populations.models import Person
from populations.selectors import person_search, persons_for

LOOKUP_LIMIT = 10
EXPORT_KIND = "cases.incidents"
# The steps that move a case on towards its close, unfolded first on the case page.
FORWARD_STEPS = (Step.FILE, Step.DISPATCH, Step.START, Step.REPORT_BACK, Step.CHECK, Step.EVALUATE, Step.SOLVE_ON_SPOT)
# --- helpers ----------------------------------------------------------------------------


def _deadline_labels():
    return {
        "file_due_at": _("立案"),
        "dispatch_due_at": _("派遣"),
        "handle_due_at": _("处置"),
        "check_due_at": _("核查"),
    }


def _section_links(user, current: str) -> list[dict]:
    """The incident pages this user may open, for the tab bar at the top of each page."""
    links = []
    if user_can(user, Incident, ADD):
        links += [("report", _("上报事件")), ("mine", _("我的上报"))]
    if user_can(user, Incident, CHANGE):
        links.append(("queue", _("事件受理")))
    if selectors.handles_cases(user):
        links.append(("department", _("承办事件")))
    return tab_links("cases", links, current)


def _page(request, template: str, context: dict, *, section: str = "", status: int = 200):
    return render_page(request, template, context, tabs=_section_links(request.user, section), status=status)


def _mark_overdue(incidents, now=None):
    now = now or timezone.now()
    for incident in incidents:
        incident.overdue = incident.is_overdue(now)
    return incidents


def _paged(request, queryset):
    return paged(request, queryset, _mark_overdue)


# Above this many grids and units in a user's scope (a town's centre) the report form
# offers the second-level grids only, so that the page stays a phone-sized select.
MAX_REPORT_CHOICES = 300


def reportable_grids(user):
    """The grids and units the user may report in, in tree order; only the grids when
    that would be a long list."""
    return node_choices(user, Incident, ADD, REPORTABLE_KINDS, MAX_REPORT_CHOICES)


def _department_members() -> list[tuple]:
    """(department, user) for every active member of every active department, one query."""
    rows = (
        Department.members.through.objects.filter(department__is_active=True, user__is_active=True)
        .select_related("department", "user")
        .order_by("department__code", "user__username")
    )
    return [(row.department, row.user) for row in rows]


# --- the report -------------------------------------------------------------------------


def _report_form(user, data=None, files=None, initial=None):
    people = persons_for(user) if user_can(user, Person, VIEW) else Person.objects.none()
    grids = list(reportable_grids(user))
    return ReportForm(
        data,
        files,
        initial=initial if initial is not None else new_report_initial(grids),
        categories=list(selectors.category_choices()),
        grids=grids,
        people=people,
    )


def _report_texts() -> dict:
    """What incident-report.js says, in the reader's language."""
    return {
        "locating": _("定位中……"),
        "located": _("已获取位置（精度约 %s 米）。"),
        "locate_denied": _("未获得定位权限，可手动填写地点。"),
        "locate_failed": _("暂时无法定位，可手动填写地点。"),
        "searching": _("查找中……"),
        "pick": _("点按选择："),
        "not_found": _("人员库中没有找到，可直接填写姓名。"),
        "lookup_failed": _("查找失败，请检查网络后重试，或直接填写姓名。"),
        "matching": _("匹配 %n 项"),
    }


@login_required
def report(request):
    user = request.user
    if not user_can(user, Incident, ADD):
        raise PermissionDenied
    form, done = create_once(
        request,
        make_form=lambda data=None, files=None: _report_form(user, data, files),
        replayed=lambda key: selectors.report_for_client_key(user, key),
        service=incident_report,
        detail="cases:detail",
        created=_("已上报，事件编号 %(number)s。"),
        repeated=_("已提交过，未重复创建。"),
    )
    if done is not None:
        return done
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "involved_rows": form.involved_rows if form.is_bound else [],
        "roles": PersonRole.choices,
        "can_look_up": user_can(user, Person, VIEW),
        "js_text": _report_texts(),
    }
    return _page(request, "cases/report.html", context, section="report", status=status)


@login_required
@require_POST
def person_lookup(request):
    """Registry people in the user's scope by name fragment or full identity number: id,
    name and the masked number only. Posted, so a number typed in stays out of URLs and logs."""
    user = request.user
    if not user_can(user, Incident, ADD):
        raise PermissionDenied
    form = PersonLookupForm(request.POST)
    if not form.is_valid():
        return no_store(JsonResponse({"error": form.errors["q"][0], "results": []}, status=400))
    results = []
    if user_can(user, Person, VIEW):
        people = person_search(persons_for(user), form.cleaned_data["q"]).order_by("name", "pk")[:LOOKUP_LIMIT]
        results = [{"id": p.pk, "name": p.name, "id_number_masked": p.id_number_masked} for p in people]
    return no_store(JsonResponse({"results": results}))


# --- my reports -------------------------------------------------------------------------


@login_required
def mine(request):
    user = request.user
    if not user_can(user, Incident, ADD):
        raise PermissionDenied
    form = MineFilterForm(request.GET or None)
    reports = selectors.my_reports(user)
    if form.is_bound and form.is_valid() and form.cleaned_data["status"]:
        reports = reports.filter(status=form.cleaned_data["status"])
    awaiting = _mark_overdue(list(selectors.awaiting_check(user).order_by(F("due_at").asc(nulls_last=True))[:PAGE_SIZE]))
    context = {
        "form": form,
        "awaiting": awaiting,
        "page": _paged(request, reports.order_by("-reported_at", "-id")),
        "query": query_without(request),
    }
    return _page(request, "cases/mine.html", context, section="mine")


# --- the case page ----------------------------------------------------------------------


def _may_open_cases(user) -> bool:
    """Anyone with a role that sees incidents somewhere, and handlers (who may hold no role
    at all)."""
    return user_can(user, Incident, VIEW) or selectors.handles_cases(user)


def _incident_or_404(user, number: str) -> Incident:
    if not _may_open_cases(user):
        raise PermissionDenied
    incident = selectors.incident_detail(Incident.objects.restrict(user, VIEW), number)
    if incident is None:
        raise Http404
    return incident


def _step_form(step: str, incident: Incident, data=None, files=None):
    form_class = STEP_FORMS[step]
    initial = {"version": incident.version}
    kwargs = {"auto_id": f"{step}_%s"}
    if step == Step.DISPATCH:
        kwargs.update(departments=selectors.active_departments(), members=_department_members())
        if data is None:
            default = department_for(incident.category)
            initial["department"] = default.pk if default else None
    elif step == Step.FILE:
        initial["urgency"] = incident.urgency
    elif step == Step.CLEAR:
        initial["cleared_on"] = timezone.localdate()
    elif step == Step.EXTEND:
        initial["amount"] = 1
    if data is not None:
        return form_class(data, files, initial=initial, **kwargs)
    return form_class(initial=initial, **kwargs)


def _deadlines(incident: Incident, now) -> list[dict]:
    # The deadline the case waits for is ``due_at``; the later step's, should two be equal.
    labels = _deadline_labels()
    matching = [field for field in labels if incident.is_open and getattr(incident, field) == incident.due_at]
    current_field = matching[-1] if matching and incident.due_at else None
    rows = []
    for field, label in labels.items():
        value = getattr(incident, field)
        if value is None:
            continue
        current = field == current_field
        rows.append({"label": label, "at": value, "current": current, "overdue": current and value < now})
    return rows


def _render_detail(request, incident: Incident, *, bound=None, status: int = 200):
    """The case page. ``bound``: (step, form) come back from its POST with errors."""
    user = request.user
    now = timezone.now()
    step_forms = step_entries(
        available_steps(user, incident), Step, lambda step: _step_form(step, incident), bound, FORWARD_STEPS
    )
    attachments = list(incident.attachments.all())
    transitions = labelled_transitions(incident.transitions.all(), Step)
    context = {
        "incident": incident,
        "path": list(grid_path(grid=incident.grid)),
        "people": list(incident.people.all()),
        "photos": [a for a in attachments if a.kind == IncidentAttachment.Kind.PHOTO],
        "files": [a for a in attachments if a.kind != IncidentAttachment.Kind.PHOTO],
        "transitions": transitions,
        "deadlines": _deadlines(incident, now),
        "overdue": incident.is_overdue(now),
        "step_forms": step_forms,
        "working_day_minutes": working_day_minutes(),
        # The reporter's phone clears its draft of this report when it sees this key.
        "confirmed_key": incident.client_key if incident.reporter_id == user.pk and incident.client_key else "",
        "satisfaction_values": range(1, 6),
    }
    return _page(request, "cases/detail.html", context, status=status)


@login_required
def detail(request, number):
    incident = _incident_or_404(request.user, number)
    incident_opened(actor=request.user, incident=incident)
    return _render_detail(request, incident)


@login_required
@require_POST
def step(request, number, step):
    """One step of the loop from its small form on the case page."""
    user = request.user
    incident = record_for_step(user, number, step, forms=STEP_FORMS, record_or_404=_incident_or_404, may_take=may_take)
    form = _step_form(step, incident, request.POST, request.FILES)
    if form.is_valid():
        try:
            incident_step(actor=user, incident=incident, step=step, version=form.cleaned_data["version"], **form.payload())
        except ValidationError as error:
            apply_service_errors(error, form)
        except Conflict as conflict:
            messages.error(request, conflict.message)
            return _render_detail(request, _incident_or_404(user, number), status=409)
        else:
            messages.success(request, _("事件 %(number)s：已%(step)s。") % {"number": incident.number, "step": Step(step).label})
            return redirect("cases:detail", number=incident.number)
    return _render_detail(request, incident, bound=(step, form), status=400)


@login_required
def attachment(request, number, pk):
    """A photo or file of a case, for those who may see the case; never cached."""
    user = request.user
    if not _may_open_cases(user):
        raise PermissionDenied
    incident = Incident.objects.restrict(user, VIEW).select_related("category").filter(number=number).first()
    if incident is None:
        raise Http404
    item = get_object_or_404(IncidentAttachment, incident=incident, pk=pk)
    incident_opened(actor=user, incident=incident, attachment=item)
    return private_file_response(item.file, filename=item.filename, content_type=item.content_type, inline=item.is_image)


# --- the centre's queue -----------------------------------------------------------------


def _queue_form(request, data, action: str):
    return QueueFilterForm(
        data or None, categories=list(selectors.category_choices()), nodes=area_nodes(request.user, Incident, action)
    )


@login_required
def queue(request):
    user = request.user
    if not user_can(user, Incident, CHANGE):
        raise PermissionDenied
    form = _queue_form(request, request.GET, CHANGE)
    filtered, listing = queue_filtering(
        request, form, selectors.incidents_for(user, CHANGE), IncidentFilterSet, selectors.status_counts, Status
    )
    context = {
        **listing,
        "page": _paged(request, filtered.order_by("-reported_at", "-id")),
        "full_query": request.GET.urlencode(),
        "bulk_form": BulkDispatchForm(
            departments=selectors.active_departments(), members=_department_members(), auto_id="bulk_%s"
        ),
        "can_export": user_can(user, Incident, EXPORT),
    }
    return _page(request, "cases/queue.html", context, section="queue")


@login_required
@require_POST
def queue_dispatch(request):
    """Dispatch the ticked cases to one department or person; each succeeds or is refused
    on its own, and the page says which and why."""
    user = request.user
    if not user_can(user, Incident, CHANGE):
        raise PermissionDenied
    back = reverse("cases:queue")
    query = request.POST.get("query", "").replace("\n", "").replace("\r", "")
    if query:
        back = f"{back}?{query}"
    form = BulkDispatchForm(
        request.POST, departments=selectors.active_departments(), members=_department_members(), auto_id="bulk_%s"
    )
    numbers = form.numbers()
    if not numbers:
        messages.error(request, _("请先勾选要派遣的事件。"))
        return redirect(back)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    department, handler = form.cleaned_data["department"], form.cleaned_data["handler"]
    if department is None and handler is None:
        messages.error(request, _("请选择承办单位或承办人。"))
        return redirect(back)
    incidents = list(selectors.incidents_for(user, CHANGE).filter(number__in=numbers))
    found = {incident.number for incident in incidents}
    result = incident_bulk_dispatch(
        actor=user, incidents=incidents, department=department, handler=handler, note=form.cleaned_data["note"]
    )
    refused = [(number, _("事件不存在或不在您的管辖范围内。")) for number in numbers if number not in found]
    refused += result.refused
    if result.done:
        messages.success(request, _("已派遣 %(n)d 件。") % {"n": len(result.done)})
    if refused:
        messages.warning(request, _("%(n)d 件未派遣：") % {"n": len(refused)})
        for number, reason in refused:
            messages.warning(request, f"{number}：{reason}")
    return redirect(back)


@login_required
def queue_export(request):
    """The queue's filtered list as CSV or XLSX, scoped for EXPORT and audited; a large one
    runs as a job with a progress page."""
    return filtered_export(request, model=Incident, kind=EXPORT_KIND, filter_form=lambda data: _queue_form(request, data, EXPORT))


# --- a department's queue ---------------------------------------------------------------


@login_required
def department(request):
    user = request.user
    if not selectors.handles_cases(user):
        raise PermissionDenied
    cases = selectors.department_queue(user).order_by(F("due_at").asc(nulls_last=True), "-reported_at", "-id")
    context = {
        "departments": list(Department.objects.filter(pk__in=user_department_ids(user)).order_by("code")),
        "page": _paged(request, cases),
        "query": query_without(request),
    }
    return _page(request, "cases/department.html", context, section="department")

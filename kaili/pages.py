"""What the server-rendered pages of every app share: personal data never cached, the tab
bar of an app's pages, list queries without their page number, and the parts of the record
pages (cases, disputes) that work alike: the node selects, the queue with its status chips
and export, a form that creates a record once, and the small step forms of a record's page."""

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kaili.exports import EXPORT_FORMATS, export_response_or_job
from kaili.forms import apply_service_errors
from kaili.models import ExportJob
from kaili.scope import EXPORT, permission_for, reachable_ranges, scope_filter, user_can

PAGE_SIZE = 50


def no_store(response):
    # Personal data: neither the browser nor a proxy keeps a copy (PIPL; DOMAIN.md, "Privacy").
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def query_without(request, *names) -> str:
    """The request's query string without ``page`` (and ``names``), for links that keep
    the filters."""
    query = request.GET.copy()
    for name in ("page", *names):
        query.pop(name, None)
    return query.urlencode()


def tab_links(namespace: str, links: list[tuple[str, str]], current: str) -> list[dict]:
    """``(url name, label)`` pairs of an app's pages as the tab bar shows them."""
    return [{"url": reverse(f"{namespace}:{name}"), "label": label, "current": name == current} for name, label in links]


def render_page(request, template: str, context: dict, *, tabs: list[dict], status: int = 200):
    context["section_links"] = tabs
    return no_store(render(request, template, context, status=status))


def query_with(request, name: str, value: str) -> str:
    """A link to the list with its filters (without the page) and ``name=value``."""
    query = query_without(request, name)
    return f"?{query}&{name}={value}" if query else f"?{name}={value}"


def paged(request, queryset, mark=None):
    """The page of ``queryset`` the request asks for; ``mark`` (rows -> rows) flags its rows."""
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    if mark is not None:
        mark(page.object_list)
    return page


# --- node selects -------------------------------------------------------------------------


def scoped_nodes(user, model, action: str, kinds):
    """The live nodes of ``kinds`` on which ``user`` may do ``action`` on ``model``."""
    from grids.models import Grid

    ranges = reachable_ranges(user, permission_for(model, action))
    return Grid.objects.filter(scope_filter(ranges, ""), kind__in=kinds, retired_at__isnull=True)


def node_choices(user, model, action: str, kinds, limit: int):
    """The nodes a record form offers, in tree order; only the grids when there would be
    more than ``limit`` (a town's centre), so that it stays a phone-sized select."""
    from grids.models import GridKind

    nodes = scoped_nodes(user, model, action, kinds)
    if nodes.count() > limit:
        nodes = nodes.filter(kind=GridKind.GRID)
    return nodes.order_by("tree_id", "lft")


def area_nodes(user, model, action: str) -> list[tuple]:
    """(node, depth) for the nodes down to the zones (villages) where ``user`` may do
    ``action`` on ``model``, for a queue's area select."""
    from grids.models import GridKind

    kinds = (GridKind.CITY, GridKind.TOWN, GridKind.ZONE)
    nodes = scoped_nodes(user, model, action, kinds).only("code", "name", "kind", "level", "tree_id", "lft")
    nodes = list(nodes.order_by("tree_id", "lft"))
    top = min((node.level for node in nodes), default=0)
    return [(node, node.level - top) for node in nodes]


# --- the queue ----------------------------------------------------------------------------


def status_chips(request, counts: dict, current: str, statuses) -> list[dict]:
    """A chip for all and one per status (of the ``statuses`` choices) with records, each a link
    to the list with the other filters kept."""
    base = query_without(request, "status")
    chips = [{"label": _("全部"), "n": counts["total"], "url": f"?{base}", "current": not current}]
    for value, label in statuses.choices:
        if counts.get(value):
            query = f"{base}&status={value}" if base else f"status={value}"
            chips.append({"label": label, "n": counts[value], "url": f"?{query}", "current": current == value})
    return chips


def queue_filtering(request, form, base, filterset_class, count_statuses, statuses):
    """A queue's list: ``base`` filtered as the form says, and the context the queue shows
    above it (its form, the counts per status over the other filters, the status chips,
    the overdue link, the query the page links keep)."""
    filtered = filterset_class(data=form.filter_params(), queryset=base).qs
    counts = count_statuses(filterset_class(data=form.filter_params(with_status=False), queryset=base).qs)
    current_status = form.cleaned_data.get("status", "") if form.is_bound and form.is_valid() else ""
    context = {
        "form": form,
        "counts": counts,
        "chips": status_chips(request, counts, current_status, statuses),
        "overdue_url": query_with(request, "overdue", "true"),
        "query": query_without(request),
    }
    return filtered, context


def filtered_export(request, *, model, kind: str, filter_form):
    """A queue's filtered list as CSV or XLSX, scoped for EXPORT and audited; a large one
    runs as a job with a progress page. ``filter_form(data)``: the queue's filter form."""
    user = request.user
    if not user_can(user, model, EXPORT):
        raise PermissionDenied
    file_format = request.GET.get("format", "csv")
    if file_format not in EXPORT_FORMATS:
        return HttpResponseBadRequest(_("导出格式只能是 csv 或 xlsx。"))
    data = request.GET.copy()
    data.pop("format", None)
    form = filter_form(data)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(_("筛选条件有误。"))
    result = export_response_or_job(actor=user, kind=kind, filters=form.filter_params(), file_format=file_format)
    if isinstance(result, ExportJob):
        messages.info(request, _("导出数据较多，正在后台生成，完成后可下载。"))
        return redirect("export-detail", pk=result.pk)
    return no_store(result)


# --- a record's pages ---------------------------------------------------------------------


def sent_client_key(data) -> uuid.UUID | None:
    """The client key a form carries; None when it carries none, or not a UUID."""
    try:
        return uuid.UUID(str(data.get("client_key") or ""))
    except ValueError:
        return None


def create_once(request, *, make_form, replayed, service, detail: str, created: str, repeated: str):
    """A form that creates a record and carries a client key: sent again (a double tap, or
    a phone that lost the answer and sent the form again) it creates nothing and leads to
    the first record.

    ``make_form(data=None, files=None)``; ``replayed(key)``: the record the key already
    created, if any; ``service``: the service taking the form's arguments and answering
    (record, created); ``detail``: the URL name of the record's page; ``created`` and
    ``repeated``: the messages. Returns (form, None) to show the form again (with its
    errors after a POST), or (None, the redirect to the record).
    """
    if request.method != "POST":
        return make_form(), None
    key = sent_client_key(request.POST)
    existing = replayed(key) if key is not None else None
    if existing is not None:
        messages.info(request, repeated)
        return None, redirect(detail, number=existing.number)
    form = make_form(request.POST, request.FILES)
    if form.is_valid():
        try:
            record, was_created = service(actor=request.user, **form.service_arguments())
        except ValidationError as error:
            apply_service_errors(error, form)
        else:
            if was_created:
                messages.success(request, created % {"number": record.number})
            else:
                messages.info(request, repeated)
            return None, redirect(detail, number=record.number)
    return form, None


def record_for_step(user, number: str, step: str, *, forms, record_or_404, may_take):
    """The record a step's small form is posted to: a 404 for a step without a form (or a
    record out of scope), a 403 for a step the user may not take on it now."""
    if step not in forms:
        raise Http404
    record = record_or_404(user, number)
    if not may_take(user, record, step):
        raise PermissionDenied
    return record


def labelled_transitions(transitions, steps) -> list:
    """The record's transitions, each with the label of its step (of the ``steps`` choices)."""
    transitions = list(transitions)
    for transition in transitions:
        transition.step_label = steps(transition.step).label if transition.step in steps.values else transition.step
    return transitions


def step_entries(available, steps, make_form, bound, forward) -> list[dict]:
    """One small form per step the viewer may take now (``available``, of the ``steps``
    choices); ``bound``: the (step, form) come back from its POST with errors. When none
    came back, the first of the ``forward`` steps (those that move the record on, in their
    order) comes unfolded; refusals and side steps wait for a tap."""
    entries = []
    for step in available:
        form = bound[1] if bound and bound[0] == step else make_form(step)
        entries.append({"step": step, "label": steps(step).label, "form": form, "bound": form.is_bound})
    if not any(entry["bound"] for entry in entries):
        onward = sorted((entry for entry in entries if entry["step"] in forward), key=lambda entry: forward.index(entry["step"]))
        if onward:
            onward[0]["open"] = True
    return entries

"""Pages of the resident registry and the six programmes: server-rendered, phone first.

Every read goes through the models' ``restrict(user, action)``: a user who may not do the
action anywhere gets 403, a record outside their scope is a 404 like a missing one.
Writes go through ``populations.services`` only. Identity and phone numbers are shown
masked; the clear numbers are rendered once, after an audited POST, for the people a
user is responsible for. Pages that show personal data are sent with
``Cache-Control: no-store``.
"""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, OuterRef, Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import ListView, View

from grids.models import Grid, GridKind
from grids.selectors import grid_path
from kaili.audit import audit_record
from kaili.filtersets import under_node
from kaili.forms import apply_service_errors
from kaili.mixins import ScopedViewMixin
from kaili.models import AuditAction, User
from kaili.pages import no_store, query_without, render_page, tab_links
from kaili.roles import PROGRAMME_OFFICER
from kaili.scope import ADD, CHANGE, EXPORT, VIEW, Everything, reachable_ranges, scope_predicate, user_can
from populations import qr, selectors, services
from populations.exports import PEOPLE_EXPORT_FORMATS, masked_filters, people_export_response
from populations.filtersets import HouseholdFilterSet, PersonFilterSet
from populations.forms import (
    FOLLOW_UP_LABELS,
    CountsNodeForm,
    EnrollmentFilterForm,
    EnrollmentForm,
    ExitForm,
    HouseholdFilterForm,
    HouseholdForm,
    OfficerDutiesForm,
    PersonEditForm,
    PersonFilterForm,
    PersonForm,
    PlacementEndForm,
    PlacementStartForm,
    ProgrammeChoiceForm,
    RevealForm,
    VisitForm,
    available_facilities,
    detail_form,
    level_choices,
)
from populations.models import (
    DETAIL_MODELS,
    Enrollment,
    EnrollmentStatus,
    Household,
    Person,
    Placement,
    Programme,
    ProgrammeOfficer,
    Registration,
    Relation,
    ScheduleRule,
    Visit,
    VisitKind,
)
from populations.schedules import (
    DRUG_TEST_RESULTS,
    DUE_SOON_DAYS,
    MENTAL_HEALTH_FLAGS,
    MENTAL_HEALTH_FOLLOW_UP,
    RuleBook,
    due_state,
)
from populations.selectors import COUNT

PAGE_SIZE = 50


# --- helpers ----------------------------------------------------------------------------


def _object_or_404(user, queryset, **lookup):
    """What ``ScopedViewMixin`` does for the class-based pages, for the function views:
    403 for a user who may not view the model anywhere, then the record from ``queryset``
    (already restricted to the user's scope), or 404 like a missing one."""
    if not user_can(user, queryset.model, VIEW):
        raise PermissionDenied
    return get_object_or_404(queryset, **lookup)


def _filled(data: dict) -> dict:
    return {key: value for key, value in data.items() if value}


def _section_links(user, current: str) -> list[dict]:
    """The populations pages this user may open, for the tab bar at the top of each page."""
    links = []
    if user_can(user, Household, VIEW):
        links.append(("households", _("住户")))
    if user_can(user, Person, VIEW):
        links.append(("persons", _("人员")))
    if user_can(user, Enrollment, VIEW) or user_can(user, Enrollment, COUNT):
        links.append(("programmes", _("特殊人群")))
    if user_can(user, Enrollment, VIEW):
        links.append(("worklist", _("走访提醒")))
    return tab_links("populations", links, current)


def _page(request, template: str, context: dict, *, section: str = "", status: int = 200):
    return render_page(request, template, context, tabs=_section_links(request.user, section), status=status)


class _ListPage(ScopedViewMixin, ListView):
    """A scoped, paged list: the tab bar and ``no-store``, as ``_page`` gives the other pages."""

    paginate_by = PAGE_SIZE
    section = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(query=query_without(self.request), section_links=_section_links(self.request.user, self.section))
        return context

    def render_to_response(self, context, **kwargs):
        return no_store(super().render_to_response(context, **kwargs))


def _filtered(queryset, form, filterset_class):
    """``queryset`` narrowed by a page's filter form through the API's filterset, so each
    filter (search, subtree...) is written once."""
    if form.is_bound and form.is_valid():
        return filterset_class(form.cleaned_data, queryset=queryset).qs
    return queryset


def _submit(request, form, save, *, done, next_url: str, again):
    """A form on a detail page: when valid, ``save(cleaned_data)`` calls the service, whose
    ``ValidationError`` comes back on the form's fields. Success flashes ``done`` (or
    ``done(result)``) and redirects to ``next_url``; anything else is ``again(form)``, the
    page rendered again with the form open (400)."""
    if form.is_valid():
        try:
            result = save(form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(error, form)
        else:
            messages.success(request, done(result) if callable(done) else done)
            return redirect(next_url)
    return again(form)


def _is_number_search(query: str) -> bool:
    compact = (query or "").replace(" ", "")
    return sum(ch.isdigit() for ch in compact) >= 7


# --- households -------------------------------------------------------------------------


class HouseholdListView(_ListPage):
    """Households in scope: search by address, doorplate or number; filter by subtree and registration."""

    model = Household
    template_name = "populations/household_list.html"
    section = "households"

    def get_queryset(self):
        self.form = HouseholdFilterForm(self.request.GET or None)
        self.filtered = _filtered(super().get_queryset(), self.form, HouseholdFilterSet)
        return self.filtered.select_related("unit", "head").annotate(member_count=Count("members")).order_by("number")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["form"] = self.form
        context["counts"] = self.filtered.order_by().aggregate(
            registered=Count("pk", filter=Q(registration=Registration.REGISTERED), distinct=True),
            resident_only=Count("pk", filter=Q(registration=Registration.RESIDENT_ONLY), distinct=True),
            people=Count("members"),
        )
        return context


def _household_or_404(user, number: str) -> Household:
    return _object_or_404(user, selectors.households_for(user), number=number)


def _members(user, household: Household) -> list[Person]:
    members = list(Person.objects.restrict(user, VIEW).filter(household=household).order_by("pk"))
    # The head first, then the others in the order they were registered.
    members.sort(key=lambda person: (person.pk != household.head_id, person.relation != Relation.HEAD))
    return members


def _render_household(request, household: Household, *, edit_form=None, member_form=None, status: int = 200):
    """The household page. A bound form comes back from its own POST, which checked the
    user may send it; otherwise each form is offered where the user may use it."""
    user = request.user
    unit = household.unit
    today = timezone.localdate()
    members = _members(user, household)
    for person in members:
        person.age = person.age_on(today)
    if edit_form is None and scope_predicate(user, Household, CHANGE)(unit):
        edit_form = HouseholdForm(
            initial={"address": household.address, "doorplate": household.doorplate, "registration": household.registration},
            auto_id="household_%s",
        )
    if member_form is None and scope_predicate(user, Person, ADD)(unit):
        member_form = PersonForm(auto_id="member_%s")
    context = {
        "household": household,
        "members": members,
        "unit_link": scope_predicate(user, Grid, VIEW)(unit),
        "edit_form": edit_form,
        "member_form": member_form,
    }
    return _page(request, "populations/household_detail.html", context, section="households", status=status)


@login_required
def household_detail(request, number):
    return _render_household(request, _household_or_404(request.user, number))


@login_required
@require_POST
def household_edit(request, number):
    user = request.user
    household = _household_or_404(user, number)
    if not scope_predicate(user, Household, CHANGE)(household.unit):
        raise PermissionDenied
    return _submit(
        request,
        HouseholdForm(request.POST, auto_id="household_%s"),
        lambda data: services.household_update(actor=user, household=household, **data),
        done=_("住户信息已保存。"),
        next_url=reverse("populations:household", args=[household.number]),
        again=lambda form: _render_household(request, household, edit_form=form, status=400),
    )


@login_required
@require_POST
def person_create(request, number):
    user = request.user
    household = _household_or_404(user, number)
    if not scope_predicate(user, Person, ADD)(household.unit):
        raise PermissionDenied
    return _submit(
        request,
        PersonForm(request.POST, auto_id="member_%s"),
        lambda data: services.person_create(actor=user, household=household, **data),
        done=lambda person: _("已登记成员 %(name)s。") % {"name": person.name},
        next_url=reverse("populations:household", args=[household.number]),
        again=lambda form: _render_household(request, household, member_form=form, status=400),
    )


# --- doorplates -------------------------------------------------------------------------


def doorplate(request, token):
    """Where a doorplate QR code leads: sign in first, then the household if it lies in the
    user's scope. Anyone else gets the plain 404 page, which names nothing."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    household = Household.objects.restrict(request.user, VIEW).filter(doorplate_token=token).only("number").first()
    if household is None:
        raise Http404
    return redirect("populations:household", number=household.number)


def _plate_svg(request, household: Household) -> str:
    return qr.doorplate_svg(
        qr.doorplate_url(request, household),
        doorplate=household.doorplate,
        number=household.number,
        title=_("二维码门牌 %(number)s") % {"number": household.doorplate or household.number},
    )


def _plate_file(household: Household, content, content_type: str, extension: str):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="doorplate-{household.number}.{extension}"'
    return no_store(response)


@login_required
def doorplate_png(request, number):
    household = _household_or_404(request.user, number)
    return _plate_file(household, qr.doorplate_png(qr.doorplate_url(request, household)), "image/png", "png")


@login_required
def doorplate_svg(request, number):
    household = _household_or_404(request.user, number)
    return _plate_file(household, _plate_svg(request, household), "image/svg+xml; charset=utf-8", "svg")


@login_required
def unit_doorplates(request, code):
    """A print sheet (A4, six plates a page) of every household of one unit."""
    user = request.user
    if not user_can(user, Household, VIEW):
        raise PermissionDenied
    unit = Grid.objects.filter(code=code, kind=GridKind.UNIT).first()
    if unit is None or not scope_predicate(user, Household, VIEW)(unit):
        raise Http404
    households = Household.objects.restrict(user, VIEW).filter(unit=unit).order_by("number")
    # The SVG is built here from escaped text only, so it is safe to put in the page as is.
    plates = [{"household": household, "svg": mark_safe(_plate_svg(request, household))} for household in households]
    context = {"unit": unit, "plates": plates, "unit_link": scope_predicate(user, Grid, VIEW)(unit)}
    return _page(request, "populations/unit_doorplates.html", context, section="households")


# --- people -----------------------------------------------------------------------------


class PersonListView(_ListPage):
    """The registry search. A name searches by fragment; a full identity or phone number
    finds its person through the keyed hash. The search form posts, so a number typed in
    never lands in a URL, a browser history or an access log; a name search is sent back
    as a GET so it can be paged."""

    model = Person
    template_name = "populations/person_list.html"
    section = "persons"
    http_method_names = ["get", "post"]

    def get(self, request, *args, **kwargs):
        if _is_number_search(request.GET.get("q", "")):
            # A number sent in a URL would be echoed into this page's links (the language
            # switch keeps the full path): answer it from the posted search box only.
            messages.info(request, _("按身份证号或手机号查找，请在查询框中输入后提交。"))
            return redirect("populations:persons")
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.search_data = request.POST
        form = PersonFilterForm(request.POST)
        if form.is_valid() and not _is_number_search(form.cleaned_data["q"]):
            url, query = reverse("populations:persons"), urlencode(_filled(form.cleaned_data))
            return redirect(f"{url}?{query}" if query else url)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        data = getattr(self, "search_data", None) or self.request.GET
        self.form = PersonFilterForm(data or None)
        self.number_search = self.form.is_bound and self.form.is_valid() and _is_number_search(self.form.cleaned_data["q"])
        people = _filtered(super().get_queryset(), self.form, PersonFilterSet)
        return people.select_related("household", "unit").order_by("household__number", "pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.number_search:
            # Do not echo the number back into the page: show it masked.
            query = self.form.cleaned_data["q"]
            self.form = PersonFilterForm(initial={"under": self.form.cleaned_data["under"]})
            context["number_searched"] = masked_filters({"q": query})["q"]
        context.update(form=self.form, can_export=user_can(self.request.user, Person, EXPORT) and not self.number_search)
        return context


class PersonExportView(ScopedViewMixin, View):
    """The people the search shows, as CSV or Excel, scoped for EXPORT and audited."""

    model = Person
    scope_action = EXPORT

    def get(self, request):
        file_format = request.GET.get("format", "csv")
        if file_format not in PEOPLE_EXPORT_FORMATS:
            return HttpResponseBadRequest(_("导出格式只能是 csv 或 xlsx。"))
        form = PersonFilterForm(request.GET)
        if not form.is_valid():
            return HttpResponseBadRequest(_("筛选条件有误。"))
        people = _filtered(self.get_queryset(), form, PersonFilterSet)
        return no_store(
            people_export_response(actor=request.user, people=people, file_format=file_format, filters=_filled(form.cleaned_data))
        )

    def get_queryset(self):
        return Person.objects.restrict(self.request.user, self.scope_action)


def _person_or_404(user, pk) -> Person:
    return _object_or_404(user, selectors.persons_for(user), pk=pk)


def enrollable_programmes(user) -> list[str]:
    """The programmes a user may enroll people in: an officer's own programmes (the ones
    they will then see), every programme for a superuser."""
    if not user_can(user, Enrollment, ADD):
        return []
    if user.is_superuser:
        return list(Programme.values)
    duties = selectors.officer_programmes(user)
    return [programme for programme in Programme.values if programme in duties]


def _render_person(request, person: Person, *, edit_form=None, revealed=None, status: int = 200):
    user = request.user
    unit = person.unit
    if edit_form is None and scope_predicate(user, Person, CHANGE)(unit):
        # The numbers are never sent in clear: their fields start empty.
        edit_form = PersonEditForm(
            initial={
                "name": person.name,
                "ethnicity": person.ethnicity,
                "relation": person.relation,
                "residence": person.residence,
                "occupation": person.occupation,
                "notes": person.notes,
            },
            auto_id="person_%s",
        )
    enrollments = list(selectors.visible_enrollments_of(user, person)) if user_can(user, Enrollment, VIEW) else []
    context = {
        "person": person,
        "age": person.age_on(timezone.localdate()),
        "household_link": scope_predicate(user, Household, VIEW)(unit),
        "responsible": revealed is not None or selectors.person_is_responsible(user, person),
        "revealed": revealed,
        "reveal_form": RevealForm(auto_id="reveal_%s"),
        "enrollments": enrollments,
        "edit_form": edit_form,
        "can_enroll": bool(enrollable_programmes(user)) and scope_predicate(user, Enrollment, ADD)(unit),
    }
    return _page(request, "populations/person_detail.html", context, section="persons", status=status)


@login_required
def person_detail(request, pk):
    return _render_person(request, _person_or_404(request.user, pk))


@login_required
@require_POST
def person_edit(request, pk):
    user = request.user
    person = _person_or_404(user, pk)
    if not scope_predicate(user, Person, CHANGE)(person.unit):
        raise PermissionDenied
    form = PersonEditForm(request.POST, auto_id="person_%s")
    return _submit(
        request,
        form,
        lambda data: services.person_update(actor=user, person=person, **form.changes()),
        done=_("人员信息已保存。"),
        next_url=reverse("populations:person", args=[person.pk]),
        again=lambda form: _render_person(request, person, edit_form=form, status=400),
    )


@login_required
@require_POST
def person_reveal(request, pk):
    """The clear numbers, once, in the answer to an audited POST (never in a GET URL or a cache)."""
    user = request.user
    person = _person_or_404(user, pk)
    form = RevealForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    # Refused (and audited as denied) for anyone not responsible for the person: 403.
    revealed = services.person_reveal(actor=user, person=person, reason=reason)
    return _render_person(request, person, revealed=revealed)


# --- programmes -------------------------------------------------------------------------


def _with_due(enrollments, today: datetime.date):
    for enrollment in enrollments:
        enrollment.due = due_state(enrollment.next_due_on, today) if enrollment.status == EnrollmentStatus.ACTIVE else ""
    return enrollments


def _filtered_enrollments(user, form: EnrollmentFilterForm, today: datetime.date):
    """(the filtered list, the same without the programme filter for the per-programme counts).

    Not ``EnrollmentFilterSet``: this page lists the active by default and its "due" means
    due within the week, not yet overdue (the API's includes the overdue)."""
    enrollments = selectors.enrollments_for(user)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    status = data.get("status") or EnrollmentStatus.ACTIVE
    if status != "all":
        enrollments = enrollments.filter(status=status)
    if data.get("level") is not None:
        enrollments = enrollments.filter(level=data["level"])
    if data.get("attention"):
        enrollments = enrollments.filter(attention=data["attention"])
    if data.get("due") == "overdue":
        enrollments = enrollments.filter(status=EnrollmentStatus.ACTIVE, next_due_on__lt=today)
    elif data.get("due") == "due":
        enrollments = enrollments.filter(
            status=EnrollmentStatus.ACTIVE,
            next_due_on__gte=today,
            next_due_on__lte=today + datetime.timedelta(days=DUE_SOON_DAYS),
        )
    if data.get("under"):
        enrollments = under_node(enrollments, data["under"], "person__unit")
    all_programmes = enrollments
    if data.get("programme"):
        enrollments = enrollments.filter(programme=data["programme"])
    return enrollments, all_programmes


@login_required
def programmes(request):
    """The programme officer's (or responsible team's, or grid worker's) enrollment list;
    for leaders, who may only count, the counts per child node instead."""
    user = request.user
    if user_can(user, Enrollment, VIEW):
        return _enrollment_list(request)
    if user_can(user, Enrollment, COUNT):
        return _programme_counts(request)
    raise PermissionDenied


def _enrollment_list(request):
    today = timezone.localdate()
    form = EnrollmentFilterForm(request.GET or None)
    enrollments, all_programmes = _filtered_enrollments(request.user, form, today)
    ordered = enrollments.order_by(F("next_due_on").asc(nulls_last=True), "pk")
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    _with_due(page.object_list, today)
    per_programme = dict(all_programmes.order_by().values_list("programme").annotate(n=Count("pk")))
    counts = [
        {"programme": programme, "label": label, "n": per_programme.get(programme, 0)}
        for programme, label in Programme.choices
        if programme in per_programme
    ]
    context = {
        "form": form,
        "page": page,
        "counts": counts,
        "total": sum(per_programme.values()),
        "query": query_without(request),
    }
    return _page(request, "populations/programme_list.html", context, section="programmes")


def _count_roots(user) -> list[Grid]:
    """The outermost nodes where the user may count enrollments."""
    ranges = reachable_ranges(user, "populations.count_enrollment")
    if isinstance(ranges, Everything):
        return list(Grid.objects.filter(parent__isnull=True).order_by("code"))
    condition = Q(pk__in=[])
    for node_range in ranges:
        condition |= Q(tree_id=node_range.tree_id, lft=node_range.lft)
    return list(Grid.objects.filter(condition).order_by("code"))


def _programme_counts(request):
    user = request.user
    roots = _count_roots(user)
    if not roots:
        raise PermissionDenied
    in_scope = scope_predicate(user, Enrollment, COUNT)
    code = (request.GET.get("node") or roots[0].code).strip()
    node = Grid.objects.filter(code=code).first()
    if node is None or not in_scope(node):
        raise Http404
    counts = selectors.programme_counts(user, node)
    programmes_shown = list(Programme.choices)
    rows = []
    for child, per_programme in counts["children"]:
        cells = [(label, per_programme.get(programme, 0)) for programme, label in programmes_shown]
        total = sum(n for _label, n in cells)
        rows.append({"node": child, "cells": cells, "total": total, "drill": child.kind != GridKind.UNIT})
    programme_totals = [(label, counts["total"].get(programme, 0)) for programme, label in programmes_shown]
    context = {
        "node": node,
        "crumbs": [a for a in grid_path(grid=node) if in_scope(a)],
        "rows": rows,
        "programmes": programmes_shown,
        "programme_totals": programme_totals,
        "total": sum(n for _label, n in programme_totals),
        "node_form": CountsNodeForm(initial={"node": node.code}, nodes=roots),
        "roots": roots,
    }
    return _page(request, "populations/programme_counts.html", context, section="programmes")


class WorklistView(_ListPage):
    """Visits due within a week or overdue, earliest first."""

    model = Enrollment
    template_name = "populations/worklist.html"
    section = "worklist"

    def get_queryset(self):
        self.today = timezone.localdate()
        return selectors.worklist(self.request.user, today=self.today)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        enrollments = _with_due(context["object_list"], self.today)
        context.update(overdue=sum(1 for e in enrollments if e.due == "overdue"), within=DUE_SOON_DAYS)
        return context


# --- one enrollment ---------------------------------------------------------------------


def _enrollment_or_404(user, pk) -> Enrollment:
    """The enrollment in the user's scope, with ``may_change`` (may they change it, under
    the programme rules) read in the same query: the page and its forms ask it once."""
    may_change = Exists(Enrollment.objects.restrict(user, CHANGE).filter(pk=OuterRef("pk")))
    return _object_or_404(user, selectors.enrollments_for(user).annotate(may_change=may_change), pk=pk)


def _detail_rows(enrollment: Enrollment) -> tuple[str, list[tuple[str, object]]]:
    """The programme record's verbose name and (label, shown value) for every field."""
    model = DETAIL_MODELS[enrollment.programme]
    record = (
        model.objects.filter(enrollment=enrollment)
        .select_related(*[f.name for f in model._meta.concrete_fields if f.is_relation and f.name != "enrollment"])
        .first()
    )
    rows = []
    for field in model._meta.concrete_fields:
        if field.name in ("id", "enrollment"):
            continue
        value = getattr(record, field.name) if record else None
        if field.choices and value not in (None, ""):
            value = getattr(record, f"get_{field.name}_display")()
        elif isinstance(value, bool):
            value = _("是") if value else _("否")
        rows.append((field.verbose_name, value))
    return str(model._meta.verbose_name), rows


def _visit_lines(visit: Visit) -> list[str]:
    """The programme form's answers of a visit, in words."""
    lines = []
    details = visit.details or {}
    for name, choices in MENTAL_HEALTH_FOLLOW_UP.items():
        if details.get(name):
            lines.append(f"{FOLLOW_UP_LABELS[name]}：{choices.get(details[name], details[name])}")
    flags = [str(label) for name, label in MENTAL_HEALTH_FLAGS.items() if details.get(name) is True]
    if flags:
        lines.append(_("有：%(flags)s") % {"flags": "、".join(flags)})
    return lines


def _visit_result(visit: Visit) -> str:
    if visit.kind == VisitKind.DRUG_TEST and visit.result:
        return str(DRUG_TEST_RESULTS.get(visit.result, visit.result))
    return visit.result


def _render_enrollment(
    request, enrollment: Enrollment, *, visit_form=None, exit_form=None, placement_form=None, end_form=None, status=200
):
    """The programme record. A bound form comes back from its own POST, which checked the
    user may send it; otherwise each form is offered where the user may use it."""
    user = request.user
    person = enrollment.person
    unit = person.unit
    # Reading a programme record is reading sensitive personal information: every view is audited.
    audit_record(
        actor=user,
        action=AuditAction.READ_SENSITIVE,
        obj=enrollment,
        object_repr=services.enrollment_repr(enrollment),
    )
    today = timezone.localdate()
    active = enrollment.status == EnrollmentStatus.ACTIVE
    programme = enrollment.programme
    if active and visit_form is None and scope_predicate(user, Visit, ADD)(unit):
        # Preselect the kind of visit the schedule asks of this enrollment.
        rule = RuleBook(ScheduleRule.objects.filter(programme=programme)).rule_for(enrollment, today)
        visit_form = VisitForm(
            programme=programme,
            scheduled_kind=rule.visit_kind if rule else VisitKind.VISIT,
            initial={"visited_on": today},
            auto_id="visit_%s",
        )
    if active and exit_form is None and enrollment.may_change:
        exit_form = ExitForm(initial={"exited_on": today}, auto_id="exit_%s")
    if active and placement_form is None and scope_predicate(user, Placement, ADD)(unit):
        placement_form = PlacementStartForm(
            facilities=available_facilities(user, unit), initial={"started_on": today}, auto_id="place_%s"
        )
    visits = list(Visit.objects.restrict(user, VIEW).filter(enrollment=enrollment).select_related("recorded_by"))
    for visit in visits:
        visit.lines = _visit_lines(visit)
        visit.result_text = _visit_result(visit)
    placements = list(Placement.objects.restrict(user, VIEW).filter(enrollment=enrollment).select_related("facility"))
    if scope_predicate(user, Placement, CHANGE)(unit):
        for placement in placements:
            if placement.ended_on is None:
                bound = end_form is not None and end_form.placement_pk == placement.pk
                placement.end_form = (
                    end_form if bound else PlacementEndForm(initial={"ended_on": today}, auto_id=f"end{placement.pk}_%s")
                )
    detail_name, detail_rows = _detail_rows(enrollment)
    context = {
        "enrollment": enrollment,
        "person": person,
        "level_label": dict(level_choices(programme)).get(enrollment.level, enrollment.level),
        "due": due_state(enrollment.next_due_on, today) if active else "",
        "detail_name": detail_name,
        "detail_rows": detail_rows,
        "team": list(enrollment.team.order_by("username")),
        "visits": visits,
        "placements": placements,
        "visit_form": visit_form,
        "exit_form": exit_form,
        "placement_form": placement_form,
        "follow_up_fields": list(MENTAL_HEALTH_FOLLOW_UP) + list(MENTAL_HEALTH_FLAGS),
    }
    return _page(request, "populations/enrollment_detail.html", context, section="programmes", status=status)


@login_required
def enrollment_detail(request, pk):
    return _render_enrollment(request, _enrollment_or_404(request.user, pk))


def _to_enrollment(enrollment: Enrollment) -> str:
    return reverse("populations:enrollment", args=[enrollment.pk])


@login_required
@require_POST
def visit_create(request, pk):
    user = request.user
    enrollment = _enrollment_or_404(user, pk)
    if not scope_predicate(user, Visit, ADD)(enrollment.person.unit):
        raise PermissionDenied
    form = VisitForm(request.POST, programme=enrollment.programme, auto_id="visit_%s")
    return _submit(
        request,
        form,
        lambda data: services.visit_record(actor=user, enrollment=enrollment, **form.service_arguments()),
        done=_("走访记录已保存。"),
        next_url=_to_enrollment(enrollment),
        again=lambda form: _render_enrollment(request, enrollment, visit_form=form, status=400),
    )


@login_required
@require_POST
def enrollment_exit(request, pk):
    user = request.user
    enrollment = _enrollment_or_404(user, pk)
    if not enrollment.may_change:
        raise PermissionDenied
    return _submit(
        request,
        ExitForm(request.POST, auto_id="exit_%s"),
        lambda data: services.enrollment_exit(
            actor=user, enrollment=enrollment, exited_on=data["exited_on"], reason=data["exit_reason"], note=data["exit_note"]
        ),
        done=_("已办理退出。"),
        next_url=_to_enrollment(enrollment),
        again=lambda form: _render_enrollment(request, enrollment, exit_form=form, status=400),
    )


@login_required
@require_POST
def placement_start(request, pk):
    user = request.user
    enrollment = _enrollment_or_404(user, pk)
    unit = enrollment.person.unit
    if not scope_predicate(user, Placement, ADD)(unit):
        raise PermissionDenied
    return _submit(
        request,
        PlacementStartForm(request.POST, facilities=available_facilities(user, unit), auto_id="place_%s"),
        lambda data: services.placement_start(
            actor=user, enrollment=enrollment, facility=data["facility"], started_on=data["started_on"], note=data["note"]
        ),
        done=lambda placement: _("已安置到%(name)s。") % {"name": placement.facility.name},
        next_url=_to_enrollment(enrollment),
        again=lambda form: _render_enrollment(request, enrollment, placement_form=form, status=400),
    )


@login_required
@require_POST
def placement_end(request, pk, placement_pk):
    user = request.user
    enrollment = _enrollment_or_404(user, pk)
    placements = Placement.objects.restrict(user, VIEW).filter(enrollment=enrollment, ended_on__isnull=True)
    placement = get_object_or_404(placements, pk=placement_pk)
    if not scope_predicate(user, Placement, CHANGE)(enrollment.person.unit):
        raise PermissionDenied
    form = PlacementEndForm(request.POST, auto_id=f"end{placement.pk}_%s")
    form.placement_pk = placement.pk
    return _submit(
        request,
        form,
        lambda data: services.placement_end(actor=user, placement=placement, ended_on=data["ended_on"], note=data["note"]),
        done=_("安置已结束。"),
        next_url=_to_enrollment(enrollment),
        again=lambda form: _render_enrollment(request, enrollment, end_form=form, status=400),
    )


# --- enrolling --------------------------------------------------------------------------


@login_required
def enroll(request, pk):
    """Enroll a person: choose the programme, then fill in the shared and the programme's own fields."""
    user = request.user
    programmes_allowed = enrollable_programmes(user)
    if not programmes_allowed:
        raise PermissionDenied
    person = _person_or_404(user, pk)
    if not scope_predicate(user, Enrollment, ADD)(person.unit):
        raise PermissionDenied
    chosen = request.POST.get("programme") or request.GET.get("programme") or ""
    if not chosen and len(programmes_allowed) == 1:
        chosen = programmes_allowed[0]  # an officer with one programme skips the choice
    choice = ProgrammeChoiceForm({"programme": chosen} if chosen else None, programmes=programmes_allowed, auto_id="choose_%s")
    context = {"person": person, "choice": choice, "can_choose": len(programmes_allowed) > 1}
    if not chosen or not choice.is_valid():
        return _page(request, "populations/enroll_form.html", context, section="persons", status=400 if chosen else 200)
    programme = choice.cleaned_data["programme"]
    data = request.POST if request.method == "POST" else None
    form = EnrollmentForm(data, programme=programme, initial={"started_on": timezone.localdate()}, auto_id="enroll_%s")
    details = detail_form(programme, user=user, unit=person.unit, data=data)
    if data is not None:
        valid = form.is_valid()
        valid = details.is_valid() and valid
        if valid:
            shared = form.cleaned_data
            try:
                enrollment = services.enrollment_create(
                    actor=user,
                    person=person,
                    programme=programme,
                    started_on=shared["started_on"],
                    level=shared["level"],
                    attention=shared["attention"],
                    planned_end_on=shared["planned_end_on"],
                    team=[user] if shared["join_team"] else [],
                    details=details.cleaned_data,
                )
            except ValidationError as error:
                apply_service_errors(error, form, details)
            else:
                messages.success(
                    request,
                    _("已将 %(name)s 纳入%(programme)s。") % {"name": person.name, "programme": Programme(programme).label},
                )
                return redirect(_to_enrollment(enrollment))
    context.update(
        programme=programme,
        programme_label=Programme(programme).label,
        form=form,
        details=details,
        detail_name=DETAIL_MODELS[programme]._meta.verbose_name,
    )
    return _page(request, "populations/enroll_form.html", context, section="persons", status=400 if data is not None else 200)


# --- officer duties (security admin) ----------------------------------------------------


@login_required
def officer_duties(request):
    """Which programmes each programme officer runs; set by the security admin."""
    if not request.user.has_perm("populations.add_programmeofficer"):
        raise PermissionDenied
    officers = User.objects.filter(groups__name=PROGRAMME_OFFICER, is_active=True).order_by("username")
    if request.method == "POST":
        form = OfficerDutiesForm(request.POST, officers=officers)
        if form.is_valid():
            officer = form.cleaned_data["user"]
            try:
                services.officer_duties_set(actor=request.user, user=officer, programmes=form.cleaned_data["programmes"])
            except ValidationError as error:
                apply_service_errors(error, form)
            else:
                messages.success(request, _("已保存%(user)s负责的工程。") % {"user": officer})
        if form.errors:
            messages.error(request, " ".join(message for errors in form.errors.values() for message in errors))
        return redirect("populations:officer-duties")
    duties: dict[int, set[str]] = {}
    for user_id, programme in ProgrammeOfficer.objects.filter(user__in=officers).values_list("user_id", "programme"):
        duties.setdefault(user_id, set()).add(programme)
    rows = [{"officer": officer, "duties": duties.get(officer.pk, set())} for officer in officers]
    return _page(request, "populations/officer_duties.html", {"rows": rows, "programmes": Programme.choices})

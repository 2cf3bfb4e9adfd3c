"""Pages of the "132" mediation flow: server-rendered, phone first for grid workers.

- ``register``: the registration form (a grid worker's short one, the centre's full one),
  party rows added on the phone, registry people found through the incident pages' lookup.
- ``queue``: the centre's triage and dispatch board (filters, counts per status, export);
  leaders read it too.
- ``mine``: a mediator's worklist with the deadline reminders on top, and one's own
  registrations.
- ``detail``: the dispute page with its timeline, sessions, agreement, confirmations and
  one small form per step the viewer may take now; ``step`` takes one.
- ``agreement``: the printable mediation agreement (人民调解协议书).
- ``supervision``: open disputes by line and tier with their deadlines (督办).
- ``entrusted``: a court account's page: entrusting a case, following it, the judicial
  confirmations asked of its court.

Every read goes through ``disputes_for`` (``Dispute.objects.restrict``): a user who may
not do the action anywhere gets 403, a dispute outside their scope is a 404 like a missing
one. Writes go through ``disputes.services`` only. Every page is sent ``no-store``.
"""

import functools
import operator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.models import Incident
from disputes import selectors
from disputes.exports import DISPUTE_EXPORTER
from disputes.filtersets import DisputeFilterSet
from disputes.forms import PARTY_CHOICES, STEP_FORMS, EntrustForm, QueueFilterForm, RegisterForm, new_register_initial
from disputes.models import (
    Court,
    Dispute,
    DisputeParty,
    MediationBody,
    PartyRole,
    Status,
    user_court_ids,
)
from disputes.services import REGISTRABLE_KINDS, court_entrust, dispute_party_revealed, dispute_register, dispute_step
from disputes.workflow import Step, available_steps, is_centre, may_take, mediator_ids, next_tier
from grids.models import Grid, GridUserObjectPermission
from grids.selectors import grid_path
from kaili.audit import audit_record
from kaili.exceptions import Conflict
from kaili.forms import apply_service_errors
from kaili.models import AuditAction, User
from kaili.pages import (
    area_nodes,
    create_once,
    filtered_export,
    labelled_transitions,
    node_choices,
    paged,
    queue_filtering,
    record_for_step,
    render_page,
    step_entries,
    tab_links,
)
from kaili.roles import GRID_WORKER, MEDIATOR, role_grant_codename
from kaili.scope import ADD, CHANGE, EXPORT, VIEW, user_can
from populations.identity import ETHNICITIES
from populations.models import Person
from populations.selectors import persons_for, responsible_condition

ETHNICITY_NAMES = dict(ETHNICITIES)
LIST_LIMIT = 200
# Above this many registrable nodes in a user's scope (a town's centre) the form offers
# the second-level grids only, so that it stays a phone-sized select.
MAX_GRID_CHOICES = 300
# The steps that move a dispute on, in the order the page unfolds the first one offered.
FORWARD_STEPS = (
    Step.TRIAGE,
    Step.RECORD_SESSION,
    Step.ESCALATE,
    Step.APPLY_CONFIRMATION,
    Step.RECORD_RULING,
    Step.FOLLOW_UP,
    Step.CLOSE,
)
ASSIGNING_STEPS = (Step.TRIAGE, Step.ROUTE, Step.ESCALATE)
REFUSING_STEPS = (Step.WITHDRAW,)


# --- who opens what ---------------------------------------------------------------------


def board_action(user) -> str | None:
    """The action the board and the supervision table are read with: the centre's
    ``change``, or a leader's ``export`` (read-only)."""
    if user_can(user, Dispute, CHANGE):
        return CHANGE
    if user_can(user, Dispute, EXPORT):
        return EXPORT
    return None


def _board_action_or_403(user) -> str:
    action = board_action(user)
    if action is None:
        raise PermissionDenied
    return action


def _section_links(user, current: str) -> list[dict]:
    links = []
    if user_can(user, Dispute, ADD):
        links.append(("register", _("登记纠纷")))
    if user_can(user, Dispute, ADD) or selectors.mediates_anything(user):
        links.append(("mine", _("我的纠纷")))
    if board_action(user):
        links += [("queue", _("研判调度")), ("supervision", _("纠纷督办"))]
    if user_court_ids(user):
        links.append(("entrusted", _("委托调解")))
    return tab_links("disputes", links, current)


def _page(request, template: str, context: dict, *, section: str = "", status: int = 200):
    return render_page(request, template, context, tabs=_section_links(request.user, section), status=status)


def _flagged(disputes, today=None):
    today = today or timezone.localdate()
    for dispute in disputes:
        dispute.flag = selectors.due_flag(dispute, today)
    return disputes


def _paged(request, queryset):
    return paged(request, queryset, _flagged)


def registrable_grids(user):
    """The zones, grids and units the user may register a dispute in, in tree order; only
    the grids when that would be a long list."""
    return node_choices(user, Dispute, ADD, REGISTRABLE_KINDS, MAX_GRID_CHOICES)


# --- registration -----------------------------------------------------------------------


def _register_form(user, data=None):
    grids = list(registrable_grids(user))
    return RegisterForm(
        data,
        initial=new_register_initial(grids),
        categories=list(selectors.category_choices()),
        grids=grids,
        scales=list(selectors.scale_choices()),
        people=persons_for(user) if user_can(user, Person, VIEW) else Person.objects.none(),
        full=user_can(user, Dispute, CHANGE),
    )


def _lookup_texts() -> dict:
    """What dispute-register.js says, in the reader's language."""
    return {
        "searching": _("查找中……"),
        "pick": _("点按选择："),
        "not_found": _("人员库中没有找到，可直接填写姓名和证件号码。"),
        "lookup_failed": _("查找失败，请检查网络后重试，或直接填写。"),
    }


@login_required
def register(request):
    user = request.user
    if not user_can(user, Dispute, ADD):
        raise PermissionDenied
    form, done = create_once(
        request,
        make_form=lambda data=None, files=None: _register_form(user, data),
        replayed=lambda key: selectors.registration_for_client_key(user, key),
        service=dispute_register,
        detail="disputes:detail",
        created=_("已登记，纠纷编号 %(number)s。"),
        repeated=_("已提交过，未重复登记。"),
    )
    if done is not None:
        return done
    status = 400 if request.method == "POST" else 200
    rows = form.party_rows if form.is_bound else []
    if not rows:
        rows = [{"role": PartyRole.APPLICANT}, {"role": PartyRole.RESPONDENT}]
    context = {
        "form": form,
        "party_rows": rows,
        **PARTY_CHOICES,
        # the incident pages' registry lookup answers those who may report incidents
        "can_look_up": user_can(user, Person, VIEW) and user_can(user, Incident, ADD),
        "js_text": _lookup_texts(),
    }
    return _page(request, "disputes/register.html", context, section="register", status=status)


# --- the board --------------------------------------------------------------------------


def _queue_form(request, data, action: str):
    return QueueFilterForm(
        data or None,
        categories=list(selectors.category_choices()),
        tiers=list(selectors.tier_choices()),
        nodes=area_nodes(request.user, Dispute, action),
    )


@login_required
def queue(request):
    user = request.user
    action = _board_action_or_403(user)
    form = _queue_form(request, request.GET, action)
    filtered, listing = queue_filtering(
        request, form, selectors.disputes_for(user, action), DisputeFilterSet, selectors.status_counts, Status
    )
    context = {
        **listing,
        "page": _paged(request, filtered.prefetch_related("mediators").order_by("-registered_at", "-id")),
        "can_export": user_can(user, Dispute, EXPORT),
    }
    return _page(request, "disputes/queue.html", context, section="queue")


@login_required
def export(request):
    """The board's filtered list as CSV or XLSX, scoped for EXPORT and audited; a large one
    runs as a job with a progress page."""
    return filtered_export(
        request, model=Dispute, kind=DISPUTE_EXPORTER.kind, filter_form=lambda data: _queue_form(request, data, EXPORT)
    )


# --- my disputes ------------------------------------------------------------------------


@login_required
def mine(request):
    user = request.user
    registers = user_can(user, Dispute, ADD)
    if not (registers or selectors.mediates_anything(user)):
        raise PermissionDenied
    worklist = _flagged(list(selectors.mediator_worklist(user).prefetch_related("mediators")[:LIST_LIMIT]))
    registrations = selectors.my_registrations(user).prefetch_related("mediators")
    context = {
        # Reminders: past their deadline, or due within DUE_SOON_DAYS, soonest first.
        "reminders": [dispute for dispute in worklist if dispute.flag],
        "worklist": [dispute for dispute in worklist if not dispute.flag],
        "registers": registers,
        "page": _paged(request, registrations.order_by("-registered_at", "-id")) if registers else None,
        "due_soon_days": selectors.DUE_SOON_DAYS,
    }
    return _page(request, "disputes/mine.html", context, section="mine")


# --- the dispute page -------------------------------------------------------------------


def _may_open_disputes(user) -> bool:
    """A role that sees disputes somewhere, a court account, or a mediator (who may hold no role)."""
    return user_can(user, Dispute, VIEW) or bool(user_court_ids(user)) or selectors.mediates_anything(user)


def _dispute_or_404(user, number: str) -> Dispute:
    if not _may_open_disputes(user):
        raise PermissionDenied
    dispute = selectors.dispute_detail(selectors.disputes_for(user, VIEW), number)
    if dispute is None:
        raise Http404
    return dispute


def mediator_groups(dispute: Dispute, bodies) -> list[tuple[str, list]]:
    """Whom the centre may assign: the active grid workers and mediators whose grant covers
    the dispute's grid, then the members of each body offered, each person once."""
    ancestors = dispute.grid.get_ancestors(include_self=True)
    holds_role = functools.reduce(
        operator.or_,
        (Q(permission__codename=role_grant_codename(role), user__groups__name=role) for role in (GRID_WORKER, MEDIATOR)),
    )
    local_ids = GridUserObjectPermission.objects.filter(holds_role, content_object__in=ancestors).values("user_id")
    local = list(User.objects.filter(pk__in=local_ids, is_active=True).order_by("username"))
    seen = {user.pk for user in local}
    groups = [(_("本区域调解员、网格员"), local)]
    members = (
        MediationBody.members.through.objects.filter(mediationbody__in=[body.pk for body in bodies], user__is_active=True)
        .select_related("mediationbody", "user")
        .order_by("mediationbody__line__order", "mediationbody__name", "user__username")
    )
    by_body: dict[str, list] = {}
    for row in members:
        if row.user_id not in seen:
            seen.add(row.user_id)
            by_body.setdefault(row.mediationbody.name, []).append(row.user)
    return groups + list(by_body.items())


def _bodies_near(dispute: Dispute) -> list[MediationBody]:
    """The active bodies a dispute may go to: city-wide ones and those of the places above it."""
    ancestors = dispute.grid.get_ancestors(include_self=True)
    return list(selectors.body_choices().filter(Q(node__isnull=True) | Q(node__in=ancestors)))


def _assignment_choices(dispute: Dispute) -> dict:
    """Tiers, bodies and mediators for the triage, route and escalation forms: read once
    for the page, whichever of those forms it shows."""
    cached = getattr(dispute, "_assignment_choices", None)
    if cached is None:
        bodies = _bodies_near(dispute)
        cached = {"tiers": list(selectors.tier_choices()), "bodies": bodies, "mediators": mediator_groups(dispute, bodies)}
        dispute._assignment_choices = cached
    return cached


def _parties_line(dispute: Dispute) -> str:
    names = [party.name for party in dispute.parties.all() if party.role != PartyRole.THIRD_PARTY]
    return "、".join(names)[:300]


def _step_form(step: str, dispute: Dispute, data=None):
    form_class = STEP_FORMS[step]
    today = timezone.localdate()
    initial = {"version": dispute.version}
    kwargs = {"auto_id": f"{step}_%s"}
    if step in ASSIGNING_STEPS:
        kwargs.update(_assignment_choices(dispute))
        if step == Step.ROUTE and dispute.tier_id:
            initial.update(tier=str(dispute.tier_id), body=str(dispute.body_id or ""))
            initial["mediators"] = [str(pk) for pk in mediator_ids(dispute)]
    if step == Step.TRIAGE:
        kwargs["scales"] = list(selectors.scale_choices())
        initial.update(risk=dispute.risk, scale=dispute.scale.code)
    elif step == Step.RECORD_SESSION:
        initial.update(held_on=today, place=dispute.place)
    elif step == Step.RECORD_AGREEMENT:
        initial.update(reached_on=today)
    elif step == Step.APPLY_CONFIRMATION:
        # a city-wide court, or one whose area holds the dispute (as the service requires)
        courts = selectors.court_choices().select_related("node")
        grid = dispute.grid
        kwargs["courts"] = [court for court in courts if court.node is None or court.node.is_ancestor_of(grid, include_self=True)]
        initial.update(applied_on=today, applicants=_parties_line(dispute))
    elif step == Step.FOLLOW_UP:
        initial.update(visited_on=today)
    if data is not None:
        return form_class(data, initial=initial, **kwargs)
    return form_class(initial=initial, **kwargs)


def _step_entries(user, dispute: Dispute, bound) -> list[dict]:
    entries = step_entries(available_steps(user, dispute), Step, lambda step: _step_form(step, dispute), bound, FORWARD_STEPS)
    for entry in entries:
        if entry["step"] == Step.ESCALATE:
            entry["next_tier"] = next_tier(dispute.tier)
        entry["danger"] = entry["step"] in REFUSING_STEPS
    return entries


def _render_detail(request, dispute: Dispute, *, bound=None, revealed=None, status: int = 200):
    """The dispute page. ``bound``: (step, form) come back from its POST with errors;
    ``revealed``: party id -> clear identity number, shown once in the answer to a POST."""
    user = request.user
    transitions = labelled_transitions(dispute.transitions.all(), Step)
    agreements = list(dispute.agreements.all())
    may_reveal = may_take(user, dispute, Step.RECORD_SESSION)
    parties = list(dispute.parties.all())
    for party in parties:
        party.revealed = (revealed or {}).get(party.pk, "")
        party.may_reveal = may_reveal and party.person_id is None and bool(party.id_number_encrypted) and not party.revealed
    context = {
        "dispute": dispute,
        "path": list(grid_path(grid=dispute.grid)),
        "flag": selectors.due_flag(dispute),
        "parties": parties,
        "mediators": list(dispute.mediators.all()),
        "transitions": transitions,
        "sessions": list(dispute.sessions.all()),
        "agreements": agreements,
        "current_agreement": next((a for a in agreements if not a.superseded), None),
        "entrusted": getattr(dispute, "entrusted", None),
        "step_forms": _step_entries(user, dispute, bound),
        "revealed_any": bool(revealed),
    }
    return _page(request, "disputes/detail.html", context, status=status)


@login_required
def detail(request, number):
    return _render_detail(request, _dispute_or_404(request.user, number))


@login_required
@require_POST
def step(request, number, step):
    """One step of the flow from its small form on the dispute page. A refusal comes back
    on the page with what was typed."""
    user = request.user
    dispute = record_for_step(user, number, step, forms=STEP_FORMS, record_or_404=_dispute_or_404, may_take=may_take)
    form = _step_form(step, dispute, request.POST)
    if form.is_valid():
        try:
            dispute_step(actor=user, dispute=dispute, step=step, version=form.cleaned_data["version"], **form.payload())
        except ValidationError as error:
            apply_service_errors(error, form)
        except (Conflict, PermissionDenied) as refusal:
            messages.error(request, getattr(refusal, "message", None) or str(refusal) or _("您不能执行该操作。"))
            fresh = _dispute_or_404(user, number)
            # What was typed stays, now against the version the page shows.
            data = request.POST.copy()
            data["version"] = str(fresh.version)
            again = _step_form(step, fresh, data)
            return _render_detail(request, fresh, bound=(step, again), status=409 if isinstance(refusal, Conflict) else 403)
        else:
            messages.success(request, _("纠纷 %(number)s：已%(step)s。") % {"number": dispute.number, "step": Step(step).label})
            return redirect("disputes:detail", number=dispute.number)
    return _render_detail(request, dispute, bound=(step, form), status=400)


@login_required
@require_POST
def party_reveal(request, number, pk):
    """A party's clear identity number, once, in the answer to an audited POST (never in a
    GET URL or a cache). Refused, and audited as denied, for anyone not working the dispute."""
    user = request.user
    dispute = _dispute_or_404(user, number)
    party = get_object_or_404(DisputeParty, dispute=dispute, pk=pk, person__isnull=True)
    revealed = dispute_party_revealed(actor=user, dispute=dispute, party=party)
    return _render_detail(request, dispute, revealed={party.pk: revealed})


@login_required
def agreement(request, number):
    """The agreement in force, laid out as a 人民调解协议书 for printing. The centre and the
    dispute's assigned mediators see full identity numbers (audited); others masked ones."""
    user = request.user
    dispute = _dispute_or_404(user, number)
    current = dispute.agreement
    if current is None:
        raise Http404
    parties = list(dispute.parties.all())
    full = is_centre(user, dispute) or user.pk in mediator_ids(dispute)
    # A registry person's number is the registry's: in full only for their responsible
    # staff, as the registry itself shows it.
    registry_ids = [party.person_id for party in parties if party.person_id is not None] if full else []
    responsible = set(Person.objects.filter(responsible_condition(user), pk__in=registry_ids).values_list("pk", flat=True))
    shown_in_full = []
    for party in parties:
        party.ethnicity_name = ETHNICITY_NAMES.get(party.ethnicity, "")
        party.shown_number = party.id_number_masked
        if full and party.person_id is None and party.id_number_encrypted:
            party.shown_number = party.identity_number
        elif full and party.person_id in responsible:
            party.shown_number = party.person.identity_number
        if party.shown_number != party.id_number_masked:
            shown_in_full.append(party.pk)
    if shown_in_full:
        audit_record(
            actor=user,
            action=AuditAction.READ_SENSITIVE,
            obj=dispute,
            object_repr=dispute.number,
            changes={"document": "agreement", "agreement": current.pk, "parties": shown_in_full},
        )
    context = {
        "dispute": dispute,
        "agreement": current,
        "parties": parties,
        "full_numbers": full,
        "mediators": list(dispute.mediators.all()),
        "confirmation": next((c for c in current.confirmations.all() if c.result == "confirmed"), None),
    }
    return _page(request, "disputes/agreement.html", context)


# --- supervision ------------------------------------------------------------------------


def _supervision_rows(table, tiers) -> list[dict]:
    """One row per tier (zeros where nothing is open), a subtotal per line, and the
    disputes still waiting for triage first."""
    by_tier = {row["tier_id"]: row for row in table}
    empty = {"total": 0, "overdue": 0, "due_soon": 0, "over_30": 0, "over_90": 0}
    rows = []
    waiting = by_tier.get(None)
    rows.append({"label": _("待研判（未分流）"), "query": "status=registered", "kind": "waiting", **(waiting or empty)})
    lines: dict[int, dict] = {}
    for tier in tiers:
        if tier.line_id not in lines:
            lines[tier.line_id] = {"label": tier.line.name, "query": f"line={tier.line.kind}&open=true", "kind": "line", **empty}
            rows.append(lines[tier.line_id])
        counts = {key: by_tier.get(tier.pk, {}).get(key, 0) for key in empty}
        rows.append({"label": tier.name, "query": f"tier={tier.rank}&open=true", "kind": "tier", **counts})
        for key, value in counts.items():
            lines[tier.line_id][key] += value
    return rows


@login_required
def supervision(request):
    user = request.user
    action = _board_action_or_403(user)
    base = selectors.disputes_for(user, action)
    today = timezone.localdate()
    rows = _supervision_rows(list(selectors.supervision_table(base)), list(selectors.tier_choices()))
    overdue = _flagged(list(base.overdue(today).prefetch_related("mediators").order_by("due_on", "registered_at")[:LIST_LIMIT]))
    context = {
        "rows": rows,
        "totals": {key: sum(row[key] for row in rows if row["kind"] != "line") for key in ("total", "overdue", "due_soon")},
        "overdue": overdue,
        "read_only": action != CHANGE,
        "due_soon_days": selectors.DUE_SOON_DAYS,
    }
    return _page(request, "disputes/supervision.html", context, section="supervision")


# --- the court's page -------------------------------------------------------------------


def _grid_by_code(code: str) -> Grid | None:
    return Grid.objects.filter(code=code).first()


@login_required
def entrusted(request):
    user = request.user
    court_ids = user_court_ids(user)
    if not court_ids:
        raise PermissionDenied
    form = EntrustForm(
        request.POST if request.method == "POST" else None,
        initial={"occurred_on": timezone.localdate()},
        courts=list(Court.objects.filter(pk__in=court_ids, is_active=True).order_by("code")),
        bodies=list(selectors.body_choices()),
        categories=list(selectors.category_choices()),
        grids=_grid_by_code,
        auto_id="entrust_%s",
    )
    status = 200
    if form.is_bound:
        if form.is_valid():
            try:
                dispute = court_entrust(actor=user, **form.service_arguments())
            except ValidationError as error:
                apply_service_errors(error, form)
            else:
                messages.success(request, _("已委托调解，纠纷编号 %(number)s。") % {"number": dispute.number})
                return redirect("disputes:detail", number=dispute.number)
        status = 400
    today = timezone.localdate()
    cases = list(selectors.court_entrusted(user)[:LIST_LIMIT])
    for case in cases:
        case.overdue = case.result == "pending" and case.due_on < today
    context = {
        "form": form,
        "cases": cases,
        "confirmations": list(selectors.court_confirmations(user)[:LIST_LIMIT]),
        "today": today,
    }
    return _page(request, "disputes/entrusted.html", context, section="entrusted", status=status)

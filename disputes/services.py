"""Writes to disputes: registration (by a grid worker, the centre, from an incident, or
entrusted by a court) and each step of the mediation flow, one function per operation.

Every step locks the dispute row, checks who is acting, that the dispute is still the
version the actor saw and that its state allows the step, then writes the dispute, what
the step records and one ``DisputeTransition`` in one transaction. A refusal leaves
nothing written: an illegal step or a dispute changed meanwhile raises
``kaili.exceptions.Conflict`` (HTTP 409), a step the actor may not take
``PermissionDenied``, bad input ``ValidationError`` naming the field.
"""

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disputes.catalogue import OTHER_CATEGORY
from disputes.models import (
    GROUP_SIZE,
    Agreement,
    AgreementForm,
    Court,
    Dispute,
    DisputeCategory,
    DisputeParty,
    DisputeScale,
    DisputeTransition,
    EntrustedMediation,
    EntrustedResult,
    FollowUp,
    JudicialConfirmation,
    LineKind,
    MediationBody,
    MediationSession,
    Method,
    Outcome,
    PartyKind,
    PartyRole,
    Performance,
    Procedure,
    Referral,
    Risk,
    Ruling,
    Source,
    Status,
    Tier,
    user_court_ids,
)
from disputes.selectors import registration_for_client_key
from disputes.workflow import MEDIATE, STEP_RULES, Step, is_centre, may_take, mediator_ids, next_tier, step_applies
from grids.models import Grid, GridKind
from grids.services import require_open_node
from kaili.audit import audit_members_changed, audit_record
from kaili.exceptions import Conflict
from kaili.models import AuditAction, AuditOutcome
from kaili.numbering import record_number
from kaili.scope import ADD, scope_predicate
from populations.identity import normalise_identity_number, parse_identity_number
from populations.models import Sex
from populations.selectors import persons_for
from populations.services import ETHNICITY_CODES, PHONE_SHAPE

REGISTRABLE_KINDS = (GridKind.ZONE, GridKind.GRID, GridKind.UNIT)
# Judicial confirmation: a joint application within 30 days of the agreement taking
# effect; the court decides on acceptance within 3 days and rules within 15.
CONFIRMATION_WINDOW_DAYS = 30
ACCEPT_DAYS = 3
RULING_DAYS = 15
# Court-linked mediation: pre-filing referral 30 days; after filing 15 (ordinary
# procedure) or 7 (simple procedure).
ENTRUSTED_DAYS = {
    (Referral.PRE_FILING, ""): 30,
    (Referral.AFTER_FILING, Procedure.ORDINARY): 15,
    (Referral.AFTER_FILING, Procedure.SIMPLE): 7,
}
MAX_EXTENSION_DAYS = 60
MAX_PARTIES = 50
OTHER_ROUTES = {
    "litigation": gettext_lazy("向人民法院起诉"),
    "arbitration": gettext_lazy("申请仲裁"),
    "administrative": gettext_lazy("申请行政裁决或复议"),
    "petition": gettext_lazy("依法信访"),
}


def triage_days() -> int:
    return getattr(settings, "KAILI_DISPUTE_TRIAGE_DAYS", 3)


def follow_up_days() -> int:
    return getattr(settings, "KAILI_DISPUTE_FOLLOW_UP_DAYS", 15)


@dataclass
class Party:
    """A party as entered: a registry person, or a person or organisation told by name."""

    role: str = PartyRole.APPLICANT
    kind: str = PartyKind.PERSON
    person: object = None
    name: str = ""
    id_number: str = ""
    sex: str = ""
    ethnicity: str = ""
    address: str = ""
    phone: str = ""


def dispute_number(grid: Grid, when: datetime.datetime) -> str:
    return record_number("MD", grid.code[:6], timezone.localtime(when).year)


def _active(value, model, field: str, message: str):
    if not isinstance(value, model) or not value.is_active:
        raise ValidationError({field: message})
    return value


def _require_registrable_grid(actor, grid: Grid, court_ids=()) -> None:
    if not isinstance(grid, Grid):
        raise ValidationError({"grid": _("请选择纠纷所在网格。")})
    in_court_area = any(
        court.node is None or court.node.is_ancestor_of(grid, include_self=True)
        for court in Court.objects.filter(pk__in=court_ids).select_related("node")
    )
    if not in_court_area and not scope_predicate(actor, Dispute, ADD)(grid):
        # The code only: the name of a node out of the caller's scope is not theirs to learn.
        raise ValidationError({"grid": _("网格 %(code)s 不存在或不在您的管辖范围内。") % {"code": grid.code}})
    if grid.kind not in REGISTRABLE_KINDS:
        message = _("纠纷应登记到村（社区）、二级网格或十户联防单元，“%(name)s”是%(kind)s。")
        raise ValidationError({"grid": message % {"name": grid.name, "kind": grid.get_kind_display()}})
    try:
        require_open_node(grid)
    except ValidationError as error:
        raise ValidationError({"grid": error.messages}) from error


def _clean_amount(value, field: str, errors: dict):
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors[field] = _("金额应为数字。")
        return None
    if amount < 0 or amount >= Decimal("1e12"):
        errors[field] = _("金额应在 0 到 999,999,999,999.99 元之间。")
        return None
    return amount.quantize(Decimal("0.01"))


def _party_details_problem(party: Party) -> str:
    """What is wrong with a party's sex, ethnicity or phone as entered ("" when nothing):
    codes the registry would refuse are refused here too."""
    if (party.sex or "") not in ("", *Sex.values):
        return _("性别“%(value)s”无效，应为 M（男）或 F（女）。") % {"value": party.sex}
    if (party.ethnicity or "") not in ("", *ETHNICITY_CODES):
        return _("民族代码“%(value)s”不在 GB/T 3304 代码表中。") % {"value": party.ethnicity}
    phone = (party.phone or "").strip().replace(" ", "")
    if party.person is None and phone and not PHONE_SHAPE.match(phone):
        return _("电话号码格式不正确：手机号为 11 位数字，座机为区号加号码。")
    return ""


def _clean_parties(actor, parties, errors: dict, known_person_ids=frozenset()) -> list[Party]:
    parties = list(parties)
    if not parties:
        errors["parties"] = _("请至少填写一位当事人。")
        return []
    if len(parties) > MAX_PARTIES:
        errors["parties"] = _("当事人最多 %(count)d 位，其余请写入简要情况。") % {"count": MAX_PARTIES}
        return []
    linked = [party.person.pk for party in parties if party.person is not None]
    reachable = set(persons_for(actor).filter(pk__in=linked).values_list("pk", flat=True)) if linked else set()
    reachable |= set(known_person_ids)
    cleaned = []
    for index, party in enumerate(parties, start=1):
        name = (party.name or "").strip()
        id_number = (party.id_number or "").strip().upper()
        prefix = _("第 %(n)d 位当事人：") % {"n": index}
        if party.role not in PartyRole.values:
            errors["parties"] = prefix + _("身份“%(role)s”无效。") % {"role": party.role}
        elif party.kind not in PartyKind.values:
            errors["parties"] = prefix + _("类型“%(kind)s”无效。") % {"kind": party.kind}
        elif party.person is not None and party.person.pk not in reachable:
            errors["parties"] = prefix + _("人员不存在或不在您的管辖范围内。")
        elif party.person is None and not name:
            errors["parties"] = prefix + _("请从人员库选择或填写姓名（单位名称）。")
        elif party.person is None and party.kind == PartyKind.PERSON and id_number:
            id_number = normalise_identity_number(id_number)
            try:
                if len(id_number) == 18 or id_number.isdigit():
                    parse_identity_number(id_number)
                elif not (5 <= len(id_number) <= 32 and id_number.isalnum()):
                    raise ValidationError(_("证件号码应为 5 到 32 位字母或数字。"))
            except ValidationError as error:
                errors["parties"] = prefix + "；".join(error.messages)
        problem = "" if errors.get("parties") else _party_details_problem(party)
        if problem:
            errors["parties"] = prefix + problem
        if party.person is not None:
            name = party.person.name
        cleaned.append(
            Party(
                role=party.role,
                kind=party.kind,
                person=party.person,
                name=name[:100],
                id_number=id_number if party.person is None else "",
                sex=(party.sex or "")[:1],
                ethnicity=(party.ethnicity or "")[:2],
                address=(party.address or "").strip()[:200],
                phone=(party.phone or "").strip()[:20],
            )
        )
    if not errors.get("parties") and not any(p.role == PartyRole.APPLICANT for p in cleaned):
        errors["parties"] = _("请至少填写一位申请人。")
    return cleaned


def _party_rows(dispute: Dispute, parties: list[Party]) -> list[DisputeParty]:
    rows = []
    for party in parties:
        row = DisputeParty(
            dispute=dispute,
            role=party.role,
            kind=party.kind,
            person=party.person,
            name=party.name,
            sex=party.sex or (party.person.sex if party.person is not None else ""),
            ethnicity=party.ethnicity or (party.person.ethnicity if party.person is not None else ""),
            address=party.address,
        )
        if party.person is not None:
            # The registry keeps the numbers; the party shows the registry's masks.
            row.id_number_masked = party.person.id_number_masked
            row.phone_masked = party.person.phone_masked
        else:
            if party.id_number:
                row.set_identity_number(party.id_number)
            if party.phone:
                row.set_phone(party.phone)
        rows.append(row)
    return rows


def _transition(dispute, step, actor, now, from_status="", note="", due_on=None, late=False, details=None):
    return DisputeTransition.objects.create(
        dispute=dispute,
        step=step,
        from_status=from_status,
        to_status=dispute.status,
        actor=actor,
        at=now,
        note=note,
        tier=dispute.tier,
        due_on=due_on,
        late=late,
        details=details or {},
    )


def dispute_register(
    *,
    actor,
    name: str,
    category: DisputeCategory,
    scale: DisputeScale | None = None,
    grid: Grid,
    summary: str,
    occurred_on: datetime.date,
    source: str = Source.SCREENING,
    place: str = "",
    amount=None,
    people_count: int | None = None,
    group_risk: bool | None = None,
    risk: str = Risk.LOW,
    units_involved: str = "",
    parties=(),
    client_key: uuid.UUID | None = None,
    incident=None,
    court_ids=(),
    known_person_ids=frozenset(),
) -> tuple[Dispute, bool]:
    """Register a dispute; returns ``(dispute, created)``. The same ``client_key`` sent
    again by the same person (a phone that lost the answer) returns the first one."""
    existing = registration_for_client_key(actor, client_key)
    if existing is not None:
        return existing, False
    errors = {}
    category = _active(category, DisputeCategory, "category", _("纠纷类别不存在或已停用。"))
    if scale is None:
        scale = DisputeScale.objects.filter(is_active=True).order_by("sort").first()
    scale = _active(scale, DisputeScale, "scale", _("纠纷规模不存在或已停用。"))
    _require_registrable_grid(actor, grid, court_ids)
    today = timezone.localdate()
    name, summary = (name or "").strip(), (summary or "").strip()
    if not name:
        errors["name"] = _("请填写纠纷名称。")
    if not summary:
        errors["summary"] = _("请填写纠纷简要情况。")
    if occurred_on is None:
        errors["occurred_on"] = _("请填写发生日期。")
    elif occurred_on > today:
        errors["occurred_on"] = _("发生日期不能晚于今天。")
    if source not in Source.values:
        errors["source"] = _("来源“%(value)s”无效。") % {"value": source}
    if risk not in Risk.values:
        errors["risk"] = _("风险等级“%(value)s”无效。") % {"value": risk}
    amount = _clean_amount(amount, "amount", errors)
    cleaned = _clean_parties(actor, parties, errors, known_person_ids)
    try:
        people_count = max(len(cleaned), 1) if people_count in (None, "") else int(people_count)
    except (TypeError, ValueError):
        people_count = 0
    if not 1 <= people_count <= 100000:
        errors["people_count"] = _("涉及人数应为 1 到 100000 之间的整数。")
    if errors:
        raise ValidationError(errors)
    if group_risk is None:
        group_risk = people_count >= GROUP_SIZE

    now = timezone.now()
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                number=dispute_number(grid, now),
                name=name[:100],
                category=category,
                scale=scale,
                grid=grid,
                source=source,
                occurred_on=occurred_on,
                place=(place or "").strip()[:200],
                summary=summary,
                amount=amount,
                people_count=people_count,
                group_risk=bool(group_risk),
                risk=risk,
                units_involved=(units_involved or "").strip()[:300],
                registered_at=now,
                registered_by=actor,
                client_key=client_key,
                incident=incident,
                due_on=today + datetime.timedelta(days=triage_days()),
            )
            DisputeParty.objects.bulk_create(_party_rows(dispute, cleaned))
            _transition(dispute, Step.REGISTER, actor, now, due_on=dispute.due_on)
            audit_record(actor=actor, action=AuditAction.CREATE, obj=dispute, object_repr=dispute.number)
    except IntegrityError:
        existing = registration_for_client_key(actor, client_key)
        if existing is None:
            raise
        return existing, False
    return dispute, True


def dispute_from_incident(actor, incident) -> str:
    """The receiver of ``cases.hooks``: turn an incident into a dispute with the
    incident's facts, inside the incident's transaction; returns the dispute's number."""
    from cases.models import PersonRole

    category = (
        DisputeCategory.objects.filter(incident_category=incident.category, is_active=True).first()
        or DisputeCategory.objects.filter(code=OTHER_CATEGORY, is_active=True).first()
        or DisputeCategory.objects.filter(is_active=True).order_by("-sort").first()
    )
    parties = []
    for involved in incident.people.select_related("person"):
        role = PartyRole.THIRD_PARTY if involved.role == PersonRole.WITNESS else PartyRole.RESPONDENT
        parties.append(Party(role=role, person=involved.person, name=involved.name if involved.person is None else ""))
    # the first person in the dispute applies; a witness never does, so with none the
    # person who reported the incident is the applicant
    principal = next((party for party in parties if party.role == PartyRole.RESPONDENT), None)
    if principal is not None:
        principal.role = PartyRole.APPLICANT
    else:
        # stored data, not the UI: the same words whatever language the request speaks
        parties.insert(0, Party(role=PartyRole.APPLICANT, name=incident.reporter_name or "（事件反映人）"))
    dispute, _created = dispute_register(
        actor=actor,
        name=(incident.title or incident.description[:30])[:100],
        category=category,
        grid=incident.grid,
        summary=_("由事件 %(number)s 转入：%(description)s") % {"number": incident.number, "description": incident.description},
        occurred_on=timezone.localtime(incident.occurred_at).date(),
        source=Source.INCIDENT,
        place=incident.place,
        parties=parties,
        incident=incident,
        # the incident already names them: a person living outside the centre's area
        # stays a party
        known_person_ids={party.person.pk for party in parties if party.person is not None},
    )
    return dispute.number


# --- the steps ---------------------------------------------------------------------------


def _lock(dispute: Dispute) -> Dispute:
    # Lock the row alone, then read it with its relations. After waiting for another
    # step's lock PostgreSQL re-reads only the locked row: columns joined in the locking
    # statement would still be those from before that step (a tier moved on by a
    # concurrent escalation came back as None).
    Dispute.objects.select_for_update().filter(pk=dispute.pk).values_list("pk", flat=True).get()
    return Dispute.objects.select_related("grid", "category", "scale", "line", "tier__line", "body").get(pk=dispute.pk)


def _refuse(dispute: Dispute, step: str, version) -> None:
    rule = STEP_RULES[step]
    if version is not None and int(version) != dispute.version:
        raise Conflict(
            _("纠纷 %(number)s 已被他人办理（现为“%(status)s”），请刷新后再操作。")
            % {"number": dispute.number, "status": dispute.get_status_display()},
            "changed",
        )
    if dispute.status not in rule.sources or not step_applies(dispute, step):
        raise Conflict(
            _("纠纷 %(number)s 当前为“%(status)s”，不能%(step)s。")
            % {"number": dispute.number, "status": dispute.get_status_display(), "step": Step(step).label},
            "illegal_step",
        )


def _text(payload: dict, key: str, message: str | None = None, limit: int | None = None) -> str:
    value = (payload.get(key) or "").strip()
    if not value and message:
        raise ValidationError({key: message})
    return value[:limit] if limit else value


def _date(payload: dict, key: str, today: datetime.date, message: str, default=None, not_after_today=True):
    value = payload.get(key) or default
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            raise ValidationError({key: _("日期格式应为 年-月-日。")}) from None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if value is None:
        raise ValidationError({key: message})
    if not_after_today and value > today:
        raise ValidationError({key: _("日期不能晚于今天。")})
    return value


def _acted_on(step: str, payload: dict, today: datetime.date) -> datetime.date:
    """The day the act a step records took place (an agreement reached, a visit paid, a
    court's acceptance or ruling), read after the step has checked it: a deadline is met
    or missed by the act, not by the day it is typed in. Other steps act today."""
    key = {Step.RECORD_AGREEMENT: "reached_on", Step.FOLLOW_UP: "visited_on", Step.RECORD_RULING: "ruled_on"}.get(step)
    if step == Step.RECORD_RULING and (payload.get("result") or Ruling.PENDING) == Ruling.PENDING:
        key = "accepted_on"
    if key is None or not payload.get(key):
        return today
    return _date(payload, key, today, "")


def _collect(errors: dict, clean, *args, **kwargs):
    """``clean(*args, **kwargs)``, its ValidationError added to ``errors`` (None then)."""
    try:
        return clean(*args, **kwargs)
    except ValidationError as error:
        errors.update(error.message_dict)
        return None


def _take_step(actor, dispute: Dispute, step: str, version, payload: dict) -> Dispute:
    case = _lock(dispute)
    if not may_take(actor, case, step):
        raise PermissionDenied(_("您不能对纠纷 %(number)s 执行“%(step)s”。") % {"number": case.number, "step": Step(step).label})
    _refuse(case, step, version)
    now = timezone.now()
    today = timezone.localdate(now)
    rule = STEP_RULES[step]
    waited_for = case.due_on
    from_status = case.status
    note, details = APPLY[step](actor, case, payload, today)
    late = bool(rule.meets_deadline and waited_for is not None and _acted_on(step, payload, today) > waited_for)
    if rule.target is not None:
        case.status = rule.target
    if case.status in (Status.RESOLVED, Status.UNRESOLVED, Status.WITHDRAWN):
        case.closed_at, case.due_on = now, None
        _return_to_court(case, today)
    case.version += 1
    case.late = case.late or late
    case.save()
    _transition(
        case,
        step,
        actor,
        now,
        from_status=from_status,
        note=note,
        due_on=waited_for if rule.meets_deadline else None,
        late=late,
        details=details,
    )
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION,
        obj=case,
        object_repr=case.number,
        changes={"step": step, "from": from_status, "to": case.status},
    )
    return case


def _require_mediators(case: Dispute, mediators, body: MediationBody | None) -> None:
    """Each of ``mediators`` is an active account that mediates where the dispute lies or
    belongs to ``body``. Named by account, not by name: the API takes any account, and the
    name of someone of another area is not the caller's to learn."""
    for mediator in mediators:
        if not mediator.is_active:
            raise ValidationError({"mediators": _("调解员“%(name)s”的账号已停用。") % {"name": mediator.username}})
        in_body = body is not None and body.members.filter(pk=mediator.pk).exists()
        if not in_body and not scope_predicate(mediator, Dispute, MEDIATE)(case.grid):
            message = _("“%(name)s”不是该纠纷所在区域或所选调解组织的调解员。")
            raise ValidationError({"mediators": message % {"name": mediator.username}})


def _assignment(case: Dispute, payload: dict, today, *, tier: Tier | None = None, keep_mediators=False) -> dict:
    """Validate and apply a line/tier/body/mediators/deadline choice (triage, route,
    escalation)."""
    body = payload.get("body")
    tier = payload.get("tier") or tier
    if body is not None:
        _active(body, MediationBody, "body", _("调解组织不存在或已停用。"))
        # as the pages offer them: city-wide bodies and those of the places above the
        # dispute; routed elsewhere, another area's body would read and mediate it
        if body.node_id is not None and not body.node.is_ancestor_of(case.grid, include_self=True):
            message = _("“%(body)s”不在该纠纷所在区域，请选择全市或纠纷所在区域的调解组织。")
            raise ValidationError({"body": message % {"body": body.name}})
        if tier is None:
            tier = body.tier
        if tier is None:
            tier = body.line.tiers.order_by("level").first()
        if tier.line_id != body.line_id:
            raise ValidationError(
                {"body": _("“%(body)s”属于%(line)s，与所选层级不符。") % {"body": body.name, "line": body.line.name}}
            )
    if not isinstance(tier, Tier):
        raise ValidationError({"tier": _("请选择调解层级。")})
    mediators = list(payload.get("mediators") or ())
    _require_mediators(case, mediators, body)
    if not mediators and not keep_mediators and body is None:
        raise ValidationError({"mediators": _("请指派调解员或调解组织。")})
    due_on = payload.get("due_on")
    if due_on in (None, ""):
        due_on = today + datetime.timedelta(days=tier.days)
    else:
        due_on = _date(payload, "due_on", today, "", not_after_today=False)
        if due_on < today:
            raise ValidationError({"due_on": _("调解期限不能早于今天。")})
        if due_on > today + datetime.timedelta(days=tier.days + MAX_EXTENSION_DAYS):
            raise ValidationError(
                {"due_on": _("调解期限过长：%(tier)s一般不超过 %(days)d 天。") % {"tier": tier, "days": tier.days}}
            )
    entrusted = getattr(case, "entrusted", None)
    if entrusted is not None and entrusted.result == EntrustedResult.PENDING:
        due_on = min(due_on, entrusted.due_on)
    leaving_village = case.tier is not None and case.tier.line.kind == LineKind.PEOPLE and tier.line.kind != LineKind.PEOPLE
    if leaving_village:
        case.passed_upward = True
    before = str(case.tier) if case.tier else ""
    if body is None and keep_mediators and case.body is not None and case.body.line_id == tier.line_id:
        body = case.body  # an escalation within the line stays with the body unless told otherwise
    case.line, case.tier, case.body = tier.line, tier, body
    case.__dict__.pop("_body_member_ids", None)  # workflow.body_member_ids: the body changed
    case.tier_started_on, case.due_on = today, due_on
    if mediators or not keep_mediators:
        case.mediators.set(mediators)
        case._mediator_ids = {m.pk for m in mediators}
    if case.accepted_at is None:
        case.accepted_at = timezone.now()
    return {
        "from_tier": before,
        "tier": str(tier),
        "body": body.name if body is not None else "",
        "mediators": [str(m) for m in mediators],
        "due_on": due_on.isoformat(),
    }


def _apply_triage(actor, case, payload, today):
    details = _assignment(case, payload, today)
    if payload.get("risk"):
        if payload["risk"] not in Risk.values:
            raise ValidationError({"risk": _("风险等级“%(value)s”无效。") % {"value": payload["risk"]}})
        case.risk = payload["risk"]
    if "scale" in payload and payload["scale"] is not None:
        case.scale = _active(payload["scale"], DisputeScale, "scale", _("纠纷规模不存在或已停用。"))
    return _text(payload, "note"), details


def _apply_route(actor, case, payload, today):
    return _text(payload, "note"), _assignment(case, payload, today)


def _apply_record_session(actor, case, payload, today):
    outcome = payload.get("outcome")
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("请选择调解结果。")})
    method = payload.get("method") or Method.ORDINARY
    if method not in Method.values:
        raise ValidationError({"method": _("调解方法“%(value)s”无效。") % {"value": method}})
    held_on = _date(payload, "held_on", today, _("请填写调解日期。"), default=today)
    if case.tier_started_on and held_on < case.tier_started_on - datetime.timedelta(days=1):
        raise ValidationError({"held_on": _("调解日期不能早于本级受理日期 %(date)s。") % {"date": case.tier_started_on}})
    notes = _text(payload, "notes", _("请填写调解记录。"))
    held_by = list(payload.get("mediators") or ()) or [actor]
    # the dispute's own mediators, or others who mediate there or in its body
    _require_mediators(case, [user for user in held_by if user.pk not in mediator_ids(case)], case.body)
    session = MediationSession.objects.create(
        dispute=case,
        tier=case.tier,
        held_on=held_on,
        place=_text(payload, "place", _("请填写调解地点。"), 200),
        method=method,
        attendance=_text(payload, "attendance"),
        notes=notes,
        outcome=outcome,
        recorded_by=actor,
    )
    session.mediators.set(held_by)
    if outcome == Outcome.FAILED:
        case.status = Status.FAILED
    elif outcome == Outcome.WITHDRAWN:
        case.status = Status.WITHDRAWN
        case.closing_note = notes
    return notes, {"session": session.pk, "outcome": outcome, "method": method, "held_on": held_on.isoformat()}


def _apply_escalate(actor, case, payload, today):
    reason = _text(payload, "reason", _("升级须说明本级调解不成的原因。"))
    higher = next_tier(case.tier)
    requested = payload.get("tier")
    if requested is not None and requested.pk != higher.pk:
        raise ValidationError({"tier": _("应逐级升级：%(current)s之后是%(next)s。") % {"current": case.tier, "next": higher}})
    if higher.line_id != case.tier.line_id and not payload.get("mediators") and payload.get("body") is None:
        # the next line's mediators are other people: the village's stay out of it
        message = _("升级到%(line)s须指派该防线的调解员或调解组织。")
        raise ValidationError({"mediators": message % {"line": higher.line.name}})
    # within a line the same mediators carry on unless others are named
    details = _assignment(case, {**payload, "tier": higher}, today, keep_mediators=higher.line_id == case.tier.line_id)
    case.escalations += 1
    return reason, details


def _apply_extend(actor, case, payload, today):
    if not payload.get("consent"):
        raise ValidationError({"consent": _("延长调解期限须经双方当事人同意。")})
    reason = _text(payload, "reason", _("请说明延期理由。"))
    try:
        days = int(payload.get("days"))
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValidationError({"days": _("延长天数应为 1 到 %(max)d 天。") % {"max": MAX_EXTENSION_DAYS}})
    start = max(case.due_on or today, today)
    case.due_on = start + datetime.timedelta(days=days)
    case.extensions += 1
    entrusted = getattr(case, "entrusted", None)
    if entrusted is not None and entrusted.result == EntrustedResult.PENDING:
        entrusted.due_on = max(entrusted.due_on, today) + datetime.timedelta(days=days)
        entrusted.extensions += 1
        entrusted.save(update_fields=["due_on", "extensions"])
    return reason, {"days": days, "until": case.due_on.isoformat()}


def effective_date(form: str, reached_on, signed_on, sealed_on):
    """DOMAIN.md: a written agreement takes effect when all parties and the mediator have
    signed and the committee has sealed it; an oral one the day it is reached."""
    if form == AgreementForm.ORAL:
        return reached_on
    return max(signed_on, sealed_on)


def _apply_record_agreement(actor, case, payload, today):
    form = payload.get("form")
    if form not in AgreementForm.values:
        raise ValidationError({"form": _("请选择协议形式（书面或口头）。")})
    reached_on = _date(payload, "reached_on", today, _("请填写达成日期。"), default=today)
    if reached_on < case.occurred_on:
        raise ValidationError({"reached_on": _("达成日期不能早于纠纷发生日期 %(date)s。") % {"date": case.occurred_on}})
    terms = _text(payload, "terms", _("请填写协议内容。"))
    errors = {}
    amount = _clean_amount(payload.get("amount"), "amount", errors)
    signed_on = sealed_on = None
    parties_signed = _text(payload, "parties_signed", limit=300)
    mediator_signed = _text(payload, "mediator_signed", limit=100)
    if form == AgreementForm.WRITTEN:
        if not parties_signed:
            errors["parties_signed"] = _("书面协议须由各方当事人签名。")
        if not mediator_signed:
            errors["mediator_signed"] = _("书面协议须由调解员签名。")
        # every missing signature, seal or date told at once
        signed_on = _collect(errors, _date, payload, "signed_on", today, _("请填写签名日期。"), default=reached_on)
        sealed_on = _collect(errors, _date, payload, "sealed_on", today, _("书面协议须加盖调解委员会印章，请填写盖章日期。"))
        if signed_on is not None and signed_on < reached_on:
            errors["signed_on"] = _("签名日期不能早于达成日期。")
        if sealed_on is not None and sealed_on < reached_on:
            errors["sealed_on"] = _("盖章日期不能早于达成日期。")
    performance_due = payload.get("performance_due")
    if performance_due not in (None, ""):
        performance_due = _date(payload, "performance_due", today, "", not_after_today=False)
        if performance_due < reached_on:
            errors["performance_due"] = _("履行期限不能早于达成日期。")
    else:
        performance_due = None
    if errors:
        raise ValidationError(errors)
    effective_on = effective_date(form, reached_on, signed_on, sealed_on)
    agreement = Agreement.objects.create(
        dispute=case,
        tier=case.tier,
        body=case.body,
        form=form,
        reached_on=reached_on,
        terms=terms,
        amount=amount,
        performance_due=performance_due,
        parties_signed=parties_signed,
        mediator_signed=mediator_signed,
        signed_on=signed_on,
        sealed_on=sealed_on,
        effective_on=effective_on,
        recorded_by=actor,
    )
    case.forget_agreement()
    case.due_on = (performance_due or effective_on) + datetime.timedelta(days=follow_up_days())
    return terms, {"agreement": agreement.pk, "form": form, "effective_on": effective_on.isoformat()}


def _apply_apply_confirmation(actor, case, payload, today):
    agreement = case.agreement
    court = _active(payload.get("court"), Court, "court", _("请选择受理司法确认的人民法院。"))
    if court.node_id is not None and not court.node.is_ancestor_of(case.grid, include_self=True):
        # the court asked reads the dispute: only one whose area holds it
        raise ValidationError({"court": _("%(court)s不管辖该纠纷所在区域。") % {"court": court.name}})
    applied_on = _date(payload, "applied_on", today, _("请填写申请日期。"), default=today)
    if applied_on < agreement.effective_on:
        raise ValidationError({"applied_on": _("申请日期不能早于协议生效日期 %(date)s。") % {"date": agreement.effective_on}})
    days = (applied_on - agreement.effective_on).days
    if days > CONFIRMATION_WINDOW_DAYS:
        raise ValidationError(
            {
                "applied_on": _(
                    "司法确认应自调解协议生效之日起 %(window)d 日内共同申请；协议于 %(effective)s 生效，"
                    "%(applied)s 已是第 %(days)d 日，法院不予受理。"
                )
                % {
                    "window": CONFIRMATION_WINDOW_DAYS,
                    "effective": agreement.effective_on,
                    "applied": applied_on,
                    "days": days,
                }
            }
        )
    applicants = _text(payload, "applicants", _("司法确认须由双方当事人共同申请，请填写申请人。"), 300)
    confirmation = JudicialConfirmation.objects.create(
        agreement=agreement,
        court=court,
        applied_on=applied_on,
        applicants=applicants,
        accept_due=applied_on + datetime.timedelta(days=ACCEPT_DAYS),
        recorded_by=actor,
    )
    case.due_on = confirmation.accept_due
    return _text(payload, "note"), {"confirmation": confirmation.pk, "court": court.name, "applied_on": applied_on.isoformat()}


def _apply_record_ruling(actor, case, payload, today):
    confirmation = case.agreement.confirmations.select_for_update().filter(result=Ruling.PENDING).select_related("court").get()
    if user_court_ids(actor) and confirmation.court_id not in user_court_ids(actor) and not is_centre(actor, case):
        raise PermissionDenied(_("该司法确认申请不是向您所在法院提出的。"))
    result = payload.get("result") or Ruling.PENDING
    if result not in Ruling.values:
        raise ValidationError({"result": _("裁定结果“%(value)s”无效。") % {"value": result}})
    if result in (Ruling.PENDING, Ruling.NOT_ACCEPTED) and confirmation.accepted_on is not None:
        raise ValidationError(
            {"result": _("法院已于 %(date)s 受理该申请，请记录确认有效或驳回的裁定。") % {"date": confirmation.accepted_on}}
        )
    details = {"confirmation": confirmation.pk, "result": result}
    if result == Ruling.NOT_ACCEPTED:
        ruled_on = _date(payload, "ruled_on", today, _("请填写裁定日期。"), default=today)
        if ruled_on < confirmation.applied_on:
            raise ValidationError({"ruled_on": _("裁定日期不能早于申请日期。")})
        confirmation.late = ruled_on > confirmation.accept_due
        confirmation.ruled_on = ruled_on
    else:
        accepted_on = confirmation.accepted_on or _date(payload, "accepted_on", today, _("请填写法院受理日期。"), default=today)
        if accepted_on < confirmation.applied_on:
            raise ValidationError({"accepted_on": _("受理日期不能早于申请日期。")})
        if confirmation.accepted_on is None:
            confirmation.accepted_on = accepted_on
            confirmation.ruling_due = accepted_on + datetime.timedelta(days=RULING_DAYS)
            confirmation.late = accepted_on > confirmation.accept_due
        if result != Ruling.PENDING:
            ruled_on = _date(payload, "ruled_on", today, _("请填写裁定日期。"), default=today)
            if ruled_on < accepted_on:
                raise ValidationError({"ruled_on": _("裁定日期不能早于受理日期。")})
            confirmation.ruled_on = ruled_on
            confirmation.late = confirmation.late or ruled_on > confirmation.ruling_due
    if result in (Ruling.NOT_ACCEPTED, Ruling.REJECTED):
        confirmation.reason = _text(payload, "reason", _("请填写不予受理或驳回的理由。"))
    confirmation.result = result
    confirmation.save()
    note = confirmation.reason or _text(payload, "note")
    if result == Ruling.PENDING:
        # accepted: the court now has 15 days to rule
        case.status = Status.CONFIRMING
        case.due_on = confirmation.ruling_due
        details["accepted_on"] = confirmation.accepted_on.isoformat()
    elif result == Ruling.CONFIRMED:
        case.agreement.enforceable = True
        case.agreement.save(update_fields=["enforceable"])
        case.status = Status.AGREED
        case.due_on = (case.agreement.performance_due or confirmation.ruled_on) + datetime.timedelta(days=follow_up_days())
    else:
        then = payload.get("then") or "mediation"
        details["then"] = then
        if then == "mediation":
            # back to mediation at the tier that reached the agreement; the refused
            # agreement stays on record, superseded by the next one
            case.agreement.superseded = True
            case.agreement.save(update_fields=["superseded"])
            case.forget_agreement()
            case.status = Status.MEDIATING
            case.tier_started_on = today
            case.due_on = today + datetime.timedelta(days=case.tier.days if case.tier else 30)
            entrusted = getattr(case, "entrusted", None)
            if entrusted is not None and entrusted.result == EntrustedResult.PENDING:
                case.due_on = min(case.due_on, entrusted.due_on)
        elif then == "litigation":
            case.status = Status.UNRESOLVED
            case.other_routes = ["litigation"]
            case.closing_note = note
        else:
            raise ValidationError({"then": _("请选择驳回后的去向：重新调解或向法院起诉。")})
    return note, details


def _apply_follow_up(actor, case, payload, today):
    agreement = case.agreement
    performance = payload.get("performance")
    if performance not in (Performance.PERFORMING, Performance.PERFORMED, Performance.BREACHED):
        raise ValidationError({"performance": _("请选择履行情况。")})
    visited_on = _date(payload, "visited_on", today, _("请填写回访日期。"), default=today)
    if visited_on < agreement.reached_on:
        raise ValidationError({"visited_on": _("回访日期不能早于协议达成日期。")})
    satisfaction = payload.get("satisfaction")
    if satisfaction not in (None, ""):
        try:
            satisfaction = int(satisfaction)
        except (TypeError, ValueError):
            satisfaction = 0
        if not 1 <= satisfaction <= 5:
            raise ValidationError({"satisfaction": _("满意度应为 1 到 5 分。")})
        case.satisfaction = satisfaction
    else:
        satisfaction = None
    note = _text(payload, "note", _("请填写回访情况。"))
    FollowUp.objects.create(
        agreement=agreement,
        visited_on=visited_on,
        performance=performance,
        satisfaction=satisfaction,
        note=note,
        visited_by=actor,
    )
    agreement.performance = performance
    agreement.save(update_fields=["performance"])
    if performance == Performance.PERFORMING:
        # visit again once the performance deadline has passed
        case.due_on = max(agreement.performance_due or today, today) + datetime.timedelta(days=follow_up_days())
    else:
        # performed, or breached: the dispute now waits to be closed
        case.due_on = today + datetime.timedelta(days=triage_days())
    return note, {"performance": performance, "visited_on": visited_on.isoformat()}


def _apply_close(actor, case, payload, today):
    note = _text(payload, "note")
    if case.status == Status.AGREED:
        agreement = case.agreement
        if not agreement.follow_ups.exists():
            raise ValidationError({"note": _("达成协议的纠纷须经回访了解履行情况后才能结案。")})
        if agreement.performance == Performance.BREACHED and not payload.get("unresolved"):
            raise ValidationError({"note": _("协议未履行：可申请司法确认后强制执行，或以未化解结案并告知当事人其他途径。")})
        if not payload.get("unresolved"):
            case.status = Status.RESOLVED
            case.closing_note = note or _("协议已履行，化解结案。")
            return case.closing_note, {"outcome": Status.RESOLVED}
    routes = [route for route in (payload.get("routes") or ()) if route]
    unknown = [route for route in routes if route not in OTHER_ROUTES]
    if unknown:
        raise ValidationError({"routes": _("未知的途径：%(routes)s。") % {"routes": "、".join(unknown)}})
    if not routes:
        raise ValidationError({"routes": _("未化解结案须告知当事人其他解决途径（诉讼、仲裁等）。")})
    if not note:
        raise ValidationError({"note": _("请说明未能化解的原因。")})
    case.status = Status.UNRESOLVED
    case.other_routes = routes
    case.closing_note = note
    return note, {"outcome": Status.UNRESOLVED, "routes": routes}


def _apply_withdraw(actor, case, payload, today):
    reason = _text(payload, "reason", _("撤回须说明理由（如申请人撤回申请）。"))
    case.closing_note = reason
    return reason, {}


def _return_to_court(case: Dispute, today) -> None:
    """An entrusted dispute that closes sends its result back to the court."""
    entrusted = getattr(case, "entrusted", None)
    if entrusted is None or entrusted.result != EntrustedResult.PENDING:
        return
    entrusted.result = {
        Status.RESOLVED: EntrustedResult.SETTLED,
        Status.UNRESOLVED: EntrustedResult.FAILED,
        Status.WITHDRAWN: EntrustedResult.WITHDRAWN,
    }[case.status]
    entrusted.result_note = case.closing_note
    entrusted.returned_on = today
    entrusted.save(update_fields=["result", "result_note", "returned_on"])


APPLY = {
    Step.TRIAGE: _apply_triage,
    Step.ROUTE: _apply_route,
    Step.RECORD_SESSION: _apply_record_session,
    Step.ESCALATE: _apply_escalate,
    Step.EXTEND: _apply_extend,
    Step.RECORD_AGREEMENT: _apply_record_agreement,
    Step.APPLY_CONFIRMATION: _apply_apply_confirmation,
    Step.RECORD_RULING: _apply_record_ruling,
    Step.FOLLOW_UP: _apply_follow_up,
    Step.CLOSE: _apply_close,
    Step.WITHDRAW: _apply_withdraw,
}


def dispute_step(*, actor, dispute: Dispute, step: str, version: int | None = None, **payload) -> Dispute:
    """Take one step of the flow on ``dispute``.

    ``version`` is the dispute version the actor saw; when given and the dispute moved on
    since, the step is refused as a conflict. Payload by step:
    - triage / route: ``tier``, ``body``, ``mediators`` (users), ``due_on``, ``note``
      (triage also ``risk``, ``scale``);
    - record_session: ``held_on``, ``place``, ``method``, ``attendance``, ``notes``,
      ``outcome``, ``mediators``;
    - escalate: ``reason``, optional ``mediators``, ``body``, ``due_on``;
    - extend: ``days``, ``reason``, ``consent`` (both parties agreed);
    - record_agreement: ``form``, ``reached_on``, ``terms``, ``amount``,
      ``performance_due``, ``parties_signed``, ``mediator_signed``, ``signed_on``,
      ``sealed_on``;
    - apply_confirmation: ``court``, ``applied_on``, ``applicants``, ``note``;
    - record_ruling: ``result`` (pending = accepted, not_accepted, confirmed, rejected),
      ``accepted_on``, ``ruled_on``, ``reason``, ``then`` (mediation / litigation);
    - follow_up: ``visited_on``, ``performance``, ``satisfaction``, ``note``;
    - close: ``note``, ``unresolved``, ``routes`` (litigation, arbitration, ...);
    - withdraw: ``reason``.
    """
    if step not in APPLY:
        raise Conflict(_("未知的办理环节“%(step)s”。") % {"step": step}, "illegal_step")
    with transaction.atomic():
        return _take_step(actor, dispute, step, version, payload)


# --- entrusted mediation ----------------------------------------------------------------


def entrusted_days(referral: str, procedure: str) -> int:
    key = (referral, "" if referral == Referral.PRE_FILING else procedure)
    if key not in ENTRUSTED_DAYS:
        raise ValidationError({"procedure": _("立案后委托调解须选择审理程序（普通或简易）。")})
    return ENTRUSTED_DAYS[key]


def court_entrust(
    *,
    actor,
    court: Court,
    court_case_number: str,
    referral: str,
    procedure: str = "",
    body: MediationBody,
    mediators=(),
    received_on: datetime.date | None = None,
    **registration,
) -> Dispute:
    """A court refers (before filing) or entrusts (after filing) a case to mediation: the
    dispute is registered from the court and routed straight to the entrusted body, with
    the court-linked deadline."""
    if not (actor.is_superuser or (isinstance(court, Court) and court.pk in user_court_ids(actor))):
        raise PermissionDenied(_("只有本院账号可以委派或委托调解。"))
    court = _active(court, Court, "court", _("人民法院不存在或已停用。"))
    errors = {}
    case_number = (court_case_number or "").strip()[:64]
    if not case_number:
        errors["court_case_number"] = _("请填写法院案号。")
    elif EntrustedMediation.objects.filter(court=court, court_case_number=case_number).exists():
        errors["court_case_number"] = _("案号 %(number)s 已委托过调解。") % {"number": case_number}
    if referral not in Referral.values:
        errors["referral"] = _("请选择委派（诉前）或委托（立案后）。")
    elif referral == Referral.AFTER_FILING and procedure not in Procedure.values:
        errors["procedure"] = _("立案后委托调解须选择审理程序（普通或简易）。")
    if not isinstance(body, MediationBody) or not body.is_active:
        errors["body"] = _("请选择受托调解组织。")
    today = timezone.localdate()
    received_on = received_on or today
    if received_on > today:
        errors["received_on"] = _("收案日期不能晚于今天。")
    if errors:
        raise ValidationError(errors)
    procedure = procedure if referral == Referral.AFTER_FILING else ""
    days = entrusted_days(referral, procedure)
    registration.setdefault("source", Source.COURT)
    with transaction.atomic():
        dispute, _created = dispute_register(actor=actor, court_ids=[court.pk], **registration)
        try:
            with transaction.atomic():
                entrusted = EntrustedMediation.objects.create(
                    dispute=dispute,
                    court=court,
                    court_case_number=case_number,
                    referral=referral,
                    procedure=procedure,
                    body=body,
                    received_on=received_on,
                    due_on=received_on + datetime.timedelta(days=days),
                    entrusted_by=actor,
                )
        except IntegrityError:
            # the same case sent twice at once (a double tap): the first holds the case
            # number, the second registers nothing
            raise ValidationError({"court_case_number": _("案号 %(number)s 已委托过调解。") % {"number": case_number}}) from None
        case = _lock(dispute)
        now = timezone.now()
        # the body's own tier, its mediators checked like any assignment, the deadline
        # capped by the court's
        _assignment(case, {"body": body, "mediators": mediators}, today)
        case.status = Status.MEDIATING
        case.version += 1
        case.save()
        _transition(
            case,
            Step.ENTRUST,
            actor,
            now,
            from_status=Status.REGISTERED,
            due_on=entrusted.due_on,
            details={"court": court.name, "case": case_number, "referral": referral, "procedure": procedure, "days": days},
        )
    return case


def dispute_party_revealed(*, actor, dispute: Dispute, party: DisputeParty) -> str:
    """The clear identity number of a party told by name (registry people are revealed
    through the registry), for those working the dispute; every showing is audited."""
    if party.person_id is not None:
        raise ValidationError({"party": _("该当事人来自人员库，请在人员库中查看完整证件号码。")})
    # a party of another dispute is not reached through this one's mediators
    works_it = party.dispute_id == dispute.pk and (is_centre(actor, dispute) or may_take(actor, dispute, Step.RECORD_SESSION))
    if not works_it:
        audit_record(
            actor=actor,
            action=AuditAction.READ_SENSITIVE,
            obj=dispute,
            object_repr=dispute.number,
            outcome=AuditOutcome.DENIED,
            changes={"party": party.pk, "masked": party.id_number_masked},
        )
        raise PermissionDenied(_("只有办理该纠纷的调解员和综治中心可以查看完整证件号码。"))
    audit_record(
        actor=actor,
        action=AuditAction.READ_SENSITIVE,
        obj=dispute,
        object_repr=dispute.number,
        changes={"party": party.pk, "masked": party.id_number_masked},
    )
    return party.identity_number


# --- membership --------------------------------------------------------------------------


def body_members_changed(*, actor, body: MediationBody, before: set[int]) -> None:
    """Audit who joined and who left ``body``: its members mediate the disputes routed to it."""
    audit_members_changed(actor=actor, obj=body, before=before, body=body.name)


def court_members_changed(*, actor, court: Court, before: set[int]) -> None:
    """Audit who joined and who left ``court``: its accounts rule on confirmations, entrust
    cases and read what the court asked for."""
    audit_members_changed(actor=actor, obj=court, before=before, court=court.code)

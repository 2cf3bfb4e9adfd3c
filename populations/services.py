"""Writes to the registry and the programmes: one function per operation, each validating,
locking what it changes, writing and auditing in one transaction."""

import datetime
import re
from decimal import Decimal
from itertools import groupby
from operator import attrgetter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Grid, GridKind
from grids.services import require_open_node
from kaili.audit import audit_record
from kaili.models import AuditAction
from kaili.scope import ADD, CHANGE
from kaili.signals import records_saved_in_bulk
from populations.identity import ETHNICITIES, normalise_identity_number, parse_identity_number
from populations.models import (
    DETAIL_MODELS,
    Enrollment,
    EnrollmentStatus,
    ExitReason,
    Facility,
    Household,
    Person,
    Placement,
    Programme,
    ProgrammeOfficer,
    Registration,
    Relation,
    Residence,
    Visit,
    VisitKind,
    level_range,
    normalise_phone,
)
from populations.schedules import RuleBook, assesses_level, clean_visit, due_state
from populations.selectors import person_is_responsible

PHONE_SHAPE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
ETHNICITY_CODES = {code for code, _name in ETHNICITIES}


# --- households -------------------------------------------------------------------------


def _require_unit(unit: Grid, field: str = "unit") -> None:
    if unit.kind != GridKind.UNIT:
        raise ValidationError(
            {
                field: _("住户只能登记在十户联防单元（三级网格）下，“%(name)s”是%(kind)s。")
                % {"name": unit.name, "kind": unit.get_kind_display()}
            }
        )
    require_open_node(unit)


def household_next_number(unit: Grid) -> str:
    """The unit's code plus the next three-digit sequence (never reused)."""
    # Every number with the unit's prefix, including households that have since moved away.
    last = Household.objects.filter(number__startswith=unit.code).aggregate(last=Max("number"))["last"]
    sequence = int(last[len(unit.code) :]) + 1 if last else 1
    if sequence > 999:
        raise ValidationError({"number": _("单元 %(code)s 的户编号已用完。") % {"code": unit.code}})
    return f"{unit.code}{sequence:03d}"


def _clean_choice(value: str, choices, field: str, errors: dict) -> None:
    if value not in {choice for choice, _label in choices}:
        errors[field] = _("“%(value)s”不是有效选项。") % {"value": value}


@transaction.atomic
def household_create(
    *, actor, unit: Grid, address: str, doorplate: str = "", registration: str = Registration.REGISTERED
) -> Household:
    _require_unit(unit)
    errors = {}
    if not address.strip():
        errors["address"] = _("请填写住址。")
    _clean_choice(registration, Registration.choices, "registration", errors)
    if errors:
        raise ValidationError(errors)
    # One unit's numbering at a time, so two workers registering at once get distinct numbers.
    Grid.objects.select_for_update().filter(pk=unit.pk).first()
    household = Household.objects.create(
        number=household_next_number(unit),
        unit=unit,
        address=address.strip(),
        doorplate=doorplate.strip(),
        registration=registration,
    )
    audit_record(actor=actor, action=AuditAction.CREATE, obj=household, changes={"unit": unit.code})
    return household


@transaction.atomic
def household_update(*, actor, household: Household, **fields) -> Household:
    """Change address, doorplate, registration, or the unit (the members move with it)."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    allowed = {"address", "doorplate", "registration", "unit"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: _("该字段不能修改。") for name in unknown})
    errors = {}
    if "address" in fields and not fields["address"].strip():
        errors["address"] = _("请填写住址。")
    if "registration" in fields:
        _clean_choice(fields["registration"], Registration.choices, "registration", errors)
    if errors:
        raise ValidationError(errors)
    changes = {}
    new_unit = fields.pop("unit", None)
    if new_unit is not None and new_unit.pk != household.unit_id:
        _require_unit(new_unit)
        changes["unit"] = [household.unit.code, new_unit.code]
        household.unit = new_unit
        household.members.update(unit=new_unit)
    for name, value in fields.items():
        value = value.strip() if isinstance(value, str) else value
        if getattr(household, name) != value:
            changes[name] = [getattr(household, name), value]
            setattr(household, name, value)
    if changes:
        household.save()
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=household, changes=changes)
    return household


# --- people -----------------------------------------------------------------------------


def _clean_person_fields(fields: dict, errors: dict) -> None:
    if "name" in fields and not (fields["name"] or "").strip():
        errors["name"] = _("请填写姓名。")
    if "ethnicity" in fields and fields["ethnicity"] not in ETHNICITY_CODES:
        errors["ethnicity"] = _("民族代码“%(value)s”不在 GB/T 3304 代码表中。") % {"value": fields["ethnicity"]}
    if "relation" in fields:
        _clean_choice(fields["relation"], Relation.choices, "relation", errors)
    if "residence" in fields:
        _clean_choice(fields["residence"], Residence.choices, "residence", errors)
    phone = (fields.get("phone") or "").strip().replace(" ", "")
    if phone and not PHONE_SHAPE.match(phone):
        errors["phone"] = _("电话号码格式不正确：手机号为 11 位数字，座机为区号加号码。")


def _apply_identity_number(person: Person, value: str, errors: dict) -> None:
    value = normalise_identity_number(value)
    try:
        person.birth_date, person.sex = parse_identity_number(value)
    except ValidationError as error:
        errors["identity_number"] = error.messages[0]
        return
    duplicate = Person.objects.with_identity_number(value).exclude(pk=person.pk)
    if duplicate.exists():
        errors["identity_number"] = _("身份证号已登记，不能重复登记。")
        return
    person.set_identity_number(value)


def _save_person(person: Person) -> None:
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as error:
        # Two registrations of one identity number at once: the unique hash decides.
        if "person_identity_number_once" in str(error) or "id_number_hash" in str(error):
            raise ValidationError({"identity_number": _("身份证号已登记，不能重复登记。")}) from None
        raise


def _refuse_second_head(household: Household, person: Person, errors: dict) -> None:
    if person.relation != Relation.HEAD:
        return
    other = household.members.filter(relation=Relation.HEAD).exclude(pk=person.pk).first()
    if other is not None:
        errors["relation"] = _("该户已有户主%(name)s；请先修改原户主的“与户主关系”。") % {"name": other.name}


def _settle_headship(household: Household, person: Person) -> None:
    """The household's head is its member whose relation is head (at most one)."""
    if person.relation == Relation.HEAD and household.head_id != person.pk:
        household.head = person
        household.save(update_fields=["head", "updated_at"])
    elif person.relation != Relation.HEAD and household.head_id == person.pk:
        household.head = None
        household.save(update_fields=["head", "updated_at"])


@transaction.atomic
def person_create(
    *,
    actor,
    household: Household,
    name: str,
    identity_number: str,
    ethnicity: str = "01",
    phone: str = "",
    relation: str = Relation.OTHER,
    residence: str = Residence.REGISTERED,
    occupation: str = "",
    notes: str = "",
) -> Person:
    household = Household.objects.select_for_update().select_related("unit").get(pk=household.pk)
    require_open_node(household.unit)
    fields = {"name": name, "ethnicity": ethnicity, "phone": phone, "relation": relation, "residence": residence}
    errors: dict = {}
    _clean_person_fields(fields, errors)
    person = Person(
        household=household,
        unit=household.unit,
        name=name.strip(),
        ethnicity=ethnicity,
        relation=relation,
        residence=residence,
        occupation=occupation.strip(),
        notes=notes.strip(),
    )
    _apply_identity_number(person, identity_number, errors)
    _refuse_second_head(household, person, errors)
    if errors:
        raise ValidationError(errors)
    person.set_phone(phone.strip())
    _save_person(person)
    _settle_headship(household, person)
    audit_record(actor=actor, action=AuditAction.CREATE, obj=person, changes={"household": household.number})
    return person


PERSON_FIELDS = {"name", "identity_number", "ethnicity", "phone", "relation", "residence", "occupation", "notes", "household"}


@transaction.atomic
def person_update(*, actor, person: Person, **fields) -> Person:
    unknown = set(fields) - PERSON_FIELDS
    if unknown:
        raise ValidationError({name: _("该字段不能修改。") for name in unknown})
    # Households before people, as person_create and household_update lock them.
    target = fields.pop("household", None)
    current = Person.objects.values_list("household_id", flat=True).get(pk=person.pk)
    household_ids = sorted({current, target.pk if target is not None else current})
    households = {h.pk: h for h in Household.objects.select_for_update().select_related("unit").filter(pk__in=household_ids)}
    person = Person.objects.select_for_update().get(pk=person.pk)
    old_household = households[person.household_id]
    require_open_node(old_household.unit)
    errors: dict = {}
    _clean_person_fields(fields, errors)
    changes: dict = {}
    if "identity_number" in fields:
        value = normalise_identity_number(fields.pop("identity_number"))
        if value != person.identity_number:
            _apply_identity_number(person, value, errors)
            changes["identity_number"] = "（已修改，密文存储）"
    if "phone" in fields:
        phone = normalise_phone(fields.pop("phone"))
        if phone != person.phone:
            person.set_phone(phone)
            changes["phone"] = "（已修改，密文存储）"
    if target is not None and target.pk != person.household_id:
        household = households[target.pk]
        require_open_node(household.unit)
        changes["household"] = [old_household.number, household.number]
        person.household, person.unit = household, household.unit
    for name, value in fields.items():
        value = value.strip() if isinstance(value, str) else value
        if getattr(person, name) != value:
            changes[name] = [getattr(person, name), value]
            setattr(person, name, value)
    _refuse_second_head(households[person.household_id], person, errors)
    if errors:
        raise ValidationError(errors)
    if changes:
        _save_person(person)
        if old_household.pk != person.household_id and old_household.head_id == person.pk:
            old_household.head = None
            old_household.save(update_fields=["head", "updated_at"])
        _settle_headship(households[person.household_id], person)
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=person, changes=changes)
    return person


def person_reveal(*, actor, person: Person, reason: str = "") -> dict:
    """The clear identity and phone numbers, for the person's responsible staff only.

    Every call writes an audit row (PIPL art. 51; DOMAIN.md, "Privacy"); a refusal is
    audited too, as denied.
    """
    from kaili.models import AuditOutcome

    if not person_is_responsible(actor, person):
        audit_record(actor=actor, action=AuditAction.READ_SENSITIVE, obj=person, outcome=AuditOutcome.DENIED)
        raise PermissionDenied(_("您不是该人员的责任人员，不能查看完整身份证号和电话。"))
    audit_record(
        actor=actor,
        action=AuditAction.READ_SENSITIVE,
        obj=person,
        changes={"fields": ["identity_number", "phone"], "reason": reason},
    )
    return {"identity_number": person.identity_number, "phone": person.phone}


# --- enrollments ------------------------------------------------------------------------


def enrollment_repr(enrollment: Enrollment) -> str:
    """How a programme record is named in the audit trail: programme and masked identity
    number, never the name (that a named person is in a programme is itself sensitive)."""
    return f"{Programme(enrollment.programme).label} · {enrollment.person.id_number_masked}"


def _require_reach(actor, model, pk, action: str) -> None:
    """Refuse a programme write the actor may not make; the programme rules of
    ``EnrollmentQuerySet.restrict`` decide. A new record is checked once written, so the
    refusal rolls it back with the transaction. ``actor=None`` is the system (commands)."""
    if actor is None:
        return
    if not model.objects.restrict(actor, action).filter(pk=pk).exists():
        raise PermissionDenied(_("您不负责该工程的这名人员，或其不在您的管辖范围内。"))


def _clean_detail(programme: str, enrollment: Enrollment, details: dict, existing=None):
    model = DETAIL_MODELS[programme]
    record = existing or model(enrollment=enrollment)
    editable = {field.name for field in model._meta.concrete_fields} - {"id", "enrollment"}
    errors = {}
    for name, value in (details or {}).items():
        field_name = name.removesuffix("_id") if name.endswith("_id") else name
        if field_name not in editable:
            errors[f"details.{name}"] = _("“%(name)s”不是%(programme)s档案的字段。") % {
                "name": name,
                "programme": Programme(programme).label,
            }
            continue
        setattr(record, name, value)
    if errors:
        raise ValidationError(errors)
    try:
        record.full_clean(exclude=["enrollment"])
    except ValidationError as error:
        raise ValidationError({f"details.{field}": messages for field, messages in error.message_dict.items()}) from None
    return record


def _check_enrollment_fields(programme: str, level, started_on, planned_end_on, errors: dict) -> None:
    if programme not in Programme.values:
        errors["programme"] = _("“%(value)s”不是六大工程之一。") % {"value": programme}
        return
    if level is not None and int(level) not in level_range(programme):
        top = level_range(programme)[-1]
        errors["level"] = _("%(programme)s的等级应为 0-%(top)d。") % {"programme": Programme(programme).label, "top": top}
    if started_on and started_on > timezone.localdate():
        errors["started_on"] = _("纳入日期不能晚于今天。")
    if started_on and planned_end_on and planned_end_on < started_on:
        errors["planned_end_on"] = _("计划结束日期不能早于纳入日期。")


def _derived_dates(programme: str, started_on, planned_end_on, record):
    if planned_end_on is None and programme == Programme.DRUG_REHAB:
        from populations.schedules import add_months

        return add_months(started_on, 12 * (record.period_years or 3))
    if planned_end_on is None and programme == Programme.CORRECTION:
        return record.correction_end
    return planned_end_on


def refresh_schedule(enrollment: Enrollment, *, rules: RuleBook | None = None, today=None, save: bool = True) -> Enrollment:
    """Recompute the next due date and the overdue flag from the last scheduled visits."""
    rules = rules or RuleBook()
    today = today or timezone.localdate()
    kinds = rules.scheduled_kinds(enrollment.programme)
    last_by_kind = {}
    if enrollment.pk:
        visits = enrollment.visits.filter(kind__in=kinds).values("kind").annotate(last=Max("visited_on"))
        last_by_kind = {row["kind"]: row["last"] for row in visits}
    enrollment.last_visit_on = max(last_by_kind.values(), default=None)
    if enrollment.status == EnrollmentStatus.ACTIVE:
        enrollment.next_due_on = rules.next_due(enrollment, last_by_kind)
        enrollment.overdue = due_state(enrollment.next_due_on, today) == "overdue"
    else:
        enrollment.next_due_on, enrollment.overdue = None, False
    if save:
        enrollment.save(update_fields=["last_visit_on", "next_due_on", "overdue", "updated_at"])
    return enrollment


@transaction.atomic
def enrollment_create(
    *,
    actor,
    person: Person,
    programme: str,
    started_on: datetime.date,
    level: int = 0,
    attention: str = "normal",
    planned_end_on: datetime.date | None = None,
    team=(),
    details: dict | None = None,
) -> Enrollment:
    person = Person.objects.select_for_update().select_related("unit").get(pk=person.pk)
    require_open_node(person.unit)
    errors: dict = {}
    _check_enrollment_fields(programme, level, started_on, planned_end_on, errors)
    if not errors and Enrollment.objects.filter(person=person, programme=programme, status=EnrollmentStatus.ACTIVE).exists():
        errors["programme"] = _("%(name)s已在%(programme)s在册，不能重复纳入。") % {
            "name": person.name,
            "programme": Programme(programme).label,
        }
    if errors:
        raise ValidationError(errors)
    enrollment = Enrollment(person=person, programme=programme, started_on=started_on, level=int(level or 0), attention=attention)
    record = _clean_detail(programme, enrollment, details or {})
    enrollment.planned_end_on = _derived_dates(programme, started_on, planned_end_on, record)
    try:
        enrollment.full_clean(exclude=["person", "team"])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from None
    enrollment.save()
    record.enrollment = enrollment
    record.save()
    if team:
        enrollment.team.set(team)
    _require_reach(actor, Enrollment, enrollment.pk, ADD)
    refresh_schedule(enrollment)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=enrollment,
        object_repr=enrollment_repr(enrollment),
        changes={"programme": programme, "level": enrollment.level},
    )
    return enrollment


ENROLLMENT_FIELDS = {"level", "attention", "planned_end_on", "team", "details"}


@transaction.atomic
def enrollment_update(*, actor, enrollment: Enrollment, **fields) -> Enrollment:
    unknown = set(fields) - ENROLLMENT_FIELDS
    if unknown:
        raise ValidationError({name: _("该字段不能修改。") for name in unknown})
    _require_reach(actor, Enrollment, enrollment.pk, CHANGE)
    enrollment = Enrollment.objects.select_for_update(of=("self",)).select_related("person").get(pk=enrollment.pk)
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise ValidationError(_("已退出的人员不能修改，请重新纳入。"))
    errors: dict = {}
    _check_enrollment_fields(
        enrollment.programme, fields.get("level"), enrollment.started_on, fields.get("planned_end_on"), errors
    )
    if errors:
        raise ValidationError(errors)
    changes = {}
    for name in ("level", "attention", "planned_end_on"):
        if name in fields and getattr(enrollment, name) != fields[name]:
            changes[name] = [getattr(enrollment, name), fields[name]]
            setattr(enrollment, name, fields[name])
    if "details" in fields:
        model = DETAIL_MODELS[enrollment.programme]
        existing = model.objects.filter(enrollment=enrollment).first()
        record = _clean_detail(enrollment.programme, enrollment, fields["details"], existing)
        record.save()
        changes["details"] = sorted(fields["details"])
    if "team" in fields:
        enrollment.team.set(fields["team"])
        changes["team"] = sorted(user.get_username() for user in fields["team"])
    enrollment.save()
    refresh_schedule(enrollment)
    if changes:
        audit_record(
            actor=actor, action=AuditAction.UPDATE, obj=enrollment, object_repr=enrollment_repr(enrollment), changes=changes
        )
    return enrollment


@transaction.atomic
def enrollment_exit(*, actor, enrollment: Enrollment, exited_on: datetime.date, reason: str, note: str = "") -> Enrollment:
    _require_reach(actor, Enrollment, enrollment.pk, CHANGE)
    enrollment = Enrollment.objects.select_for_update(of=("self",)).select_related("person").get(pk=enrollment.pk)
    errors = {}
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise ValidationError(_("该人员已于 %(date)s 退出。") % {"date": enrollment.exited_on})
    if reason not in ExitReason.values:
        errors["exit_reason"] = _("请选择退出原因。")
    if reason == ExitReason.OTHER and not note.strip():
        errors["exit_note"] = _("退出原因为“其他”时须说明。")
    if exited_on < enrollment.started_on:
        errors["exited_on"] = _("退出日期不能早于纳入日期。")
    if exited_on > timezone.localdate():
        errors["exited_on"] = _("退出日期不能晚于今天。")
    if errors:
        raise ValidationError(errors)
    enrollment.status, enrollment.exited_on = EnrollmentStatus.EXITED, exited_on
    enrollment.exit_reason, enrollment.exit_note = reason, note.strip()
    enrollment.next_due_on, enrollment.overdue = None, False
    enrollment.save()
    ended = Placement.objects.filter(enrollment=enrollment, ended_on__isnull=True).update(ended_on=exited_on)
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION,
        obj=enrollment,
        object_repr=enrollment_repr(enrollment),
        changes={"status": ["active", "exited"], "reason": reason, "placements_ended": ended},
    )
    return enrollment


# --- visits -----------------------------------------------------------------------------


@transaction.atomic
def visit_record(
    *,
    actor,
    enrollment: Enrollment,
    kind: str,
    visited_on: datetime.date,
    mode: str = "home",
    level: int | None = None,
    result: str = "",
    hours: Decimal | None = None,
    details: dict | None = None,
    note: str = "",
) -> Visit:
    """Record a follow-up, visit, check-in or test; a mental-health follow-up's risk
    assessment becomes the enrollment's level, and the next due date follows.

    The visit keeps the date it fell due; one entered late, before later visits of its
    kind, re-dates those (each falls due one interval after the visit before it).
    """
    enrollment = Enrollment.objects.select_for_update(of=("self",)).select_related("person").get(pk=enrollment.pk)
    errors = {}
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise ValidationError(_("该人员已退出，不能再记录走访。"))
    if kind not in VisitKind.values:
        errors["kind"] = _("“%(value)s”不是有效的走访类型。") % {"value": kind}
    if visited_on > timezone.localdate():
        errors["visited_on"] = _("走访日期不能晚于今天。")
    elif visited_on < enrollment.started_on:
        errors["visited_on"] = _("走访日期不能早于纳入日期 %(date)s。") % {"date": enrollment.started_on}
    if errors:
        raise ValidationError(errors)
    details = clean_visit(programme=enrollment.programme, kind=kind, level=level, result=result, hours=hours, details=details)
    rules = RuleBook()
    previous = (
        enrollment.visits.filter(kind=kind, visited_on__lt=visited_on).order_by("-visited_on", "-id").only("visited_on", "level")
    ).first()
    visit = Visit(
        enrollment=enrollment,
        kind=kind,
        visited_on=visited_on,
        mode=mode,
        level=level,
        result=result,
        hours=hours,
        details=details,
        note=note.strip(),
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        visit.full_clean(exclude=["enrollment", "recorded_by"])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from None
    visit.due_on = rules.due_after(enrollment, kind, previous)
    visit.save()
    _redate_later_visits(rules, enrollment, visit)
    if assesses_level(enrollment.programme, kind) and level is not None:
        latest = enrollment.visits.filter(kind=kind).order_by("-visited_on", "-id").first()
        if latest.pk == visit.pk:
            enrollment.level = int(level)
            enrollment.save(update_fields=["level", "updated_at"])
    refresh_schedule(enrollment, rules=rules)
    _require_reach(actor, Visit, visit.pk, ADD)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=visit,
        object_repr=f"{visit.get_kind_display()} · {enrollment_repr(enrollment)}",
        changes={"enrollment": enrollment.pk, "kind": kind},
    )
    return visit


def _redate_later_visits(rules: RuleBook, enrollment: Enrollment, visit: Visit) -> int:
    """Re-date the enrollment's visits of the same kind after ``visit`` (usually none: a visit
    entered late is the only way to have any); returns how many changed."""
    later = enrollment.visits.filter(kind=visit.kind, visited_on__gt=visit.visited_on).order_by("visited_on", "id")
    changed = []
    for later_visit, due_on in rules.due_dates(enrollment, visit.kind, later.only("visited_on", "level", "due_on"), visit):
        if later_visit.due_on != due_on:
            later_visit.due_on = due_on
            changed.append(later_visit)
    Visit.objects.bulk_update(changed, ["due_on"])
    records_saved_in_bulk.send(sender=Visit, instances=changed, created=False)
    return len(changed)


# --- facilities and placements ----------------------------------------------------------


@transaction.atomic
def facility_create(*, actor, grid: Grid, kind: str, name: str, capacity: int, address: str = "") -> Facility:
    require_open_node(grid)
    facility = Facility(grid=grid, kind=kind, name=name.strip(), capacity=capacity, address=address.strip())
    try:
        facility.full_clean()
    except ValidationError as error:
        raise ValidationError(error.message_dict) from None
    facility.save()
    audit_record(actor=actor, action=AuditAction.CREATE, obj=facility, changes={"kind": kind, "capacity": capacity})
    return facility


@transaction.atomic
def facility_update(*, actor, facility: Facility, **fields) -> Facility:
    facility = Facility.objects.select_for_update().get(pk=facility.pk)
    if "capacity" in fields:
        occupied = facility.placements.filter(ended_on__isnull=True).count()
        if fields["capacity"] < occupied:
            raise ValidationError({"capacity": _("容量不能小于当前在用的 %(n)d 个名额。") % {"n": occupied}})
    changes = {}
    for name, value in fields.items():
        if name not in {"name", "capacity", "address", "kind"}:
            raise ValidationError({name: _("该字段不能修改。")})
        if getattr(facility, name) != value:
            changes[name] = [getattr(facility, name), value]
            setattr(facility, name, value)
    facility.full_clean()
    facility.save()
    if changes:
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=facility, changes=changes)
    return facility


@transaction.atomic
def placement_start(*, actor, enrollment: Enrollment, facility: Facility, started_on: datetime.date, note: str = "") -> Placement:
    """Place an enrolled person in a facility; refused when the facility is full."""
    # The facility row lock serialises placements, so two at once cannot both take the last place.
    facility = Facility.objects.select_for_update().get(pk=facility.pk)
    enrollment = Enrollment.objects.select_for_update(of=("self",)).select_related("person").get(pk=enrollment.pk)
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise ValidationError(_("该人员已退出，不能安置。"))
    if facility.retired_at is not None:
        raise ValidationError({"facility": _("%(name)s已停用。") % {"name": facility.name}})
    if started_on < enrollment.started_on:
        raise ValidationError({"started_on": _("开始日期不能早于纳入日期。")})
    if facility.placements.filter(enrollment=enrollment, ended_on__isnull=True).exists():
        raise ValidationError({"facility": _("该人员已在%(name)s。") % {"name": facility.name}})
    occupied = facility.placements.filter(ended_on__isnull=True).count()
    if occupied >= facility.capacity:
        raise ValidationError(
            {
                "facility": _("%(name)s已满（容量 %(capacity)d，在用 %(occupied)d），不能再安置。")
                % {"name": facility.name, "capacity": facility.capacity, "occupied": occupied}
            }
        )
    placement = Placement.objects.create(enrollment=enrollment, facility=facility, started_on=started_on, note=note.strip())
    _require_reach(actor, Placement, placement.pk, ADD)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=placement,
        object_repr=f"{facility.name} · {enrollment_repr(enrollment)}",
        changes={"facility": facility.pk},
    )
    return placement


@transaction.atomic
def placement_end(*, actor, placement: Placement, ended_on: datetime.date, note: str = "") -> Placement:
    _require_reach(actor, Placement, placement.pk, CHANGE)
    placement = (
        Placement.objects.select_for_update(of=("self",)).select_related("facility", "enrollment__person").get(pk=placement.pk)
    )
    if placement.ended_on is not None:
        raise ValidationError(_("该安置已于 %(date)s 结束。") % {"date": placement.ended_on})
    if ended_on < placement.started_on:
        raise ValidationError({"ended_on": _("结束日期不能早于开始日期。")})
    placement.ended_on = ended_on
    if note:
        placement.note = note.strip()
    placement.save()
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION,
        obj=placement,
        object_repr=f"{placement.facility.name} · {enrollment_repr(placement.enrollment)}",
        changes={"ended_on": ended_on},
    )
    return placement


# --- officer duties ---------------------------------------------------------------------


@transaction.atomic
def officer_duties_set(*, actor, user, programmes) -> set[str]:
    """Say which programmes a programme officer runs (the security admin's call, like any
    role assignment: 三员分立). Where they run them is their role grant on the tree."""
    from kaili.roles import PROGRAMME_OFFICER, user_role_names

    programmes = set(programmes)
    unknown = programmes - set(Programme.values)
    if unknown:
        raise ValidationError({"programmes": _("“%(value)s”不是六大工程之一。") % {"value": "、".join(sorted(unknown))}})
    if programmes and PROGRAMME_OFFICER not in user_role_names(user):
        raise ValidationError({"user": _("%(user)s不是专干，请先授予“专干”角色。") % {"user": user}})
    held = set(ProgrammeOfficer.objects.select_for_update().filter(user=user).values_list("programme", flat=True))
    added, removed = programmes - held, held - programmes
    ProgrammeOfficer.objects.filter(user=user, programme__in=removed).delete()
    ProgrammeOfficer.objects.bulk_create(ProgrammeOfficer(user=user, programme=programme) for programme in sorted(added))
    user.__dict__.pop("_kaili_programmes", None)
    if added:
        audit_record(actor=actor, action=AuditAction.GRANT, obj=user, changes={"programmes": sorted(added)})
    if removed:
        audit_record(actor=actor, action=AuditAction.REVOKE, obj=user, changes={"programmes": sorted(removed)})
    return programmes


# --- daily schedule refresh (Celery beat) -----------------------------------------------


def refresh_all_schedules(*, today=None, progress=None, batch_size: int = 2000) -> dict:
    """Recompute every active enrollment's next due date and overdue flag, and date the
    visits that have no due date yet (idempotent)."""
    today = today or timezone.localdate()
    rules = RuleBook()
    last_visits: dict[int, dict[str, datetime.date]] = {}
    kinds_by_programme = {programme: rules.scheduled_kinds(programme) for programme in Programme.values}
    for enrollment_id, programme, kind, last in (
        Visit.objects.filter(enrollment__status=EnrollmentStatus.ACTIVE)
        .values_list("enrollment_id", "enrollment__programme", "kind")
        .annotate(last=Max("visited_on"))
    ):
        if kind in kinds_by_programme[programme]:
            last_visits.setdefault(enrollment_id, {})[kind] = last
    changed = overdue = 0
    queryset = Enrollment.objects.active().select_related("correction").order_by("pk")
    total = queryset.count() if progress else 0
    batch = []
    for done, enrollment in enumerate(queryset.iterator(chunk_size=batch_size), start=1):
        before = (enrollment.next_due_on, enrollment.overdue, enrollment.last_visit_on)
        last_by_kind = last_visits.get(enrollment.pk, {})
        enrollment.last_visit_on = max(last_by_kind.values(), default=None)
        enrollment.next_due_on = rules.next_due(enrollment, last_by_kind)
        enrollment.overdue = due_state(enrollment.next_due_on, today) == "overdue"
        overdue += enrollment.overdue
        if before != (enrollment.next_due_on, enrollment.overdue, enrollment.last_visit_on):
            batch.append(enrollment)
        if len(batch) >= batch_size:
            Enrollment.objects.bulk_update(batch, ["next_due_on", "overdue", "last_visit_on"])
            records_saved_in_bulk.send(sender=Enrollment, instances=batch, created=False)
            changed += len(batch)
            batch = []
        if progress:
            progress(_("计算走访到期"), done, total)
    if batch:
        Enrollment.objects.bulk_update(batch, ["next_due_on", "overdue", "last_visit_on"])
        records_saved_in_bulk.send(sender=Enrollment, instances=batch, created=False)
        changed += len(batch)
    dated = date_undated_visits(rules=rules, progress=progress, batch_size=batch_size)
    return {"changed": changed, "overdue": overdue, "visits_dated": dated}


def date_undated_visits(*, rules: RuleBook | None = None, progress=None, batch_size: int = 2000) -> int:
    """Fill ``Visit.due_on`` where it is empty and a schedule rule covers the visit (visits
    recorded before visits kept their due date); returns how many were dated.

    Dates already kept are left alone. Each batch of enrollments is locked while its visits
    are dated, so that a visit recorded meanwhile (which re-dates later ones) cannot be undone.
    """
    rules = rules or RuleBook()
    scheduled = Q()
    for programme in Programme.values:
        if kinds := rules.scheduled_kinds(programme):
            scheduled |= Q(enrollment__programme=programme, kind__in=kinds)
    if not scheduled:
        return 0
    pending = list(
        Visit.objects.filter(scheduled, due_on__isnull=True)
        .values_list("enrollment_id", flat=True)
        .distinct()
        .order_by("enrollment_id")
    )
    dated = 0
    for start in range(0, len(pending), batch_size):
        ids = pending[start : start + batch_size]
        with transaction.atomic():
            enrollments = Enrollment.objects.select_for_update(of=("self",)).select_related("correction")
            by_pk = {enrollment.pk: enrollment for enrollment in enrollments.filter(pk__in=ids).order_by("pk")}
            visits = (
                Visit.objects.filter(scheduled, enrollment_id__in=ids)
                .order_by("enrollment_id", "kind", "visited_on", "id")
                .only("enrollment", "kind", "visited_on", "level", "due_on")
            )
            batch = []
            for (enrollment_id, kind), of_kind in groupby(
                visits.iterator(chunk_size=batch_size), attrgetter("enrollment_id", "kind")
            ):
                for visit, due_on in rules.due_dates(by_pk[enrollment_id], kind, of_kind):
                    if visit.due_on is None and due_on is not None:
                        visit.due_on = due_on
                        batch.append(visit)
            Visit.objects.bulk_update(batch, ["due_on"], batch_size=batch_size)
            records_saved_in_bulk.send(sender=Visit, instances=batch, created=False)
            dated += len(batch)
        if progress:
            progress(_("补记应访日期"), min(start + batch_size, len(pending)), len(pending))
    return dated

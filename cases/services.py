"""Writes to incidents: the report and each step of the loop, one function per operation.

Every step locks the case row, checks who is acting, that the case is still the version
the actor saw and that its state allows the step, then writes the case and one
``IncidentTransition`` in one transaction. A refusal leaves nothing written: an illegal
step or a case changed meanwhile raises ``kaili.exceptions.Conflict`` (HTTP 409), a
step the actor may not take ``PermissionDenied``, bad input ``ValidationError`` naming
the field. Files stored for a write that then fails are deleted again.
"""

import contextlib
import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.calendar import working_deadline
from cases.hooks import dispute_receiver
from cases.models import (
    Category,
    CategoryKind,
    Department,
    Incident,
    IncidentAttachment,
    IncidentPerson,
    IncidentTransition,
    PersonRole,
    Source,
    Status,
    Urgency,
    user_department_ids,
)
from cases.selectors import report_for_client_key
from cases.workflow import STEP_RULES, Step, may_take, step_applies
from grids.models import AreaType, Grid, GridKind
from grids.services import require_open_node
from kaili.attachments import check_file, check_photo
from kaili.audit import audit_members_changed, audit_record
from kaili.exceptions import Conflict
from kaili.models import AuditAction
from kaili.numbering import record_number
from kaili.scope import ADD, VIEW, scope_predicate
from populations.selectors import persons_for

# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = datetime.timedelta(minutes=5)
REPORTABLE_KINDS = (GridKind.GRID, GridKind.UNIT)
MAX_EXTENSION_MINUTES = 60 * 8 * 60  # sixty working days
MAX_PHOTOS = 9
MAX_BULK_DISPATCH = 500
MAX_FILES = 5


@dataclass
class Upload:
    """A file handed to a service: the uploaded file and whether it is a photo."""

    file: object
    kind: str = IncidentAttachment.Kind.PHOTO


@dataclass
class Involved:
    """Someone involved in an incident: a registry person, or a name as told."""

    person: object = None
    name: str = ""
    role: str = PersonRole.PARTY
    note: str = ""


@dataclass
class StoredFiles:
    """Files written to storage during a write, removed again if the write fails."""

    attachments: list = field(default_factory=list)

    def discard(self) -> None:
        for attachment in self.attachments:
            with contextlib.suppress(OSError):
                attachment.file.delete(save=False)


@contextlib.contextmanager
def _write():
    """One transaction, with the files stored inside it deleted if it rolls back."""
    stored = StoredFiles()
    try:
        with transaction.atomic():
            yield stored
    except BaseException:
        stored.discard()
        raise


def incident_number(grid: Grid, reported_at: datetime.datetime) -> str:
    return record_number("SJ", grid.code[:6], timezone.localtime(reported_at).year)


def _check_uploads(uploads) -> list[str]:
    photos = [u for u in uploads if u.kind == IncidentAttachment.Kind.PHOTO]
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": _("最多上传 %(count)d 张照片。") % {"count": MAX_PHOTOS}})
    if len(uploads) - len(photos) > MAX_FILES:
        raise ValidationError({"files": _("最多上传 %(count)d 个文件。") % {"count": MAX_FILES}})
    return [
        check_photo(upload.file, "photos") if upload.kind == IncidentAttachment.Kind.PHOTO else check_file(upload.file, "files")
        for upload in uploads
    ]


def _stage_uploads(uploads, content_types, actor, step: str, stored: StoredFiles) -> list[IncidentAttachment]:
    """Write the files to storage (before any row lock is taken: a slow phone upload must
    not hold up other reports); their rows are saved by ``_attach``."""
    staged = []
    for upload, content_type in zip(uploads, content_types, strict=True):
        name = (upload.file.name or "upload").rsplit("/", 1)[-1]
        attachment = IncidentAttachment(
            kind=upload.kind,
            filename=name[-200:],
            content_type=content_type,
            size=upload.file.size,
            step=step,
            uploaded_by=actor,
        )
        upload.file.seek(0)
        attachment.file.save(name, upload.file, save=False)
        stored.attachments.append(attachment)
        staged.append(attachment)
    return staged


def _attach(incident: Incident, staged: list[IncidentAttachment]) -> None:
    for attachment in staged:
        attachment.incident = incident
    IncidentAttachment.objects.bulk_create(staged)


def _require_category(category) -> Category:
    if not isinstance(category, Category) or not category.is_active or (category.parent and not category.parent.is_active):
        raise ValidationError({"category": _("事件类别不存在或已停用。")})
    if category.parent_id is None:
        raise ValidationError({"category": _("请选择具体的小类，而不是大类“%(name)s”。") % {"name": category.name}})
    return category


def _require_reportable_grid(actor, grid: Grid) -> None:
    if not scope_predicate(actor, Incident, ADD)(grid):
        # The code only: the name of a node out of the caller's scope is not theirs to learn.
        raise ValidationError({"grid": _("网格 %(code)s 不存在或不在您的管辖范围内。") % {"code": grid.code}})
    if grid.kind not in REPORTABLE_KINDS:
        message = _("事件应登记到二级网格或十户联防单元，“%(name)s”是%(kind)s。")
        raise ValidationError({"grid": message % {"name": grid.name, "kind": grid.get_kind_display()}})
    try:
        require_open_node(grid)
    except ValidationError as error:
        raise ValidationError({"grid": error.messages}) from error


def _clean_coordinates(latitude, longitude, errors: dict) -> tuple:
    if latitude in (None, "") and longitude in (None, ""):
        return None, None
    if latitude in (None, "") or longitude in (None, ""):
        errors["latitude"] = _("经纬度需同时填写。")
        return None, None
    try:
        latitude, longitude = Decimal(str(latitude)), Decimal(str(longitude))
    except InvalidOperation:
        errors["latitude"] = _("经纬度应为数字。")
        return None, None
    if not -90 <= latitude <= 90:
        errors["latitude"] = _("纬度应在 -90 到 90 之间。")
    if not -180 <= longitude <= 180:
        errors["longitude"] = _("经度应在 -180 到 180 之间。")
    return latitude.quantize(Decimal("0.000001")), longitude.quantize(Decimal("0.000001"))


def _clean_involved(actor, people, errors: dict) -> list[Involved]:
    cleaned = []
    roles = set(PersonRole.values)
    linked = [involved.person.pk for involved in people if involved.person is not None]
    reachable = set(persons_for(actor).filter(pk__in=linked).values_list("pk", flat=True)) if linked else set()
    for index, involved in enumerate(people, start=1):
        name = (involved.name or "").strip()
        if involved.person is not None and involved.person.pk not in reachable:
            errors["people"] = _("第 %(n)d 位涉事人员不存在或不在您的管辖范围内。") % {"n": index}
        elif involved.person is None and not name:
            errors["people"] = _("第 %(n)d 位涉事人员：请从人员库选择或填写姓名。") % {"n": index}
        elif involved.role not in roles:
            errors["people"] = _("第 %(n)d 位涉事人员：身份“%(role)s”无效。") % {"n": index, "role": involved.role}
        cleaned.append(Involved(involved.person, name[:64], involved.role, (involved.note or "").strip()[:200]))
    return cleaned


def _limit_minutes(category: Category, urgency: str, step: str) -> tuple[int, bool]:
    """(minutes, on the working calendar?) for filing or dispatching."""
    if urgency == Urgency.URGENT:
        return category.urgent_minutes, False
    return (category.file_minutes if step == Step.FILE else category.dispatch_minutes), True


def _deadline(start: datetime.datetime, minutes: int, working: bool = True) -> datetime.datetime:
    if not working:
        return start + datetime.timedelta(minutes=minutes)
    return working_deadline(start, minutes)


def _waiting_deadline(category: Category, urgency: str, step: str, now) -> datetime.datetime:
    minutes, working = _limit_minutes(category, urgency, step)
    return _deadline(now, minutes, working)


def _area_type(grid: Grid) -> str:
    """A unit takes its grid's urban/rural type (``grid.parent`` loaded by ``_lock``)."""
    if grid.area_type:
        return grid.area_type
    return (grid.parent.area_type if grid.parent_id else "") or AreaType.URBAN


def incident_report(
    *,
    actor,
    category: Category,
    grid: Grid,
    description: str,
    occurred_at: datetime.datetime,
    source: str = Source.PATROL,
    urgency: str | None = None,
    title: str = "",
    place: str = "",
    latitude=None,
    longitude=None,
    reporter_name: str = "",
    people=(),
    uploads=(),
    client_key: uuid.UUID | None = None,
    solved_on_spot: bool = False,
    result: str = "",
) -> tuple[Incident, bool]:
    """Log an incident; returns ``(incident, created)``.

    A report sent again with the same ``client_key`` by the same reporter (a phone that
    lost the answer and retried) returns the first one and creates nothing.
    """
    existing = report_for_client_key(actor, client_key)
    if existing is not None:
        return existing, False

    _require_category(category)
    _require_reportable_grid(actor, grid)
    errors = {}
    now = timezone.now()
    description = (description or "").strip()
    if not description:
        errors["description"] = _("请填写情况描述。")
    if occurred_at is None:
        errors["occurred_at"] = _("请填写发生时间。")
    elif occurred_at > now + CLOCK_SKEW:
        errors["occurred_at"] = _("发生时间不能晚于现在。")
    if source not in Source.values:
        errors["source"] = _("来源“%(value)s”无效。") % {"value": source}
    urgency = urgency or (Urgency.URGENT if category.urgent else Urgency.NORMAL)
    if urgency not in Urgency.values:
        errors["urgency"] = _("紧急程度“%(value)s”无效。") % {"value": urgency}
    latitude, longitude = _clean_coordinates(latitude, longitude, errors)
    involved = _clean_involved(actor, people, errors)
    if solved_on_spot and not (result or "").strip():
        errors["result"] = _("就地解决须填写处理结果。")
    if errors:
        raise ValidationError(errors)
    content_types = _check_uploads(list(uploads))

    try:
        with _write() as stored:
            staged = _stage_uploads(list(uploads), content_types, actor, Step.REPORT, stored)
            incident = Incident.objects.create(
                number=incident_number(grid, now),
                category=category,
                grid=grid,
                source=source,
                urgency=urgency,
                title=(title or "").strip()[:100] or description[:30],
                description=description,
                place=(place or "").strip()[:200],
                latitude=latitude,
                longitude=longitude,
                occurred_at=min(occurred_at, now),
                reported_at=now,
                reporter=actor,
                reporter_name=(reporter_name or "").strip()[:64],
                client_key=client_key,
                file_due_at=_waiting_deadline(category, urgency, Step.FILE, now),
            )
            incident.due_at = incident.file_due_at
            incident.save(update_fields=["due_at"])
            IncidentPerson.objects.bulk_create(
                IncidentPerson(incident=incident, person=p.person, name=p.name, role=p.role, note=p.note) for p in involved
            )
            _attach(incident, staged)
            IncidentTransition.objects.create(
                incident=incident, step=Step.REPORT, to_status=Status.REPORTED, actor=actor, at=now, due_at=incident.due_at
            )
            audit_record(actor=actor, action=AuditAction.CREATE, obj=incident, object_repr=incident.number)
            if solved_on_spot:
                incident = _take_step(actor, incident, Step.SOLVE_ON_SPOT, None, {"result": result}, stored)
    except IntegrityError:
        # The same key sent twice at once: the other request created it.
        existing = report_for_client_key(actor, client_key)
        if existing is None:
            raise
        return existing, False
    return incident, True


# Cases of these kinds hold criminal-record data about the people involved (DOMAIN.md,
# "Privacy"): every opening of one is an audit row.
SENSITIVE_KINDS = (CategoryKind.CRIMINAL, CategoryKind.PUBLIC_ORDER)


def incident_opened(*, actor, incident: Incident, attachment: IncidentAttachment | None = None) -> None:
    """Record that ``actor`` opened a case (its page, its API detail, or one of its files),
    if the case is sensitive."""
    if incident.category.kind in SENSITIVE_KINDS:
        changes = {"kind": incident.category.kind}
        if attachment is not None:
            changes["attachment"] = attachment.pk
        audit_record(
            actor=actor,
            action=AuditAction.READ_SENSITIVE,
            obj=incident,
            object_repr=incident.number,
            changes=changes,
        )


# --- the steps ---------------------------------------------------------------------------


def _lock(incident: Incident) -> Incident:
    # Lock the row alone, then read it with its relations. After waiting for another
    # step's lock PostgreSQL re-reads only the locked row: a department or handler joined
    # in the locking statement would be the one from before that step (and a changed
    # foreign key can make the row vanish from the join).
    Incident.objects.select_for_update().filter(pk=incident.pk).values_list("pk", flat=True).get()
    return Incident.objects.select_related("grid__parent", "category", "department", "handler", "reporter").get(pk=incident.pk)


def _refuse(incident: Incident, step: str, version) -> None:
    rule = STEP_RULES[step]
    if version is not None and int(version) != incident.version:
        raise Conflict(
            _("事件 %(number)s 已被他人办理（现为“%(status)s”），请刷新后再操作。")
            % {"number": incident.number, "status": incident.get_status_display()},
            "changed",
        )
    if incident.status not in rule.sources or not step_applies(incident, step):
        raise Conflict(
            _("事件 %(number)s 当前为“%(status)s”，不能%(step)s。")
            % {"number": incident.number, "status": incident.get_status_display(), "step": Step(step).label},
            "illegal_step",
        )


def _required_text(payload: dict, key: str, message: str) -> str:
    value = (payload.get(key) or "").strip()
    if not value:
        raise ValidationError({key: message})
    return value


def _take_step(actor, incident: Incident, step: str, version, payload: dict, stored: StoredFiles) -> Incident:
    """Inside a transaction: lock, check and apply one step."""
    uploads = list(payload.get("uploads") or ())
    staged = _stage_uploads(uploads, _check_uploads(uploads), actor, step, stored) if uploads else []
    case = _lock(incident)
    if not may_take(actor, case, step):
        raise PermissionDenied(_("您不能对事件 %(number)s 执行“%(step)s”。") % {"number": case.number, "step": Step(step).label})
    _refuse(case, step, version)
    now = timezone.now()
    rule = STEP_RULES[step]
    waited_for = case.due_at
    late = bool(rule.meets_deadline and waited_for is not None and now > waited_for)
    from_status = case.status
    note, details = APPLY[step](actor, case, payload, now)
    if rule.target is not None:
        case.status = rule.target
    case.version += 1
    case.late = case.late or late
    case.save()
    _attach(case, staged)
    IncidentTransition.objects.create(
        incident=case,
        step=step,
        from_status=from_status,
        to_status=case.status,
        actor=actor,
        at=now,
        note=note,
        due_at=waited_for if rule.meets_deadline else None,
        late=late,
        details=details,
    )
    return case


def _apply_file(actor, case, payload, now):
    urgency = payload.get("urgency") or case.urgency
    if urgency not in Urgency.values:
        raise ValidationError({"urgency": _("紧急程度“%(value)s”无效。") % {"value": urgency}})
    case.urgency = urgency
    case.dispatch_due_at = _waiting_deadline(case.category, urgency, Step.DISPATCH, now)
    case.due_at = case.dispatch_due_at
    return (payload.get("note") or "").strip(), {"urgency": urgency}


def _apply_cancel(actor, case, payload, now):
    reason = _required_text(payload, "reason", _("注销须说明理由。"))
    case.due_at = None
    return reason, {}


def _dispatch_target(case, payload) -> tuple[Department | None, object]:
    department, handler = payload.get("department"), payload.get("handler")
    if department is None and handler is None:
        raise ValidationError({"department": _("请选择承办单位或承办人。")})
    if department is not None and not department.is_active:
        raise ValidationError({"department": _("承办单位“%(name)s”已停用。") % {"name": department.name}})
    if handler is not None:
        if not handler.is_active:
            raise ValidationError({"handler": _("承办人“%(name)s”的账号已停用。") % {"name": handler}})
        if department is not None and department.pk not in user_department_ids(handler):
            raise ValidationError(
                {"handler": _("承办人“%(name)s”不是“%(department)s”的人员。") % {"name": handler, "department": department.name}}
            )
        if department is None and not scope_predicate(handler, Incident, VIEW)(case.grid) and not user_department_ids(handler):
            raise ValidationError({"handler": _("承办人“%(name)s”不负责该事件所在网格。") % {"name": handler}})
    return department, handler


def _apply_dispatch(actor, case, payload, now):
    department, handler = _dispatch_target(case, payload)
    case.department, case.handler = department, handler
    case.dispatched_at = now
    # The clock starts: the handling limit counts from the dispatch.
    case.handle_due_at = _deadline(now, case.category.handle_minutes)
    case.due_at = case.handle_due_at
    details = {"department": department.name if department else "", "handler": str(handler) if handler else ""}
    return (payload.get("note") or "").strip(), details


def _apply_start(actor, case, payload, now):
    if case.handler_id is None:
        case.handler = actor
    return (payload.get("note") or "").strip(), {}


def _apply_return(actor, case, payload, now):
    reason = _required_text(payload, "reason", _("退回须说明理由（例如不属于本单位职责）。"))
    details = {"department": case.department.name if case.department_id else "", "handler": str(case.handler or "")}
    case.department, case.handler = None, None
    case.dispatch_due_at = _waiting_deadline(case.category, case.urgency, Step.DISPATCH, now)
    case.due_at = case.dispatch_due_at
    return reason, details


def _apply_report_back(actor, case, payload, now):
    case.result = _required_text(payload, "result", _("请填写处置结果。"))
    if case.handler_id is None:
        case.handler = actor
    minutes = case.category.check_minutes_rural if _area_type(case.grid) == AreaType.RURAL else case.category.check_minutes_urban
    case.check_due_at = _deadline(now, minutes)
    case.due_at = case.check_due_at
    return case.result, {}


def _apply_check(actor, case, payload, now):
    case.check_result = (payload.get("note") or "").strip() or _("核查属实，同意结案。")
    case.closed_at = now
    case.due_at = None
    return case.check_result, {}


def _apply_rework(actor, case, payload, now):
    case.check_result = _required_text(payload, "reason", _("返工须说明核查发现的问题。"))
    case.handle_due_at = _deadline(now, case.category.handle_minutes)
    case.due_at = case.handle_due_at
    return case.check_result, {}


def _apply_park(actor, case, payload, now):
    explanation = _required_text(payload, "reason", _("挂账须书面说明无法办结的原因。"))
    overdue = case.handle_due_at is not None and now > case.handle_due_at
    if case.status != Status.RETURNED and case.extensions == 0 and not overdue:
        raise ValidationError({"reason": _("事件尚在处置时限内且未延期，不能挂账；请先延期。")})
    case.due_at = None
    return explanation, {}


def _apply_extend(actor, case, payload, now):
    reason = _required_text(payload, "reason", _("延期须说明理由。"))
    minutes = payload.get("minutes")
    try:
        minutes = case.category.handle_minutes if minutes in (None, "") else int(minutes)
    except (TypeError, ValueError):
        minutes = 0
    if not 0 < minutes <= MAX_EXTENSION_MINUTES:
        raise ValidationError({"minutes": _("延期时长应为 1 到 %(max)d 个工作分钟。") % {"max": MAX_EXTENSION_MINUTES}})
    start = max(case.handle_due_at or now, now)
    case.handle_due_at = _deadline(start, minutes)
    case.due_at = case.handle_due_at
    case.extensions += 1
    return reason, {"minutes": minutes, "until": case.handle_due_at.isoformat()}


def _apply_evaluate(actor, case, payload, now):
    try:
        satisfaction = int(payload.get("satisfaction"))
    except (TypeError, ValueError):
        satisfaction = 0
    if not 1 <= satisfaction <= 5:
        raise ValidationError({"satisfaction": _("满意度应为 1 到 5 分。")})
    case.satisfaction = satisfaction
    case.evaluation = (payload.get("note") or "").strip()
    return case.evaluation, {"satisfaction": satisfaction}


def _apply_solve_on_spot(actor, case, payload, now):
    case.result = _required_text(payload, "result", _("就地解决须填写处理结果。"))
    case.handler = actor
    case.closed_at = now
    case.due_at = None
    return case.result, {}


def _apply_clear(actor, case, payload, now):
    cleared_on = payload.get("cleared_on") or timezone.localdate()
    if cleared_on > timezone.localdate():
        raise ValidationError({"cleared_on": _("破案日期不能晚于今天。")})
    if cleared_on < timezone.localtime(case.occurred_at).date():
        raise ValidationError({"cleared_on": _("破案日期不能早于发案日期。")})
    case.cleared, case.cleared_on = True, cleared_on
    return (payload.get("note") or "").strip(), {"cleared_on": cleared_on.isoformat()}


def _apply_transfer(actor, case, payload, now):
    receiver = dispute_receiver()
    if receiver is None:
        raise Conflict(_("矛盾纠纷模块尚未启用，暂不能转为纠纷。"), "not_available")
    case.dispute_number = receiver(actor, case)
    case.due_at = None
    return (payload.get("note") or "").strip(), {"dispute": case.dispute_number}


APPLY = {
    Step.FILE: _apply_file,
    Step.CANCEL: _apply_cancel,
    Step.DISPATCH: _apply_dispatch,
    Step.START: _apply_start,
    Step.RETURN: _apply_return,
    Step.REPORT_BACK: _apply_report_back,
    Step.CHECK: _apply_check,
    Step.REWORK: _apply_rework,
    Step.PARK: _apply_park,
    Step.EXTEND: _apply_extend,
    Step.EVALUATE: _apply_evaluate,
    Step.SOLVE_ON_SPOT: _apply_solve_on_spot,
    Step.CLEAR: _apply_clear,
    Step.TRANSFER: _apply_transfer,
}


def incident_step(*, actor, incident: Incident, step: str, version: int | None = None, **payload) -> Incident:
    """Take one step of the loop on ``incident``.

    ``version`` is the case version the actor saw; when given and the case moved on since,
    the step is refused as a conflict. Payload by step: ``note``; ``reason`` (cancel,
    return, rework, park, extend); ``department``/``handler`` (dispatch); ``result``
    (report back, solve on the spot); ``satisfaction`` (evaluate); ``minutes`` (extend);
    ``urgency`` (file); ``cleared_on`` (clear); ``uploads`` (photos of the work done).
    """
    if step not in APPLY:
        raise Conflict(_("未知的办理环节“%(step)s”。") % {"step": step}, "illegal_step")
    with _write() as stored:
        return _take_step(actor, incident, step, version, payload, stored)


@dataclass
class BulkResult:
    done: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (number, message)


def incident_bulk_dispatch(*, actor, incidents, department=None, handler=None, note: str = "") -> BulkResult:
    """Dispatch several cases to one department or person; each case succeeds or is
    refused on its own (a case another staff member dispatched meanwhile is reported, not
    fatal to the rest)."""
    result = BulkResult()
    for incident in incidents:
        try:
            done = incident_step(
                actor=actor, incident=incident, step=Step.DISPATCH, department=department, handler=handler, note=note
            )
        except (Conflict, PermissionDenied) as refusal:
            result.refused.append((incident.number, str(refusal)))
        except ValidationError as error:
            result.refused.append((incident.number, "；".join(error.messages)))
        else:
            result.done.append(done)
    return result


def department_members_changed(*, actor, department: Department, before: set[int]) -> None:
    """Audit who joined and who left ``department`` (its members handle its cases)."""
    audit_members_changed(actor=actor, obj=department, before=before, department=department.code)


def department_for(category: Category) -> Department | None:
    """The category's default department, or its major category's."""
    if category.department_id:
        return category.department
    if category.parent_id:
        return Department.objects.filter(pk=category.parent.department_id).first()
    return None

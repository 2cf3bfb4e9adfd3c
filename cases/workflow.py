"""The steps of the incident loop: from which states each may be taken, into which state
it leads, and who may take it (DOMAIN.md, "Incident loop").

Who:
- the centre (``change`` on incidents where the case lies): file, cancel, dispatch, park,
  extend, mark cleared, turn into a dispute;
- the handler (the person dispatched to, or a member of the department): sign for it,
  return it, report back;
- the checker (the reporter, or a grid worker with ``check`` where the case lies): check
  and close, or send back for rework; the reporter alone closes a matter solved on the spot;
- evaluation: the centre or the checker.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Incident, Status, user_department_ids
from kaili.scope import CHANGE, scope_predicate

CHECK = "check"


class Step(models.TextChoices):
    REPORT = "report", _("上报")
    FILE = "file", _("立案")
    CANCEL = "cancel", _("注销")
    DISPATCH = "dispatch", _("派遣")
    START = "start", _("签收")
    RETURN = "return", _("退回")
    REPORT_BACK = "report_back", _("反馈")
    CHECK = "check", _("核查结案")
    REWORK = "rework", _("返工")
    PARK = "park", _("挂账")
    EXTEND = "extend", _("延期")
    EVALUATE = "evaluate", _("评价")
    SOLVE_ON_SPOT = "solve_on_spot", _("就地解决")
    CLEAR = "clear", _("破案")
    TRANSFER = "transfer", _("转为矛盾纠纷")


CENTRE, HANDLER, CHECKER, REPORTER, CENTRE_OR_CHECKER = "centre", "handler", "checker", "reporter", "centre_or_checker"


@dataclass(frozen=True)
class StepRule:
    sources: tuple[str, ...]
    target: str | None  # None: the state does not change
    actor: str
    # whether taking the step ends the wait the current deadline measures
    meets_deadline: bool = True


STEP_RULES: dict[str, StepRule] = {
    Step.FILE: StepRule((Status.REPORTED,), Status.FILED, CENTRE),
    Step.CANCEL: StepRule((Status.REPORTED, Status.FILED, Status.RETURNED), Status.CANCELLED, CENTRE),
    Step.DISPATCH: StepRule((Status.FILED, Status.RETURNED, Status.PARKED), Status.DISPATCHED, CENTRE),
    Step.START: StepRule((Status.DISPATCHED,), Status.HANDLING, HANDLER, meets_deadline=False),
    Step.RETURN: StepRule((Status.DISPATCHED, Status.HANDLING), Status.RETURNED, HANDLER),
    Step.REPORT_BACK: StepRule((Status.DISPATCHED, Status.HANDLING), Status.REPORTED_BACK, HANDLER),
    Step.CHECK: StepRule((Status.REPORTED_BACK,), Status.CLOSED, CHECKER),
    Step.REWORK: StepRule((Status.REPORTED_BACK,), Status.HANDLING, CHECKER),
    Step.PARK: StepRule((Status.DISPATCHED, Status.HANDLING, Status.RETURNED), Status.PARKED, CENTRE),
    Step.EXTEND: StepRule((Status.DISPATCHED, Status.HANDLING), None, CENTRE, meets_deadline=False),
    Step.EVALUATE: StepRule((Status.CLOSED,), Status.EVALUATED, CENTRE_OR_CHECKER, meets_deadline=False),
    Step.SOLVE_ON_SPOT: StepRule((Status.REPORTED,), Status.CLOSED, REPORTER),
    Step.CLEAR: StepRule(tuple(s for s in Status.values if s not in (Status.CANCELLED, Status.TRANSFERRED)), None, CENTRE, False),
    Step.TRANSFER: StepRule((Status.REPORTED, Status.FILED, Status.RETURNED), Status.TRANSFERRED, CENTRE),
}


def is_handler(user, incident: Incident) -> bool:
    return incident.handler_id == user.pk or (
        incident.department_id is not None and incident.department_id in user_department_ids(user)
    )


def is_centre(user, incident: Incident) -> bool:
    """``incident.grid`` must be loaded with its MPTT columns."""
    return scope_predicate(user, Incident, CHANGE)(incident.grid)


def is_checker(user, incident: Incident) -> bool:
    """The reporter re-checks on site; a grid worker of the case's grid stands in for a
    reporter who is not one (a walk-in or phone report). Never whoever did the work."""
    if incident.handler_id == user.pk:
        return False
    return incident.reporter_id == user.pk or scope_predicate(user, Incident, CHECK)(incident.grid)


def may_take(user, incident: Incident, step: str) -> bool:
    """Whether ``user`` is someone who takes ``step`` on this case (not whether its state
    allows the step now)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    actor = STEP_RULES[step].actor
    if actor == CENTRE:
        return is_centre(user, incident)
    if actor == HANDLER:
        return is_handler(user, incident)
    if actor == CHECKER:
        return is_checker(user, incident)
    if actor == REPORTER:
        return incident.reporter_id == user.pk
    return is_centre(user, incident) or is_checker(user, incident)


def available_steps(user, incident: Incident) -> list[str]:
    """The steps ``user`` may take on the case as it stands (for buttons and the API)."""
    return [
        step
        for step, rule in STEP_RULES.items()
        if incident.status in rule.sources and may_take(user, incident, step) and step_applies(incident, step)
    ]


def step_applies(incident: Incident, step: str) -> bool:
    """Steps that only some cases have: clearing a criminal case, turning a dispute into a
    dispute record."""
    from cases.hooks import dispute_receiver
    from cases.models import CategoryKind

    if step == Step.CLEAR:
        return incident.category.kind == CategoryKind.CRIMINAL and not incident.cleared
    if step == Step.TRANSFER:
        return dispute_receiver() is not None and (
            incident.category.dispute_related or incident.category.kind == CategoryKind.DISPUTE
        )
    return True

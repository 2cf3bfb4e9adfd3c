"""The steps of the "132" mediation flow: from which states each may be taken, into which
state it leads, and who may take it (DOMAIN.md, "Disputes", "Mediation time limits").

registered → triage / route (the centre picks line, tier, body, mediators, deadline) →
mediating (sessions) → agreement → (optional) judicial confirmation → follow-up 回访 →
closed resolved; or a failed tier → escalate to the next tier (after a line's third tier,
the next line's first), or closed unresolved with the parties told of other routes; or
withdrawn.

Who:
- the centre (``change`` on disputes where the dispute lies): every step but the court's
  own ruling, which it may still record from the court's paper;
- the mediators assigned to the dispute, and the members of the body it was routed to:
  sessions, escalation, agreement, confirmation application, follow-up, close, withdraw,
  extension;
- a follow-up visit also by a grid worker or mediator who mediates where the dispute lies;
- a court account: the ruling on a confirmation asked of its court, and the extension of
  a mediation its court entrusted.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from disputes.models import Dispute, LineKind, Status, Tier, user_court_ids
from kaili.scope import CHANGE, scope_predicate

MEDIATE = "mediate"


class Step(models.TextChoices):
    REGISTER = "register", _("登记")
    ENTRUST = "entrust", _("法院委派/委托")
    TRIAGE = "triage", _("研判分流")
    ROUTE = "route", _("指派调解")
    RECORD_SESSION = "record_session", _("记录调解")
    ESCALATE = "escalate", _("升级调解")
    EXTEND = "extend", _("延长调解期限")
    RECORD_AGREEMENT = "record_agreement", _("记录调解协议")
    APPLY_CONFIRMATION = "apply_confirmation", _("申请司法确认")
    RECORD_RULING = "record_ruling", _("记录法院裁定")
    FOLLOW_UP = "follow_up", _("回访")
    CLOSE = "close", _("结案")
    WITHDRAW = "withdraw", _("撤回")


CENTRE, MEDIATOR, FOLLOWER, COURT, EXTENDER = "centre", "mediator", "follower", "court", "extender"


@dataclass(frozen=True)
class StepRule:
    sources: tuple[str, ...]
    # None: the state does not change, or depends on what the step records
    target: str | None
    actor: str
    # whether taking the step ends the wait the current deadline measures
    meets_deadline: bool = True


STEP_RULES: dict[str, StepRule] = {
    Step.TRIAGE: StepRule((Status.REGISTERED,), Status.MEDIATING, CENTRE),
    Step.ROUTE: StepRule((Status.REGISTERED, Status.MEDIATING, Status.FAILED), Status.MEDIATING, CENTRE),
    Step.RECORD_SESSION: StepRule((Status.MEDIATING,), None, MEDIATOR, meets_deadline=False),
    Step.ESCALATE: StepRule((Status.MEDIATING, Status.FAILED), Status.MEDIATING, MEDIATOR),
    Step.EXTEND: StepRule((Status.MEDIATING, Status.FAILED), None, EXTENDER, meets_deadline=False),
    Step.RECORD_AGREEMENT: StepRule((Status.MEDIATING,), Status.AGREED, MEDIATOR),
    Step.APPLY_CONFIRMATION: StepRule((Status.AGREED,), Status.CONFIRMING, MEDIATOR, meets_deadline=False),
    # the court's own limits are kept on the confirmation (JudicialConfirmation.late): a
    # late court does not make the mediation late
    Step.RECORD_RULING: StepRule((Status.CONFIRMING,), None, COURT, meets_deadline=False),
    Step.FOLLOW_UP: StepRule((Status.AGREED,), None, FOLLOWER),
    Step.CLOSE: StepRule((Status.AGREED, Status.MEDIATING, Status.FAILED), None, MEDIATOR),
    Step.WITHDRAW: StepRule((Status.REGISTERED, Status.MEDIATING, Status.FAILED), Status.WITHDRAWN, MEDIATOR),
}

# Only agreements reached in people's or administrative mediation go to a court for
# confirmation; a judicial-line settlement is the court's own.
CONFIRMABLE_LINES = (LineKind.PEOPLE, LineKind.ADMINISTRATIVE)


def is_centre(user, dispute: Dispute) -> bool:
    """``dispute.grid`` must be loaded with its MPTT columns."""
    return scope_predicate(user, Dispute, CHANGE)(dispute.grid)


def mediator_ids(dispute: Dispute) -> set[int]:
    cached = getattr(dispute, "_mediator_ids", None)
    if cached is None:
        cached = {user.pk for user in dispute.mediators.all()}
        dispute._mediator_ids = cached
    return cached


def is_mediator(user, dispute: Dispute) -> bool:
    if user.pk in mediator_ids(dispute):
        return True
    return user.pk in body_member_ids(dispute)


def body_member_ids(dispute: Dispute) -> set[int]:
    """The members of the active body the dispute is routed to; one query per dispute
    however many steps are asked about."""
    cached = getattr(dispute, "_body_member_ids", None)
    if cached is None:
        cached = set()
        if dispute.body_id is not None and dispute.body.is_active:
            cached = set(dispute.body.members.values_list("pk", flat=True))
        dispute._body_member_ids = cached
    return cached


def is_court(user, dispute: Dispute) -> bool:
    courts = user_court_ids(user)
    if not courts:
        return False
    from disputes.models import JudicialConfirmation, Ruling

    return JudicialConfirmation.objects.filter(
        agreement__dispute=dispute, agreement__superseded=False, court_id__in=courts, result=Ruling.PENDING
    ).exists()


def is_entrusting_court(user, dispute: Dispute) -> bool:
    courts = user_court_ids(user)
    entrusted = getattr(dispute, "entrusted", None)
    return bool(courts) and entrusted is not None and entrusted.court_id in courts


def may_take(user, dispute: Dispute, step: str) -> bool:
    """Whether ``user`` is someone who takes ``step`` on this dispute (not whether its
    state allows the step now)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    actor = STEP_RULES[step].actor
    if is_centre(user, dispute):
        return True
    if actor == MEDIATOR:
        return is_mediator(user, dispute)
    if actor == FOLLOWER:
        return is_mediator(user, dispute) or scope_predicate(user, Dispute, MEDIATE)(dispute.grid)
    if actor == COURT:
        return is_court(user, dispute)
    if actor == EXTENDER:
        return is_mediator(user, dispute) or is_entrusting_court(user, dispute)
    return False


def step_applies(dispute: Dispute, step: str) -> bool:
    """Steps that only some disputes have."""
    if step == Step.APPLY_CONFIRMATION:
        agreement = getattr(dispute, "agreement", None)
        return (
            agreement is not None
            and not agreement.enforceable
            and agreement.tier is not None
            and agreement.tier.line.kind in CONFIRMABLE_LINES
        )
    if step == Step.ESCALATE:
        return dispute.tier_id is not None and next_tier(dispute.tier) is not None
    return True


def next_tier(tier: Tier) -> Tier | None:
    """The tier a failed mediation climbs to: the next rung of the line, and after a
    line's third tier the first of the next line; None after the last."""
    return Tier.objects.select_related("line").filter(rank__gt=tier.rank).order_by("rank").first()


def available_steps(user, dispute: Dispute) -> list[str]:
    """The steps ``user`` may take on the dispute as it stands (for buttons and the API)."""
    return [
        step
        for step, rule in STEP_RULES.items()
        if dispute.status in rule.sources and step_applies(dispute, step) and may_take(user, dispute, step)
    ]

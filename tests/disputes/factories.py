"""Disputes for tests, made and moved through the real services."""

import datetime

from django.utils import timezone

from disputes.models import Court, DisputeCategory, MediationBody, Status, Tier
from disputes.services import Party, dispute_register, dispute_step
from disputes.workflow import Step

NEIGHBOUR = "02"
MEDICAL = "10"
# Tier ranks: line order * 10 + level (people's 11-13, administrative 21-23, judicial 31-33).
VILLAGE_COMMITTEE = 12


def category(code: str = NEIGHBOUR) -> DisputeCategory:
    return DisputeCategory.objects.get(code=code)


def tier(rank: int = VILLAGE_COMMITTEE) -> Tier:
    return Tier.objects.select_related("line").get(rank=rank)


def court(code: str = "kaili") -> Court:
    return Court.objects.get(code=code)


def make_body(name: str = "测试村调解委员会", rank: int = VILLAGE_COMMITTEE, members=(), node=None, kind="committee"):
    level = tier(rank)
    body, _created = MediationBody.objects.get_or_create(
        name=name, defaults={"kind": kind, "line": level.line, "tier": level, "node": node}
    )
    body.members.add(*members)
    return body


def register(actor, grid, code: str = NEIGHBOUR, parties=None, **fields):
    fields.setdefault("name", "张李两家排水沟纠纷")
    fields.setdefault("summary", "两家因排水沟堵塞互相指责，多次争吵。")
    fields.setdefault("occurred_on", timezone.localdate() - datetime.timedelta(days=2))
    if parties is None:
        parties = [Party(role="applicant", name="张三"), Party(role="respondent", name="李四")]
    dispute, _created = dispute_register(actor=actor, category=category(code), grid=grid, parties=parties, **fields)
    return dispute


def step(actor, dispute, name, **payload):
    return dispute_step(actor=actor, dispute=dispute, step=name, **payload)


def triage(centre, dispute, mediator, rank: int = VILLAGE_COMMITTEE, **payload):
    return step(centre, dispute, Step.TRIAGE, tier=tier(rank), mediators=[mediator], **payload)


def agree(centre, dispute, mediator, form="oral", **payload):
    """Registered → triaged to the village committee → an agreement (oral, today)."""
    if dispute.status == Status.REGISTERED:
        dispute = triage(centre, dispute, mediator)
    payload.setdefault("terms", "张家三日内清理排水沟，李家不再阻拦。")
    if form == "written":
        payload.setdefault("parties_signed", "张三、李四")
        payload.setdefault("mediator_signed", str(mediator))
        payload.setdefault("sealed_on", timezone.localdate())
    return step(mediator, dispute, Step.RECORD_AGREEMENT, form=form, **payload)

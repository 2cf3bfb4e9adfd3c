"""Read paths for disputes: scoped lists, counts, worklists, the dispute page."""

import datetime

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from disputes.models import (
    OPEN_STATUSES,
    Agreement,
    Court,
    Dispute,
    DisputeCategory,
    DisputeParty,
    DisputeScale,
    DisputeTransition,
    EntrustedMediation,
    JudicialConfirmation,
    MediationBody,
    MediationSession,
    Status,
    Tier,
    user_court_ids,
)
from kaili.scope import VIEW
from kaili.selectors import status_counts as counts_per_status

LIST_RELATED = ("category", "scale", "grid", "line", "tier__line", "body", "registered_by")
# Reminders: a dispute whose deadline falls within this many days is flagged "due soon".
DUE_SOON_DAYS = 3


def disputes_for(user, action: str = VIEW):
    """The disputes ``user`` may do ``action`` on, with what a list row shows."""
    return Dispute.objects.restrict(user, action).select_related(*LIST_RELATED)


def mediator_worklist(user):
    """Open disputes ``user`` mediates (assigned, or routed to a body they belong to),
    soonest deadline first."""
    bodies = MediationBody.objects.filter(members=user).values("pk")
    return (
        Dispute.objects.filter(Q(mediators=user) | Q(body__in=bodies))
        .filter(status__in=OPEN_STATUSES)
        .distinct()
        .select_related(*LIST_RELATED)
        .order_by("due_on", "registered_at")
    )


def registration_for_client_key(user, client_key) -> Dispute | None:
    """The dispute ``user`` already registered with this client key (a phone that lost
    the answer and sent it again), or None."""
    if client_key in (None, "") or user is None:
        return None
    return Dispute.objects.filter(registered_by=user, client_key=client_key).first()


def my_registrations(user):
    return Dispute.objects.filter(registered_by=user).select_related(*LIST_RELATED)


def court_entrusted(user):
    """The mediations entrusted by the courts whose accounts ``user`` holds."""
    return (
        EntrustedMediation.objects.filter(court_id__in=user_court_ids(user))
        .select_related("court", "body", "dispute", "dispute__tier__line", "dispute__grid")
        .order_by("-received_on", "-id")
    )


def court_confirmations(user):
    """Judicial confirmations asked of the courts whose accounts ``user`` holds."""
    return (
        JudicialConfirmation.objects.filter(court_id__in=user_court_ids(user))
        .select_related("court", "agreement__dispute")
        .order_by("-applied_on", "-id")
    )


def due_flag(dispute: Dispute, today: datetime.date | None = None) -> str:
    """'overdue', 'due_soon' or '' for an open dispute's current deadline."""
    today = today or timezone.localdate()
    if not dispute.is_open or dispute.due_on is None:
        return ""
    if dispute.due_on < today:
        return "overdue"
    if dispute.due_on <= today + datetime.timedelta(days=DUE_SOON_DAYS):
        return "due_soon"
    return ""


def status_counts(queryset) -> dict[str, int]:
    """status -> count over ``queryset`` (one query), every status present, plus
    ``overdue`` (open disputes past their current deadline) and ``total``."""
    return counts_per_status(queryset, Status, OPEN_STATUSES, Q(due_on__lt=timezone.localdate()))


def supervision_table(queryset):
    """Open disputes by tier (line and rung) with their age and deadline state, one
    query: rows of tier id, count, overdue, due soon, and age buckets in days."""
    today = timezone.localdate()
    soon = today + datetime.timedelta(days=DUE_SOON_DAYS)

    def older(days):
        return Q(registered_at__lt=timezone.now() - datetime.timedelta(days=days))

    return (
        queryset.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values("tier_id")
        .annotate(
            total=Count("id"),
            overdue=Count("id", filter=Q(due_on__lt=today)),
            due_soon=Count("id", filter=Q(due_on__gte=today, due_on__lte=soon)),
            over_30=Count("id", filter=older(30)),
            over_90=Count("id", filter=older(90)),
        )
    )


def dispute_detail(queryset, number: str) -> Dispute | None:
    """One dispute from an already scoped ``queryset``, with its parties, mediators,
    sessions, agreements (with follow-ups and confirmations), entrustment and timeline."""
    return (
        queryset.select_related(*LIST_RELATED, "incident", "entrusted__court", "entrusted__body")
        .prefetch_related(
            "mediators",
            Prefetch("parties", queryset=DisputeParty.objects.select_related("person")),
            Prefetch("sessions", queryset=MediationSession.objects.select_related("tier__line").prefetch_related("mediators")),
            Prefetch(
                "agreements",
                queryset=Agreement.objects.select_related("tier__line", "body").prefetch_related(
                    "follow_ups__visited_by",
                    Prefetch("confirmations", queryset=JudicialConfirmation.objects.select_related("court")),
                ),
            ),
            Prefetch("transitions", queryset=DisputeTransition.objects.select_related("actor", "tier__line")),
        )
        .filter(number=number)
        .first()
    )


def category_choices():
    return DisputeCategory.objects.filter(is_active=True).order_by("sort", "code")


def scale_choices():
    return DisputeScale.objects.filter(is_active=True).order_by("sort", "code")


def tier_choices():
    return Tier.objects.select_related("line").order_by("rank")


def body_choices():
    return MediationBody.objects.filter(is_active=True).select_related("line", "tier").order_by("line__order", "name")


def court_choices():
    return Court.objects.filter(is_active=True).order_by("code")


def mediates_anything(user) -> bool:
    """Members of a mediation body and assigned mediators may hold no role at all."""
    cached = getattr(user, "_kaili_mediates", None)
    if cached is None:
        cached = (
            MediationBody.members.through.objects.filter(user_id=user.pk, mediationbody__is_active=True).exists()
            or Dispute.mediators.through.objects.filter(user_id=user.pk).exists()
        )
        user._kaili_mediates = cached
    return cached

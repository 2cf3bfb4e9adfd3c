"""The dispute measures the dashboard rolls up (DOMAIN.md, "Disputes" and "The dashboard"):
disputes accepted, resolved and the resolution rate 化解率, disputes passed upward 矛盾上交,
disputes closed on time, and the two levers: judicial confirmations asked and granted,
cases entrusted by courts and what came of them.

Every measure counts over a period ``[start, end)`` of local dates, on a dispute queryset
already scoped (``Dispute.objects.restrict``) or filtered to a node. Each table is read
once, with conditional aggregates: three queries for a whole area, and three (plus the
children) for an area split by its child nodes.
"""

import datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from disputes.models import Dispute, EntrustedMediation, EntrustedResult, JudicialConfirmation, Ruling, Status
from grids.models import Grid
from kaili.scope import NodeRange, scope_filter

# The paths from each counted table to the dispute it belongs to.
CONFIRMATION_DISPUTE = "agreement__dispute"
ENTRUSTED_DISPUTE = "dispute"


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to measure (not 0%)."""
    return part / whole if whole else None


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _in_period(field: str, start, end) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _dispute_counts(start: datetime.date, end: datetime.date) -> tuple[Q, dict]:
    registered = _in_period("registered_at", _local_midnight(start), _local_midnight(end))
    closed = _in_period("closed_at", _local_midnight(start), _local_midnight(end))
    # only the disputes the period touches are read, through the two dated indexes
    return registered | closed, {
        "accepted": Count("pk", filter=registered),
        "resolved": Count("pk", filter=registered & Q(status=Status.RESOLVED)),
        "passed_upward": Count("pk", filter=registered & Q(passed_upward=True)),
        "closed": Count("pk", filter=closed),
        "closed_on_time": Count("pk", filter=closed & Q(late=False)),
    }


def _confirmation_counts(start, end) -> tuple[Q, dict]:
    applied = _in_period("applied_on", start, end)
    granted = _in_period("ruled_on", start, end) & Q(result=Ruling.CONFIRMED)
    return applied | granted, {
        "confirmations_applied": Count("pk", filter=applied),
        "confirmations_granted": Count("pk", filter=granted),
    }


def _entrusted_counts(start, end) -> tuple[Q, dict]:
    return _in_period("received_on", start, end), {
        "entrusted": Count("pk"),
        **{f"entrusted_{result}": Count("pk", filter=Q(result=result)) for result in EntrustedResult.values},
    }


def _measures(disputes: dict, confirmations: dict, entrusted: dict) -> dict:
    accepted, resolved = disputes.get("accepted", 0), disputes.get("resolved", 0)
    closed, on_time = disputes.get("closed", 0), disputes.get("closed_on_time", 0)
    return {
        "accepted": accepted,
        "resolved": resolved,
        "resolution_rate": rate(resolved, accepted),
        "passed_upward": disputes.get("passed_upward", 0),
        "closed": closed,
        "closed_on_time": on_time,
        "on_time_rate": rate(on_time, closed),
        "confirmations_applied": confirmations.get("confirmations_applied", 0),
        "confirmations_granted": confirmations.get("confirmations_granted", 0),
        "entrusted": entrusted.get("entrusted", 0),
        "entrusted_results": {result: entrusted.get(f"entrusted_{result}", 0) for result in EntrustedResult.values},
    }


def dispute_measures(queryset: QuerySet, start: datetime.date, end: datetime.date) -> dict:
    """The measures of the disputes in ``queryset`` over ``[start, end)``:

    - ``accepted``: registered in the period; ``resolved``: of those, resolved;
      ``resolution_rate`` 化解率 = resolved / accepted (None when none were accepted);
    - ``passed_upward`` 矛盾上交: accepted in the period and escalated out of the
      village's people's mediation;
    - ``closed`` in the period, ``closed_on_time`` of those never late, ``on_time_rate``;
    - ``confirmations_applied`` (applied in the period), ``confirmations_granted``
      (confirmed by a ruling in the period);
    - ``entrusted`` (received from a court in the period) and ``entrusted_results``:
      result -> count among them.
    """
    condition, counts = _dispute_counts(start, end)
    disputes = queryset.filter(condition).order_by().aggregate(**counts)
    pks = queryset.order_by().values("pk")
    condition, counts = _confirmation_counts(start, end)
    confirmations = (
        JudicialConfirmation.objects.filter(condition, **{f"{CONFIRMATION_DISPUTE}__in": pks}).order_by().aggregate(**counts)
    )
    condition, counts = _entrusted_counts(start, end)
    entrusted = EntrustedMediation.objects.filter(condition, **{f"{ENTRUSTED_DISPUTE}__in": pks}).order_by().aggregate(**counts)
    return _measures(disputes, confirmations, entrusted)


def _child_of(node: Grid, children: list[Grid], path: str) -> Case:
    """The child of ``node`` whose subtree holds the dispute reached through ``path``
    (its grid's MPTT interval), or ``node`` itself for what lies on the node."""
    prefix = f"{path}__grid__" if path else "grid__"
    return Case(
        *(
            When(
                Q(**{f"{prefix}tree_id": child.tree_id, f"{prefix}lft__gte": child.lft, f"{prefix}lft__lte": child.rght}),
                then=Value(child.pk),
            )
            for child in children
        ),
        default=Value(node.pk),
        output_field=IntegerField(),
    )


def _grouped(queryset: QuerySet, child: Case, counts: dict) -> dict[int, dict]:
    rows = queryset.order_by().annotate(child=child).values("child").annotate(**counts)
    return {row.pop("child"): row for row in rows}


def dispute_measures_by_child(
    node: Grid, start: datetime.date, end: datetime.date, queryset: QuerySet | None = None
) -> dict[Grid, dict]:
    """``dispute_measures`` of the disputes under ``node`` (of ``queryset``, all by
    default), for each child node of ``node`` in code order; what was registered on
    ``node`` itself comes last under ``node``, when there is any."""
    queryset = Dispute.objects.all() if queryset is None else queryset
    children = list(node.get_children().order_by("code"))
    subtree = [NodeRange(node.tree_id, node.lft, node.rght)]
    disputes = queryset.filter(scope_filter(subtree, "grid"))
    pks = disputes.order_by().values("pk")

    condition, counts = _dispute_counts(start, end)
    by_dispute = _grouped(disputes.filter(condition), _child_of(node, children, ""), counts)
    condition, counts = _confirmation_counts(start, end)
    confirmations = JudicialConfirmation.objects.filter(condition, **{f"{CONFIRMATION_DISPUTE}__in": pks})
    by_confirmation = _grouped(confirmations, _child_of(node, children, CONFIRMATION_DISPUTE), counts)
    condition, counts = _entrusted_counts(start, end)
    entrusted = EntrustedMediation.objects.filter(condition, **{f"{ENTRUSTED_DISPUTE}__in": pks})
    by_entrusted = _grouped(entrusted, _child_of(node, children, ENTRUSTED_DISPUTE), counts)

    rows = {}
    for area in [*children, node]:
        if area is node and not any(area.pk in found for found in (by_dispute, by_confirmation, by_entrusted)):
            continue
        rows[area] = _measures(by_dispute.get(area.pk, {}), by_confirmation.get(area.pk, {}), by_entrusted.get(area.pk, {}))
    return rows

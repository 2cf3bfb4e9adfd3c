"""Read paths for incidents: scoped lists, counts, the case page's timeline."""

from django.db.models import Prefetch, Q
from django.utils import timezone

from cases.models import (
    OPEN_STATUSES,
    Category,
    Department,
    Incident,
    IncidentAttachment,
    IncidentPerson,
    IncidentTransition,
    Status,
    user_department_ids,
)
from kaili.scope import VIEW
from kaili.selectors import status_counts as counts_per_status

LIST_RELATED = ("category", "category__parent", "grid", "department", "handler", "reporter")


def incidents_for(user, action: str = VIEW):
    """The incidents ``user`` may do ``action`` on, with what a list row shows."""
    return Incident.objects.restrict(user, action).select_related(*LIST_RELATED)


def report_for_client_key(user, client_key) -> Incident | None:
    """The case ``user`` already reported with this client key (a phone that lost the
    answer and sent the report again), or None."""
    if client_key in (None, ""):
        return None
    return Incident.objects.filter(reporter=user, client_key=client_key).first()


def handles_cases(user) -> bool:
    """Whether ``user`` handles dispatched cases: a member of a department, or a person a
    case was dispatched to (either may hold no role at all)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user_department_ids(user)) or Incident.objects.filter(handler=user).exists()


def my_reports(user):
    return Incident.objects.filter(reporter=user).select_related(*LIST_RELATED)


def department_queue(user):
    """Cases dispatched to the user or to one of their departments and not finished."""
    return (
        Incident.objects.filter(Q(handler=user) | Q(department__in=user_department_ids(user)))
        .filter(status__in=OPEN_STATUSES)
        .select_related(*LIST_RELATED)
    )


def awaiting_check(user):
    """Cases reported back that ``user`` reported and must now check on site."""
    return my_reports(user).filter(status=Status.REPORTED_BACK)


def status_counts(queryset) -> dict[str, int]:
    """status -> count over ``queryset`` (one query), every status present, plus
    ``overdue`` (open cases past their current deadline) and ``total``."""
    return counts_per_status(queryset, Status, OPEN_STATUSES, Q(due_at__lt=timezone.now()))


def incident_detail(queryset, number: str) -> Incident | None:
    """One case from an already scoped ``queryset``, with its people, files and timeline."""
    return (
        queryset.select_related(*LIST_RELATED)
        .prefetch_related(
            Prefetch("people", queryset=IncidentPerson.objects.select_related("person")),
            Prefetch("attachments", queryset=IncidentAttachment.objects.select_related("uploaded_by")),
            Prefetch("transitions", queryset=IncidentTransition.objects.select_related("actor")),
        )
        .filter(number=number)
        .first()
    )


def category_choices():
    """Active minor categories with their major category, ordered for a picker."""
    return (
        Category.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True)
        .select_related("parent")
        .order_by("parent__sort", "parent__code", "sort", "code")
    )


def active_departments():
    return Department.objects.filter(is_active=True).order_by("code")

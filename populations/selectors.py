"""Read paths of the registry and the programmes, all through the grid scope."""

import datetime

from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.utils import timezone

from kaili import roles
from kaili.scope import VIEW, NodeRange, reachable_ranges, role_ranges, scope_filter, scope_predicate
from populations.models import (
    Enrollment,
    EnrollmentStatus,
    Household,
    Person,
    officer_programmes,
)
from populations.schedules import DUE_SOON_DAYS

COUNT = "count"  # populations.count_enrollment: numbers without names


def responsible_condition(user) -> Q:
    """The condition on people for whom ``user`` is responsible staff: on the responsible
    team of one of their active enrollments, or the officer of one of those programmes
    where the person lives (and always within the user's registry scope). Only they see
    identity and phone numbers unmasked."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    active = Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)
    responsible = Q(pk__in=active.filter(team=user).values("person_id"))
    duties = officer_programmes(user)
    if duties:
        officer_scope = scope_filter(role_ranges(user, roles.PROGRAMME_OFFICER), "person__unit")
        responsible |= Q(pk__in=active.filter(officer_scope, programme__in=duties).values("person_id"))
    return responsible & scope_filter(reachable_ranges(user, "populations.view_person"), "unit")


def person_is_responsible(user, person: Person) -> bool:
    return Person.objects.filter(responsible_condition(user), pk=person.pk).exists()


def with_responsibility(queryset, user):
    """Annotate each person with ``responsible`` (may this user see them unmasked)."""
    return queryset.annotate(responsible=ExpressionWrapper(responsible_condition(user), output_field=BooleanField()))


def households_for(user, action: str = VIEW):
    return Household.objects.restrict(user, action).select_related("unit", "head")


def persons_for(user, action: str = VIEW):
    return Person.objects.restrict(user, action).select_related("household", "unit")


def person_search(queryset, query: str):
    """A name fragment, or an exact identity / phone number (through their keyed hashes)."""
    query = (query or "").strip()
    if not query:
        return queryset
    compact = query.replace(" ", "").replace("-", "").upper()
    if len(compact) == 18 and compact[:17].isdigit():
        return queryset.with_identity_number(compact)
    if compact.isdigit() and 10 <= len(compact) <= 12:
        return queryset.with_phone(compact)
    return queryset.filter(name__contains=query)


def enrollments_for(user, action: str = VIEW):
    return Enrollment.objects.restrict(user, action).select_related("person", "person__unit", "person__household")


def visible_enrollments_of(user, person: Person):
    return Enrollment.objects.restrict(user, VIEW).filter(person=person).order_by("status", "-started_on")  # active before exited


def worklist(user, *, today: datetime.date | None = None, within_days: int = DUE_SOON_DAYS):
    """The active enrollments a user may see whose next visit is due within ``within_days``
    or overdue, earliest first."""
    today = today or timezone.localdate()
    return (
        enrollments_for(user)
        .filter(status=EnrollmentStatus.ACTIVE, next_due_on__lte=today + datetime.timedelta(days=within_days))
        .order_by("next_due_on", "pk")
    )


def programme_counts(user, node) -> dict:
    """Counts (no names) of active enrollments per programme under ``node``, and per child
    of ``node``, for leaders: ``{"total": {programme: n}, "children": [(child, {programme: n})]}``."""
    from grids.models import Grid

    if not scope_predicate(user, Enrollment, COUNT)(node):
        return {"total": {}, "children": []}
    active = Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)
    under = scope_filter([NodeRange(node.tree_id, node.lft, node.rght)], "person__unit")
    total = dict(active.filter(under).values_list("programme").annotate(n=Count("pk")).values_list("programme", "n"))
    children = list(Grid.objects.filter(parent=node).order_by("code"))
    per_child = {child.pk: {} for child in children}
    if children:
        # One pass: each enrollment's unit falls in exactly one child's interval.
        bounds = sorted((child.lft, child.rght, child.pk) for child in children)
        rows = active.filter(under).values_list("person__unit__lft", "programme").annotate(n=Count("pk"))
        for lft, programme, n in rows:
            for low, high, pk in bounds:
                if low <= lft <= high:
                    per_child[pk][programme] = per_child[pk].get(programme, 0) + n
                    break
    return {"total": total, "children": [(child, per_child[child.pk]) for child in children]}

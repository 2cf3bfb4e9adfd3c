"""Read paths for accounts, and the counts per status every record queue shows."""

from django.db.models import Count, Q

from kaili.models import User
from kaili.roles import ROLES, role_label


def user_list():
    """Accounts with their roles and grants prefetched (the list serializer reads both)."""
    from django.db.models import Prefetch

    from grids.models import GridUserObjectPermission

    grants = GridUserObjectPermission.objects.filter(permission__codename__startswith="role_")
    return User.objects.prefetch_related(
        "groups",
        Prefetch(
            "griduserobjectpermission_set",
            queryset=grants.select_related("permission", "content_object").order_by("content_object__code"),
        ),
    ).order_by("username")


def user_grants(user: User) -> list[dict]:
    """The user's roles with the codes each is granted on (uses prefetched rows when present)."""
    codes_by_role: dict[str, list[str]] = {}
    for grant in user.griduserobjectpermission_set.all():
        codename = grant.permission.codename
        if codename.startswith("role_"):
            codes_by_role.setdefault(codename.removeprefix("role_"), []).append(grant.content_object.code)
    held = sorted((group.name for group in user.groups.all() if group.name in ROLES), key=list(ROLES).index)
    return [{"role": name, "label": role_label(name), "codes": sorted(codes_by_role.get(name, []))} for name in held]


def audit_search(*, user: str = "", object: str = "", action: str = "", start=None, end=None):
    from kaili.models import AuditEntry

    entries = AuditEntry.objects.order_by("-id")
    if user:
        entries = entries.filter(actor_username__icontains=user)
    if object:
        entries = entries.filter(Q(object_type__icontains=object) | Q(object_id=object) | Q(object_repr__icontains=object))
    if action:
        entries = entries.filter(action=action)
    if start:
        entries = entries.filter(at__gte=start)
    if end:
        entries = entries.filter(at__lte=end)
    return entries


def locked_usernames(usernames) -> set[str]:
    """Which of ``usernames`` are locked out right now (django-axes failure counts)."""
    from axes.models import AccessAttempt
    from django.conf import settings
    from django.db.models import Sum
    from django.utils import timezone

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    rows = (
        AccessAttempt.objects.filter(username__in=list(usernames), attempt_time__gte=since)
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    )
    return {row["username"] for row in rows}


def status_counts(queryset, statuses, open_statuses, past_deadline: Q) -> dict[str, int]:
    """status -> count over ``queryset`` (one query), every value of the ``statuses``
    choices present, plus ``overdue`` (records in ``open_statuses`` matching
    ``past_deadline``) and ``total``."""
    # Counting ``status`` (never empty), not ``id``: a covering index on (grid, status)
    # then answers a town's counts without reading the table.
    return queryset.order_by().aggregate(
        total=Count("status"),
        overdue=Count("status", filter=Q(status__in=open_statuses) & past_deadline),
        **{status: Count("status", filter=Q(status=status)) for status in statuses.values},
    )

"""Read paths for accounts."""

from django.db.models import Q

from kaili.models import User
from kaili.roles import role_label, user_role_names


def user_list(*, search: str = "", role: str = "", is_active: bool | None = None):
    users = User.objects.prefetch_related("groups").order_by("username")
    if search:
        users = users.filter(Q(username__icontains=search) | Q(full_name__icontains=search) | Q(organisation__icontains=search))
    if role:
        users = users.filter(groups__name=role)
    if is_active is not None:
        users = users.filter(is_active=is_active)
    return users


def user_grants(user: User) -> list[dict]:
    """The user's roles with the codes each is granted on, for display."""
    from grids.models import GridUserObjectPermission

    codes_by_role: dict[str, list[str]] = {}
    rows = GridUserObjectPermission.objects.filter(user=user, permission__codename__startswith="role_").values_list(
        "permission__codename", "content_object__code"
    )
    for codename, code in rows.order_by("content_object__code"):
        codes_by_role.setdefault(codename.removeprefix("role_"), []).append(code)
    return [
        {"role": name, "label": role_label(name), "codes": codes_by_role.get(name, [])} for name in sorted(user_role_names(user))
    ]


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

"""Grid scope: the one place that decides which tree nodes a user reaches.

A user reaches a node for an action on a model when they hold a role whose permissions
include that action on that model *and* a grant of that role on the node or one of its
ancestors. Grants are expanded to subtrees through the MPTT columns
(``tree_id``, ``lft``, ``rght``), so the filter is an index range scan, never a walk.
Everything a user lists, reads, changes, exports or searches goes through
``ScopedQuerySet.restrict``.
"""

from dataclasses import dataclass

from django.db import models
from django.db.models import Q

VIEW, ADD, CHANGE, DELETE, EXPORT = "view", "add", "change", "delete", "export"


@dataclass(frozen=True)
class NodeRange:
    """A granted node's subtree as its MPTT interval."""

    tree_id: int
    lft: int
    rght: int

    def contains(self, other: "NodeRange") -> bool:
        return self.tree_id == other.tree_id and self.lft <= other.lft and other.rght <= self.rght


class Everything:
    """Marker for a scope without limits (superusers only)."""


EVERYTHING = Everything()


def _role_permissions(user) -> dict[str, set[str]]:
    """role name -> {"app.codename", ...} for the user's roles; one query, cached on the user."""
    cached = getattr(user, "_kaili_role_perms", None)
    if cached is None:
        from django.contrib.auth.models import Permission

        from kaili.roles import ROLES

        cached = {}
        rows = Permission.objects.filter(group__user=user, group__name__in=ROLES).values_list(
            "group__name", "content_type__app_label", "codename"
        )
        for role, app_label, codename in rows:
            cached.setdefault(role, set()).add(f"{app_label}.{codename}")
        user._kaili_role_perms = cached
    return cached


def _role_grants(user) -> dict[str, list[NodeRange]]:
    """role name -> granted subtrees; one query on the grant table joined to the tree, cached."""
    cached = getattr(user, "_kaili_role_grants", None)
    if cached is None:
        from grids.models import GridUserObjectPermission

        cached = {}
        rows = GridUserObjectPermission.objects.filter(user=user, permission__codename__startswith="role_").values_list(
            "permission__codename",
            "content_object__tree_id",
            "content_object__lft",
            "content_object__rght",
        )
        for codename, tree_id, lft, rght in rows:
            cached.setdefault(codename.removeprefix("role_"), []).append(NodeRange(tree_id, lft, rght))
        user._kaili_role_grants = cached
    return cached


def role_permissions(user) -> dict[str, set[str]]:
    """role name -> the permissions ("app.codename") that role gives; cached on the user."""
    if user is None or not user.is_authenticated:
        return {}
    return _role_permissions(user)


def forget_cached_scope(user) -> None:
    for attr in ("_kaili_role_perms", "_kaili_role_grants", "_kaili_roles", "_kaili_node_ids"):
        user.__dict__.pop(attr, None)


def reachable_ranges(user, permission: str) -> list[NodeRange] | Everything:
    """The subtrees in which ``user`` may exercise ``permission`` ("app.codename")."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return EVERYTHING
    grants = _role_grants(user)
    ranges: list[NodeRange] = []
    for role, permissions in _role_permissions(user).items():
        if permission in permissions:
            ranges.extend(grants.get(role, ()))
    # A grant nested inside another adds nothing; dropping it keeps the filter short.
    ranges.sort(key=lambda r: (r.tree_id, r.lft))
    outermost: list[NodeRange] = []
    for node_range in ranges:
        if not outermost or not outermost[-1].contains(node_range):
            outermost.append(node_range)
    return outermost


def scope_filter(ranges: list[NodeRange] | Everything, grid_path: str) -> Q:
    """A Q selecting rows whose node (reached through ``grid_path``) lies in ``ranges``."""
    if isinstance(ranges, Everything):
        return Q()
    if not ranges:
        return Q(pk__in=[])
    prefix = f"{grid_path}__" if grid_path else ""
    condition = Q()
    for node_range in ranges:
        condition |= Q(
            **{
                f"{prefix}tree_id": node_range.tree_id,
                f"{prefix}lft__gte": node_range.lft,
                f"{prefix}lft__lte": node_range.rght,
            }
        )
    return condition


# Up to this many nodes, a scope is handed to the database as a list of node ids.
NODE_ID_LIMIT = 5000


def reachable_node_ids(user, permission: str, limit: int = NODE_ID_LIMIT) -> list[int] | None:
    """The ids of the nodes in which ``user`` may exercise ``permission``, or None when there
    are more than ``limit`` (or no limit at all); one query, cached on the user.

    A condition on the record's own node column (``grid_id IN (...)``) can be OR-ed with
    other conditions on the record (its reporter, its handler) and still be answered from
    the record's indexes, where the interval join of ``scope_filter`` cannot.
    """
    ranges = reachable_ranges(user, permission)
    if isinstance(ranges, Everything):
        return None
    if not ranges:
        return []
    cache = user.__dict__.setdefault("_kaili_node_ids", {})
    if permission not in cache:
        from grids.models import Grid

        ids = list(Grid.objects.filter(scope_filter(ranges, "")).values_list("id", flat=True)[: limit + 1])
        cache[permission] = ids if len(ids) <= limit else None
    return cache[permission]


def grid_scope_condition(user, model: type[models.Model], action: str, grid_path: str = "grid") -> Q | None:
    """The condition on rows of ``model`` whose node (reached through ``grid_path``) lies in
    the user's scope for ``action``; None when the scope has no limits.

    A narrow scope (a grid worker's grid, a town's centre) is a list of node ids on the row's
    own column, so that an OR with other conditions on the row (its reporter, its handler)
    is answered from the row's indexes; a wide one is the MPTT intervals of ``scope_filter``.
    """
    permission = permission_for(model, action)
    ranges = reachable_ranges(user, permission)
    if isinstance(ranges, Everything):
        return None
    node_ids = reachable_node_ids(user, permission)
    if node_ids is not None:
        return Q(**{f"{grid_path}_id__in": node_ids}) if node_ids else Q(pk__in=[])
    return scope_filter(ranges, grid_path)


def scope_predicate(user, model: type[models.Model], action: str):
    """``node -> bool``: whether a node (anything with ``tree_id`` and ``lft``, as just read
    from the database) lies in the user's scope for ``action`` on ``model``. No query per node."""
    ranges = reachable_ranges(user, permission_for(model, action))
    if isinstance(ranges, Everything):
        return lambda node: True
    return lambda node: any(r.tree_id == node.tree_id and r.lft <= node.lft <= r.rght for r in ranges)


def permission_for(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def user_can(user, model: type[models.Model], action: str) -> bool:
    """Whether the user may do ``action`` on ``model`` anywhere at all."""
    ranges = reachable_ranges(user, permission_for(model, action))
    return isinstance(ranges, Everything) or bool(ranges)


class ScopedQuerySet(models.QuerySet):
    """Base queryset for every model that hangs on a grid node.

    ``grid_path`` is the lookup from the model to its ``grids.Grid`` (``"grid"``,
    ``"household__unit"``...); empty for ``Grid`` itself.
    """

    grid_path = "grid"

    def restrict(self, user, action: str = VIEW):
        ranges = reachable_ranges(user, permission_for(self.model, action))
        return self.filter(scope_filter(ranges, self.grid_path))


def reachable_nodes(user, action: str = VIEW):
    """The grid nodes a user reaches for ``action`` on grids (the scope in node form)."""
    from grids.models import Grid

    return Grid.objects.restrict(user, action)


def role_ranges(user, role_name: str) -> list[NodeRange] | Everything:
    """The subtrees on which ``user`` holds ``role_name`` (for rules that depend on the role
    itself, not only on its permissions, such as "a grid worker sees left-behind people")."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return EVERYTHING
    from kaili.roles import user_role_names

    if role_name not in user_role_names(user):
        return []
    return list(_role_grants(user).get(role_name, ()))

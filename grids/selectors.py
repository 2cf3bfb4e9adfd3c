"""Read paths over the grid tree, always through the user's scope."""

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum

from grids.models import Grid, GridKind
from kaili.scope import EVERYTHING, VIEW, permission_for, reachable_ranges


def with_subtree_totals(queryset):
    """Annotate open children and the households of the open units in each node's subtree.

    Both are correlated subqueries over the MPTT interval, so a page of nodes costs one query.
    """
    units = (
        Grid.objects.filter(
            tree_id=OuterRef("tree_id"),
            lft__gte=OuterRef("lft"),
            lft__lte=OuterRef("rght"),
            kind=GridKind.UNIT,
            retired_at__isnull=True,
        )
        .order_by()
        .values("tree_id")
        .annotate(total=Sum("households"))
        .values("total")
    )
    children = (
        Grid.objects.filter(parent=OuterRef("pk"), retired_at__isnull=True)
        .order_by()
        .values("parent")
        .annotate(n=Count("id"))
        .values("n")
    )
    return queryset.annotate(
        households_total=Subquery(units, output_field=IntegerField()),
        children_count=Subquery(children, output_field=IntegerField()),
    )


def grid_children(*, user, grid: Grid, action: str = VIEW, include_retired: bool = False):
    """The node's children that the user reaches, by code, with their subtree totals."""
    children = Grid.objects.restrict(user, action).filter(parent=grid)
    if not include_retired:
        children = children.active()
    return with_subtree_totals(children.select_related("parent", "merged_into")).order_by("code")


def grid_in_scope(*, user, code: str, action: str) -> Grid | None:
    """The node with ``code`` if the user may do ``action`` there; None when missing or out of scope alike."""
    return Grid.objects.restrict(user, action).filter(code=(code or "").strip()).first()


def grid_path(*, grid: Grid):
    """The node's ancestors from the city down (names only are shown: the path is not a record)."""
    return grid.get_ancestors().order_by("lft")


def grid_ancestor_paths(nodes) -> dict[int, list[Grid]]:
    """Each node's ancestors, city first, for a page of nodes in one query over the MPTT intervals."""
    if not nodes:
        return {}
    condition = Q(pk__in=[])
    for node in nodes:
        condition |= Q(tree_id=node.tree_id, lft__lt=node.lft, rght__gt=node.rght)
    ancestors = list(Grid.objects.filter(condition).only("code", "name", "tree_id", "lft", "rght").order_by("lft"))
    return {
        node.pk: [a for a in ancestors if a.tree_id == node.tree_id and a.lft < node.lft and a.rght > node.rght] for node in nodes
    }


def grid_roots(*, user, action: str = VIEW):
    """Where the user's tree starts: the outermost nodes they are granted (the city for superusers)."""
    ranges = reachable_ranges(user, permission_for(Grid, action))
    if ranges is EVERYTHING:
        roots = Grid.objects.filter(parent__isnull=True)
    elif not ranges:
        roots = Grid.objects.none()
    else:
        condition = Q(pk__in=[])
        for node_range in ranges:
            condition |= Q(tree_id=node_range.tree_id, lft=node_range.lft)
        roots = Grid.objects.filter(condition)
    return with_subtree_totals(roots.select_related("parent", "merged_into")).order_by("code")


def grid_history(*, grid: Grid, limit: int = 50):
    return grid.events.select_related("actor").order_by("-at", "-id")[:limit]

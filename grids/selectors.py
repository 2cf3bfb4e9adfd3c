"""Read paths over the grid tree, always through the user's scope."""

from django.db.models import Q

from grids.models import Grid
from kaili.scope import VIEW


def grid_list(
    *, user, action: str = VIEW, kind: str = "", parent_code: str = "", search: str = "", include_retired: bool = False
):
    grids = Grid.objects.restrict(user, action).select_related("parent")
    if not include_retired:
        grids = grids.filter(retired_at__isnull=True)
    if kind:
        grids = grids.filter(kind=kind)
    if parent_code:
        grids = grids.filter(parent__code=parent_code)
    if search:
        grids = grids.filter(Q(code__startswith=search) | Q(name__icontains=search))
    return grids.order_by("code")


def grid_get(*, user, code: str, action: str = VIEW) -> Grid:
    """The node with ``code`` if the user reaches it; ``Grid.DoesNotExist`` otherwise (→ 404)."""
    return Grid.objects.restrict(user, action).select_related("parent").get(code=code)

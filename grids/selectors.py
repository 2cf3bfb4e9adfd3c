"""Read paths over the grid tree, always through the user's scope."""

from grids.models import Grid
from kaili.scope import VIEW


def grid_children(*, user, grid: Grid, action: str = VIEW):
    """The node's children that the user reaches, by code."""
    return Grid.objects.restrict(user, action).filter(parent=grid).order_by("code")


def grid_path(*, grid: Grid):
    """The node's ancestors from the city down (names only are shown: the path is not a record)."""
    return grid.get_ancestors().order_by("lft")


def grid_history(*, grid: Grid, limit: int = 50):
    return grid.events.select_related("actor").order_by("-at", "-id")[:limit]

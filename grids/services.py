"""Every write to the grid tree: validated, serialised under the tree lock, audited.

django-mptt leaves concurrency to the caller, so each operation takes the
transaction-scoped advisory lock ``GRID_TREE_LOCK`` before it reads what it changes.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from grids.models import Grid, GridEvent
from kaili.audit import audit_record
from kaili.locks import GRID_TREE_LOCK, advisory_xact_lock
from kaili.models import AuditAction


def _lock_tree() -> None:
    advisory_xact_lock(GRID_TREE_LOCK)


def _refuse_if_retired(grid: Grid) -> None:
    if grid.is_retired:
        raise ValidationError(_("网格 %(code)s 已撤销，不能再修改。") % {"code": grid.code})


@transaction.atomic
def grid_create(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    parent: Grid | None = None,
    area_type: str = "",
    households: int | None = None,
    boundary: dict | None = None,
    centre: dict | None = None,
) -> Grid:
    _lock_tree()
    if parent is not None:
        parent = Grid.objects.get(pk=parent.pk)  # fresh MPTT columns, read under the lock
        _refuse_if_retired(parent)
    grid = Grid(
        code=code,
        name=name.strip(),
        kind=kind,
        parent=parent,
        area_type=area_type,
        households=households,
        boundary=boundary,
        centre=centre,
    )
    grid.full_clean(validate_unique=False)  # kind, parent and code format first: the clearest reasons
    if parent is not None and not code.startswith(parent.code):
        raise ValidationError({"code": _("编码 %(code)s 须以上级编码 %(parent)s 开头。") % {"code": code, "parent": parent.code}})
    if Grid.objects.filter(code=code).exists():
        raise ValidationError({"code": _("编码 %(code)s 已存在（撤销的编码也不再使用）。") % {"code": code}})
    grid.save()
    GridEvent.objects.create(
        grid=grid, kind=GridEvent.Kind.CREATED, actor=actor, detail={"parent": parent.code if parent else None}
    )
    audit_record(actor=actor, action=AuditAction.CREATE, obj=grid, changes={"code": code, "name": grid.name, "kind": kind})
    return grid


@transaction.atomic
def grid_rename(*, actor, grid: Grid, name: str) -> Grid:
    _lock_tree()
    grid = Grid.objects.select_for_update().get(pk=grid.pk)
    _refuse_if_retired(grid)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空。")})
    old_name = grid.name
    if name == old_name:
        return grid
    grid.name = name
    grid.save(update_fields=["name"])
    GridEvent.objects.create(grid=grid, kind=GridEvent.Kind.RENAMED, actor=actor, detail={"from": old_name, "to": name})
    audit_record(actor=actor, action=AuditAction.UPDATE, obj=grid, changes={"name": [old_name, name]})
    return grid

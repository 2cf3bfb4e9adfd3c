"""Every write to the grid tree: validated, serialised under the tree lock, audited.

django-mptt leaves concurrency to the caller, so each operation takes the
transaction-scoped advisory lock ``GRID_TREE_LOCK`` before it reads what it changes,
and reads every node it touches afresh under that lock.

How restructuring keeps history (DOMAIN.md, "The grid tree"):

- a node's code is given once, from its parent's code at creation, and never changes or
  returns, even when the node moves or is retired;
- records point at the node they were logged in and are never rewritten;
- a merged node X is retired and hung under the node Y it was merged into, so X's records
  lie inside Y's MPTT interval: every scoped list and every roll-up of Y includes them
  without a special case. It is the one place where a node sits under a node of its own
  kind (``grids.integrity`` allows exactly that);
- every change leaves a ``GridEvent`` on each node concerned and an audit entry.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import (
    CHILD_KIND,
    CODE_LENGTH,
    PARENT_KIND,
    AreaType,
    Grid,
    GridEvent,
    GridGroupObjectPermission,
    GridKind,
    GridUserObjectPermission,
)
from kaili.audit import audit_record
from kaili.locks import GRID_TREE_LOCK, advisory_xact_lock
from kaili.models import AuditAction

# Models whose rows are the tree's own structure or bookkeeping, not records logged in a node.
STRUCTURAL_MODELS = {Grid, GridEvent, GridUserObjectPermission, GridGroupObjectPermission}

# Child sequence ranges under a parent (DOMAIN.md, "Grid codes"): communities from 001,
# villages from 200; sub-districts 001-099, towns 100-199, townships 200-399.
ZONE_SEQUENCE_START = {AreaType.URBAN: 1, AreaType.RURAL: 200}

UNCHANGED = object()  # grid_update: "leave this attribute alone" (None is a value: clear it)


def lock_tree() -> None:
    advisory_xact_lock(GRID_TREE_LOCK)


def _fresh(grid: Grid) -> Grid:
    """The node as the database has it now (MPTT columns move under other writers)."""
    return Grid.objects.get(pk=grid.pk)


def _refuse_if_retired(grid: Grid) -> None:
    if grid.is_retired:
        raise ValidationError(_("网格 %(code)s 已撤销，不能再修改，也不能再登记新记录。") % {"code": grid.code})


def require_open_node(grid: Grid) -> None:
    """For other apps' services: a retired node takes no new records."""
    _refuse_if_retired(grid)


def _refuse_wrong_parent_kind(kind: str, parent: Grid | None) -> None:
    expected = PARENT_KIND.get(kind)
    if expected is None:
        raise ValidationError({"parent": _("市级节点不能有上级。")})
    if parent is None or parent.kind != expected:
        raise ValidationError(
            {
                "parent": _("%(kind)s只能位于%(parent)s之下，不能位于%(actual)s之下。")
                % {
                    "kind": GridKind(kind).label,
                    "parent": GridKind(expected).label,
                    "actual": parent.get_kind_display() if parent else _("根节点"),
                }
            }
        )


def grid_next_code(*, parent: Grid, kind: str | None = None, area_type: str = "") -> str:
    """The next unused child code under ``parent``: never a code used before (retired codes stay taken)."""
    kind = kind or CHILD_KIND[parent.kind]
    length = CODE_LENGTH[kind]
    width = length - CODE_LENGTH[parent.kind]
    start = ZONE_SEQUENCE_START.get(area_type, 1) if kind == GridKind.ZONE else 1
    limit = 199 if kind == GridKind.ZONE and start == 1 else 10**width - 1
    used = (
        Grid.objects.annotate(code_length=Length("code"))
        .filter(code__startswith=parent.code, code_length=length)
        .values_list("code", flat=True)
    )
    taken = {int(code[-width:]) for code in used}
    candidates = [n for n in taken if start <= n <= limit]
    sequence = max(candidates, default=start - 1) + 1
    if sequence > limit:
        raise ValidationError({"code": _("%(parent)s 下的编码已用尽，请人工指定编码。") % {"parent": parent.code}})
    return f"{parent.code}{sequence:0{width}d}"


def _event(grid: Grid, kind: str, actor, **detail) -> GridEvent:
    return GridEvent.objects.create(grid=grid, kind=kind, actor=actor, detail=detail)


@transaction.atomic
def grid_create(
    *,
    actor,
    name: str,
    kind: str,
    parent: Grid | None = None,
    code: str | None = None,
    area_type: str = "",
    households: int | None = None,
    boundary: dict | None = None,
    centre: dict | None = None,
    event_detail: dict | None = None,
) -> Grid:
    """A new node; without ``code`` the next free code under the parent is given."""
    lock_tree()
    if parent is not None:
        parent = _fresh(parent)
        _refuse_if_retired(parent)
    if not code and parent is not None and kind in CODE_LENGTH and parent.kind == PARENT_KIND.get(kind):
        code = grid_next_code(parent=parent, kind=kind, area_type=area_type)
    code = (code or "").strip()
    grid = Grid(
        code=code,
        name=(name or "").strip(),
        kind=kind,
        parent=parent,
        area_type=area_type or "",
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
    _event(grid, GridEvent.Kind.CREATED, actor, parent=parent.code if parent else None, **(event_detail or {}))
    audit_record(actor=actor, action=AuditAction.CREATE, obj=grid, changes={"code": code, "name": grid.name, "kind": kind})
    return grid


@transaction.atomic
def grid_rename(*, actor, grid: Grid, name: str) -> Grid:
    return grid_update(actor=actor, grid=grid, name=name)


@transaction.atomic
def grid_update(
    *,
    actor,
    grid: Grid,
    name: str | None = None,
    area_type: str | None = None,
    households: object = UNCHANGED,
    boundary: object = UNCHANGED,
    centre: object = UNCHANGED,
) -> Grid:
    """Change a node's own attributes (never its code, kind or place: see ``grid_move``)."""
    lock_tree()
    grid = Grid.objects.select_for_update().get(pk=grid.pk)
    _refuse_if_retired(grid)
    before = {f: getattr(grid, f) for f in ("name", "area_type", "households", "boundary", "centre")}
    if name is not None:
        grid.name = name.strip()
        if not grid.name:
            raise ValidationError({"name": _("名称不能为空。")})
    if area_type is not None:
        grid.area_type = area_type
    for attr, value in (("households", households), ("boundary", boundary), ("centre", centre)):
        if value is not UNCHANGED:
            setattr(grid, attr, value)
    changes = {f: [old, getattr(grid, f)] for f, old in before.items() if getattr(grid, f) != old}
    if not changes:
        return grid
    grid.full_clean(exclude=["parent", "code"], validate_unique=False)
    grid.save(update_fields=list(changes))
    if "name" in changes:
        _event(grid, GridEvent.Kind.RENAMED, actor, **{"from": changes["name"][0], "to": changes["name"][1]})
    other = {f: v for f, v in changes.items() if f not in ("name", "boundary", "centre")}
    if other or "boundary" in changes or "centre" in changes:
        _event(grid, GridEvent.Kind.UPDATED, actor, changes=other, geometry="boundary" in changes or "centre" in changes)
    audit_changes = {f: v for f, v in changes.items() if f not in ("boundary", "centre")}
    audit_changes.update({f: "changed" for f in ("boundary", "centre") if f in changes})
    audit_record(actor=actor, action=AuditAction.UPDATE, obj=grid, changes=audit_changes)
    return grid


def _move(node: Grid, new_parent: Grid) -> None:
    # mptt refreshes both nodes' tree columns before the raw update; we hold the tree lock.
    node.move_to(new_parent, "last-child")


def _check_move(grid: Grid, new_parent: Grid) -> None:
    if grid.parent_id is None:
        raise ValidationError({"parent": _("市级根节点不能迁移。")})
    _refuse_if_retired(grid)
    _refuse_if_retired(new_parent)
    if new_parent.pk == grid.pk or grid.is_ancestor_of(new_parent):
        raise ValidationError({"parent": _("不能把网格迁移到它自身或它的下级之下。")})
    _refuse_wrong_parent_kind(grid.kind, new_parent)


@transaction.atomic
def grid_move(*, actor, grid: Grid, new_parent: Grid) -> Grid:
    """Re-parent a node with its whole subtree. Its code and its records stay as they are."""
    lock_tree()
    grid, new_parent = _fresh(grid), _fresh(new_parent)
    _check_move(grid, new_parent)
    old_parent = grid.parent
    if old_parent.pk == new_parent.pk:
        return grid
    _move(grid, new_parent)
    _event(grid, GridEvent.Kind.MOVED, actor, **{"from": old_parent.code, "from_name": old_parent.name, "to": new_parent.code})
    audit_record(actor=actor, action=AuditAction.UPDATE, obj=grid, changes={"parent": [old_parent.code, new_parent.code]})
    return _fresh(grid)


@transaction.atomic
def grid_merge(*, actor, source: Grid, target: Grid) -> Grid:
    """Merge ``source`` into ``target``: its open children move to the target, it is retired
    and hung under the target, so the target's lists and roll-ups include its records."""
    lock_tree()
    source, target = _fresh(source), _fresh(target)
    if source.pk == target.pk:
        raise ValidationError({"target": _("不能把网格并入它自身。")})
    _refuse_if_retired(source)
    _refuse_if_retired(target)
    if source.kind != target.kind:
        raise ValidationError(
            {
                "target": _("只能并入同一层级的网格：%(source)s是%(a)s，%(target)s是%(b)s。")
                % {"source": source.code, "a": source.get_kind_display(), "target": target.code, "b": target.get_kind_display()}
            }
        )
    if source.parent_id is None:
        raise ValidationError({"source": _("市级根节点不能合并。")})
    if source.is_ancestor_of(target):
        raise ValidationError({"target": _("不能并入自己的下级。")})
    old_parent = source.parent
    moved = []
    for child in source.get_children().filter(retired_at__isnull=True).order_by("code"):
        _move(child, target)
        _event(
            child,
            GridEvent.Kind.MOVED,
            actor,
            **{"from": source.code, "from_name": source.name, "to": target.code},
            reason="merge",
        )
        moved.append(child.code)
    source = _fresh(source)
    _move(source, target)
    source.refresh_from_db()
    source.retired_at = timezone.now()
    source.merged_into = target
    source.save(update_fields=["retired_at", "merged_into"])
    _event(
        source, GridEvent.Kind.MERGED, actor, into=target.code, into_name=target.name, from_parent=old_parent.code, children=moved
    )
    _event(target, GridEvent.Kind.MERGED, actor, absorbed=source.code, absorbed_name=source.name, children=moved)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=source,
        changes={"merged_into": target.code, "parent": [old_parent.code, target.code], "children_moved": moved},
    )
    return _fresh(target)


@dataclass
class SplitPart:
    """One new sibling of a split: its name and the children that move into it."""

    name: str
    children: list[str] = field(default_factory=list)
    code: str | None = None
    area_type: str | None = None
    households: int | None = None


@transaction.atomic
def grid_split(*, actor, grid: Grid, parts: list[SplitPart]) -> list[Grid]:
    """Split a node: create new siblings and move the chosen children into them. The node
    itself stays, with the children not chosen and all its records."""
    lock_tree()
    grid = _fresh(grid)
    _refuse_if_retired(grid)
    if grid.parent_id is None:
        raise ValidationError({"grid": _("市级根节点不能拆分。")})
    if not parts:
        raise ValidationError({"parts": _("拆分至少要新建一个网格。")})
    open_children = {c.code: c for c in grid.get_children().filter(retired_at__isnull=True)}
    chosen: dict[str, int] = {}
    for index, part in enumerate(parts, start=1):
        if not (part.name or "").strip():
            raise ValidationError({"parts": _("第 %(n)d 个新网格缺少名称。") % {"n": index}})
        for code in part.children:
            if code not in open_children:
                raise ValidationError(
                    {"parts": _("%(code)s 不是 %(grid)s 的在用下级，不能随拆分迁移。") % {"code": code, "grid": grid.code}}
                )
            if code in chosen:
                raise ValidationError({"parts": _("%(code)s 被分到了两个新网格。") % {"code": code}})
            chosen[code] = index
    parent = grid.parent
    created = []
    for part in parts:
        sibling = grid_create(
            actor=actor,
            code=part.code,
            name=part.name,
            kind=grid.kind,
            parent=parent,
            area_type=grid.area_type if part.area_type is None else part.area_type,
            households=part.households,
            event_detail={"split_from": grid.code},
        )
        for code in part.children:
            _move(_fresh(open_children[code]), sibling)
            _event(
                open_children[code],
                GridEvent.Kind.MOVED,
                actor,
                **{"from": grid.code, "from_name": grid.name, "to": sibling.code},
                reason="split",
            )
        created.append(sibling)
    _event(
        grid,
        GridEvent.Kind.SPLIT,
        actor,
        into=[s.code for s in created],
        moved={s.code: p.children for s, p in zip(created, parts, strict=True)},
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=grid,
        changes={"split_into": [s.code for s in created], "children_moved": chosen},
    )
    return [_fresh(s) for s in created]


@transaction.atomic
def grid_retire(*, actor, grid: Grid, reason: str = "") -> Grid:
    """Retire a node: it keeps its records and history, takes nothing new, its code stays taken."""
    lock_tree()
    grid = _fresh(grid)
    _refuse_if_retired(grid)
    if grid.parent_id is None:
        raise ValidationError({"grid": _("市级根节点不能撤销。")})
    open_children = list(grid.get_children().filter(retired_at__isnull=True).values_list("code", flat=True)[:5])
    if open_children:
        raise ValidationError(
            {
                "grid": _("%(code)s 还有在用的下级（%(children)s），请先迁移、合并或撤销下级。")
                % {"code": grid.code, "children": "、".join(open_children)}
            }
        )
    grid.retired_at = timezone.now()
    grid.save(update_fields=["retired_at"])
    _event(grid, GridEvent.Kind.RETIRED, actor, reason=reason)
    audit_record(actor=actor, action=AuditAction.UPDATE, obj=grid, changes={"retired": True, "reason": reason})
    return grid


def grid_record_counts(grid: Grid) -> dict[str, int]:
    """Records of other apps logged in this very node, by model name (empty when none)."""
    counts = {}
    for relation in Grid._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete) or relation.related_model in STRUCTURAL_MODELS:
            continue
        number = relation.related_model._base_manager.filter(**{relation.field.name: grid}).count()
        if number:
            counts[str(relation.related_model._meta.verbose_name)] = number
    return counts


@transaction.atomic
def grid_delete(*, actor, grid: Grid) -> None:
    """Delete a node created by mistake. A node with records, children or history of use is retired instead."""
    lock_tree()
    grid = _fresh(grid)
    _refuse_if_retired(grid)
    if grid.get_children().exists():
        raise ValidationError({"grid": _("%(code)s 有下级网格，不能删除；请改为撤销。") % {"code": grid.code}})
    records = grid_record_counts(grid)
    if records:
        listing = "、".join(f"{name} {n} 条" for name, n in records.items())
        raise ValidationError(
            {"grid": _("%(code)s 已有业务记录（%(records)s），不能删除；请改为撤销。") % {"code": grid.code, "records": listing}}
        )
    snapshot = {"code": grid.code, "name": grid.name, "kind": grid.kind, "parent": grid.parent.code if grid.parent_id else None}
    audit_record(actor=actor, action=AuditAction.DELETE, obj=grid, changes=snapshot)
    grid.delete()

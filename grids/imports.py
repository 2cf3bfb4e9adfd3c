"""Grid files in: CSV or XLSX with the header ``code,name,kind,parent_code,area_type,households``.

Rows may come in any order. Every row is checked before anything is written, and every
bad row is reported with its line, column and reason; one bad row and nothing is
written. New codes are added, existing codes updated (name, area type, households; a
changed parent is a move), codes absent from the file are left alone. The writes happen
in one transaction under the tree lock, with django-mptt's updates off and one rebuild
of the tree columns at the end, so a 20,000-row file loads in seconds.

The same functions serve ``manage.py import_grids``, the admin upload page (through a
Celery task) and ``manage.py seed_demo``.
"""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from grids.exports import EXPORT_HEADER
from grids.integrity import rebuild_tree_columns
from grids.models import CODE_LENGTH, DIGITS, KINDS_WITH_AREA_TYPE, PARENT_KIND, AreaType, Grid, GridEvent, GridKind
from grids.services import lock_tree
from kaili.audit import audit_record
from kaili.models import AuditAction
from kaili.progress import no_progress
from kaili.scope import ADD, CHANGE, scope_predicate
from kaili.signals import records_saved_in_bulk
from kaili.tabular import INEXACT, TableFileError, read_table

KIND_ORDER = [GridKind.CITY, GridKind.TOWN, GridKind.ZONE, GridKind.GRID, GridKind.UNIT]
PROGRESS_STEP = 500
BULK_LOAD_ROWS = 1000
# A file typed by hand may carry the column names in Chinese.
HEADER_ALIASES = {
    "编码": "code",
    "名称": "name",
    "层级": "kind",
    "上级编码": "parent_code",
    "城乡类型": "area_type",
    "户数": "households",
}

# phases as the command's progress bar and the page show them
# Lazy: evaluated when reported, in the language active then (the page translates the stored text).
READING, CHECKING, WRITING, REBUILDING = gettext_lazy("读取"), gettext_lazy("校验"), gettext_lazy("写入"), gettext_lazy("重建树")


class GridFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, header)."""


@dataclass
class GridRow:
    line: int
    code: str
    name: str
    kind: str
    parent_code: str
    area_type: str
    households: str
    # Attributes the file format does not carry (the demo generator's boundaries).
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class ImportPlan:
    rows: int = 0
    creates: list[GridRow] = field(default_factory=list)
    updates: list[tuple[GridRow, dict]] = field(default_factory=list)
    moves: list[tuple[GridRow, str]] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        return {
            "rows": self.rows,
            "created": len(self.creates),
            "updated": len(self.updates),
            "moved": len(self.moves),
            "unchanged": self.unchanged,
            "errors": len(self.errors),
        }


# ---------------------------------------------------------------- reading


def read_grid_file(filename: str, data: bytes) -> list[GridRow]:
    """The rows of a CSV or XLSX grid file; raises ``GridFileError`` for an unreadable file."""
    try:
        table = read_table(filename, data, columns=EXPORT_HEADER, aliases=HEADER_ALIASES)
    except TableFileError as error:
        raise GridFileError(str(error)) from error
    return [GridRow(line=line, **cells) for line, cells in table]


# ---------------------------------------------------------------- checking


@dataclass(frozen=True)
class _Existing:
    id: int
    code: str
    name: str
    kind: str
    parent_code: str
    area_type: str
    households: int | None
    retired: bool
    tree_id: int
    lft: int
    rght: int


def _existing_nodes() -> dict[str, _Existing]:
    columns = ("id", "code", "name", "kind", "parent__code", "area_type", "households", "retired_at", "tree_id", "lft", "rght")
    return {
        row[1]: _Existing(*row[:5], row[5], row[6], row[7] is not None, *row[8:]) for row in Grid.objects.values_list(*columns)
    }


def _check_fields(row: GridRow, errors: list[RowError]) -> bool:
    """Per-row checks that need no other row; returns whether the row can be planned."""
    before = len(errors)

    def bad(column: str, message: str) -> None:
        errors.append(RowError(row.line, column, message))

    for column in EXPORT_HEADER:
        value = getattr(row, column)
        if value.startswith(INEXACT):
            setattr(row, column, value.removeprefix(INEXACT))
            bad(
                column,
                _("单元格是数字，Excel 只保留 15 位有效数字，%(value)s 可能已被改动；请把该列设为文本后重填。")
                % {"value": getattr(row, column)},
            )
    if len(errors) > before:
        return False
    for column in ("code", "name", "kind"):
        if not getattr(row, column):
            bad(column, _("缺少必填项。"))
    if row.kind and row.kind not in CODE_LENGTH:
        bad("kind", _("层级“%(kind)s”不存在，应为 city、town、zone、grid、unit 之一。") % {"kind": row.kind})
    kind_ok = row.kind in CODE_LENGTH
    if row.code and kind_ok and (len(row.code) != CODE_LENGTH[row.kind] or not DIGITS.match(row.code)):
        bad("code", _("%(kind)s编码应为 %(n)d 位数字。") % {"kind": GridKind(row.kind).label, "n": CODE_LENGTH[row.kind]})
    if len(row.name) > 100:
        bad("name", _("名称不能超过 100 个字。"))
    if kind_ok:
        if row.kind == GridKind.CITY and row.parent_code:
            bad("parent_code", _("市级节点的上级编码应为空。"))
        if row.kind != GridKind.CITY and not row.parent_code:
            bad("parent_code", _("缺少上级编码。"))
        if row.kind in KINDS_WITH_AREA_TYPE:
            if not row.area_type:
                bad("area_type", _("一级、二级网格须填 urban（城镇）或 rural（农村）。"))
            elif row.area_type not in AreaType.values:
                bad("area_type", _("城乡类型只能是 urban 或 rural，不能是“%(value)s”。") % {"value": row.area_type})
        elif row.area_type:
            bad("area_type", _("只有一级、二级网格填写城乡类型。"))
        if row.households:
            if row.kind != GridKind.UNIT:
                bad("households", _("只有三级网格（十户联防）填写户数。"))
            elif not row.households.isdigit():
                bad("households", _("户数应为非负整数，不能是“%(value)s”。") % {"value": row.households})
    return len(errors) == before


def plan_import(rows: list[GridRow], *, user=None, progress=no_progress) -> ImportPlan:
    """Check every row against the file and the database; nothing is written.

    With ``user``, rows must stay inside what the user may change (existing nodes) and add
    to (the parents of new and moved nodes).
    """
    plan = ImportPlan(rows=len(rows))
    errors = plan.errors
    existing = _existing_nodes()
    may_change = may_add_under = lambda node: True  # the command line: whoever runs it owns the tree
    if user is not None:
        may_change, may_add_under = scope_predicate(user, Grid, CHANGE), scope_predicate(user, Grid, ADD)

    by_code: dict[str, GridRow] = {}
    first_line: dict[str, int] = {}
    checked: list[GridRow] = []
    sound: set[str] = set()  # codes of rows whose own fields are valid
    for index, row in enumerate(rows, start=1):
        if row.code in first_line:
            errors.append(
                RowError(
                    row.line, "code", _("编码 %(code)s 与第 %(line)d 行重复。") % {"code": row.code, "line": first_line[row.code]}
                )
            )
        elif _check_fields(row, errors):
            checked.append(row)
            sound.add(row.code)
        if row.code and row.code not in first_line:
            first_line[row.code] = row.line
            by_code[row.code] = row
        if index % PROGRESS_STEP == 0:
            progress(CHECKING, index // 2, len(rows))

    def kind_of(code: str) -> str | None:
        # an existing node's kind never changes; a new one's is what its row says, if the row is sound
        if code in existing:
            return existing[code].kind
        return by_code[code].kind if code in sound else None

    def new_node_reaches_scope(row: GridRow) -> bool:
        # a new node's chain of new parents must end at an existing node the user may add under
        seen = set()
        code = row.parent_code
        while code and code not in existing and code in by_code and code not in seen:
            seen.add(code)
            code = by_code[code].parent_code
        return code in existing and may_add_under(existing[code])

    for index, row in enumerate(checked, start=1):
        if index % PROGRESS_STEP == 0:
            progress(CHECKING, len(rows) // 2 + index // 2, len(rows))
        current = existing.get(row.code)
        households = int(row.households) if row.households else None

        def bad(column: str, message: str, row=row) -> None:
            errors.append(RowError(row.line, column, message))

        if current is not None:
            if row.kind != current.kind:
                bad("kind", _("层级不能修改：%(code)s 现为%(kind)s。") % {"code": row.code, "kind": GridKind(current.kind).label})
                continue
            changes = {}
            if row.name != current.name:
                changes["name"] = [current.name, row.name]
            if row.area_type != current.area_type:
                changes["area_type"] = [current.area_type, row.area_type]
            if households is not None and households != current.households:
                changes["households"] = [current.households, households]
            moved = row.parent_code != (current.parent_code or "")
            if not changes and not moved:
                plan.unchanged += 1
                continue
            if current.retired:
                bad("code", _("网格 %(code)s 已撤销，不能再修改。") % {"code": row.code})
                continue
            if not may_change(current):
                bad("code", _("网格 %(code)s 不在您的管辖范围内。") % {"code": row.code})
                continue
        parent_kind = kind_of(row.parent_code) if row.parent_code else None
        if row.kind != GridKind.CITY:
            if parent_kind is None:
                bad("parent_code", _("上级编码 %(code)s 在文件和系统中都不存在。") % {"code": row.parent_code})
                continue
            expected = PARENT_KIND[row.kind]
            if parent_kind != expected:
                bad(
                    "parent_code",
                    _("%(kind)s只能位于%(expected)s之下，%(parent)s 是%(actual)s。")
                    % {
                        "kind": GridKind(row.kind).label,
                        "expected": GridKind(expected).label,
                        "parent": row.parent_code,
                        "actual": GridKind(parent_kind).label,
                    },
                )
                continue
            parent_existing = existing.get(row.parent_code)
            if parent_existing is not None and parent_existing.retired and (current is None or moved):
                bad("parent_code", _("上级 %(code)s 已撤销，不能再挂新的下级。") % {"code": row.parent_code})
                continue
        if current is None:
            if row.parent_code and not row.code.startswith(row.parent_code):
                bad(
                    "code",
                    _("新编码 %(code)s 须以上级编码 %(parent)s 开头。") % {"code": row.code, "parent": row.parent_code},
                )
                continue
            if user is not None and (row.kind == GridKind.CITY or not new_node_reaches_scope(row)):
                bad("parent_code", _("不能在管辖范围以外新增网格。"))
                continue
            plan.creates.append(row)
            continue
        if moved:
            target = existing.get(row.parent_code)
            if target is not None and target.tree_id == current.tree_id and current.lft <= target.lft <= current.rght:
                bad("parent_code", _("不能把网格迁移到它自身或它的下级之下。"))
                continue
            if (
                user is not None
                and not (target is not None and may_add_under(target))
                and not (target is None and new_node_reaches_scope(row))
            ):
                bad("parent_code", _("新上级不在您的管辖范围内。"))
                continue
            plan.moves.append((row, current.parent_code or ""))
        if changes:
            plan.updates.append((row, changes))
    errors.sort(key=lambda e: (e.line, e.column))
    progress(CHECKING, len(rows), len(rows))
    return plan


# ---------------------------------------------------------------- writing


def _write(plan: ImportPlan, *, actor, source: str, progress) -> None:
    ids = dict(Grid.objects.values_list("code", "id"))
    total = len(plan.creates) + len(plan.updates) + len(plan.moves)
    done = 0
    events = []
    with Grid.objects.disable_mptt_updates():
        by_kind = {kind: [] for kind in KIND_ORDER}
        for row in plan.creates:
            by_kind[row.kind].append(row)
        # Parents are always one level up, so creating level by level finds every parent's id.
        for kind in KIND_ORDER:
            rows = sorted(by_kind[kind], key=lambda r: r.code)
            for start in range(0, len(rows), 2000):
                batch = rows[start : start + 2000]
                nodes = Grid.objects.bulk_create(
                    [
                        Grid(
                            code=row.code,
                            name=row.name,
                            kind=row.kind,
                            parent_id=ids.get(row.parent_code),
                            area_type=row.area_type,
                            households=int(row.households) if row.households else None,
                            boundary=row.extra.get("boundary"),
                            centre=row.extra.get("centre"),
                            tree_id=0,
                            lft=0,
                            rght=0,
                            level=0,
                        )
                        for row in batch
                    ]
                )
                for row, node in zip(batch, nodes, strict=True):
                    ids[node.code] = node.pk
                    events.append(
                        GridEvent(
                            grid_id=node.pk,
                            kind=GridEvent.Kind.CREATED,
                            actor=actor,
                            detail={"parent": row.parent_code or None, "import": source},
                        )
                    )
                done += len(batch)
                progress(WRITING, done, total)

        touched = {row.code for row, _changes in plan.updates} | {row.code for row, _old in plan.moves}
        nodes = {node.code: node for node in Grid.objects.filter(code__in=touched)}
        names = dict(Grid.objects.filter(code__in=[old for _row, old in plan.moves]).values_list("code", "name"))
        for row, changes in plan.updates:
            node = nodes[row.code]
            for attr, (_old, new) in changes.items():
                setattr(node, attr, new)
            if "name" in changes:
                events.append(
                    GridEvent(
                        grid_id=node.pk,
                        kind=GridEvent.Kind.RENAMED,
                        actor=actor,
                        detail={"from": changes["name"][0], "to": row.name},
                    )
                )
            other = {k: v for k, v in changes.items() if k != "name"}
            if other:
                events.append(
                    GridEvent(
                        grid_id=node.pk, kind=GridEvent.Kind.UPDATED, actor=actor, detail={"changes": other, "import": source}
                    )
                )
        for row, old_parent in plan.moves:
            node = nodes[row.code]
            node.parent_id = ids[row.parent_code]
            events.append(
                GridEvent(
                    grid_id=node.pk,
                    kind=GridEvent.Kind.MOVED,
                    actor=actor,
                    detail={
                        "from": old_parent,
                        "from_name": names.get(old_parent, ""),
                        "to": row.parent_code,
                        "reason": "import",
                    },
                )
            )
        if nodes:
            Grid.objects.bulk_update(list(nodes.values()), ["name", "area_type", "households", "parent"], batch_size=2000)
            progress(WRITING, total, total)
        GridEvent.objects.bulk_create(events, batch_size=5000)
        records_saved_in_bulk.send(sender=GridEvent, instances=events, created=True)
    progress(REBUILDING, 0, 1)
    rebuild_tree_columns()
    if len(plan.creates) >= BULK_LOAD_ROWS:
        # fresh planner statistics, or the first subtree queries after a big load scan blindly
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Grid._meta.db_table}")
    progress(REBUILDING, 1, 1)


def import_grid_rows(
    rows: list[GridRow], *, actor, source: str, dry_run: bool = False, user=None, progress=no_progress
) -> ImportPlan:
    """Check ``rows`` and, unless ``dry_run`` or any row is bad, write them in one transaction.

    The check runs again under the tree lock, so what is written is what was checked
    against the tree as it is at that moment.
    """
    if dry_run:
        return plan_import(rows, user=user, progress=progress)
    with transaction.atomic():
        lock_tree()
        plan = plan_import(rows, user=user, progress=progress)
        if not plan.ok or not (plan.creates or plan.updates or plan.moves):
            return plan
        _write(plan, actor=actor, source=source, progress=progress)
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            object_type="grids.grid",
            changes={"source": source, **plan.summary()},
        )
    return plan


def import_grid_file(filename: str, data: bytes, *, actor, dry_run: bool = False, user=None, progress=no_progress) -> ImportPlan:
    """Read and import a grid file. ``GridFileError`` for an unreadable file; row errors are in the plan."""
    progress(READING, 0, 1)
    rows = read_grid_file(filename, data)
    progress(READING, 1, 1)
    return import_grid_rows(rows, actor=actor, source=filename, dry_run=dry_run, user=user, progress=progress)


# ---------------------------------------------------------------- the page's uploads


def grid_import_run(import_id: int) -> None:
    """Run one uploaded import (dry run or confirmed), recording its outcome on the row."""
    from grids.models import GridImport
    from kaili.progress import CachedProgress

    upload = GridImport.objects.select_related("created_by").get(pk=import_id)
    if upload.is_finished:
        return  # a redelivered task: the work is done
    GridImport.objects.filter(pk=upload.pk).update(status=GridImport.Status.RUNNING)
    progress = CachedProgress(upload.progress_key)
    user = upload.created_by  # the uploader's scope bounds what the file may touch
    try:
        plan = import_grid_file(
            upload.filename, bytes(upload.content), actor=upload.created_by, dry_run=upload.dry_run, user=user, progress=progress
        )
    except GridFileError as error:
        status, summary, errors = GridImport.Status.INVALID, {}, [{"line": 0, "column": "", "message": str(error)}]
    except Exception:
        GridImport.objects.filter(pk=upload.pk).update(status=GridImport.Status.FAILED, finished_at=timezone.now())
        raise
    else:
        summary, errors = plan.summary(), [e.as_dict() for e in plan.errors[:1000]]
        if not plan.ok:
            status = GridImport.Status.INVALID
        else:
            status = GridImport.Status.VALID if upload.dry_run else GridImport.Status.DONE
    GridImport.objects.filter(pk=upload.pk).update(status=status, summary=summary, errors=errors, finished_at=timezone.now())


def grid_import_start(*, actor, filename: str, content: bytes, dry_run: bool = True, confirms=None):
    """Record an upload and queue its run (after commit, so the worker finds the row)."""
    from grids.models import GridImport
    from grids.tasks import run_grid_import

    upload = GridImport.objects.create(created_by=actor, filename=filename, content=content, dry_run=dry_run, confirms=confirms)
    transaction.on_commit(lambda: run_grid_import.delay(upload.pk))
    return upload

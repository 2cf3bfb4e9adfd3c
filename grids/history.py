"""A node's history in words, for the detail page and the admin."""

from django.utils.translation import gettext as _

from grids.models import AreaType, Grid, GridEvent
from kaili.scope import VIEW


def _codes_in(detail: dict) -> set[str]:
    """Every node code a ``GridEvent.detail`` mentions (see ``grids.services`` for the keys)."""
    codes = set()
    for key in ("parent", "split_from", "from", "to", "from_parent", "absorbed"):
        if isinstance(detail.get(key), str):
            codes.add(detail[key])
    into = detail.get("into")
    codes.update([into] if isinstance(into, str) else into or [])
    codes.update(detail.get("children") or [])
    for part, children in (detail.get("moved") or {}).items():
        codes.add(part)
        codes.update(children)
    return codes


def names_in_scope(user, events) -> dict[str, str]:
    """Names for the codes a history mentions, one query, only for nodes the user may see.

    Nodes outside the scope stay bare codes (except the names the event itself recorded),
    so the history does not reveal more of the tree than the user's lists would.
    """
    codes = set().union(*(_codes_in(event.detail) for event in events)) if events else set()
    if not codes:
        return {}
    return dict(Grid.objects.restrict(user, VIEW).filter(code__in=codes).values_list("code", "name"))


def describe_event(event: GridEvent, *, names: dict[str, str]) -> list[str]:
    """A history entry in words: moved from → to, merged into, split into, retired and why."""
    detail = event.detail or {}

    def node(code, recorded_name=None):
        if not code:
            return "—"
        name = names.get(code) or recorded_name
        return _("%(name)s（%(code)s）") % {"name": name, "code": code} if name else code

    def nodes(codes):
        return "、".join(node(code) for code in codes)

    kind = event.kind
    lines = []
    if kind == GridEvent.Kind.CREATED:
        if detail.get("parent"):
            lines.append(_("建于 %(parent)s 之下") % {"parent": node(detail["parent"])})
        if detail.get("split_from"):
            lines.append(_("由 %(node)s 拆分而来") % {"node": node(detail["split_from"])})
    elif kind == GridEvent.Kind.RENAMED:
        lines.append(_("名称由“%(old)s”改为“%(new)s”") % {"old": detail.get("from", ""), "new": detail.get("to", "")})
    elif kind == GridEvent.Kind.UPDATED:
        for field, change in (detail.get("changes") or {}).items():
            if isinstance(change, list | tuple) and len(change) == 2:
                lines.append(_update_line(field, *change))
        if detail.get("geometry"):
            lines.append(_("边界或中心点已更新"))
    elif kind == GridEvent.Kind.MOVED:
        lines.append(
            _("从 %(old)s 迁至 %(new)s")
            % {"old": node(detail.get("from"), detail.get("from_name")), "new": node(detail.get("to"))}
        )
        reason = {"merge": _("随上级合并迁移"), "split": _("随上级拆分迁移"), "import": _("按导入文件调整")}.get(
            detail.get("reason")
        )
        if reason:
            lines.append(reason)
    elif kind == GridEvent.Kind.MERGED and detail.get("into"):
        lines.append(_("并入 %(target)s") % {"target": node(detail["into"], detail.get("into_name"))})
        if detail.get("from_parent"):
            lines.append(_("原上级：%(parent)s") % {"parent": node(detail["from_parent"])})
        if detail.get("children"):
            lines.append(_("下级随之迁入：%(children)s") % {"children": nodes(detail["children"])})
    elif kind == GridEvent.Kind.MERGED:
        lines.append(_("合并了 %(source)s") % {"source": node(detail.get("absorbed"), detail.get("absorbed_name"))})
        if detail.get("children"):
            lines.append(_("接收其下级：%(children)s") % {"children": nodes(detail["children"])})
    elif kind == GridEvent.Kind.SPLIT:
        lines.append(_("拆分出 %(parts)s") % {"parts": nodes(detail.get("into") or [])})
        for part, children in (detail.get("moved") or {}).items():
            if children:
                lines.append(_("%(part)s 接收：%(children)s") % {"part": node(part), "children": nodes(children)})
    elif kind == GridEvent.Kind.RETIRED:
        lines.append(_("撤销原因：%(reason)s") % {"reason": detail["reason"]} if detail.get("reason") else _("未注明撤销原因"))
    if detail.get("import") and kind != GridEvent.Kind.MOVED:
        lines.append(_("来自导入：%(source)s") % {"source": detail["import"]})
    return lines


def _update_line(field: str, old, new) -> str:
    labels = {"households": _("户数"), "area_type": _("城乡类型")}
    if field == "area_type":
        old, new = (AreaType(v).label if v in AreaType.values else v for v in (old, new))
    empty = _("（空）")
    return _("%(field)s：%(old)s → %(new)s") % {
        "field": labels.get(field, field),
        "old": empty if old in (None, "") else old,
        "new": empty if new in (None, "") else new,
    }

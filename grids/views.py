"""Pages over the grid tree, scoped like the API."""

from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView, TemplateView, View

from grids.exports import EXPORT_FORMATS, grid_export_response
from grids.filtersets import GridFilterSet
from grids.models import AreaType, Grid, GridEvent
from grids.selectors import grid_ancestor_paths, grid_children, grid_history, grid_path, grid_roots, with_subtree_totals
from kaili.mixins import ScopedViewMixin
from kaili.scope import EVERYTHING, EXPORT, VIEW, NodeRange, permission_for, reachable_ranges, user_can

# The tree page's search shows this many matches; past that the user narrows the query.
TREE_SEARCH_LIMIT = 20


class GridListView(ScopedViewMixin, ListView):
    model = Grid
    paginate_by = 50
    template_name = "grids/grid_list.html"

    def get_queryset(self):
        self.filterset = GridFilterSet(
            self.request.GET, queryset=super().get_queryset().select_related("parent").order_by("code")
        )
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filterset=self.filterset,
            query=query.urlencode(),
            can_export=user_can(self.request.user, Grid, EXPORT),
        )
        return context


def _scope_check(user):
    """A test "is this node inside the user's view scope?" that costs no query (ranges are cached)."""
    ranges = reachable_ranges(user, permission_for(Grid, VIEW))
    if ranges is EVERYTHING:
        return lambda grid: True
    return lambda grid: any(r.contains(NodeRange(grid.tree_id, grid.lft, grid.rght)) for r in ranges)


def _breadcrumbs(user, ancestors) -> list[dict]:
    """Ancestors as crumbs: every name is shown, only nodes in scope are links (others would 404)."""
    in_scope = _scope_check(user)
    return [{"code": a.code, "name": a.name, "in_scope": in_scope(a)} for a in ancestors]


def _map_feature(grid: Grid) -> dict:
    return {"code": grid.code, "name": grid.name, "boundary": grid.boundary, "centre": grid.centre}


class GridTreeView(ScopedViewMixin, TemplateView):
    """The tree, level by level, for every role.

    The page renders the user's outermost granted nodes (or, with ``?code=``, one node with
    its breadcrumbs and children) so it works before any script runs; ``static/js/grid-tree.js``
    then loads each level from ``/api/grids/<code>/children/`` only when it is opened, so
    the 20,000-node tree is never sent at once. ``?q=`` searches like the API's list does;
    ``?retired=1`` starts with retired and merged nodes shown.
    """

    model = Grid
    template_name = "grids/tree.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        code = self.request.GET.get("code", "").strip()
        query = self.request.GET.get("q", "").strip()
        show_retired = self.request.GET.get("retired") == "1"
        node, crumbs = None, []
        if code:
            scoped = with_subtree_totals(Grid.objects.restrict(user, VIEW).select_related("parent", "merged_into"))
            node = get_object_or_404(scoped, code=code)
            crumbs = _breadcrumbs(user, grid_path(grid=node))
            # Retired children are sent too and hidden by the page until asked for,
            # so the "show retired" switch needs no reload.
            node.loaded_children = list(grid_children(user=user, grid=node, include_retired=True))
            top_nodes = [node]
            map_node, map_nodes = _map_feature(node), node.loaded_children
        else:
            top_nodes = list(grid_roots(user=user))
            map_node, map_nodes = None, top_nodes
        map_children = [_map_feature(c) for c in map_nodes if c.boundary and not c.is_retired]
        has_map = bool((map_node and map_node["boundary"]) or map_children)
        context.update(
            node=node,
            crumbs=crumbs,
            top_nodes=top_nodes,
            show_retired=show_retired,
            query=query,
            search=self._search(user, query) if query else None,
            map_data={"node": map_node, "children": map_children} if has_map else None,
            tree_strings=self._strings(),
            can_export=user_can(user, Grid, EXPORT),
        )
        return context

    def _search(self, user, query: str) -> dict:
        """The no-script search: the same filter as ``GET /api/grids/?q=``, with each match's path."""
        matches = GridFilterSet({"q": query}, queryset=Grid.objects.restrict(user, VIEW).order_by("code")).qs
        results = list(matches[:TREE_SEARCH_LIMIT])
        count = len(results) if len(results) < TREE_SEARCH_LIMIT else matches.count()
        paths = grid_ancestor_paths(results)
        for result in results:
            result.path = paths[result.pk]
        return {"results": results, "count": count, "truncated": count > len(results)}

    @staticmethod
    def _strings() -> dict:
        """What the script says, translated here (``%(name)s`` placeholders are filled in the browser)."""
        return {
            "loading": _("正在加载…"),
            "searching": _("正在搜索…"),
            "loadFailed": _("加载失败，请检查网络后重试。"),
            "notFound": _("该网格不存在或不在您的管辖范围内。"),
            "signedOut": _("登录已过期，请刷新页面后重新登录。"),
            "retry": _("重试"),
            "noChildren": _("没有在用的下级。"),
            "loadMore": _("加载更多（已显示 %(shown)s / 共 %(total)s）"),
            "childrenOf": _("%(name)s的下级"),
            "openHere": _("在树中打开%(name)s"),
            "children": _("下级 %(n)s"),
            "households": _("户数 %(n)s"),
            "retired": _("已撤销"),
            "mergedInto": _("已并入 %(code)s"),
            "found": _("找到 %(n)s 个网格"),
            "foundTruncated": _("找到 %(n)s 个网格，仅显示前 %(shown)s 个，请输入更完整的名称或编码。"),
            "noMatch": _("没有找到匹配的网格。"),
        }


class GridDetailView(ScopedViewMixin, DetailView):
    model = Grid
    slug_field = "code"
    slug_url_kwarg = "code"
    template_name = "grids/grid_detail.html"

    def get_queryset(self):
        return with_subtree_totals(super().get_queryset().select_related("parent", "merged_into"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        grid = self.object
        user = self.request.user
        events = list(grid_history(grid=grid))
        names = _names_in_scope(user, events)
        context.update(
            children=grid_children(user=user, grid=grid),
            crumbs=_breadcrumbs(user, grid_path(grid=grid)),
            merged_into_in_scope=grid.merged_into_id is not None and _scope_check(user)(grid.merged_into),
            events=[{"event": event, "lines": describe_event(event, names=names)} for event in events],
        )
        return context


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


def _names_in_scope(user, events) -> dict[str, str]:
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


class GridExportView(ScopedViewMixin, View):
    model = Grid
    scope_action = EXPORT

    def get(self, request):
        file_format = request.GET.get("format", "csv")
        if file_format not in EXPORT_FORMATS:
            return HttpResponseBadRequest(_("导出格式只能是 csv 或 xlsx。"))
        grids = GridFilterSet(request.GET, queryset=self.get_queryset()).qs
        return grid_export_response(actor=request.user, grids=grids, file_format=file_format, filters=request.GET.dict())

    def get_queryset(self):
        return Grid.objects.restrict(self.request.user, self.scope_action)

"""Pages over the grid tree, scoped like the API."""

from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView, TemplateView, View

from grids.exports import EXPORT_FORMATS, grid_export_response
from grids.filtersets import GridFilterSet
from grids.history import describe_event, names_in_scope
from grids.models import Grid
from grids.selectors import grid_ancestor_paths, grid_children, grid_history, grid_path, grid_roots, with_subtree_totals
from kaili.mixins import ScopedViewMixin
from kaili.scope import EXPORT, VIEW, scope_predicate, user_can

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


def _breadcrumbs(user, ancestors) -> list[dict]:
    """Ancestors as crumbs: every name is shown, only nodes in scope are links (others would 404)."""
    in_scope = scope_predicate(user, Grid, VIEW)
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
            if len(top_nodes) == 1:  # one granted node: draw it with its children, as ?code= would
                root = top_nodes[0]
                map_node, map_nodes = _map_feature(root), list(grid_children(user=user, grid=root))
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
        names = names_in_scope(user, events)
        context.update(
            children=grid_children(user=user, grid=grid),
            crumbs=_breadcrumbs(user, grid_path(grid=grid)),
            merged_into_in_scope=grid.merged_into_id is not None and scope_predicate(user, Grid, VIEW)(grid.merged_into),
            events=[{"event": event, "lines": describe_event(event, names=names)} for event in events],
        )
        return context


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

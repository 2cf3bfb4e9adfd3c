"""Pages over the grid tree, scoped like the API."""

from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView, View

from grids.exports import EXPORT_FORMATS, grid_export_response
from grids.filtersets import GridFilterSet
from grids.models import Grid
from grids.selectors import grid_children, grid_history, grid_path
from kaili.mixins import ScopedViewMixin
from kaili.scope import EXPORT, user_can


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


class GridDetailView(ScopedViewMixin, DetailView):
    model = Grid
    slug_field = "code"
    slug_url_kwarg = "code"
    template_name = "grids/grid_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        grid = self.object
        context.update(
            children=grid_children(user=self.request.user, grid=grid),
            ancestors=grid_path(grid=grid),
            events=grid_history(grid=grid),
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

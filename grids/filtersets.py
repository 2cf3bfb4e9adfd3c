import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from grids.models import Grid, GridKind


class GridFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=GridKind.choices, label=_("层级"), empty_label=_("全部层级"))
    parent = django_filters.CharFilter(field_name="parent__code", label=_("上级编码"))
    code = django_filters.CharFilter(field_name="code", lookup_expr="startswith", label=_("编码前缀"))
    under = django_filters.CharFilter(method="subtree", label=_("某网格及其全部下级（编码）"))
    q = django_filters.CharFilter(method="search", label=_("编码前缀或名称"))
    retired = django_filters.BooleanFilter(method="by_retired", label=_("已撤销"))
    include_retired = django_filters.BooleanFilter(method="with_retired", label=_("含已撤销"))

    class Meta:
        model = Grid
        fields = ["kind", "area_type", "parent", "code", "q"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(code__startswith=value) | Q(name__icontains=value)) if value else queryset

    def subtree(self, queryset, name, value):
        # By the MPTT interval, so moved and merged nodes count where they hang now. The
        # queryset is already scoped: an out-of-scope code gives nothing, like a missing one.
        node = Grid.objects.filter(code=value.strip()).only("tree_id", "lft", "rght").first()
        if node is None:
            return queryset.none()
        return queryset.filter(tree_id=node.tree_id, lft__gte=node.lft, lft__lte=node.rght)

    def by_retired(self, queryset, name, value):
        return queryset.filter(retired_at__isnull=not value)

    def with_retired(self, queryset, name, value):
        return queryset if value else queryset.active()

    @property
    def qs(self):
        queryset = super().qs
        # Open nodes only, unless the caller asks about retired ones.
        if self.data.get("retired") in (None, "") and "include_retired" not in self.data:
            queryset = queryset.active()
        return queryset

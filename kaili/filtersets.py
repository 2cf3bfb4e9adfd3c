import datetime

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from kaili.models import User
from kaili.roles import ROLES
from kaili.scope import NodeRange, scope_filter


def under_node(queryset, code: str, grid_path: str):
    """Rows whose node (through ``grid_path``) lies in the subtree of the node ``code``, by the
    MPTT interval (as grids' ``under`` filter), so moved and merged nodes count where they hang now.

    The subtree is a subquery on the row's own node column (a semi-join), which the row's
    indexes answer without joining every row to the tree.
    """
    from grids.models import Grid

    node = Grid.objects.filter(code=(code or "").strip()).only("tree_id", "lft", "rght").first()
    if node is None:
        return queryset.none()
    subtree = Grid.objects.filter(scope_filter([NodeRange(node.tree_id, node.lft, node.rght)], "")).values("id")
    return queryset.filter(**{f"{grid_path}__in" if grid_path else "pk__in": subtree})


class UnderFilter(django_filters.CharFilter):
    """``under``: the subtree of a grid code, reached through the queryset's own
    ``grid_path`` (``ScopedQuerySet``). The queryset is already scoped: a code outside the
    scope selects nothing, like a missing one."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("某网格及其全部下级（编码）"))
        super().__init__(**kwargs)

    def filter(self, qs, value):
        return qs if value in EMPTY_VALUES else under_node(qs, value, qs.grid_path)


class LocalDateFilter(django_filters.DateFilter):
    """A date bound on a timestamp column, as local calendar days: ``since`` keeps rows
    from the start of the day, otherwise rows before the start of the next day. A range on
    the column itself, so its index serves it (``__date`` would wrap the column)."""

    def __init__(self, *, since: bool, **kwargs):
        self.since = since
        super().__init__(**kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        day = value if self.since else value + datetime.timedelta(days=1)
        boundary = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        return qs.filter(**{f"{self.field_name}__{'gte' if self.since else 'lt'}": boundary})


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="账号、姓名或单位")
    role = django_filters.ChoiceFilter(
        choices=[(name, role.label) for name, role in ROLES.items()], field_name="groups__name", label="角色"
    )
    is_active = django_filters.BooleanFilter(label="启用")

    class Meta:
        model = User
        fields = ["q", "role", "is_active"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__icontains=value) | Q(full_name__icontains=value) | Q(organisation__icontains=value))

"""The dispute list filters shared by the API, the pages and the exports.

Every queryset reaching these filters is already scoped with ``restrict``: a grid code
outside the caller's scope simply selects nothing, like a missing one.
"""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from disputes.models import OPEN_STATUSES, Dispute, LineKind, Risk, Source, Status
from kaili.filtersets import LocalDateFilter, UnderFilter


class DisputeFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False, label=_("状态"))
    open = django_filters.BooleanFilter(method="by_open", label=_("未结案"))
    line = django_filters.ChoiceFilter(choices=LineKind.choices, field_name="line__kind", label=_("调解防线"))
    tier = django_filters.NumberFilter(field_name="tier__rank", label=_("调解层级（11–33：防线序号与级别）"))
    category = django_filters.CharFilter(field_name="category__code", label=_("纠纷类别编码"))
    under = UnderFilter()
    grid = django_filters.CharFilter(field_name="grid__code", label=_("网格编码（精确）"))
    overdue = django_filters.BooleanFilter(method="by_overdue", label=_("已超期"))
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("来源"))
    risk = django_filters.ChoiceFilter(choices=Risk.choices, label=_("风险等级"))
    group_risk = django_filters.BooleanFilter(label=_("群体性纠纷风险"))
    passed_upward = django_filters.BooleanFilter(label=_("矛盾上交"))
    entrusted = django_filters.BooleanFilter(field_name="entrusted", lookup_expr="isnull", exclude=True, label=_("法院委派/委托"))
    registered_from = LocalDateFilter(field_name="registered_at", since=True, label=_("登记日期起"))
    registered_to = LocalDateFilter(field_name="registered_at", since=False, label=_("登记日期止"))
    occurred_from = django_filters.DateFilter(field_name="occurred_on", lookup_expr="gte", label=_("发生日期起"))
    occurred_to = django_filters.DateFilter(field_name="occurred_on", lookup_expr="lte", label=_("发生日期止"))
    q = django_filters.CharFilter(method="search", label=_("编号、名称、简要情况或地点"))

    class Meta:
        model = Dispute
        fields = [
            "status",
            "open",
            "line",
            "tier",
            "category",
            "under",
            "grid",
            "overdue",
            "source",
            "risk",
            "group_risk",
            "passed_upward",
            "entrusted",
            "registered_from",
            "registered_to",
            "occurred_from",
            "occurred_to",
            "q",
        ]

    def by_open(self, queryset, name, value):
        return queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)

    def by_overdue(self, queryset, name, value):
        overdue = Q(status__in=OPEN_STATUSES, due_on__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if value.upper().startswith("MD-"):
            return queryset.filter(number__startswith=value.upper())
        return queryset.filter(
            Q(number__endswith=value) | Q(name__icontains=value) | Q(summary__icontains=value) | Q(place__icontains=value)
        )

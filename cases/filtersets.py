"""The incident list filters shared by the API, the pages and the exports.

Every queryset reaching these filters is already scoped with ``restrict``: a grid code
outside the caller's scope simply selects nothing, like a missing one.
"""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import OPEN_STATUSES, CategoryKind, Incident, Source, Status, Urgency
from kaili.filtersets import LocalDateFilter, UnderFilter


class IncidentFilterSet(django_filters.FilterSet):
    # distinct=False: the filter joins nothing that repeats rows, and DISTINCT would sort the
    # whole selection.
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False, label=_("状态"))
    open = django_filters.BooleanFilter(method="by_open", label=_("未办结"))
    category = django_filters.CharFilter(method="by_category", label=_("类别编码（大类含其全部小类）"))
    kind = django_filters.ChoiceFilter(choices=CategoryKind.choices, field_name="category__kind", label=_("类别类型"))
    under = UnderFilter()
    grid = django_filters.CharFilter(field_name="grid__code", label=_("网格编码（精确）"))
    overdue = django_filters.BooleanFilter(method="by_overdue", label=_("已超时"))
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices, label=_("紧急程度"))
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("来源"))
    department = django_filters.CharFilter(field_name="department__code", label=_("承办单位编码"))
    reported_from = LocalDateFilter(field_name="reported_at", since=True, label=_("上报日期起"))
    reported_to = LocalDateFilter(field_name="reported_at", since=False, label=_("上报日期止"))
    occurred_from = LocalDateFilter(field_name="occurred_at", since=True, label=_("发生日期起"))
    occurred_to = LocalDateFilter(field_name="occurred_at", since=False, label=_("发生日期止"))
    cleared = django_filters.BooleanFilter(label=_("已破案"))
    q = django_filters.CharFilter(method="search", label=_("编号、标题、描述或地点"))

    class Meta:
        model = Incident
        fields = [
            "status",
            "open",
            "category",
            "kind",
            "under",
            "grid",
            "overdue",
            "urgency",
            "source",
            "department",
            "reported_from",
            "reported_to",
            "occurred_from",
            "occurred_to",
            "cleared",
            "q",
        ]

    def by_open(self, queryset, name, value):
        return queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)

    def by_category(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(category__code=value) | Q(category__parent__code=value))

    def by_overdue(self, queryset, name, value):
        now = timezone.now()
        overdue = Q(status__in=OPEN_STATUSES, due_at__lt=now)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if value.upper().startswith("SJ-"):
            return queryset.filter(number__startswith=value.upper())
        return queryset.filter(
            Q(number__endswith=value) | Q(title__icontains=value) | Q(description__icontains=value) | Q(place__icontains=value)
        )

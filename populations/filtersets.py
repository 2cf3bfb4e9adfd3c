"""List filters of the registry and programme API (and of the exports, which take the same ones).

Every queryset reaching these filters is already scoped with ``restrict``: a grid code
outside the caller's scope simply selects nothing, like a missing one.
"""

import datetime

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaili.filtersets import UnderFilter
from populations.identity import ETHNICITIES
from populations.models import (
    AttentionLevel,
    Enrollment,
    EnrollmentStatus,
    Facility,
    FacilityKind,
    Household,
    Person,
    Placement,
    Programme,
    Registration,
    Residence,
    Sex,
    Visit,
    VisitKind,
)
from populations.schedules import DUE_SOON_DAYS
from populations.selectors import person_search


class HouseholdFilterSet(django_filters.FilterSet):
    unit = django_filters.CharFilter(field_name="unit__code", label=_("十户联防单元编码"))
    under = UnderFilter()
    registration = django_filters.ChoiceFilter(choices=Registration.choices, label=_("户别"))
    q = django_filters.CharFilter(method="search", label=_("住址、门牌号或户编号"))

    class Meta:
        model = Household
        fields = ["unit", "under", "registration", "q"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(address__icontains=value) | Q(doorplate__icontains=value) | Q(number__startswith=value))


class PersonFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("姓名片段，或完整身份证号、电话号码"))
    identity_number = django_filters.CharFilter(method="by_identity_number", label=_("身份证号（精确）"))
    household = django_filters.CharFilter(field_name="household__number", label=_("户编号"))
    unit = django_filters.CharFilter(field_name="unit__code", label=_("十户联防单元编码"))
    under = UnderFilter()
    sex = django_filters.ChoiceFilter(choices=Sex.choices, label=_("性别"))
    residence = django_filters.ChoiceFilter(choices=Residence.choices, label=_("人口类型"))
    ethnicity = django_filters.ChoiceFilter(choices=ETHNICITIES, label=_("民族"))

    class Meta:
        model = Person
        fields = ["q", "identity_number", "household", "unit", "under", "sex", "residence", "ethnicity"]

    def search(self, queryset, name, value):
        return person_search(queryset, value)

    def by_identity_number(self, queryset, name, value):
        # Exact match through the keyed hash: the clear number is never compared in SQL.
        return queryset.with_identity_number(value) if value.strip() else queryset


DUE_CHOICES = [("overdue", _("已逾期")), ("due", _("7天内到期（含逾期）"))]


class EnrollmentFilterSet(django_filters.FilterSet):
    programme = django_filters.ChoiceFilter(choices=Programme.choices, label=_("工程"))
    status = django_filters.ChoiceFilter(choices=EnrollmentStatus.choices, label=_("状态"))
    level = django_filters.NumberFilter(label=_("风险/需求等级"))
    attention = django_filters.ChoiceFilter(choices=AttentionLevel.choices, label=_("关注程度"))
    due = django_filters.ChoiceFilter(choices=DUE_CHOICES, method="by_due", label=_("走访到期"))
    under = UnderFilter()
    person = django_filters.NumberFilter(field_name="person_id", label=_("人员 ID"))

    class Meta:
        model = Enrollment
        fields = ["programme", "status", "level", "attention", "due", "under", "person"]

    def by_due(self, queryset, name, value):
        # populations.schedules.due_state: "overdue" before today, "due" within DUE_SOON_DAYS.
        today = timezone.localdate()
        active = queryset.filter(status=EnrollmentStatus.ACTIVE)
        if value == "overdue":
            return active.filter(next_due_on__lt=today)
        return active.filter(next_due_on__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))


class VisitFilterSet(django_filters.FilterSet):
    enrollment = django_filters.NumberFilter(field_name="enrollment_id", label=_("在册记录 ID"))
    kind = django_filters.ChoiceFilter(choices=VisitKind.choices, label=_("类型"))
    date_from = django_filters.DateFilter(field_name="visited_on", lookup_expr="gte", label=_("起始日期"))
    date_to = django_filters.DateFilter(field_name="visited_on", lookup_expr="lte", label=_("截止日期"))

    class Meta:
        model = Visit
        fields = ["enrollment", "kind", "date_from", "date_to"]


class PlacementFilterSet(django_filters.FilterSet):
    enrollment = django_filters.NumberFilter(field_name="enrollment_id", label=_("在册记录 ID"))
    facility = django_filters.NumberFilter(field_name="facility_id", label=_("场所 ID"))
    current = django_filters.BooleanFilter(field_name="ended_on", lookup_expr="isnull", label=_("仅当前在用"))

    class Meta:
        model = Placement
        fields = ["enrollment", "facility", "current"]


class FacilityFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=FacilityKind.choices, label=_("类型"))
    under = UnderFilter()

    class Meta:
        model = Facility
        fields = ["kind", "under"]

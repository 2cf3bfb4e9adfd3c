import django_filters
from django.db.models import Q

from kaili.models import User
from kaili.roles import ROLES


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

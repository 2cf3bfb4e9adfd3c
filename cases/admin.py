from django.contrib import admin

from cases.models import CalendarDay, Category, Department
from cases.services import department_members_changed
from kaili.admin import MemberTableAdmin


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "parent", "kind", "statistic", "department", "urgent", "handle_minutes", "is_active")
    list_filter = ("kind", "urgent", "is_active", "parent")
    search_fields = ("code", "name", "statistic")
    list_select_related = ("parent", "department")
    autocomplete_fields = ("parent", "department")
    ordering = ("sort", "code")

    def has_delete_permission(self, request, obj=None):
        # Categories that incidents point at are kept; turn them off instead.
        return False


@admin.register(Department)
class DepartmentAdmin(MemberTableAdmin):
    def members_changed(self, actor, obj, before):
        # Membership opens the cases dispatched to the department.
        department_members_changed(actor=actor, department=obj, before=before)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "working", "name")
    list_filter = ("working",)
    date_hierarchy = "date"
    search_fields = ("name",)

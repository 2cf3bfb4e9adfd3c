"""The programmes' configuration in the admin: visit schedules and facilities.

Officer duties are assigned by the security admin on their own page (separation of duties).

Residents and enrollments are not edited here: their pages (and the API) mask what the
reader may not see and audit every sensitive read, which the admin's generic forms cannot.
Facilities are written through ``populations.services`` and shown within the admin's
grid scope.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kaili.scope import CHANGE
from populations.models import Facility, ScheduleRule
from populations.services import facility_create, facility_update


@admin.register(ScheduleRule)
class ScheduleRuleAdmin(admin.ModelAdmin):
    list_display = ("programme", "basis", "key_from", "key_to", "visit_kind", "interval_months", "interval_days", "note")
    list_filter = ("programme", "basis")
    list_editable = ("interval_months", "interval_days")
    ordering = ("programme", "basis", "key_from")


class FacilityForm(forms.ModelForm):
    """Refuses here what the services would refuse, so the admin shows it on the form."""

    class Meta:
        model = Facility
        fields = ("grid", "kind", "name", "capacity", "address")

    def clean(self):
        cleaned = super().clean()
        grid = cleaned.get("grid")
        if grid is not None and grid.retired_at is not None:
            self.add_error("grid", gettext("%(name)s已撤销，不能新增场所。") % {"name": grid.name})
        if self.instance.pk and cleaned.get("capacity") is not None:
            occupied = self.instance.placements.filter(ended_on__isnull=True).count()
            if cleaned["capacity"] < occupied:
                self.add_error("capacity", gettext("容量不能小于当前在用的 %(n)d 个名额。") % {"n": occupied})
        return cleaned


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    form = FacilityForm
    list_display = ("name", "kind", "grid", "capacity", "occupied", "retired_at")
    list_filter = ("kind",)
    search_fields = ("name", "grid__code", "grid__name")
    raw_id_fields = ("grid",)
    readonly_fields = ("retired_at",)

    def get_queryset(self, request):
        from django.db.models import Count, Q

        return (
            # Those the admin may change: a town's admin does not edit the city's centre,
            # although its officers see it (FacilityQuerySet.restrict for viewing).
            Facility.objects.restrict(request.user, CHANGE)
            .select_related("grid")
            .annotate(current=Count("placements", filter=Q(placements__ended_on__isnull=True)))
        )

    @admin.display(description=_("在用"))
    def occupied(self, facility):
        return facility.current

    def get_readonly_fields(self, request, obj=None):
        return ("grid", "retired_at") if obj else ("retired_at",)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            editable = {"name", "kind", "capacity", "address"}
            facility_update(actor=request.user, facility=obj, **{f: data[f] for f in form.changed_data if f in editable})
        else:
            created = facility_create(
                actor=request.user,
                grid=data["grid"],
                kind=data["kind"],
                name=data["name"],
                capacity=data["capacity"],
                address=data.get("address", ""),
            )
            obj.pk = created.pk

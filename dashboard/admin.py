"""The roll-up's runs and the villages' assessments in the admin, both read-only.

Runs are written by the roll-up alone; the changelist's "立即重算" posts to
``dashboard:rebuild``, which queues a full rebuild and shows its progress. Assessments are
entered on the village's assessment page, through ``dashboard.services.assessment_save``
(validated and audited), so the admin only lists them, within the user's grid scope.
"""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from dashboard.models import RollupRun, VillageAssessment

REBUILD_PERMISSION = "dashboard.rebuild_statistic"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RollupRun)
class RollupRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "started_at",
        "finished_at",
        "duration",
        "cells",
        "rows",
        "mismatches",
        "requested_by",
    )
    list_display_links = ("id", "kind")
    list_filter = ("kind", "status")
    list_select_related = ("requested_by",)
    date_hierarchy = "started_at"
    show_full_result_count = False  # incremental runs are many
    fields = (
        "kind",
        "status",
        "started_at",
        "finished_at",
        "duration",
        "requested_by",
        "task_id",
        "families",
        "periods",
        "cells",
        "rows",
        "mismatches",
        "progress_page",
        "error",
        "detail_json",
    )
    readonly_fields = fields

    @admin.display(description=_("用时（秒）"))
    def duration(self, run: RollupRun):
        return None if run.seconds is None else round(run.seconds, 1)

    @admin.display(description=_("详情"))
    def detail_json(self, run: RollupRun):
        return format_html("<pre>{}</pre>", json.dumps(run.detail, ensure_ascii=False, indent=2, sort_keys=True))

    @admin.display(description=_("进度页面"))
    def progress_page(self, run: RollupRun):
        return format_html('<a href="{}">{}</a>', reverse("dashboard:rollup-run", args=[run.pk]), _("查看"))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_rebuild": request.user.has_perm(REBUILD_PERMISSION)}
        return super().changelist_view(request, extra_context)


@admin.register(VillageAssessment)
class VillageAssessmentAdmin(ReadOnlyAdmin):
    list_display = (
        "zone",
        "year",
        "has_venue",
        "has_funding",
        "has_mechanism",
        "other_item",
        "no_other",
        "assessed_by",
        "assessed_at",
        "assessment_page",
    )
    list_filter = ("year", "has_venue", "has_funding", "has_mechanism", "no_other")
    list_select_related = ("zone", "assessed_by")
    search_fields = ("zone__code", "zone__name")
    ordering = ("zone__code", "-year")
    fields = (
        "zone",
        "year",
        "has_venue",
        "has_funding",
        "has_mechanism",
        "other_item",
        "no_other",
        "note",
        "assessed_by",
        "assessed_at",
        "assessment_page",
    )
    readonly_fields = fields

    @admin.display(description=_("评定页面"))
    def assessment_page(self, assessment: VillageAssessment):
        url = reverse("dashboard:assessment", args=[assessment.zone.code, assessment.year])
        return format_html('<a href="{}">{}</a>', url, _("打开（在此修改）"))

    def get_queryset(self, request):
        return super().get_queryset(request).restrict(request.user)

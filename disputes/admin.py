"""The admin keeps the tables of the "132" mechanism (DOMAIN.md: every limit is
configurable): categories, scales, the lines' names, the tiers' time limits, the bodies
and courts with their members. Disputes themselves are only read here: every change to a
dispute is a step of the flow, taken through ``disputes.services``."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from disputes.models import (
    Court,
    Dispute,
    DisputeCategory,
    DisputeParty,
    DisputeScale,
    DisputeTransition,
    MediationBody,
    MediationLine,
    Tier,
)
from disputes.services import body_members_changed, court_members_changed
from kaili.admin import MembersAuditedAdmin, MemberTableAdmin


class KeptTableAdmin(admin.ModelAdmin):
    """Rows that disputes point at are switched off, never deleted."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DisputeCategory)
class DisputeCategoryAdmin(KeptTableAdmin):
    list_display = ("code", "name", "incident_category", "sort", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    list_select_related = ("incident_category",)
    autocomplete_fields = ("incident_category",)
    ordering = ("sort", "code")


@admin.register(DisputeScale)
class DisputeScaleAdmin(KeptTableAdmin):
    list_display = ("code", "name", "sort", "is_active")
    list_filter = ("is_active",)
    ordering = ("sort", "code")


@admin.register(MediationLine)
class MediationLineAdmin(KeptTableAdmin):
    """The three lines are fixed: their kind drives the flow and their order the tiers'
    escalation ranks; only the name shown to people may change."""

    list_display = ("order", "kind", "name")
    readonly_fields = ("kind", "order")

    def has_add_permission(self, request):
        return False


@admin.register(Tier)
class TierAdmin(KeptTableAdmin):
    """The nine tiers are fixed rungs; an admin sets their names and time limits."""

    list_display = ("rank", "line", "level", "name", "days")
    list_editable = ("days",)
    list_filter = ("line",)
    list_select_related = ("line",)
    readonly_fields = ("line", "level", "rank")
    ordering = ("rank",)

    def has_add_permission(self, request):
        return False


@admin.register(MediationBody)
class MediationBodyAdmin(KeptTableAdmin, MembersAuditedAdmin):
    list_display = ("name", "kind", "line", "tier", "node", "is_active")
    list_filter = ("line", "kind", "is_active")
    search_fields = ("name",)
    list_select_related = ("line", "tier__line", "node")
    raw_id_fields = ("node",)
    filter_horizontal = ("members", "categories")

    def members_changed(self, actor, obj, before):
        # Members mediate the disputes routed to the body.
        body_members_changed(actor=actor, body=obj, before=before)


@admin.register(Court)
class CourtAdmin(MemberTableAdmin):
    def members_changed(self, actor, obj, before):
        # Court accounts rule on confirmations and entrust cases.
        court_members_changed(actor=actor, court=obj, before=before)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PartyInline(ReadOnlyInline):
    model = DisputeParty
    # masked numbers only: the clear ones are shown, audited, on the dispute's own page
    fields = ("role", "kind", "name", "id_number_masked", "phone_masked", "address")
    readonly_fields = fields


class TransitionInline(ReadOnlyInline):
    model = DisputeTransition
    fields = ("at", "step", "from_status", "to_status", "actor", "tier", "due_on", "late", "note")
    readonly_fields = fields
    ordering = ("at", "id")


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    """For looking a dispute up by its number; changes go through the flow's steps."""

    list_display = ("number", "name", "category", "grid", "status", "tier", "registered_at", "due_on", "closed_at")
    list_filter = ("status", "category", "source")
    list_select_related = ("category", "grid", "tier__line")
    search_fields = ("number",)
    search_help_text = _("输入完整的纠纷编号，如 MD-522601-2026-000001")
    show_full_result_count = False
    inlines = (PartyInline, TransitionInline)

    def get_search_results(self, request, queryset, search_term):
        # The exact number, answered from its unique index (a substring search would scan
        # every dispute).
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(number=term), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

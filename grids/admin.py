"""The grid tree in the Django admin: a draggable tree, search, and the tree operations.

Nothing here writes a node itself (STYLE.md, "One write path per operation"): the add and
change forms, the delete button, dragging a node and the actions "迁移到…", "并入…",
"拆分…" and "撤销" all call ``grids.services``, which validate, lock the tree, write the
history and audit. A service's refusal is shown to the admin in its own words and leaves
the node as it was. Every node the admin sees or touches is taken through the user's grid
scope (``Grid.objects.restrict``), and a node outside it is answered like a missing one.
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from mptt.admin import DraggableMPTTAdmin

from grids import selectors, services
from grids.history import describe_event, names_in_scope
from grids.models import CHILD_KIND, KINDS_WITH_AREA_TYPE, Grid, GridKind
from kaili.scope import ADD, CHANGE, DELETE, VIEW, user_can

# The attributes a node's change form edits; its code, kind and place change only through
# grid_move / grid_merge / grid_split, never through the form.
EDITABLE_FIELDS = ("name", "area_type", "households", "boundary", "centre")
# What django-mptt's draggable tree posts with cmd=move_node (first-child for completeness).
CHILD_POSITIONS = ("first-child", "last-child")
SIBLING_POSITIONS = ("left", "right")
CONFIRMATION_TEMPLATE = "admin/grids/grid/action_confirmation.html"


def not_in_scope(code: str) -> str:
    # The API's wording: "not found" and "not yours" read the same (STYLE.md, rule 2).
    return gettext("网格 %(code)s 不存在或不在您的管辖范围内。") % {"code": code}


def refusal_text(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def error_fields(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {NON_FIELD_ERRORS: error.messages}


class ServiceRefused(Exception):
    """A service said no while the admin was saving; carries its ValidationError out of the
    admin's transaction so the form can be shown again with the reason."""

    def __init__(self, error: ValidationError):
        super().__init__(refusal_text(error))
        self.error = error


def child_kind(parent: Grid | None) -> str:
    if parent is None:
        return GridKind.CITY
    kind = CHILD_KIND.get(parent.kind)
    if kind is None:
        raise ValidationError({"kind": gettext("三级网格（十户联防）之下不能再建下级网格。")})
    return kind


# ---------------------------------------------------------------------------------------
# Forms


class ServiceModelForm(forms.ModelForm):
    """A ModelForm whose model checks are the service's.

    The service validates the node (kind under parent, code format, area type...) and its
    reasons name fields this form may not have, so the form does not run the model's
    validation a second time. When the service refused on a first pass, ``service_error``
    holds its reasons and they become this form's errors.
    """

    service_error: ValidationError | None = None
    field_aliases: dict[str, str] = {}

    def _post_clean(self):
        if self.service_error is None:
            return
        for field, field_messages in error_fields(self.service_error).items():
            field = self.field_aliases.get(field, field)
            self.add_error(field if field in self.fields else None, field_messages)


class GridAddForm(ServiceModelForm):
    parent_code = forms.CharField(
        label=_("上级编码"),
        max_length=17,
        required=False,
        help_text=_("新网格所在的上级网格的编码（须在您的管辖范围内）。"),
    )
    kind = forms.ChoiceField(
        label=_("层级"),
        choices=[("", _("按上级自动确定")), *GridKind.choices],
        required=False,
    )
    code = forms.CharField(label=_("编码"), max_length=17, required=False, help_text=_("留空则自动分配下一个编码。"))
    field_aliases = {"parent": "parent_code"}

    class Meta:
        model = Grid
        fields = ("name", "area_type", "households", "boundary", "centre")


class GridChangeForm(ServiceModelForm):
    class Meta:
        model = Grid
        fields = EDITABLE_FIELDS


class MoveForm(forms.Form):
    parent = forms.CharField(
        label=_("新上级编码"), max_length=17, help_text=_("所选网格连同下级迁到该网格之下，编码与业务记录不变。")
    )


class MergeForm(forms.Form):
    into = forms.CharField(
        label=_("并入网格编码"),
        max_length=17,
        help_text=_("只能并入同一层级的网格。被并入的网格撤销，其在用下级迁到目标网格之下。"),
    )


class SplitForm(forms.Form):
    name = forms.CharField(label=_("新网格名称"), max_length=100)
    code = forms.CharField(label=_("新网格编码"), max_length=17, required=False, help_text=_("留空则自动分配下一个编码。"))
    children = forms.MultipleChoiceField(label=_("迁入新网格的下级"), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, grid: Grid, **kwargs):
        super().__init__(*args, **kwargs)
        open_children = grid.get_children().filter(retired_at__isnull=True).order_by("code")
        self.fields["children"].choices = [(child.code, str(child)) for child in open_children]


class RetireForm(forms.Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=200, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


# ---------------------------------------------------------------------------------------
# The admin


class RetiredFilter(admin.SimpleListFilter):
    title = _("状态")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", _("在用")), ("retired", _("已撤销"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(retired_at__isnull=True)
        if self.value() == "retired":
            return queryset.filter(retired_at__isnull=False)
        return queryset


@admin.register(Grid)
class GridAdmin(DraggableMPTTAdmin):
    list_display = ("tree_actions", "indented_title", "code", "kind", "area_type", "households_display", "status")
    list_display_links = ("indented_title",)
    list_filter = ("kind", "area_type", RetiredFilter)
    list_select_related = ("merged_into",)
    # Codes are hierarchical: a prefix finds a node and its subtree. A case-sensitive
    # prefix (LIKE 'x%') can use the code's pattern index; "^code" (UPPER ... LIKE) cannot.
    search_fields = ("code__startswith", "name")
    search_help_text = _("按编码前缀或名称搜索")
    # The tree is shown in tree order; sorting by a column would scramble the indentation.
    sortable_by = ()
    # django-mptt's default of 2,000 rows makes a city's page (some 20,000 nodes) crawl.
    list_per_page = 500
    actions = ("move_to", "merge_into", "split", "retire")
    fieldsets = (
        (None, {"fields": ("code", "name", "kind", "parent", "area_type", "households")}),
        (_("地图"), {"fields": ("boundary", "centre"), "classes": ("collapse",)}),
        (_("状态"), {"fields": ("retired_at", "merged_into", "created_at")}),
    )
    add_fieldsets = (
        (None, {"fields": ("parent_code", "kind", "code", "name", "area_type", "households")}),
        (_("地图"), {"fields": ("boundary", "centre"), "classes": ("collapse",)}),
    )
    always_readonly_fields = ("code", "kind", "parent", "retired_at", "merged_into", "created_at")

    # --- list ------------------------------------------------------------------------

    def get_queryset(self, request):
        return selectors.with_subtree_totals(Grid.objects.restrict(request.user, VIEW))

    @admin.display(description=_("名称"))
    def indented_title(self, item):
        return format_html(
            '<div style="text-indent:{}px" class="{}">{}</div>',
            item.level * self.mptt_level_indent,
            "quiet" if item.is_retired else "",
            item.name,
        )

    @admin.display(description=_("户数"))
    def households_display(self, item):
        if item.kind == GridKind.UNIT:
            return item.households
        return getattr(item, "households_total", None)

    @admin.display(description=_("状态"))
    def status(self, item):
        if item.merged_into_id:
            return gettext("已并入 %(code)s") % {"code": item.merged_into.code}
        if item.is_retired:
            return gettext("已撤销")
        return gettext("在用")

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk delete would bypass grid_delete's checks; delete one node from its page.
        actions.pop("delete_selected", None)
        return actions

    # --- permissions: the role's permission, then the node's place in the user's scope --

    def _in_scope(self, request, grid: Grid, action: str) -> bool:
        cache = request.__dict__.setdefault("_grid_admin_scope", {})
        key = (action, grid.pk)
        if key not in cache:
            cache[key] = Grid.objects.restrict(request.user, action).filter(pk=grid.pk).exists()
        return cache[key]

    def _node_in_scope(self, request, code: str, action: str) -> Grid | None:
        return selectors.grid_in_scope(user=request.user, code=code, action=action)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and user_can(request.user, Grid, ADD)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        # A retired node keeps its history and takes no changes (grids.services); show it read-only.
        return obj is None or (not obj.is_retired and self._in_scope(request, obj, CHANGE))

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or (not obj.is_retired and self._in_scope(request, obj, DELETE))

    # --- add and change forms -----------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        readonly = list(self.always_readonly_fields)
        if obj.kind not in KINDS_WITH_AREA_TYPE:
            readonly.append("area_type")
        if obj.kind != GridKind.UNIT:
            readonly.append("households")
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = GridChangeForm if obj is not None else GridAddForm
        form = super().get_form(request, obj, change, **kwargs)
        form.service_error = getattr(request, "_grid_service_error", None)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The first pass's transaction is rolled back; the second shows the same form
            # with the service's reasons as its errors (and so writes nothing).
            request._grid_service_error = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        try:
            if change:
                changes = {field: form.cleaned_data[field] for field in form.changed_data if field in EDITABLE_FIELDS}
                if changes:
                    services.grid_update(actor=request.user, grid=obj, **changes)
            else:
                obj.pk = self._create(request, form.cleaned_data).pk
                obj._state.adding = False
        except ValidationError as error:
            raise ServiceRefused(error) from error
        obj.refresh_from_db()

    def _create(self, request, data) -> Grid:
        parent = None
        if data.get("parent_code"):
            parent = self._node_in_scope(request, data["parent_code"], ADD)
            if parent is None:
                raise ValidationError({"parent": not_in_scope(data["parent_code"].strip())})
        elif not request.user.is_superuser:
            raise ValidationError({"parent": gettext("请指定上级网格。")})
        return services.grid_create(
            actor=request.user,
            parent=parent,
            kind=data.get("kind") or child_kind(parent),
            code=data.get("code") or None,
            name=data.get("name", ""),
            area_type=data.get("area_type") or "",
            households=data.get("households"),
            boundary=data.get("boundary"),
            centre=data.get("centre"),
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            events = list(selectors.grid_history(grid=obj, limit=100))
            names = names_in_scope(request.user, events)
            context["grid_events"] = [
                {
                    "at": event.at,
                    "kind": event.get_kind_display(),
                    "actor": str(event.actor) if event.actor else gettext("系统"),
                    "detail": "；".join(describe_event(event, names=names)) or "—",
                }
                for event in events
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- delete ---------------------------------------------------------------------------

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, _protected = super().get_deleted_objects(objs, request)
        # Whether a node may go is grid_delete's call (children, records), and it says why.
        return deleted, model_count, perms_needed, []

    def delete_model(self, request, obj):
        try:
            services.grid_delete(actor=request.user, grid=obj)
        except ValidationError as error:
            raise ServiceRefused(error) from error

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refused:
            self.message_user(request, refusal_text(refused.error), messages.ERROR)
            return redirect(reverse("admin:grids_grid_change", args=[quote(object_id)], current_app=self.admin_site.name))

    # --- dragging ---------------------------------------------------------------------------

    def _move_node(self, request):
        """A node dropped in the draggable tree: re-parent it through ``grid_move``.

        The tree's script reloads the page whatever the answer, so the message says what
        happened; the status and body follow django-mptt ("OK…"/"FAIL…"). Siblings are
        ordered by code, so dropping a node beside another means "under the same parent".
        """
        position = request.POST.get("position")
        if position not in CHILD_POSITIONS + SIBLING_POSITIONS:
            self.message_user(request, gettext("无法识别的拖动指令。"), messages.ERROR)
            return HttpResponseBadRequest("FAIL, unknown instruction.")
        try:
            cut_item = Grid.objects.restrict(request.user, CHANGE).get(pk=request.POST.get("cut_item"))
            pasted_on = Grid.objects.restrict(request.user, VIEW).select_related("parent").get(pk=request.POST.get("pasted_on"))
        except (Grid.DoesNotExist, TypeError, ValueError):
            self.message_user(request, gettext("要移动的网格不存在或不在您的管辖范围内。"), messages.ERROR)
            return HttpResponseNotFound("FAIL, invalid objects.")
        target = pasted_on if position in CHILD_POSITIONS else pasted_on.parent
        if target is None:
            self.message_user(request, gettext("市级根节点旁不能放置网格。"), messages.ERROR)
            return HttpResponseBadRequest("FAIL, invalid move.")
        if not self._in_scope(request, target, ADD):
            self.message_user(request, not_in_scope(target.code), messages.ERROR)
            return HttpResponseNotFound("FAIL, invalid objects.")
        if target.pk == cut_item.parent_id:
            self.message_user(
                request, gettext("同一上级下的网格按编码排列，不能调整先后；如需迁移，请拖到另一上级之下。"), messages.WARNING
            )
            return HttpResponse("OK, unchanged.")
        try:
            services.grid_move(actor=request.user, grid=cut_item, new_parent=target)
        except ValidationError as error:
            self.message_user(request, f"{cut_item}：{refusal_text(error)}", messages.ERROR)
            return HttpResponseBadRequest("FAIL, invalid move.")
        self.message_user(request, gettext("%(grid)s 已迁移到 %(parent)s 之下。") % {"grid": cut_item, "parent": target})
        return HttpResponse("OK, moved.")

    # --- actions with a confirmation page ---------------------------------------------------

    def _confirmation(self, request, grids, *, action: str, title: str, form, intro: str, submit_label: str):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "grids": sorted(grids, key=lambda grid: grid.code),
            "form": form,
            "action": action,
            "intro": intro,
            "submit_label": submit_label,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": request.get_full_path(),
        }
        # No "media" in the context: django-mptt would add the whole tree's script to it.
        return TemplateResponse(request, CONFIRMATION_TEMPLATE, context)

    def _apply_each(self, request, grids, operation: Callable[[Grid], object]) -> list[str]:
        """Run the service on each node the user may change; a refusal stops only its own node.

        Each service call is its own transaction, so what succeeded stays done. Answers the
        codes of the nodes done; every refusal is a message in the service's words."""
        changeable = set(
            Grid.objects.restrict(request.user, CHANGE).filter(pk__in=[grid.pk for grid in grids]).values_list("pk", flat=True)
        )
        succeeded = []
        for grid in grids:
            if grid.pk not in changeable:
                self.message_user(request, not_in_scope(grid.code), messages.ERROR)
                continue
            try:
                operation(grid)
            except ValidationError as error:
                self.message_user(request, f"{grid}：{refusal_text(error)}", messages.ERROR)
            else:
                succeeded.append(grid.code)
        return succeeded

    def _report_done(self, request, message: str, codes: list[str], **params) -> None:
        if codes:
            self.message_user(request, message % {"n": len(codes), "codes": "、".join(codes), **params}, messages.SUCCESS)

    def _to_target(self, request, queryset, *, action: str, form_class, field: str, target_scope: str, operation, texts: dict):
        """Move or merge: one confirmation page naming the target, then the service once per node."""
        grids = list(queryset.order_by("code"))
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            code = form.cleaned_data[field].strip()
            target = self._node_in_scope(request, code, target_scope)
            if target is None:
                form.add_error(field, not_in_scope(code))
            else:
                done = self._apply_each(request, grids, lambda grid: operation(grid, target))
                self._report_done(request, texts["done"], done, target=target)
                return None
        return self._confirmation(
            request, grids, action=action, title=texts["title"], form=form, intro=texts["intro"], submit_label=texts["submit"]
        )

    @admin.action(description=_("迁移到…"), permissions=["change"])
    def move_to(self, request, queryset):
        return self._to_target(
            request,
            queryset,
            action="move_to",
            form_class=MoveForm,
            field="parent",
            target_scope=ADD,
            operation=lambda grid, target: services.grid_move(actor=request.user, grid=grid, new_parent=target),
            texts={
                "done": gettext("已迁移 %(n)d 个网格到 %(target)s 之下：%(codes)s"),
                "title": gettext("迁移网格"),
                "intro": gettext("以下网格将连同其下级迁到新的上级之下："),
                "submit": gettext("确认迁移"),
            },
        )

    @admin.action(description=_("并入…"), permissions=["change"])
    def merge_into(self, request, queryset):
        return self._to_target(
            request,
            queryset,
            action="merge_into",
            form_class=MergeForm,
            field="into",
            target_scope=CHANGE,
            operation=lambda grid, target: services.grid_merge(actor=request.user, source=grid, target=target),
            texts={
                "done": gettext("已将 %(n)d 个网格并入 %(target)s：%(codes)s"),
                "title": gettext("合并网格"),
                "intro": gettext("以下网格将并入同一层级的另一网格，并入后撤销："),
                "submit": gettext("确认合并"),
            },
        )

    @admin.action(description=_("拆分…"), permissions=["change"])
    def split(self, request, queryset):
        grids = list(queryset)
        if len(grids) != 1:
            self.message_user(request, gettext("拆分一次只能选择一个网格。"), messages.ERROR)
            return None
        grid = grids[0]
        if not self._in_scope(request, grid, CHANGE):
            self.message_user(request, not_in_scope(grid.code), messages.ERROR)
            return None
        form = SplitForm(request.POST if "apply" in request.POST else None, grid=grid)
        if form.is_bound and form.is_valid():
            # The new sibling is created under the node's parent: the user must be able to add there.
            if grid.parent_id and not self._in_scope(request, grid.parent, ADD):
                form.add_error(None, not_in_scope(grid.parent.code))
            else:
                part = services.SplitPart(
                    name=form.cleaned_data["name"],
                    code=form.cleaned_data["code"] or None,
                    children=form.cleaned_data["children"],
                )
                try:
                    (created,) = services.grid_split(actor=request.user, grid=grid, parts=[part])
                except ValidationError as error:
                    # Shown above the form, which stays filled in for another try.
                    self.message_user(request, f"{grid}：{refusal_text(error)}", messages.ERROR)
                else:
                    self.message_user(
                        request,
                        gettext("已从 %(grid)s 拆分出 %(new)s，迁入下级 %(n)d 个。")
                        % {"grid": grid, "new": created, "n": len(part.children)},
                        messages.SUCCESS,
                    )
                    return None
        return self._confirmation(
            request,
            grids,
            action="split",
            title=gettext("拆分网格"),
            form=form,
            intro=gettext("将在同一上级下新建一个同级网格，并把勾选的下级迁入新网格；原网格保留其余下级和全部记录："),
            submit_label=gettext("确认拆分"),
        )

    @admin.action(description=_("撤销"), permissions=["change"])
    def retire(self, request, queryset):
        # Deepest first, so a node and its children can be retired in one go.
        grids = sorted(queryset, key=lambda grid: (-grid.level, grid.code))
        form = RetireForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = self._apply_each(
                request, grids, lambda grid: services.grid_retire(actor=request.user, grid=grid, reason=reason)
            )
            self._report_done(request, gettext("已撤销 %(n)d 个网格：%(codes)s"), done)
            return None
        return self._confirmation(
            request,
            grids,
            action="retire",
            title=gettext("撤销网格"),
            form=form,
            intro=gettext("以下网格将被撤销：保留历史和业务记录，不再登记新记录，编码不再使用。"),
            submit_label=gettext("确认撤销"),
        )

"""The Django admin site as the system admins' back office.

The platform's system admins hold the ``system_admin`` role rather than ``is_staff``, so
the site admits active superusers and holders of that role, and nobody else. Signing in
and changing one's password go through the platform's own pages (lockouts, the second
factor, and ``user_set_password`` as the one write path for passwords); the middleware
already asks privileged roles for their TOTP code before any admin page.
"""

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from kaili.roles import SYSTEM_ADMIN, user_role_names


def admin_site_admits(request) -> bool:
    """Active superusers and system admins; ``is_staff`` alone admits nobody."""
    user = request.user
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or SYSTEM_ADMIN in user_role_names(user)


def _admin_next(request) -> str:
    target = request.GET.get(REDIRECT_FIELD_NAME) or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("admin:index", current_app=admin.site.name)


@never_cache
def admin_login(request, extra_context=None):
    """Where the admin sends whoever it does not admit.

    Strangers go to the platform's sign-in page and come back afterwards; a signed-in
    user without the right is refused here (sending them to sign in again would loop).
    """
    if admin_site_admits(request):
        return redirect(_admin_next(request))
    if request.user.is_authenticated:
        raise PermissionDenied
    return redirect_to_login(_admin_next(request), reverse("login"))


@never_cache
def admin_password_change(request, extra_context=None):
    return redirect("password-change")


admin.site.has_permission = admin_site_admits
admin.site.login = admin_login
admin.site.password_change = admin_password_change
admin.site.site_header = _("凯里市网格化治理平台 管理后台")
admin.site.site_title = _("凯里市网格化治理平台 管理后台")


class MembersAuditedAdmin(admin.ModelAdmin):
    """An admin whose ``members`` open records (a department's cases, a mediation body's
    disputes, a court's confirmations): membership set here is handed to the service that
    audits it as grants and withdrawals, ``members_changed(actor, obj, before)``."""

    def members_changed(self, actor, obj, before: set[int]) -> None:
        raise NotImplementedError

    def save_related(self, request, form, formsets, change):
        before = set(form.instance.members.values_list("pk", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        self.members_changed(request.user, form.instance, before)


class MemberTableAdmin(MembersAuditedAdmin):
    """A table of organisations with members, each on a grid node (a handling department, a
    court): listed by code, name, node and whether active; switched off, never deleted, as
    records point at them."""

    list_display = ("code", "name", "node", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    list_select_related = ("node",)
    raw_id_fields = ("node",)
    filter_horizontal = ("members",)

    def has_delete_permission(self, request, obj=None):
        return False

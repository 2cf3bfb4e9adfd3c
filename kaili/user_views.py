"""Account pages for the system admin (accounts) and the security admin (roles, lockouts).

The same service functions as the /api/users/ endpoints; each action checks its own
permission, so the two admin roles stay apart (三员分立).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kaili import services
from kaili.filtersets import UserFilterSet
from kaili.forms import GrantForm, PasswordResetForm, UserCreateForm
from kaili.models import User
from kaili.roles import ROLES
from kaili.selectors import locked_usernames, user_grants, user_list


def _error_text(error: ValidationError) -> str:
    return "；".join(error.messages)


@login_required
@permission_required("kaili.view_user", raise_exception=True)
def user_list_page(request):
    filterset = UserFilterSet(request.GET or None, queryset=user_list())
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    locked = locked_usernames(user.username for user in page)
    rows = [{"user": user, "grants": user_grants(user), "locked": user.username in locked} for user in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "kaili/user_list.html",
        {"filterset": filterset, "page": page, "rows": rows, "query": query.urlencode()},
    )


@login_required
@permission_required("kaili.add_user", raise_exception=True)
def user_create_page(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                actor=request.user,
                username=data["username"],
                password=data["password1"],
                full_name=data["full_name"],
                organisation=data["organisation"],
                email=data["email"],
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error("password1" if field == "password" else field if field in form.fields else None, errors)
        else:
            messages.success(
                request, _("账号 %(username)s 已创建；角色与授权范围请由安全管理员分配。") % {"username": user.username}
            )
            return redirect("account-detail", pk=user.pk)
    return render(request, "kaili/user_form.html", {"form": form})


@login_required
@permission_required("kaili.view_user", raise_exception=True)
def user_detail_page(request, pk):
    user = get_object_or_404(user_list(), pk=pk)
    return render(
        request,
        "kaili/user_detail.html",
        {
            "account": user,
            "grants": user_grants(user),
            "locked": user.username in locked_usernames([user.username]),
            "grant_form": GrantForm(),
            "password_form": PasswordResetForm(),
            "roles": ROLES,
        },
    )


def _act(request, pk, permission: str, action):
    """Run one account action through its service, reporting the outcome as a message."""
    if not request.user.has_perm(permission):
        raise PermissionDenied
    user = get_object_or_404(User, pk=pk)
    try:
        message = action(user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, message)
    return redirect("account-detail", pk=user.pk)


@login_required
@require_POST
def user_grant_page(request, pk):
    form = GrantForm(request.POST)

    def grant(user):
        if not form.is_valid():
            raise ValidationError(_("请选择角色。"))
        role = form.cleaned_data["role"]
        services.user_grant_role(actor=request.user, user=user, role=role, codes=form.cleaned_codes())
        return _("已授予角色“%(role)s”。") % {"role": ROLES[role].label}

    return _act(request, pk, "kaili.assign_role", grant)


@login_required
@require_POST
def user_revoke_page(request, pk):
    role, code = request.POST.get("role", ""), request.POST.get("code", "")

    def revoke(user):
        services.user_revoke_role(actor=request.user, user=user, role=role, codes=[code] if code else None)
        return _("已撤销授权。")

    return _act(request, pk, "kaili.assign_role", revoke)


@login_required
@require_POST
def user_deactivate_page(request, pk):
    def deactivate(user):
        services.user_deactivate(actor=request.user, user=user)
        return _("账号已停用。")

    return _act(request, pk, "kaili.change_user", deactivate)


@login_required
@require_POST
def user_password_page(request, pk):
    form = PasswordResetForm(request.POST)

    def set_password(user):
        if not form.is_valid():
            raise ValidationError(_("请输入新密码。"))
        services.user_set_password(actor=request.user, user=user, password=form.cleaned_data["password"])
        return _("密码已重置，请通知本人登录后修改。")

    return _act(request, pk, "kaili.change_user", set_password)


@login_required
@require_POST
def user_unlock_page(request, pk):
    def unlock(user):
        services.user_unlock(actor=request.user, user=user)
        return _("已解除锁定。")

    return _act(request, pk, "axes.delete_accessattempt", unlock)

"""Sign-in with the second factor, the home page of each role, and the auditor's pages."""

import csv

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from kaili import two_factor
from kaili.audit import audit_record
from kaili.forms import AuditSearchForm, LoginForm, TotpForm
from kaili.models import AuditAction, AuditCheck, AuditOutcome
from kaili.navigation import home_sections
from kaili.roles import requires_two_factor
from kaili.selectors import audit_search
from kaili.services import user_set_password
from kaili.tasks import audit_verify_task

LOCKED_MESSAGE = "连续登录失败 5 次，该账号或地址已被锁定 15 分钟，请稍后再试。"


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        if requires_two_factor(form.get_user()):
            return redirect(f"{reverse('two_factor')}?next={self.get_success_url()}")
        return response


def lockout_response(request, original_response=None, credentials=None):
    """What django-axes answers while an account or address is locked."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "account_locked", "message": _(LOCKED_MESSAGE)}}, status=403)
    form = LoginForm(request, data=None)
    return render(request, "registration/login.html", {"form": form, "locked_message": _(LOCKED_MESSAGE)}, status=403)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


@login_required
def two_factor_view(request):
    """Second step of sign-in: a TOTP code, or enrolling an authenticator the first time."""
    user = request.user
    if user.is_verified():
        return HttpResponseRedirect(_safe_next(request))
    device = two_factor.confirmed_device(user)
    enrolling = device is None
    if enrolling:
        device = two_factor.pending_device(user)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.token_matches(device, form.cleaned_data["otp_token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_record(actor=user, action=AuditAction.LOGIN, obj=user, changes={"second_factor": "totp", "enrolled": enrolling})
            return HttpResponseRedirect(_safe_next(request))
        audit_record(
            actor=user, action=AuditAction.LOGIN_FAILED, obj=user, outcome=AuditOutcome.FAILURE, changes={"second_factor": "totp"}
        )
        form.add_error("otp_token", _("动态口令错误或已过期，请重新输入。"))
    context = {"form": form, "enrolling": enrolling, "next": _safe_next(request)}
    if enrolling:
        context.update(qr_svg=two_factor.device_qr_svg(device), secret=two_factor.device_secret_base32(device))
    return render(request, "registration/two_factor.html", context)


@login_required
def home(request):
    return render(request, "home.html", {"sections": home_sections(request.user)})


@login_required
@permission_required("kaili.view_auditentry", raise_exception=True)
def audit_log(request):
    form = AuditSearchForm(request.GET or None)
    entries = audit_search(**form.cleaned_data) if form.is_valid() else audit_search()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    audit_record(
        actor=request.user,
        action=AuditAction.READ_SENSITIVE,
        object_type="kaili.auditentry",
        changes={"filters": request.GET.dict()},
    )
    query = request.GET.copy()
    query.pop("page", None)
    last_check = AuditCheck.objects.order_by("-id").first()
    return render(
        request, "kaili/audit_log.html", {"form": form, "page": page, "query": query.urlencode(), "last_check": last_check}
    )


@login_required
@permission_required("kaili.view_auditcheck", raise_exception=True)
@require_POST
def audit_verify_now(request):
    """Queue a verification of the audit chain (runs at once without a broker)."""
    transaction.on_commit(audit_verify_task.delay)
    messages.info(request, _("已提交审计日志完整性校验，结果见本页上方。"))
    return redirect("audit-log")


class _Echo:
    def write(self, value):
        return value


@login_required
@permission_required("kaili.export_auditentry", raise_exception=True)
def audit_export(request):
    form = AuditSearchForm(request.GET or None)
    entries = audit_search(**form.cleaned_data) if form.is_valid() else audit_search()
    audit_record(
        actor=request.user, action=AuditAction.EXPORT, object_type="kaili.auditentry", changes={"filters": request.GET.dict()}
    )
    writer = csv.writer(_Echo())
    header = ["id", "时间", "账号", "操作", "对象类型", "对象标识", "对象", "来源地址", "结果", "内容", "哈希"]

    def rows():
        yield "\ufeff" + writer.writerow(header)
        for entry in entries.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    entry.id,
                    timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                    entry.actor_username,
                    entry.get_action_display(),
                    entry.object_type,
                    entry.object_id,
                    entry.object_repr,
                    entry.ip_address or "",
                    entry.get_outcome_display(),
                    entry.changes,
                    entry.row_hash,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.csv"'
    return response


@login_required
def password_change(request):
    """Change one's own password: Django's form checks the old one and the rules; the service writes."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_set_password(actor=request.user, user=request.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改。"))
        return redirect("home")
    return render(request, "registration/password_change.html", {"form": form})


def logout_view(request):
    if request.method == "POST":
        auth_views.auth_logout(request)
        messages.info(request, _("您已安全退出。"))
    return redirect("login")

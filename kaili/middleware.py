"""Request-wide security: audit context, idle timeout, mandatory two-factor login."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from kaili.audit import client_ip, reset_request_ip, set_request_ip
from kaili.roles import requires_two_factor

LAST_ACTIVITY_KEY = "kaili_last_activity"


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


class ChosenLanguageMiddleware:
    """Simplified Chinese unless the user picked another language (the language cookie).

    Unlike Django's LocaleMiddleware, the browser's Accept-Language is not consulted: the
    platform speaks Chinese first whatever language an intranet PC's browser was set up in.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class IdleSessionTimeoutMiddleware:
    """End a session after SESSION_IDLE_TIMEOUT without a request (security baseline: 30 min)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.idle_seconds = settings.SESSION_IDLE_TIMEOUT.total_seconds()

    def __call__(self, request):
        token = set_request_ip(client_ip(request))
        try:
            expired = self._expire_if_idle(request)
            if expired is not None:
                return expired
            return self.get_response(request)
        finally:
            reset_request_ip(token)

    def _expire_if_idle(self, request):
        if not request.user.is_authenticated or not hasattr(request, "session"):
            return None
        now = time.time()
        last = request.session.get(LAST_ACTIVITY_KEY, now)
        if now - last > self.idle_seconds:
            logout(request)
            message = _("会话已超时（超过 30 分钟无操作），请重新登录。")
            if _is_api(request):
                return JsonResponse({"error": {"code": "session_expired", "message": message}}, status=401)
            messages.warning(request, message)
            return redirect(f"{reverse('login')}?next={request.path}")
        request.session[LAST_ACTIVITY_KEY] = now
        return None


class RequireTwoFactorMiddleware:
    """Privileged roles (admins, auditor, leader) reach nothing before passing TOTP."""

    ALLOWED_PREFIXES = ("/accounts/", "/static/", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and requires_two_factor(user)
            and not request.path.startswith(self.ALLOWED_PREFIXES)
        ):
            # Token-authenticated API calls never reach here as a session user: the token
            # endpoint asks privileged roles for their TOTP code before issuing a token.
            message = _("您的角色须完成双因素认证（动态口令）后才能使用系统。")
            if _is_api(request):
                return JsonResponse({"error": {"code": "two_factor_required", "message": message}}, status=403)
            return redirect(f"{reverse('two_factor')}?next={request.path}")
        return self.get_response(request)

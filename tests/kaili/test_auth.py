"""Sign-in: passwords, lockout, two-factor for privileged roles, idle timeout."""

import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from kaili import roles
from kaili.middleware import LAST_ACTIVITY_KEY
from kaili.models import AuditAction, AuditEntry
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def login(client, username, password=PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


class TestPassword:
    @pytest.mark.parametrize("password", ["Ab1!", "alllowercase1", "ALLUPPER!!!!", "12345678aa"])
    def test_weak_passwords_are_refused(self, password):
        with pytest.raises(ValidationError):
            validate_password(password)

    def test_three_classes_of_eight_or_more_pass(self):
        validate_password("Kaili#2026grid")


class TestLogin:
    def test_wrong_password_says_so_and_logs_nothing_in(self, client, tree, user_factory):
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        response = login(client, "worker", "Wrong#Pass1")
        assert response.status_code == 200
        assert "账号或密码错误" in response.content.decode()
        assert client.get("/").status_code == 302
        assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, actor_username="worker").exists()

    def test_grid_worker_logs_in_without_second_factor(self, client, tree, user_factory):
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        response = login(client, "worker")
        assert response.status_code == 302 and response["Location"] == "/"
        assert client.get("/").status_code == 200
        assert AuditEntry.objects.filter(action=AuditAction.LOGIN, actor_username="worker").exists()

    def test_account_locks_after_five_failures_even_with_the_right_password(self, client, tree, user_factory):
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        for _ in range(5):
            login(client, "worker", "Wrong#Pass1")
        response = login(client, "worker")
        assert response.status_code == 403
        assert "锁定 15 分钟" in response.content.decode()
        assert client.get("/").status_code == 302  # still not signed in

    def test_lockout_applies_to_the_api_token_endpoint(self, api, tree, user_factory):
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        statuses = [api.post("/api/auth/token/", {"username": "worker", "password": "Wrong#Pass1"}).status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 401, 403]  # the fifth failure locks
        response = api.post("/api/auth/token/", {"username": "worker", "password": PASSWORD})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "account_locked"

    def test_inactive_account_cannot_log_in(self, client, tree, user_factory):
        user_factory("gone", roles.GRID_WORKER, [tree.zone_a], is_active=False)
        assert "账号或密码错误" in login(client, "gone").content.decode()


class TestTwoFactor:
    @pytest.mark.parametrize("role", [roles.SYSTEM_ADMIN, roles.SECURITY_ADMIN, roles.AUDITOR, roles.LEADER])
    def test_privileged_roles_must_pass_totp_before_anything(self, client, tree, user_factory, role):
        codes = [tree.city] if roles.ROLES[role].grid_scoped else []
        user_factory("boss", role, codes, totp=True)
        response = login(client, "boss")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/")
        assert client.get("/").status_code == 302
        assert client.get("/grids/").url.startswith("/accounts/two-factor/")
        api_response = client.get("/api/grids/")
        assert api_response.status_code == 403
        assert api_response.json()["error"]["code"] == "two_factor_required"

    def test_missing_or_wrong_code_is_refused_with_a_message(self, client, tree, user_factory):
        user_factory("leader", roles.LEADER, [tree.city], totp=True)
        login(client, "leader")
        assert "请输入身份验证器" in client.post("/accounts/two-factor/", {"otp_token": ""}).content.decode()
        assert "动态口令错误" in client.post("/accounts/two-factor/", {"otp_token": "000000"}).content.decode()
        assert client.get("/").status_code == 302

    def test_right_code_opens_the_site(self, client, tree, user_factory):
        leader = user_factory("leader", roles.LEADER, [tree.city], totp=True)
        login(client, "leader")
        response = client.post("/accounts/two-factor/", {"otp_token": current_code(leader.totpdevice_set.get())})
        assert response.status_code == 302
        assert client.get("/").status_code == 200
        assert client.get("/api/grids/").status_code == 200

    def test_first_login_enrols_an_authenticator(self, client, tree, user_factory):
        user = user_factory("new_leader", roles.LEADER, [tree.city])
        login(client, "new_leader")
        page = client.get("/accounts/two-factor/").content.decode()
        assert "<svg" in page and "密钥" in page
        device = TOTPDevice.objects.get(user=user, confirmed=False)
        client.post("/accounts/two-factor/", {"otp_token": current_code(device)})
        device.refresh_from_db()
        assert device.confirmed
        assert client.get("/").status_code == 200

    def test_token_endpoint_requires_the_code_for_privileged_roles(self, api, tree, user_factory):
        leader = user_factory("leader", roles.LEADER, [tree.city], totp=True)
        missing = api.post("/api/auth/token/", {"username": "leader", "password": PASSWORD})
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "two_factor_required"
        wrong = api.post("/api/auth/token/", {"username": "leader", "password": PASSWORD, "otp_token": "000000"})
        assert wrong.json()["error"]["code"] == "invalid_otp"
        time.sleep(1.1)  # django-otp throttles the attempt right after a failure
        code = current_code(leader.totpdevice_set.get())
        token = api.post("/api/auth/token/", {"username": "leader", "password": PASSWORD, "otp_token": code}).json()["token"]
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert api.get("/api/grids/").status_code == 200

    def test_grid_worker_gets_a_token_with_password_only(self, api, tree, user_factory):
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        token = api.post("/api/auth/token/", {"username": "worker", "password": PASSWORD}).json()["token"]
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert api.get("/api/grids/").json()["count"] == 3


class TestIdleTimeout:
    def test_thirty_idle_minutes_end_the_session_with_a_message(self, client, tree, user_factory):
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        login(client, "worker")
        assert client.get("/").status_code == 200
        session = client.session
        session[LAST_ACTIVITY_KEY] = time.time() - 31 * 60
        session.save()
        response = client.get("/grids/", follow=True)
        assert response.redirect_chain[0][0].startswith("/accounts/login/")
        assert "会话已超时" in response.content.decode()
        assert client.get("/").status_code == 302

    def test_activity_within_thirty_minutes_keeps_the_session(self, client, tree, user_factory):
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        login(client, "worker")
        session = client.session
        session[LAST_ACTIVITY_KEY] = time.time() - 29 * 60
        session.save()
        assert client.get("/").status_code == 200

    def test_expired_session_on_the_api_answers_401(self, client, tree, user_factory):
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        login(client, "worker")
        client.get("/")
        session = client.session
        session[LAST_ACTIVITY_KEY] = time.time() - 31 * 60
        session.save()
        response = client.get("/api/grids/")
        assert response.status_code == 401 and response.json()["error"]["code"] == "session_expired"


class TestBehindTheProxy:
    def test_forwarded_addresses_are_used_only_when_trusted(self, client, tree, user_factory, settings):
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        client.post("/accounts/login/", {"username": "worker", "password": "Wrong#Pass1"}, HTTP_X_FORWARDED_FOR="10.8.0.7")
        assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).latest("id").ip_address == "127.0.0.1"
        settings.KAILI_TRUST_X_FORWARDED_FOR = True
        client.post("/accounts/login/", {"username": "worker", "password": "Wrong#Pass1"}, HTTP_X_FORWARDED_FOR="10.8.0.7")
        assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).latest("id").ip_address == "10.8.0.7"

    def test_one_locked_address_does_not_lock_users_from_other_addresses(self, client, tree, user_factory, settings):
        settings.KAILI_TRUST_X_FORWARDED_FOR = True
        user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        user_factory("other", roles.GRID_WORKER, [tree.zone_b])
        for _ in range(5):
            client.post("/accounts/login/", {"username": "nobody", "password": "x"}, HTTP_X_FORWARDED_FOR="10.8.0.7")
        locked = client.post("/accounts/login/", {"username": "worker", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.8.0.7")
        assert locked.status_code == 403
        ok = client.post("/accounts/login/", {"username": "other", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.8.0.9")
        assert ok.status_code == 302


class TestPasswordChange:
    def test_change_own_password_with_the_rules(self, client, tree, user_factory):
        user = user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        login(client, "worker")
        weak = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "abc", "new_password2": "abc"})
        assert weak.status_code == 200 and "field-error" in weak.content.decode()
        wrong_old = client.post(
            "/accounts/password/", {"old_password": "nope", "new_password1": "New#Pass2026", "new_password2": "New#Pass2026"}
        )
        assert wrong_old.status_code == 200
        done = client.post(
            "/accounts/password/", {"old_password": PASSWORD, "new_password1": "New#Pass2026", "new_password2": "New#Pass2026"}
        )
        assert done.status_code == 302
        user.refresh_from_db()
        assert user.check_password("New#Pass2026")
        assert client.get("/").status_code == 200  # still signed in
        assert AuditEntry.objects.filter(
            action=AuditAction.UPDATE, object_id=str(user.pk), changes={"password": "changed"}
        ).exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/", "/grids/", "/audit/", "/audit/export/", "/accounts/password/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path

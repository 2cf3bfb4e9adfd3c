"""Account management: system admin creates and deactivates, security admin grants (三员分立)."""

import pytest
from django.contrib.auth.models import Group

from kaili import roles
from kaili.models import AuditAction, AuditEntry, User
from kaili.scope import reachable_nodes

pytestmark = pytest.mark.django_db


@pytest.fixture
def sysadmin(tree, user_factory):
    return user_factory("sysadmin", roles.SYSTEM_ADMIN, [tree.city])


@pytest.fixture
def secadmin(user_factory):
    return user_factory("secadmin", roles.SECURITY_ADMIN)


def test_system_admin_creates_lists_and_deactivates(api, tree, sysadmin):
    api.force_authenticate(sysadmin)
    created = api.post("/api/users/", {"username": "wang", "password": "Wang#2026ab", "full_name": "王网格"}, format="json")
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    listed = api.get("/api/users/", {"q": "王网格"}).json()
    assert [u["username"] for u in listed["results"]] == ["wang"]
    assert api.post(f"/api/users/{user_id}/deactivate/").json()["is_active"] is False
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="kaili.user", object_id=str(user_id)).exists()


def test_weak_password_and_duplicate_username_are_refused_with_the_field(api, tree, sysadmin):
    api.force_authenticate(sysadmin)
    weak = api.post("/api/users/", {"username": "li", "password": "password"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["error"]["fields"]
    dup = api.post("/api/users/", {"username": "SYSADMIN", "password": "Wang#2026ab"}, format="json")
    assert dup.status_code == 400 and "username" in dup.json()["error"]["fields"]
    assert not User.objects.filter(username="li").exists()


def test_security_admin_grants_and_revokes_roles(api, tree, secadmin, user_factory):
    target = user_factory("target")
    api.force_authenticate(secadmin)
    response = api.post(f"/api/users/{target.pk}/grant/", {"role": "grid_worker", "codes": [tree.zone_a.code]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["roles"] == [{"role": "grid_worker", "label": "网格员", "codes": [tree.zone_a.code]}]
    assert reachable_nodes(User.objects.get(pk=target.pk)).count() == 3
    api.post(f"/api/users/{target.pk}/revoke/", {"role": "grid_worker"}, format="json")
    assert not reachable_nodes(User.objects.get(pk=target.pk)).exists()


def test_unknown_role_or_code_changes_nothing(api, tree, secadmin, user_factory):
    target = user_factory("target")
    api.force_authenticate(secadmin)
    bad_role = api.post(f"/api/users/{target.pk}/grant/", {"role": "emperor", "codes": [tree.zone_a.code]}, format="json")
    assert bad_role.status_code == 400 and "role" in bad_role.json()["error"]["fields"]
    bad_code = api.post(
        f"/api/users/{target.pk}/grant/", {"role": "grid_worker", "codes": [tree.zone_a.code, "522601999999"]}, format="json"
    )
    assert bad_code.status_code == 400
    assert "522601999999" in bad_code.json()["error"]["message"]
    assert not Group.objects.filter(user=target).exists()
    assert not reachable_nodes(User.objects.get(pk=target.pk)).exists()


def test_separated_admin_roles_cannot_be_combined(api, tree, secadmin, user_factory):
    auditor = user_factory("aud", roles.AUDITOR)
    api.force_authenticate(secadmin)
    response = api.post(f"/api/users/{auditor.pk}/grant/", {"role": "system_admin", "codes": [tree.city.code]}, format="json")
    assert response.status_code == 400 and "三员分立" in response.json()["error"]["message"]


def test_system_admin_cannot_grant_and_security_admin_cannot_create(api, tree, sysadmin, secadmin, user_factory):
    target = user_factory("target")
    api.force_authenticate(sysadmin)
    assert (
        api.post(f"/api/users/{target.pk}/grant/", {"role": "leader", "codes": [tree.city.code]}, format="json").status_code
        == 403
    )
    api.force_authenticate(secadmin)
    assert api.post("/api/users/", {"username": "x", "password": "Wang#2026ab"}, format="json").status_code == 403


def test_ordinary_roles_cannot_reach_the_users_api(api, tree, user_factory):
    api.force_authenticate(user_factory("worker", roles.GRID_WORKER, [tree.zone_a]))
    assert api.get("/api/users/").status_code == 403


def test_user_list_query_count_does_not_grow_with_users(api, tree, sysadmin, user_factory, django_assert_max_num_queries):
    for n in range(15):
        user_factory(f"w{n}", roles.GRID_WORKER, [tree.zone_a, tree.zone_b])
    api.force_authenticate(sysadmin)
    with django_assert_max_num_queries(8):
        response = api.get("/api/users/", {"role": "grid_worker"})
    assert response.json()["count"] == 15
    assert response.json()["results"][0]["roles"][0]["codes"] == [tree.zone_a.code, tree.zone_b.code]


def test_system_admin_sets_a_password_and_weak_ones_are_refused(api, tree, sysadmin, user_factory):
    target = user_factory("target")
    api.force_authenticate(sysadmin)
    weak = api.post(f"/api/users/{target.pk}/set-password/", {"password": "short"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["error"]["fields"]
    assert api.post(f"/api/users/{target.pk}/set-password/", {"password": "New#Pass2026"}, format="json").status_code == 200
    target.refresh_from_db()
    assert target.check_password("New#Pass2026")


def test_security_admin_unlocks_a_locked_account(client, api, tree, secadmin, user_factory):
    from tests.factories import PASSWORD

    target = user_factory("target", roles.GRID_WORKER, [tree.zone_a])
    for _ in range(5):
        client.post("/accounts/login/", {"username": "target", "password": "Wrong#Pass1"})
    api.force_authenticate(secadmin)
    assert api.post(f"/api/users/{target.pk}/unlock/").status_code == 200
    assert client.post("/accounts/login/", {"username": "target", "password": PASSWORD}).status_code == 302

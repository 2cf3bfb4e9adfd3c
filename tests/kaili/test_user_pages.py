"""Account pages: the system admin keeps accounts, the security admin keeps roles."""

import pytest

from kaili import roles
from kaili.models import User
from kaili.scope import reachable_nodes
from tests.factories import force_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def sysadmin(tree, user_factory):
    return user_factory("sysadmin", roles.SYSTEM_ADMIN, [tree.city], totp=True)


@pytest.fixture
def secadmin(user_factory):
    return user_factory("secadmin", roles.SECURITY_ADMIN, totp=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_system_admin_creates_an_account_on_the_page(client, sysadmin):
    force_verified(client, sysadmin)
    weak = client.post("/users/new/", {"username": "wu", "password1": "weak", "password2": "weak"})
    assert weak.status_code == 200 and not User.objects.filter(username="wu").exists()
    assert "field-error" in weak.content.decode()
    response = client.post(
        "/users/new/",
        {"username": "wu", "full_name": "吴网格", "password1": "Wu#Grid2026", "password2": "Wu#Grid2026"},
        follow=True,
    )
    assert "已创建" in " ".join(messages_of(response))
    assert User.objects.get(username="wu").check_password("Wu#Grid2026")
    listing = client.get("/users/", {"q": "吴网格"}).content.decode()
    assert "wu" in listing and "未分配" in listing


def test_security_admin_grants_and_revokes_on_the_page(client, tree, secadmin, user_factory):
    target = user_factory("target")
    force_verified(client, secadmin)
    bad = client.post(f"/users/{target.pk}/grant/", {"role": "grid_worker", "codes": "522601001001 522601999999"}, follow=True)
    assert "网格编码不存在：522601999999" in " ".join(messages_of(bad))
    assert not reachable_nodes(User.objects.get(pk=target.pk)).exists()
    client.post(f"/users/{target.pk}/grant/", {"role": "grid_worker", "codes": f"{tree.zone_a.code}，{tree.zone_b.code}"})
    assert reachable_nodes(User.objects.get(pk=target.pk)).count() == 6
    client.post(f"/users/{target.pk}/revoke/", {"role": "grid_worker", "code": tree.zone_b.code})
    assert reachable_nodes(User.objects.get(pk=target.pk)).count() == 3
    detail = client.get(f"/users/{target.pk}/").content.decode()
    assert tree.zone_a.code in detail and tree.zone_b.code not in detail


def test_each_admin_can_only_do_their_own_part(client, tree, sysadmin, secadmin, user_factory):
    target = user_factory("target")
    force_verified(client, sysadmin)
    assert client.post(f"/users/{target.pk}/grant/", {"role": "leader", "codes": tree.city.code}).status_code == 403
    assert client.post(f"/users/{target.pk}/unlock/").status_code == 403
    force_verified(client, secadmin)
    assert client.get("/users/new/").status_code == 403
    assert client.post(f"/users/{target.pk}/deactivate/").status_code == 403
    assert User.objects.get(pk=target.pk).is_active


def test_deactivate_and_reset_password(client, tree, sysadmin, user_factory):
    target = user_factory("target", roles.GRID_WORKER, [tree.zone_a])
    force_verified(client, sysadmin)
    client.post(f"/users/{target.pk}/password/", {"password": "Reset#2026ab"})
    client.post(f"/users/{target.pk}/deactivate/")
    target.refresh_from_db()
    assert target.check_password("Reset#2026ab") and not target.is_active
    refused = client.post(f"/users/{sysadmin.pk}/deactivate/", follow=True)
    assert "不能停用自己的账号" in " ".join(messages_of(refused))


def test_locked_accounts_are_shown_and_unlocked(client, tree, secadmin, user_factory):
    from tests.factories import PASSWORD

    user_factory("target", roles.GRID_WORKER, [tree.zone_a])
    for _ in range(5):
        client.post("/accounts/login/", {"username": "target", "password": "Wrong#Pass1"})
    force_verified(client, secadmin)
    assert "已锁定" in client.get("/users/", {"q": "target"}).content.decode()
    target = User.objects.get(username="target")
    client.post(f"/users/{target.pk}/unlock/")
    assert "已锁定" not in client.get("/users/", {"q": "target"}).content.decode()
    client.logout()
    assert client.post("/accounts/login/", {"username": "target", "password": PASSWORD}).status_code == 302


def test_other_roles_cannot_open_account_pages(client, tree, user_factory):
    client.force_login(user_factory("worker", roles.GRID_WORKER, [tree.zone_a]))
    assert client.get("/users/").status_code == 403
    assert client.get("/users/new/").status_code == 403


def test_user_list_page_query_count(client, tree, secadmin, user_factory, django_assert_max_num_queries):
    for n in range(12):
        user_factory(f"w{n}", roles.GRID_WORKER, [tree.zone_a])
    force_verified(client, secadmin)
    with django_assert_max_num_queries(16):
        assert client.get("/users/").status_code == 200

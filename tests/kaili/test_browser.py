"""A real browser (Debian's chromium through Playwright) signs in at phone width."""

import os
from pathlib import Path

import pytest

from kaili import roles
from tests.factories import PASSWORD


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_grid_worker_signs_in_on_a_phone(live_server, phone, tree, user_factory):
    user_factory("worker", roles.GRID_WORKER, [tree.zone_a], full_name="张晓梅")
    phone.goto(f"{live_server.url}/")
    assert "/accounts/login/" in phone.url
    phone.get_by_label("账号").fill("worker")
    phone.get_by_label("密码").fill(PASSWORD)
    phone.get_by_role("button", name="登录").click()
    phone.wait_for_url(f"{live_server.url}/")
    assert phone.get_by_role("heading", name="您好，张晓梅").is_visible()
    assert phone.get_by_text(tree.zone_a.name).first.is_visible()
    # Nothing is wider than the phone: no sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    # The menu folds behind a button at this width and opens on tap.
    assert not phone.locator("nav.menu").is_visible()
    phone.locator("label.menu-button").click()
    assert phone.locator("nav.menu").is_visible()
    phone.get_by_role("navigation", name="主菜单").get_by_role("link", name="我的网格").click()
    phone.wait_for_url(f"{live_server.url}/grids/tree/")
    assert phone.get_by_role("link", name=tree.zone_a.name, exact=True).is_visible()
    phone.screenshot(path=str(Path(os.environ.get("KAILI_SCREENSHOTS", "var")) / "login-360.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_wrong_password_shows_the_reason(live_server, phone, tree, user_factory):
    user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
    phone.goto(f"{live_server.url}/accounts/login/")
    phone.get_by_label("账号").fill("worker")
    phone.get_by_label("密码").fill("Wrong#Pass1")
    phone.get_by_role("button", name="登录").click()
    assert phone.get_by_role("alert").get_by_text("账号或密码错误").is_visible()

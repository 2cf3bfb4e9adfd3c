"""Steps that browser tests share."""

from tests.factories import PASSWORD


def sign_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login page and wait for the home page."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")


def sign_out(page) -> None:
    """Sign out through the menu (folded behind its button on a phone)."""
    if not page.locator("nav.menu").is_visible():
        page.locator("label.menu-button").click()
    page.get_by_role("button", name="退出").click()


def assert_fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

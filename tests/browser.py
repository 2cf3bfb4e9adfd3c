"""Steps that browser tests share."""

from tests.factories import PASSWORD


def sign_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login page and wait for the home page."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")

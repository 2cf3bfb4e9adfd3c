import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_pages_speak_simplified_chinese_by_default(client):
    body = client.get("/accounts/login/").content.decode()
    assert 'lang="zh-hans"' in body and "登录" in body


def test_english_is_available(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get("/accounts/login/").content.decode()
    assert 'lang="en"' in body and "Log in" in body


def test_browser_language_does_not_override_the_chinese_default(client):
    body = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-hans"' in body

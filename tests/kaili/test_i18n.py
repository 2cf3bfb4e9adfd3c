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

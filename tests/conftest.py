"""Fixtures shared by every app's tests: a small tree, users per role, API clients, a phone-sized browser."""

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import make_tree, make_user


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """Let the test database's per-test flush truncate the append-only audit table.

    Production connections never set this, so TRUNCATE stays refused there
    (kaili/migrations/0002_audit_append_only.py).
    """
    from django.conf import settings

    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = "-c kaili.allow_audit_truncate=on"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Production hashing is deliberately slow; the tests check rules and flows, not the hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_runs_tasks_in_process():
    """Tasks run where they are queued, whatever the broker; tests/kaili/test_celery_worker.py
    turns this off to exercise a real worker."""
    from kaili.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture(autouse=True)
def _roles_exist(db):
    """Role groups are created after migrate; flushes between transactional tests remove them."""
    from django.contrib.auth.models import Group

    from kaili.roles import ROLES, sync_roles

    if Group.objects.filter(name__in=ROLES).count() != len(ROLES):
        sync_roles()


@pytest.fixture
def tree(db):
    """City 522601 → towns T1, T2 → zones A, B (in T1), C (in T2) → grids → units."""
    return make_tree()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def user_factory(db):
    return make_user


@pytest.fixture
def seeded(db):
    call_command("seed_demo", verbosity=0)


# A real browser for the tests marked ``browser`` (Debian's chromium through Playwright),
# shared by every app's browser tests: one session-wide Playwright, since a second sync
# Playwright on the same thread is refused.
CHROMIUM = Path(os.environ.get("KAILI_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("KAILI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"KAILI_REQUIRE_BROWSER=1 but {CHROMIUM} is missing: install Debian's chromium package.")
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package to run browser tests.")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own database
    # work (fixtures, flush) is still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if "127.0.0.1" not in request.url and "localhost" not in request.url and not request.url.startswith("data:")
            else None
        ),
    )
    yield page
    context.close()
    assert outside == [], f"the page called outside the site: {outside}"


@pytest.fixture
def desk(browser):
    """A desktop screen, for the centre's and the court's pages."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()

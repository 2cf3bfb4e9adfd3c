"""Fixtures shared by every app's tests: a small tree, users per role, API clients."""

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

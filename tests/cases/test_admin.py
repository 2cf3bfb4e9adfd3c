"""Admins keep the category, department and calendar tables (DOMAIN.md: every limit is configurable)."""

import datetime

import pytest

from cases.calendar import working_deadline
from cases.models import CalendarDay, Category
from kaili import roles
from tests.factories import force_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, tree, user_factory):
    force_verified(client, user_factory("sysadmin", roles.SYSTEM_ADMIN, [tree.city], totp=True))
    return client


def test_the_seeded_catalogue_is_listed_and_searchable(admin_client):
    page = admin_client.get("/admin/cases/category/", {"q": "路灯"})
    assert page.status_code == 200 and "路灯不亮" in page.content.decode()
    assert admin_client.get("/admin/cases/department/").status_code == 200
    assert admin_client.get("/admin/cases/calendarday/").status_code == 200


def test_a_minor_category_is_added_under_a_major_with_its_limits(admin_client):
    major = Category.objects.get(code="12")
    response = admin_client.post(
        "/admin/cases/category/add/",
        {
            "code": "1299",
            "name": "共享单车乱停放",
            "parent": major.pk,
            "kind": "service",
            "statistic": "",
            "file_minutes": 30,
            "dispatch_minutes": 30,
            "urgent_minutes": 10,
            "handle_minutes": 960,
            "check_minutes_urban": 60,
            "check_minutes_rural": 120,
            "sort": 9,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Category.objects.get(code="1299").handle_minutes == 960


@pytest.mark.parametrize(
    ("code", "parent_code", "field"),
    [("120101", "1201", "parent"), ("9901", "12", "code")],
)
def test_a_third_level_or_a_code_outside_the_major_is_refused(admin_client, code, parent_code, field):
    response = admin_client.post(
        "/admin/cases/category/add/",
        {
            "code": code,
            "name": "错误类别",
            "parent": Category.objects.get(code=parent_code).pk,
            "kind": "service",
            "file_minutes": 30,
            "dispatch_minutes": 30,
            "urgent_minutes": 10,
            "handle_minutes": 480,
            "check_minutes_urban": 60,
            "check_minutes_rural": 120,
            "sort": 0,
        },
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Category.objects.filter(code=code).exists()


def test_categories_are_never_deleted_only_switched_off(admin_client):
    category = Category.objects.get(code="1201")
    assert admin_client.get(f"/admin/cases/category/{category.pk}/delete/").status_code == 403


def test_a_holiday_added_in_the_admin_moves_deadlines(admin_client):
    from django.utils import timezone

    start = timezone.make_aware(datetime.datetime(2026, 12, 2, 17, 0))
    response = admin_client.post("/admin/cases/calendarday/add/", {"date": "2026-12-03", "name": "民族节日"})
    assert response.status_code == 302
    assert CalendarDay.objects.get(date="2026-12-03").working is False
    assert working_deadline(start, 120).date() == datetime.date(2026, 12, 4)


def test_other_roles_cannot_edit_the_tables(client, tree, user_factory):
    client.force_login(user_factory("centre", roles.CENTRE_STAFF, [tree.t1]))
    assert client.get("/admin/cases/category/").status_code in (302, 403)


def test_department_members_set_in_the_admin_are_audited_as_grants(admin_client, user_factory):
    from cases.models import Department
    from kaili.models import AuditEntry

    alice, bob = user_factory("alice"), user_factory("bob")
    department = Department.objects.get(code="chengguan")
    department.members.add(alice)
    response = admin_client.post(
        f"/admin/cases/department/{department.pk}/change/",
        {"code": department.code, "name": department.name, "node": "", "members": [bob.pk], "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(department.members.values_list("username", flat=True)) == {"bob"}
    rows = AuditEntry.objects.filter(object_type="cases.department", object_id=str(department.pk))
    assert sorted((row.action, row.changes["member"]) for row in rows) == [("grant", "bob"), ("revoke", "alice")]
    assert {row.actor_username for row in rows} == {"sysadmin"}

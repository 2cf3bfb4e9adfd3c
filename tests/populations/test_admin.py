"""The admin edits schedules and facilities within the admin's scope, through the services."""

import datetime

import pytest

from kaili import roles
from kaili.models import AuditAction, AuditEntry
from populations.models import Facility, Programme, ScheduleRule
from populations.services import facility_create, placement_start
from tests.factories import force_verified
from tests.populations.factories import make_enrollment, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def town_admin(client, tree, user_factory):
    user = user_factory("townadmin", roles.SYSTEM_ADMIN, [tree.t1], totp=True)
    force_verified(client, user)
    return client


def test_a_facility_added_in_the_admin_goes_through_the_service(town_admin, tree):
    response = town_admin.post(
        "/admin/populations/facility/add/",
        {"grid": tree.zone_a.pk, "kind": "childrens_home", "name": "北京路儿童之家", "capacity": 30, "address": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    facility = Facility.objects.get()
    assert AuditEntry.objects.filter(
        action=AuditAction.CREATE, object_type="populations.facility", object_id=str(facility.pk)
    ).exists()


def test_capacity_below_the_places_in_use_is_refused_on_the_form(town_admin, tree):
    facility = facility_create(actor=None, grid=tree.zone_a, kind="sunshine_home", name="阳光家园", capacity=2)
    for name in ("甲", "乙"):
        enrollment = make_enrollment(make_person(unit=tree.unit_a, name=name), Programme.DRUG_REHAB)
        placement_start(actor=None, enrollment=enrollment, facility=facility, started_on=datetime.date(2026, 6, 2))
    response = town_admin.post(
        f"/admin/populations/facility/{facility.pk}/change/",
        {"kind": "sunshine_home", "name": "阳光家园", "capacity": 1, "address": ""},
    )
    assert response.status_code == 200
    assert "容量不能小于当前在用的 2 个名额。" in response.content.decode()
    assert Facility.objects.get(pk=facility.pk).capacity == 2


def test_facilities_outside_the_admins_scope_are_not_listed(town_admin, tree):
    facility_create(actor=None, grid=tree.zone_a, kind="womens_base", name="城内妇女创业基地", capacity=10)
    facility_create(actor=None, grid=tree.zone_c, kind="womens_base", name="南花妇女创业基地", capacity=10)
    page = town_admin.get("/admin/populations/facility/").content.decode()
    assert "城内妇女创业基地" in page and "南花妇女创业基地" not in page


def test_schedule_rules_are_listed_for_editing(town_admin):
    page = town_admin.get("/admin/populations/schedulerule/").content.decode()
    assert ScheduleRule.objects.count() == 14
    assert "每3个月随访1次" in page


def test_a_town_admin_does_not_edit_the_citys_facility(town_admin, tree):
    city_centre = facility_create(actor=None, grid=tree.city, kind="rehab_centre", name="市戒毒康复中心", capacity=1000)
    assert town_admin.get(f"/admin/populations/facility/{city_centre.pk}/change/").status_code in (302, 404)
    assert "市戒毒康复中心" not in town_admin.get("/admin/populations/facility/").content.decode()

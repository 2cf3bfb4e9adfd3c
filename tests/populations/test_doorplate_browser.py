"""A grid worker scans a doorplate QR code on a phone (360 x 740) in a real browser."""

import datetime
import os
from pathlib import Path

import pytest

from kaili import roles
from tests.factories import PASSWORD
from tests.populations.factories import identity_number, make_household, make_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("KAILI_SCREENSHOTS", "var"))


def assert_fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_grid_worker_opens_a_household_from_its_doorplate(live_server, phone, tree, user_factory):
    from playwright.sync_api import expect

    household = make_household(tree.unit_a, address="凯里市北京东路 28 号 3 栋 2 单元 501 室", doorplate="3-2-501")
    head_number = identity_number(datetime.date(1978, 4, 12), "M")
    make_person(household, name="杨光明", identity_number=head_number, phone="13885512345", relation="head")
    child_number = identity_number(datetime.date(2014, 9, 1), "F")
    make_person(household, name="杨小雨", identity_number=child_number, relation="child")
    user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a], full_name="张晓梅")

    # The code on the door carries only the token link; the phone is sent to sign in first.
    link = f"/populations/h/{household.doorplate_token}/"
    phone.goto(f"{live_server.url}{link}")
    assert "/accounts/login/" in phone.url
    expect(phone.get_by_role("heading", name="登录")).to_be_visible()
    assert "北京东路" not in phone.content() and "杨光明" not in phone.content()
    phone.get_by_label("账号").fill("worker_a")
    phone.get_by_label("密码").fill(PASSWORD)
    phone.get_by_role("button", name="登录").click()

    # ... and then straight back to the household.
    phone.wait_for_url(f"{live_server.url}/populations/households/{household.number}/")
    expect(phone.get_by_role("heading", level=1)).to_have_text(household.address)
    members = phone.locator("table.members tbody tr")
    expect(members).to_have_count(2)
    expect(members.nth(0)).to_contain_text("杨光明")
    expect(members.nth(0)).to_contain_text("户主")
    expect(members.nth(0)).to_contain_text(head_number[:6] + "********" + head_number[-4:])
    expect(members.nth(0)).to_contain_text("138****2345")
    expect(members.nth(1)).to_contain_text("杨小雨")
    content = phone.content()
    assert head_number not in content and child_number not in content and "13885512345" not in content

    # Phone sized: no sideways scrolling, big touch targets.
    assert_fits_the_phone(phone)
    print_link = phone.get_by_role("link", name="打印门牌")
    expect(print_link).to_be_visible()
    assert print_link.bounding_box()["height"] >= 44
    name_link = members.nth(0).get_by_role("link", name="杨光明")
    assert name_link.bounding_box()["height"] >= 44
    add_member = phone.get_by_text("登记新成员")
    assert add_member.bounding_box()["height"] >= 44
    add_member.click()
    expect(phone.get_by_label("身份证号")).to_be_visible()
    assert_fits_the_phone(phone)
    phone.screenshot(path=str(SCREENSHOTS / "household-360.png"), full_page=True)

    # The unit's print sheet fits the phone too, and prints without the site's chrome.
    phone.get_by_role("link", name="本单元门牌打印").click()
    phone.wait_for_url(f"{live_server.url}/populations/units/{tree.unit_a.code}/doorplates/")
    expect(phone.locator("li.plate svg.doorplate-svg")).to_have_count(1)
    assert_fits_the_phone(phone)
    phone.emulate_media(media="print")
    expect(phone.locator("header.topbar")).to_be_hidden()
    expect(phone.locator("li.plate")).to_be_visible()


def test_officer_records_a_follow_up_on_a_phone(live_server, phone, tree, user_factory):
    """The officer's pages fit the phone too: worklist, the programme record, the follow-up form."""
    from playwright.sync_api import expect

    from populations.models import Programme, Visit
    from populations.schedules import seed_schedule_rules
    from tests.populations.factories import make_enrollment, make_officer

    seed_schedule_rules()
    household = make_household(tree.unit_a, address="凯里市北京东路 30 号", doorplate="30")
    person = make_person(household, name="吴建国", relation="head", phone="13885500000")
    enrollment = make_enrollment(person, Programme.MENTAL_HEALTH, started_on=datetime.date.today() - datetime.timedelta(days=200))
    make_officer(user_factory, "officer_a", [tree.zone_a], programmes=[Programme.MENTAL_HEALTH])

    phone.goto(f"{live_server.url}/populations/worklist/")
    phone.get_by_label("账号").fill("officer_a")
    phone.get_by_label("密码").fill(PASSWORD)
    phone.get_by_role("button", name="登录").click()
    phone.wait_for_url(f"{live_server.url}/populations/worklist/")
    row = phone.locator("ul.worklist li.is-overdue")
    expect(row).to_contain_text("吴建国")
    expect(row).to_contain_text("已逾期")
    assert_fits_the_phone(phone)
    row.get_by_role("link").click()

    phone.wait_for_url(f"{live_server.url}/populations/enrollments/{enrollment.pk}/#record-visit")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("吴建国")
    assert_fits_the_phone(phone)
    phone.get_by_text("记录走访 / 随访").click()
    phone.get_by_label("类型").select_option("follow_up")
    phone.get_by_label("危险性评估（随访必填）").select_option("1")
    for label, value in (
        ("自知力", "partial"),
        ("睡眠情况", "fair"),
        ("饮食情况", "good"),
        ("社会功能", "fair"),
        ("服药依从性", "regular"),
        ("治疗效果", "improved"),
    ):
        phone.get_by_label(label).select_option(value)
    assert_fits_the_phone(phone)
    phone.screenshot(path=str(SCREENSHOTS / "follow-up-360.png"), full_page=True)
    phone.get_by_role("button", name="保存走访记录").click()
    phone.wait_for_url(f"{live_server.url}/populations/enrollments/{enrollment.pk}/")
    expect(phone.locator("ol.timeline")).to_contain_text("自知力：自知力不全")
    assert Visit.objects.get(enrollment=enrollment).level == 1
    assert_fits_the_phone(phone)

    for path in (
        "/populations/programmes/",
        "/populations/households/",
        f"/populations/persons/{person.pk}/",
        "/populations/persons/?q=吴",
    ):
        phone.goto(f"{live_server.url}{path}")
        assert_fits_the_phone(phone)

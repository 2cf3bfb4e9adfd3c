"""The incident loop in a real browser: a grid worker reports on a phone (360 x 740) with a
photo, the centre files and dispatches at a desk, the department's handler reports back,
and the grid worker checks and closes the case on the phone."""

import base64
import os
from pathlib import Path

import pytest

from cases.models import Incident, Status
from tests.browser import assert_fits_the_phone, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("KAILI_SCREENSHOTS", "var"))
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_report_on_a_phone_dispatch_report_back_check_and_close(live_server, phone, desk, cast):
    from playwright.sync_api import expect

    worker, centre, handler = cast.worker, cast.centre, cast.handler
    draft_key = f"kaili.incident-draft.{worker.pk}"

    # --- the grid worker, on a round, at 360 px -----------------------------------------
    sign_in(phone, live_server, worker.username)
    phone.goto(f"{live_server.url}/cases/report/")
    expect(phone.get_by_role("heading", name="上报事件")).to_be_visible()
    assert_fits_the_phone(phone)
    grid = phone.get_by_label("所属网格")
    expect(grid).to_have_value(cast.tree.grid_a.code)
    submit = phone.get_by_role("button", name="提交上报")
    assert submit.bounding_box()["height"] >= 44

    # A report being typed survives a reload (a call, a dead battery...).
    description = phone.get_by_label("情况描述")
    description.fill("北京东路 12 号路口路灯不亮，夜间行人看不清路面。")
    phone.get_by_label("地点").fill("北京东路 12 号路口")
    key = phone.locator("input[name=client_key]").input_value()
    phone.reload()
    expect(phone.get_by_label("情况描述")).to_have_value("北京东路 12 号路口路灯不亮，夜间行人看不清路面。")
    expect(phone.get_by_label("地点")).to_have_value("北京东路 12 号路口")
    expect(phone.locator("[data-draft-note]")).to_be_visible()
    assert phone.locator("input[name=client_key]").input_value() == key

    # The category picker's search narrows the list; then the photo from the camera.
    phone.get_by_placeholder("输入关键字筛选类别，如：路灯、纠纷").fill("路灯")
    category = phone.get_by_label("事件类别", exact=True)
    expect(category.locator("option", has_text="路灯不亮")).to_have_count(1)
    expect(category.locator("option", has_text="邻里纠纷")).to_have_count(0)
    category.select_option("1201")
    phone.set_input_files("input[name=photos]", files=[{"name": "scene.png", "mimeType": "image/png", "buffer": PNG}])
    assert_fits_the_phone(phone)
    phone.screenshot(path=str(SCREENSHOTS / "incident-report-360.png"), full_page=True)
    submit.click()

    phone.wait_for_url(f"{live_server.url}/cases/SJ-**/")
    incident = Incident.objects.get()
    assert incident.client_key is not None and str(incident.client_key) == key
    expect(phone.locator("ul.messages")).to_contain_text(f"已上报，事件编号 {incident.number}")
    expect(phone.locator(".case-summary [data-status]")).to_have_text("已上报")
    expect(phone.locator(".case-photos img")).to_have_count(1)
    phone.locator(".case-photos img").scroll_into_view_if_needed()
    phone.wait_for_function(
        "() => { const i = document.querySelector('.case-photos img'); return i.complete && i.naturalWidth === 1; }"
    )
    # The server confirmed the report: the draft is gone.
    phone.wait_for_function(f"localStorage.getItem({draft_key!r}) === null")
    assert_fits_the_phone(phone)

    phone.goto(f"{live_server.url}/cases/mine/")
    expect(phone.locator(f'tr[data-number="{incident.number}"]')).to_contain_text("已上报")
    assert_fits_the_phone(phone)
    # A fresh report form starts empty with a new key.
    phone.goto(f"{live_server.url}/cases/report/")
    expect(phone.get_by_label("情况描述")).to_have_value("")
    assert phone.locator("input[name=client_key]").input_value() not in ("", key)

    # --- the centre, at a desk: file and dispatch ------------------------------------------
    sign_in(desk, live_server, centre.username)
    desk.goto(f"{live_server.url}/cases/queue/")
    row = desk.locator(f'tr[data-number="{incident.number}"]')
    expect(row).to_contain_text("路灯不亮")
    row.get_by_role("link", name=incident.number).click()
    desk.wait_for_url(f"{live_server.url}/cases/{incident.number}/")
    filing = desk.locator("#step-file")
    expect(filing).to_have_attribute("open", "")
    filing.get_by_role("button", name="立案").click()
    expect(desk.locator(".case-summary [data-status]")).to_have_text("已立案")
    dispatch = desk.locator("#step-dispatch")
    expect(dispatch).to_have_attribute("open", "")
    dispatch.get_by_label("承办单位").select_option(label=cast.department.name)
    dispatch.get_by_label("承办人（可选）").select_option(label=str(handler))
    dispatch.get_by_label("派遣意见").fill("请今日内修复。")
    dispatch.get_by_role("button", name="派遣").click()
    expect(desk.locator(".case-summary [data-status]")).to_have_text("已派遣")
    expect(desk.locator(".case-timeline")).to_contain_text("请今日内修复。")
    sign_out(desk)

    # --- the department's handler (no role, a department member) reports back -------------
    sign_in(desk, live_server, handler.username)
    desk.get_by_role("link", name="承办事件").first.click()
    desk.wait_for_url(f"{live_server.url}/cases/department/")
    desk.get_by_role("link", name=incident.number).click()
    desk.locator("#step-report_back > summary").click()
    back = desk.locator("#step-report_back")
    back.get_by_label("处置结果").fill("已更换灯泡，路灯恢复照明。")
    back.locator("input[name=photos]").set_input_files(files=[{"name": "after.png", "mimeType": "image/png", "buffer": PNG}])
    back.get_by_role("button", name="反馈").click()
    expect(desk.locator(".case-summary [data-status]")).to_have_text("已反馈")
    expect(desk.locator(".case-photos img")).to_have_count(2)

    # --- the grid worker checks on site and closes, on the phone ---------------------------
    phone.goto(f"{live_server.url}/cases/mine/")
    awaiting = phone.locator(".case-awaiting")
    expect(awaiting).to_contain_text(incident.number)
    awaiting.get_by_role("link").first.click()
    phone.wait_for_url(f"{live_server.url}/cases/{incident.number}/#steps")
    check = phone.locator("#step-check")
    expect(check).to_have_attribute("open", "")
    check.get_by_label("核查意见").fill("现场核查，路灯已亮。")
    button = check.get_by_role("button", name="核查结案")
    assert button.bounding_box()["height"] >= 44
    assert_fits_the_phone(phone)
    button.click()
    expect(phone.locator(".case-summary [data-status]")).to_have_text("已结案")
    expect(phone.locator("ul.messages")).to_contain_text("已核查结案")
    assert_fits_the_phone(phone)
    phone.screenshot(path=str(SCREENSHOTS / "incident-closed-360.png"), full_page=True)

    incident.refresh_from_db()
    assert incident.status == Status.CLOSED
    assert incident.department == cast.department and incident.handler == handler
    assert incident.result == "已更换灯泡，路灯恢复照明。" and incident.check_result == "现场核查，路灯已亮。"
    steps = list(incident.transitions.values_list("step", "actor__username"))
    assert steps == [
        ("report", worker.username),
        ("file", centre.username),
        ("dispatch", centre.username),
        ("report_back", handler.username),
        ("check", worker.username),
    ]
    assert incident.attachments.count() == 2


def test_signing_out_clears_the_drafts_a_timeout_keeps_them(live_server, phone, cast):
    from playwright.sync_api import expect

    draft_key = f"kaili.incident-draft.{cast.worker.pk}"
    sign_in(phone, live_server, cast.worker.username)
    phone.goto(f"{live_server.url}/cases/report/")
    phone.get_by_label("情况描述").fill("楼道堆放杂物，存在消防隐患。")
    phone.wait_for_function(f"localStorage.getItem({draft_key!r}) !== null")
    phone.context.clear_cookies()  # the session ends without signing out (idle timeout)
    sign_in(phone, live_server, cast.worker.username)
    phone.goto(f"{live_server.url}/cases/report/")
    expect(phone.get_by_label("情况描述")).to_have_value("楼道堆放杂物，存在消防隐患。")
    sign_out(phone)
    phone.wait_for_url("**/accounts/login/**")
    assert phone.evaluate(f"localStorage.getItem({draft_key!r})") is None

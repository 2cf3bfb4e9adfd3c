"""The "132" flow in a real browser: a grid worker registers a neighbour dispute on a phone
(360 x 740); the centre triages it at a desk to the village mediation committee with a
mediator; the mediator records a failed session, escalates it to the village director,
records the agreement and applies for judicial confirmation; the court's account confirms
it; the grid worker sees the confirmed agreement on the phone. Each page shows each state."""

import datetime
import os
from pathlib import Path

import pytest
from django.utils import timezone

from disputes.models import Dispute, Status
from tests.browser import assert_fits_the_phone, sign_in, sign_out
from tests.populations.factories import identity_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("KAILI_SCREENSHOTS", "var"))


def status_of(page):
    return page.locator(".dispute-summary [data-status]")


def test_register_on_a_phone_triage_mediate_escalate_agree_and_confirm(live_server, phone, desk, people):
    from playwright.sync_api import expect

    worker, centre, mediator, judge = people.worker, people.centre, people.mediator, people.judge
    number_told = identity_number(datetime.date(1972, 4, 9))

    # --- the grid worker registers the dispute on the phone, at 360 px -------------------
    sign_in(phone, live_server, worker.username)
    phone.get_by_role("link", name="登记纠纷").first.click()
    phone.wait_for_url(f"{live_server.url}/disputes/new/")
    expect(phone.get_by_role("heading", name="登记纠纷")).to_be_visible()
    assert_fits_the_phone(phone)
    expect(phone.get_by_label("所属网格")).to_have_value(people.tree.grid_a.code)
    expect(phone.get_by_label("发生日期")).to_have_value(timezone.localdate().isoformat())
    phone.get_by_label("纠纷名称").fill("张李两家排水沟纠纷")
    phone.get_by_label("纠纷类别").select_option(label="邻里纠纷")
    phone.get_by_label("发生地点").fill("北京路 8 号后院")
    phone.get_by_label("纠纷简要情况").fill("两家因排水沟堵塞互相指责，多次争吵，张家要求李家清理。")

    rows = phone.locator("[data-party-row]")
    expect(rows).to_have_count(2)
    applicant, respondent = rows.nth(0), rows.nth(1)
    expect(applicant.get_by_label("身份")).to_have_value("applicant")
    expect(respondent.get_by_label("身份")).to_have_value("respondent")
    applicant.get_by_label("姓名或单位名称").fill("张三")
    applicant.get_by_label("证件号码").fill(number_told)
    applicant.locator("summary").click()
    applicant.get_by_label("性别").select_option(label="男")
    applicant.get_by_label("民族").select_option(label="苗族")
    applicant.get_by_label("住址").fill("北京路 8 号")
    respondent.get_by_label("姓名或单位名称").fill("李四")
    # A row added by mistake is taken away again.
    phone.get_by_role("button", name="添加当事人").click()
    expect(rows).to_have_count(3)
    rows.nth(2).get_by_role("button", name="移除").click()
    expect(rows).to_have_count(2)
    submit = phone.get_by_role("button", name="提交登记")
    assert submit.bounding_box()["height"] >= 44
    assert_fits_the_phone(phone)
    phone.screenshot(path=str(SCREENSHOTS / "dispute-register-360.png"), full_page=True)
    submit.click()

    phone.wait_for_url(f"{live_server.url}/disputes/MD-**/")
    dispute = Dispute.objects.get()
    expect(phone.locator("ul.messages")).to_contain_text(f"已登记，纠纷编号 {dispute.number}")
    expect(status_of(phone)).to_have_text("待研判")
    expect(phone.locator("[data-tier]")).to_have_text("待研判分流")
    expect(phone.locator(".dispute-party-list")).to_contain_text("张三")
    expect(phone.locator(".dispute-party-list")).not_to_contain_text(number_told)
    assert_fits_the_phone(phone)
    detail_url = f"{live_server.url}/disputes/{dispute.number}/"

    # --- the centre triages it to the village committee with the zone's mediator ------
    sign_in(desk, live_server, centre.username)
    desk.goto(f"{live_server.url}/disputes/")
    row = desk.locator(f'tr[data-number="{dispute.number}"]')
    expect(row).to_contain_text("张李两家排水沟纠纷")
    expect(row).to_contain_text("待研判")
    row.get_by_role("link", name=dispute.number).click()
    desk.wait_for_url(detail_url)
    triage = desk.locator("#step-triage")
    expect(triage).to_have_attribute("open", "")
    triage.get_by_label("调解层级").select_option(label="村（社区）调解委员会（30 天）")
    due = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    expect(triage.get_by_label("调解期限")).to_have_value(due)  # filled from the tier's limit
    triage.locator("select[name=mediators]").select_option(label=f"{mediator}（{mediator.username}）")
    triage.get_by_label("研判意见").fill("邻里小事，村调委会就地调解。")
    triage.get_by_role("button", name="研判分流").click()
    expect(status_of(desk)).to_have_text("调解中")
    expect(desk.locator("[data-tier]")).to_have_text("人民调解·村（社区）调解委员会")
    expect(desk.locator("[data-mediators]")).to_have_text(str(mediator))
    expect(desk.locator(".case-timeline")).to_contain_text("邻里小事，村调委会就地调解。")
    sign_out(desk)

    # --- the mediator: a failed session, the escalation, the agreement -------------------
    sign_in(desk, live_server, mediator.username)
    desk.get_by_role("link", name="我的调解").first.click()
    desk.wait_for_url(f"{live_server.url}/disputes/mine/")
    desk.get_by_role("link", name=dispute.number).click()
    desk.wait_for_url(detail_url)
    session = desk.locator("#step-record_session")
    expect(session).to_have_attribute("open", "")
    expect(session.get_by_label("调解地点")).to_have_value("北京路 8 号后院")
    session.get_by_label("调解地点").fill("北京路社区居委会")
    session.get_by_label("调解记录").fill("双方各执一词，李家不同意清理费用分摊。")
    session.get_by_label("调解结果").select_option(label="调解不成")
    session.get_by_role("button", name="记录调解").click()
    expect(status_of(desk)).to_have_text("本级调解不成")
    expect(desk.locator(".dispute-sessions")).to_contain_text("双方各执一词")

    escalate = desk.locator("#step-escalate")
    expect(escalate).to_have_attribute("open", "")
    expect(escalate).to_contain_text("将升级至：人民调解·村（居）委会主任调解")
    escalate.get_by_label("升级原因").fill("调委会调解不成，请村主任调解。")
    escalate.get_by_role("button", name="升级调解").click()
    expect(status_of(desk)).to_have_text("调解中")
    expect(desk.locator("[data-tier]")).to_have_text("人民调解·村（居）委会主任调解")

    desk.locator("#step-record_agreement > summary").click()
    agreement = desk.locator("#step-record_agreement")
    agreement.get_by_label("口头协议").check()
    agreement.get_by_label("协议内容").fill("李家三日内清理排水沟，费用两家各半。")
    agreement.get_by_role("button", name="记录调解协议").click()
    expect(status_of(desk)).to_have_text("已达成协议")
    expect(desk.locator(".dispute-agreement")).to_contain_text("李家三日内清理排水沟，费用两家各半。")

    apply = desk.locator("#step-apply_confirmation")
    expect(apply).to_have_attribute("open", "")
    apply.get_by_label("人民法院").select_option(label=people.court.name)
    expect(apply.get_by_label("共同申请人")).to_have_value("张三、李四")
    apply.get_by_role("button", name="申请司法确认").click()
    expect(status_of(desk)).to_have_text("司法确认中")
    expect(desk.locator(".dispute-confirmation")).to_contain_text("待裁定")
    sign_out(desk)

    # --- the court's account confirms the agreement ---------------------------------------
    sign_in(desk, live_server, judge.username)
    desk.get_by_role("link", name="委托调解").first.click()
    desk.wait_for_url(f"{live_server.url}/disputes/entrusted/")
    desk.locator(f'li[data-number="{dispute.number}"] a').click()
    ruling = desk.locator("#step-record_ruling")
    expect(ruling).to_have_attribute("open", "")
    ruling.get_by_label("裁定结果").select_option(label="确认有效")
    ruling.get_by_role("button", name="记录法院裁定").click()
    expect(status_of(desk)).to_have_text("已达成协议")
    expect(desk.locator(".dispute-summary")).to_contain_text("协议已经司法确认")
    expect(desk.locator(".dispute-confirmation")).to_contain_text("确认有效")

    # --- back on the phone: the grid worker sees where it stands ---------------------------
    phone.goto(detail_url)
    expect(status_of(phone)).to_have_text("已达成协议")
    expect(phone.locator(".dispute-agreement")).to_contain_text("经司法确认，具有强制执行力")
    timeline = phone.locator(".case-timeline")
    for label in ("登记", "研判分流", "记录调解", "升级调解", "记录调解协议", "申请司法确认", "记录法院裁定"):
        expect(timeline.locator("strong", has_text=label).first).to_be_visible()
    expect(phone.locator("#step-follow_up")).to_have_attribute("open", "")  # the visit comes next
    assert_fits_the_phone(phone)
    phone.screenshot(path=str(SCREENSHOTS / "dispute-confirmed-360.png"), full_page=True)

    dispute.refresh_from_db()
    assert dispute.status == Status.AGREED and dispute.tier.rank == 13 and dispute.escalations == 1
    assert dispute.agreement.enforceable
    assert list(dispute.transitions.values_list("step", "actor__username")) == [
        ("register", worker.username),
        ("triage", centre.username),
        ("record_session", mediator.username),
        ("escalate", mediator.username),
        ("record_agreement", mediator.username),
        ("apply_confirmation", mediator.username),
        ("record_ruling", judge.username),
    ]
    assert dispute.parties.get(role="applicant").identity_number == number_told


def test_the_triage_board_and_the_dispute_page_fit_a_phone(live_server, phone, people):
    """The centre on the phone: the board stacks into cards, the dispute page with its
    triage form (the widest one) fits 360 px."""
    from playwright.sync_api import expect

    from tests.disputes.factories import register

    dispute = register(people.worker, people.tree.grid_a, name="一个名字很长很长的邻里纠纷需要在手机上换行显示而不撑宽页面")
    sign_in(phone, live_server, people.centre.username)
    phone.goto(f"{live_server.url}/disputes/")
    expect(phone.locator(f'tr[data-number="{dispute.number}"]')).to_be_visible()
    assert_fits_the_phone(phone)
    phone.goto(f"{live_server.url}/disputes/{dispute.number}/")
    expect(phone.locator("#step-triage")).to_have_attribute("open", "")
    assert_fits_the_phone(phone)
    phone.goto(f"{live_server.url}/disputes/supervision/")
    assert_fits_the_phone(phone)

"""The incident pages: the grid worker's report form and "my reports", the case page with
its step forms, the centre's queue (filters, counts, bulk dispatch, export), a
department's queue and the people lookup. Real database, the real services."""

import base64
import csv
import datetime
import io
import uuid
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.calendar import working_day_minutes
from cases.hooks import register_dispute_receiver, unregister_dispute_receiver
from cases.models import Incident, IncidentAttachment, IncidentPerson, IncidentTransition, Source, Status, Urgency
from cases.services import incident_step
from cases.workflow import Step
from kaili.models import AuditAction, AuditEntry, ExportJob
from tests.cases.factories import NEIGHBOUR_DISPUTE, SMALL_HAZARD, STREETLIGHT, THEFT, bring_to, make_department, report
from tests.factories import make_user
from tests.populations.factories import identity_number, make_household, make_person
from tests.reads import body_of

pytestmark = pytest.mark.django_db

# A 1 x 1 PNG: the smallest real image.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def url(name, *args):
    return reverse(f"cases:{name}", args=args)


def photo(name="scene.png", content=PNG):
    return SimpleUploadedFile(name, content, content_type="image/png")


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def stored_files(tmp_path):
    return lambda: [path for path in tmp_path.rglob("*") if path.is_file()]


def report_data(tree, **changes):
    data = {
        "client_key": str(uuid.uuid4()),
        "category": STREETLIGHT,
        "grid": tree.grid_a.code,
        "source": Source.PATROL,
        "urgency": "",
        "occurred_at": local(timezone.now() - datetime.timedelta(minutes=30)),
        "place": "北京东路 12 号路口",
        "latitude": "",
        "longitude": "",
        "description": "路灯不亮，夜间行人看不清路面。",
        "title": "",
        "reporter_name": "",
        "involved_person": [""],
        "involved_name": [""],
        "involved_role": ["party"],
        "result": "",
    }
    data.update(changes)
    return data


def bring(cast, incident, status):
    return bring_to(incident, status, centre=cast.centre, handler=cast.handler, reporter=cast.worker, department=cast.department)


def fresh(incident) -> Incident:
    return Incident.objects.select_related("grid", "category").get(pk=incident.pk)


# --- access -----------------------------------------------------------------------------


class TestWhoOpensWhichPage:
    def test_anonymous_is_sent_to_sign_in(self, client, cast):
        response = client.get(url("report"))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    @pytest.mark.parametrize(
        ("page", "allowed", "refused"),
        [
            ("report", "worker", "handler"),
            ("mine", "worker", "handler"),
            ("queue", "centre", "worker"),
            ("queue", "centre_b", "handler"),
            ("department", "handler", "worker"),
        ],
    )
    def test_pages_for_their_users_only(self, client, cast, page, allowed, refused):
        client.force_login(getattr(cast, allowed))
        body_of(client.get(url(page)))
        client.force_login(getattr(cast, refused))
        body_of(client.get(url(page)), 403)

    def test_case_page_is_404_outside_the_scope_and_403_without_any_permission(self, client, cast):
        incident = report(cast.worker, cast.tree.grid_a, uploads=[])
        for user in (cast.worker, cast.centre):
            client.force_login(user)
            assert incident.number in body_of(client.get(url("detail", incident.number)))
        for user in (cast.worker_b, cast.centre_b, cast.centre_t2, cast.handler):
            client.force_login(user)
            body_of(client.get(url("detail", incident.number)), 404)
        client.force_login(make_user("nobody"))
        body_of(client.get(url("detail", incident.number)), 403)
        client.force_login(cast.centre)
        body_of(client.get(url("detail", "SJ-522601-2026-999999")), 404)

    def test_the_handler_sees_the_case_once_dispatched_to_the_department(self, client, cast):
        incident = bring(cast, report(cast.worker, cast.tree.grid_a), Status.DISPATCHED)
        client.force_login(cast.handler)
        body = body_of(client.get(url("detail", incident.number)))
        assert "签收" in body and "反馈" in body and "退回" in body
        # ...and nothing of the centre's steps.
        assert 'id="step-park"' not in body and 'id="step-extend"' not in body

    def test_zone_a_photo_is_404_for_zone_b_and_town_t2(self, client, cast):
        from cases.services import Upload

        incident = report(cast.worker, cast.tree.grid_a, uploads=[Upload(photo())])
        attachment = incident.attachments.get()
        client.force_login(cast.worker)
        response = client.get(url("attachment", incident.number, attachment.pk))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png" and response["Cache-Control"] == "no-store"
        assert b"".join(response.streaming_content) == PNG
        for user in (cast.worker_b, cast.centre_b, cast.centre_t2):
            client.force_login(user)
            body_of(client.get(url("attachment", incident.number, attachment.pk)), 404)
        other = report(cast.worker_b, cast.tree.grid_b)
        client.force_login(cast.worker)
        # An attachment id under another case's number is not found either.
        body_of(client.get(url("attachment", other.number, attachment.pk)), 404)

    def test_zone_a_case_is_not_in_other_peoples_lists(self, client, cast):
        incident = report(cast.worker, cast.tree.grid_a)
        client.force_login(cast.centre)
        assert incident.number in body_of(client.get(url("queue")))
        for user, page in ((cast.centre_b, "queue"), (cast.centre_t2, "queue"), (cast.worker_b, "mine")):
            client.force_login(user)
            assert incident.number not in body_of(client.get(url(page)))

    def test_department_members_find_their_queue_on_the_home_page_and_menu(self, client, cast):
        client.force_login(cast.handler)
        body = body_of(client.get(reverse("home")))
        assert "承办事件" in body and url("department") in body
        # ...and in the menu of every other page.
        assert url("department") in body_of(client.get(reverse("password-change")))
        client.force_login(cast.worker)
        body = body_of(client.get(reverse("home")))
        assert url("report") in body and url("mine") in body and url("department") not in body


# --- the report form --------------------------------------------------------------------


class TestReportForm:
    def test_the_form_preselects_the_workers_grid_and_offers_only_their_nodes(self, client, cast):
        client.force_login(cast.worker)
        body = body_of(client.get(url("report")))
        assert f'<option value="{cast.tree.grid_a.code}" selected>' in body
        assert cast.tree.unit_a.code in body and cast.tree.grid_b.code not in body
        photos_input = body.split('name="photos"')[0].rsplit("<input", 1)[1] + body.split('name="photos"')[1].split(">")[0]
        assert 'capture="environment"' in photos_input and 'accept="image/*"' in photos_input and "multiple" in photos_input
        assert 'name="client_key"' in body and "照片无法保存在草稿中" in body
        assert '<option value="patrol" selected>' in body
        assert "<optgroup" in body and "路灯不亮" in body

    def test_a_report_with_a_photo_and_people_creates_the_case(self, client, cast, stored_files):
        household = make_household(cast.tree.unit_a, address="北京路 8 号")
        neighbour = make_person(household, name="李明", identity_number=identity_number(), relation="head")
        client.force_login(cast.worker)
        data = report_data(
            cast.tree,
            urgency=Urgency.URGENT,
            latitude="26.566100",
            longitude="107.981200",
            involved_person=[str(neighbour.pk), ""],
            involved_name=["", "王大姐"],
            involved_role=["party", "reporter"],
            photos=[photo()],
        )
        response = client.post(url("report"), data)
        incident = Incident.objects.get()
        assert response.status_code == 302 and response["Location"] == url("detail", incident.number)
        assert incident.reporter == cast.worker and incident.grid == cast.tree.grid_a and incident.urgency == Urgency.URGENT
        assert str(incident.client_key) == data["client_key"] and incident.status == Status.REPORTED
        assert incident.title == incident.description[:30] and incident.place == "北京东路 12 号路口"
        assert incident.attachments.get().content_type == "image/png" and len(stored_files()) == 1
        people = {(p.person_id, p.name, p.role) for p in IncidentPerson.objects.filter(incident=incident)}
        assert people == {(neighbour.pk, "", "party"), (None, "王大姐", "reporter")}

        body = body_of(client.get(response["Location"]))
        assert "已上报，事件编号" in body
        # The page confirms the report: the phone clears its draft of this key.
        assert f'data-confirmed-key="{data["client_key"]}"' in body
        assert neighbour.id_number_masked in body and neighbour.identity_number not in body
        assert url("attachment", incident.number, incident.attachments.get().pk) in body

    def test_sending_the_same_report_again_creates_it_once(self, client, cast):
        client.force_login(cast.worker)
        data = report_data(cast.tree, photos=[photo()])
        first = client.post(url("report"), data)
        again = client.post(url("report"), report_data(cast.tree, client_key=data["client_key"], photos=[photo()]))
        assert Incident.objects.count() == 1 and IncidentAttachment.objects.count() == 1
        assert again.status_code == 302 and again["Location"] == first["Location"]
        assert "已提交过，未重复创建" in body_of(client.get(again["Location"]))

    def test_solved_on_the_spot_closes_at_once(self, client, cast):
        client.force_login(cast.worker)
        client.post(url("report"), report_data(cast.tree, category=SMALL_HAZARD, solved_on_spot="on", result="已当场劝离。"))
        incident = Incident.objects.get()
        assert incident.status == Status.CLOSED and incident.result == "已当场劝离。"
        assert list(incident.transitions.values_list("step", flat=True)) == [Step.REPORT, Step.SOLVE_ON_SPOT]

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"description": "  "}, "description", "请填写情况描述。"),
            ({"occurred_at": "2099-01-01T08:00"}, "occurred_at", "发生时间不能晚于现在。"),
            (
                {"photos": [SimpleUploadedFile("scene.jpg", b"not an image at all", content_type="image/jpeg")]},
                "photos",
                "不是图片文件",
            ),
            ({"grid": "522601001002001"}, "grid", "不在您的管辖范围内"),
            ({"category": "9999"}, "category", "不存在或已停用"),
            ({"category": ""}, "category", "请选择事件类别。"),
            ({"solved_on_spot": "on", "result": ""}, "result", "就地解决须填写处理结果。"),
            ({"latitude": "126.5", "longitude": "107.9"}, "latitude", "纬度应在 -90 到 90 之间。"),
        ],
    )
    def test_bad_input_names_the_field_and_writes_nothing(self, client, cast, stored_files, changes, field, message):
        client.force_login(cast.worker)
        data = report_data(cast.tree, **changes)
        data.setdefault("photos", [photo()])
        body = body_of(client.post(url("report"), data), 400)
        assert f'id="id_{field}_error"' in body and message in body
        assert not Incident.objects.exists() and not IncidentAttachment.objects.exists()
        assert stored_files() == []
        # What was typed comes back, with the same key for the retry.
        assert data["client_key"] in body and 'data-bound="1"' in body

    def test_a_registry_person_outside_the_scope_cannot_be_named(self, client, cast):
        stranger = make_person(make_household(cast.tree.unit_b, address="营盘坡 3 号"), name="李强")
        client.force_login(cast.worker)
        data = report_data(cast.tree, involved_person=[str(stranger.pk)], involved_name=[""], involved_role=["party"])
        body = body_of(client.post(url("report"), data), 400)
        assert "不在您可查看的人员范围内" in body and "李强" not in body
        assert not Incident.objects.exists()


class TestPersonLookup:
    @pytest.fixture
    def people(self, cast):
        number = identity_number(datetime.date(1975, 3, 8))
        near = make_person(make_household(cast.tree.unit_a, address="北京路 8 号"), name="李明", identity_number=number)
        far = make_person(make_household(cast.tree.unit_b, address="营盘坡 3 号"), name="李强")
        return SimpleNamespace(near=near, far=far, number=number)

    def test_finds_people_in_scope_by_name_or_full_number_masked(self, client, cast, people):
        client.force_login(cast.worker)
        by_name = client.post(url("person-lookup"), {"q": "李"})
        assert by_name.status_code == 200 and by_name["Cache-Control"] == "no-store"
        assert by_name.json() == {
            "results": [{"id": people.near.pk, "name": "李明", "id_number_masked": people.near.id_number_masked}]
        }
        by_number = client.post(url("person-lookup"), {"q": people.number})
        assert [row["id"] for row in by_number.json()["results"]] == [people.near.pk]
        assert people.number not in by_number.content.decode()

    def test_nobody_outside_the_scope_is_found(self, client, cast, people):
        client.force_login(cast.worker_b)
        assert client.post(url("person-lookup"), {"q": "李明"}).json() == {"results": []}
        assert client.post(url("person-lookup"), {"q": people.number}).json() == {"results": []}

    def test_only_posted_and_only_for_reporters(self, client, cast, people):
        client.force_login(cast.worker)
        assert client.get(url("person-lookup"), {"q": "李"}).status_code == 405
        assert client.post(url("person-lookup"), {"q": ""}).status_code == 400
        client.force_login(cast.handler)
        assert client.post(url("person-lookup"), {"q": "李"}).status_code == 403


# --- my reports -------------------------------------------------------------------------


class TestMyReports:
    def test_cases_reported_back_wait_on_top_and_the_list_filters_by_status(self, client, cast):
        waiting = bring(cast, report(cast.worker, cast.tree.grid_a, title="井盖缺失"), Status.REPORTED_BACK)
        report(cast.worker, cast.tree.grid_a, title="路灯不亮")
        report(cast.worker_b, cast.tree.grid_b, title="别人的事件")
        client.force_login(cast.worker)
        body = body_of(client.get(url("mine")))
        awaiting = body.split('class="card case-awaiting"')[1].split("</section>")[0]
        assert waiting.number in awaiting and "路灯不亮" not in awaiting
        assert "共 2 件" in body and "别人的事件" not in body
        body = body_of(client.get(url("mine"), {"status": Status.REPORTED}))
        assert "共 1 件" in body

    def test_overdue_reports_are_highlighted(self, client, cast):
        incident = report(cast.worker, cast.tree.grid_a)
        Incident.objects.filter(pk=incident.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
        client.force_login(cast.worker)
        body = body_of(client.get(url("mine")))
        assert f'class="is-overdue" data-number="{incident.number}"' in body


# --- the case page and its steps --------------------------------------------------------


def post_step(client, incident, step, **data):
    data.setdefault("version", fresh(incident).version)
    return client.post(url("step", incident.number, step), data)


class TestCasePage:
    def test_shows_facts_path_timeline_and_deadlines(self, client, cast):
        incident = bring(cast, report(cast.worker, cast.tree.grid_a, place="北京东路"), Status.DISPATCHED)
        passed = timezone.now() - datetime.timedelta(minutes=5)
        Incident.objects.filter(pk=incident.pk).update(handle_due_at=passed, due_at=passed)
        client.force_login(cast.centre)
        body = body_of(client.get(url("detail", incident.number)))
        assert "凯里市 › 大十字街道 › 北京路社区 ›" in body and "北京路第1网格" in body
        assert "城市管理 › 路灯不亮" in body and "北京东路" in body
        for label in ("上报", "立案", "派遣"):
            assert f"<strong>{label}</strong>" in body
        assert "测试承办单位" in body
        deadlines = body.split('class="case-deadlines"')[1].split("</ul>")[0]
        assert 'class="is-current is-overdue"' in deadlines and "已超时" in deadlines
        assert body.count('class="is-current') == 1
        assert "Cache-Control" in dict(client.get(url("detail", incident.number)).headers)

    def test_query_count_does_not_grow_with_people_photos_and_steps(self, client, cast):
        from cases.services import Involved, Upload

        plain = bring(cast, report(cast.worker, cast.tree.grid_a), Status.HANDLING)
        busy = report(
            cast.worker,
            cast.tree.grid_a,
            people=[Involved(name=f"群众{n}") for n in range(4)],
            uploads=[Upload(photo(f"p{n}.png")) for n in range(4)],
        )
        busy = bring(cast, busy, Status.HANDLING)
        for _n in range(3):
            busy = incident_step(actor=cast.centre, incident=busy, step=Step.EXTEND, reason="等待配件", minutes=60)
        client.force_login(cast.centre)
        client.get(url("detail", plain.number))

        def queries(incident):
            with CaptureQueriesContext(connection) as captured:
                body_of(client.get(url("detail", incident.number)))
            return len(captured)

        assert queries(busy) == queries(plain)

    def test_each_viewer_gets_the_forms_of_their_steps(self, client, cast):
        incident = report(cast.worker, cast.tree.grid_a)
        client.force_login(cast.worker)
        body = body_of(client.get(url("detail", incident.number)))
        assert 'id="step-solve_on_spot"' in body and 'id="step-file"' not in body
        client.force_login(cast.centre)
        body = body_of(client.get(url("detail", incident.number)))
        assert 'id="step-file"' in body and 'id="step-cancel"' in body and 'id="step-solve_on_spot"' not in body
        assert f'name="version" value="{incident.version}"' in body
        incident = bring(cast, incident, Status.FILED)
        body = body_of(client.get(url("detail", incident.number)))
        # The category's own department is preselected.
        city_management = fresh(incident).category.parent.department
        assert f'<option value="{city_management.pk}" selected>' in body

    def test_the_whole_loop_through_the_step_forms(self, client, cast, stored_files):
        incident = report(cast.worker, cast.tree.grid_a)
        client.force_login(cast.centre)
        response = post_step(client, incident, "file", urgency=Urgency.URGENT, note="属实")
        assert response.status_code == 302 and response["Location"] == url("detail", incident.number)
        assert fresh(incident).status == Status.FILED and fresh(incident).urgency == Urgency.URGENT
        post_step(client, incident, "dispatch", department=cast.department.pk, handler=cast.handler.pk, note="请尽快处理")
        case = fresh(incident)
        assert case.status == Status.DISPATCHED and case.department == cast.department and case.handler == cast.handler

        client.force_login(cast.handler)
        post_step(client, incident, "start")
        assert fresh(incident).status == Status.HANDLING
        post_step(client, incident, "report_back", result="已更换灯泡。", photos=[photo("after.png")])
        case = fresh(incident)
        assert case.status == Status.REPORTED_BACK and case.result == "已更换灯泡。"
        assert case.attachments.get().step == Step.REPORT_BACK and len(stored_files()) == 1

        client.force_login(cast.worker)
        post_step(client, incident, "check", note="现场核查，路灯已亮。")
        assert fresh(incident).status == Status.CLOSED
        client.force_login(cast.centre)
        body = body_of(client.get(url("detail", incident.number)))
        assert 'name="satisfaction" value="5"' in body
        post_step(client, incident, "evaluate", satisfaction="4", note="及时")
        case = fresh(incident)
        assert case.status == Status.EVALUATED and case.satisfaction == 4
        steps = list(IncidentTransition.objects.filter(incident=incident).values_list("step", flat=True))
        assert steps == ["report", "file", "dispatch", "start", "report_back", "check", "evaluate"]
        body = body_of(client.get(url("detail", incident.number)))
        assert f"事件 {incident.number}：已评价。" in body

    def test_cancel_needs_a_reason(self, client, cast):
        incident = report(cast.worker, cast.tree.grid_a)
        client.force_login(cast.centre)
        body = body_of(post_step(client, incident, "cancel", reason=""), 400)
        assert 'id="cancel_reason_error"' in body and "注销须说明理由。" in body
        assert fresh(incident).status == Status.REPORTED
        post_step(client, incident, "cancel", reason="重复上报")
        assert fresh(incident).status == Status.CANCELLED

    def test_the_department_returns_a_case_it_does_not_own(self, client, cast):
        incident = bring(cast, report(cast.worker, cast.tree.grid_a), Status.DISPATCHED)
        client.force_login(cast.handler)
        post_step(client, incident, "return", reason="不属于本单位职责")
        case = fresh(incident)
        assert case.status == Status.RETURNED and case.department is None

    def test_the_checker_sends_it_back_for_rework(self, client, cast):
        incident = bring(cast, report(cast.worker, cast.tree.grid_a), Status.REPORTED_BACK)
        client.force_login(cast.worker)
        body = body_of(post_step(client, incident, "rework", reason=""), 400)
        assert "返工须说明核查发现的问题。" in body
        post_step(client, incident, "rework", reason="灯仍不亮")
        assert fresh(incident).status == Status.HANDLING

    def test_extend_in_working_days_then_park(self, client, cast):
        incident = bring(cast, report(cast.worker, cast.tree.grid_a), Status.DISPATCHED)
        before = fresh(incident).handle_due_at
        client.force_login(cast.centre)
        post_step(client, incident, "extend", amount="2", unit="day", reason="需采购配件")
        case = fresh(incident)
        assert case.extensions == 1 and case.handle_due_at > before
        assert IncidentTransition.objects.get(incident=incident, step="extend").details["minutes"] == 2 * working_day_minutes()
        post_step(client, incident, "park", reason="需纳入明年改造计划")
        assert fresh(incident).status == Status.PARKED

    def test_the_reporter_solves_a_small_matter_on_the_spot(self, client, cast):
        incident = report(cast.worker, cast.tree.grid_a, code=SMALL_HAZARD)
        client.force_login(cast.worker)
        post_step(client, incident, "solve_on_spot", result="已清理。")
        assert fresh(incident).status == Status.CLOSED

    def test_a_criminal_case_is_marked_cleared(self, client, cast):
        incident = bring(cast, report(cast.worker, cast.tree.grid_a, code=THEFT), Status.FILED)
        client.force_login(cast.centre)
        assert 'id="step-clear"' in body_of(client.get(url("detail", incident.number)))
        post_step(client, incident, "clear", cleared_on=timezone.localdate().isoformat())
        case = fresh(incident)
        assert case.cleared and case.cleared_on == timezone.localdate()
        assert 'id="step-clear"' not in body_of(client.get(url("detail", incident.number)))

    def test_turning_into_a_dispute_is_offered_only_when_available(self, client, cast, without_disputes_app):
        incident = report(cast.worker, cast.tree.grid_a, code=NEIGHBOUR_DISPUTE)
        client.force_login(cast.centre)
        assert 'id="step-transfer"' not in body_of(client.get(url("detail", incident.number)))

        def receiver(actor, case):
            return "JF-522601-2026-000001"

        register_dispute_receiver(receiver)
        try:
            assert 'id="step-transfer"' in body_of(client.get(url("detail", incident.number)))
            post_step(client, incident, "transfer", note="转调解")
        finally:
            unregister_dispute_receiver(receiver)
        case = fresh(incident)
        assert case.status == Status.TRANSFERRED and case.dispute_number == "JF-522601-2026-000001"

    def test_a_stale_page_is_told_the_case_changed_and_changes_nothing(self, client, cast):
        incident = report(cast.worker, cast.tree.grid_a)
        seen = incident.version
        incident_step(actor=cast.centre, incident=incident, step=Step.FILE)  # someone else, meanwhile
        client.force_login(cast.centre)
        body = body_of(post_step(client, incident, "cancel", reason="重复上报", version=seen), 409)
        assert "已被他人办理" in body and "请刷新" in body
        case = fresh(incident)
        assert case.status == Status.FILED and case.version == seen + 1
        assert not IncidentTransition.objects.filter(incident=incident, step="cancel").exists()

    def test_an_illegal_step_is_refused_with_a_message(self, client, cast):
        incident = report(cast.worker, cast.tree.grid_a)
        client.force_login(cast.worker)
        body = body_of(post_step(client, incident, "check"), 409)
        assert "不能核查结案" in body and fresh(incident).status == Status.REPORTED

    def test_a_step_of_someone_else_is_forbidden(self, client, cast):
        incident = report(cast.worker, cast.tree.grid_a)
        client.force_login(cast.worker)
        body_of(post_step(client, incident, "file"), 403)
        client.force_login(cast.worker_b)
        body_of(post_step(client, incident, "file"), 404)
        client.force_login(cast.centre)
        body_of(post_step(client, incident, "no-such-step"), 404)
        assert client.get(url("step", incident.number, "file")).status_code == 405
        assert fresh(incident).status == Status.REPORTED


# --- the centre's queue -----------------------------------------------------------------


@pytest.fixture
def busy(cast):
    """Zone A: a streetlight (reported, overdue), an urgent theft (filed) and a dispute
    reported by phone last week; zone B: a streetlight."""
    light = report(cast.worker, cast.tree.grid_a, title="路灯不亮")
    Incident.objects.filter(pk=light.pk).update(due_at=timezone.now() - datetime.timedelta(hours=2))
    theft = bring(
        cast, report(cast.worker, cast.tree.unit_a, code=THEFT, title="电动车被盗", urgency=Urgency.URGENT), Status.FILED
    )
    dispute = report(cast.worker, cast.tree.grid_a, code=NEIGHBOUR_DISPUTE, title="邻里漏水纠纷", source=Source.PHONE)
    Incident.objects.filter(pk=dispute.pk).update(reported_at=timezone.now() - datetime.timedelta(days=7))
    zone_b = report(cast.worker_b, cast.tree.grid_b, title="营盘坡路灯")
    return SimpleNamespace(light=light, theft=theft, dispute=dispute, zone_b=zone_b)


def listed(body) -> set[str]:
    return {number for number in Incident.objects.values_list("number", flat=True) if f'data-number="{number}"' in body}


class TestQueue:
    def test_lists_the_scope_with_counts_per_status(self, client, cast, busy):
        client.force_login(cast.centre)
        body = body_of(client.get(url("queue")))
        assert listed(body) == {busy.light.number, busy.theft.number, busy.dispute.number, busy.zone_b.number}
        for chip in (
            "全部 <strong>4</strong>",
            "已上报 <strong>3</strong>",
            "已立案 <strong>1</strong>",
            "已超时 <strong>1</strong>",
        ):
            assert f">{chip}" in body
        assert f'class="is-overdue" data-number="{busy.light.number}"' in body
        client.force_login(cast.centre_b)
        assert listed(body_of(client.get(url("queue")))) == {busy.zone_b.number}

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"status": "filed"}, {"theft"}),
            ({"category": "25"}, {"theft"}),
            ({"category": STREETLIGHT}, {"light", "zone_b"}),
            ({"under": "522601001001"}, {"light", "theft", "dispute"}),
            ({"code": "52260100100100101"}, {"theft"}),
            ({"under": "522601001001001"}, {"light", "theft", "dispute"}),
            ({"overdue": "true"}, {"light"}),
            ({"urgency": "urgent"}, {"theft"}),
            ({"source": "phone"}, {"dispute"}),
            ({"reported_to": (timezone.localdate() - datetime.timedelta(days=3)).isoformat()}, {"dispute"}),
            ({"reported_from": timezone.localdate().isoformat()}, {"light", "theft", "zone_b"}),
            ({"q": "漏水"}, {"dispute"}),
        ],
    )
    def test_filters(self, client, cast, busy, filters, expected):
        client.force_login(cast.centre)
        body = body_of(client.get(url("queue"), filters))
        assert listed(body) == {getattr(busy, name).number for name in expected}

    def test_counts_ignore_the_status_filter_so_the_chips_stay(self, client, cast, busy):
        client.force_login(cast.centre)
        body = body_of(client.get(url("queue"), {"status": "filed", "under": "522601001001"}))
        assert ">全部 <strong>3</strong>" in body and ">已上报 <strong>2</strong>" in body
        assert 'href="?under=522601001001&amp;status=reported"' in body

    def test_bulk_dispatch_reports_what_was_refused_and_why(self, client, cast, busy):
        other_filed = bring(cast, report(cast.worker, cast.tree.grid_a, title="另一盏路灯"), Status.FILED)
        already = bring(cast, report(cast.worker, cast.tree.grid_a, title="已派遣的"), Status.DISPATCHED)
        client.force_login(cast.centre)
        response = client.post(
            url("queue-dispatch"),
            {
                "incidents": [busy.theft.number, other_filed.number, already.number, busy.zone_b.number + "X"],
                "department": cast.department.pk,
                "handler": "",
                "note": "批量派遣",
                "query": "status=filed",
            },
        )
        assert response.status_code == 302 and response["Location"] == url("queue") + "?status=filed"
        assert fresh(busy.theft).status == Status.DISPATCHED and fresh(other_filed).status == Status.DISPATCHED
        body = body_of(client.get(response["Location"]))
        assert "已派遣 2 件。" in body and "2 件未派遣" in body
        assert f"{already.number}：" in body and "不能派遣" in body
        assert "不存在或不在您的管辖范围内" in body

    def test_bulk_dispatch_outside_the_scope_changes_nothing(self, client, cast, busy):
        zone_b_filed = bring(cast, busy.zone_b, Status.FILED)
        client.force_login(cast.centre_t2)
        client.post(url("queue-dispatch"), {"incidents": [zone_b_filed.number], "department": cast.department.pk})
        assert fresh(zone_b_filed).status == Status.FILED
        client.force_login(cast.worker)
        assert client.post(url("queue-dispatch"), {"incidents": [busy.theft.number]}).status_code == 403

    def test_export_csv_is_scoped_filtered_and_audited(self, client, cast, busy):
        client.force_login(cast.centre_b)
        response = client.get(url("queue-export"), {"format": "csv"})
        assert response.status_code == 200 and response["Cache-Control"] == "no-store"
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][0] == "事件编号" and [row[0] for row in rows[1:]] == [busy.zone_b.number]
        entry = AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="cases.incident").get()
        assert entry.actor_username == "centre_zone_b" and entry.changes["rows"] == 1

        client.force_login(cast.centre)
        response = client.get(url("queue-export"), {"format": "xlsx", "category": "25"})
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [busy.theft.number]
        assert AuditEntry.objects.filter(action=AuditAction.EXPORT).latest("pk").changes["filters"] == {"category": "25"}

    def test_a_large_export_runs_as_a_job(self, client, cast, busy, settings):
        settings.KAILI_EXPORT_INLINE_ROWS = 1
        client.force_login(cast.centre)
        response = client.get(url("queue-export"), {"format": "xlsx"})
        job = ExportJob.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse("export-detail", args=[job.pk])
        assert job.created_by == cast.centre and job.kind == "cases.incidents"

    def test_export_needs_the_export_permission(self, client, cast, busy):
        client.force_login(cast.worker)
        assert client.get(url("queue-export"), {"format": "csv"}).status_code == 403
        client.force_login(cast.centre)
        assert client.get(url("queue-export"), {"format": "pdf"}).status_code == 400

    def test_query_count_does_not_grow_with_rows(self, client, cast):
        for _n in range(3):
            report(cast.worker, cast.tree.grid_a)
        client.force_login(cast.centre)
        client.get(url("queue"))  # warm up

        def queries():
            with CaptureQueriesContext(connection) as captured:
                body_of(client.get(url("queue"), {"under": "522601001"}))
            return len(captured)

        few = queries()
        for _n in range(12):
            bring(cast, report(cast.worker, cast.tree.unit_a), Status.DISPATCHED)
        assert queries() == few
        assert few <= 20


# --- a department's queue ---------------------------------------------------------------


class TestDepartmentQueue:
    def test_lists_the_cases_dispatched_to_the_department_overdue_first(self, client, cast, busy):
        late = bring(cast, report(cast.worker, cast.tree.grid_a, title="逾期的"), Status.DISPATCHED)
        Incident.objects.filter(pk=late.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
        on_time = bring(cast, report(cast.worker_b, cast.tree.grid_b, title="按时的"), Status.HANDLING)
        other = make_department("other-dept", "其他单位")
        elsewhere = bring(cast, report(cast.worker, cast.tree.grid_a), Status.FILED)
        incident_step(actor=cast.centre, incident=elsewhere, step=Step.DISPATCH, department=other)
        client.force_login(cast.handler)
        body = body_of(client.get(url("department")))
        assert listed(body) == {late.number, on_time.number}
        assert body.index(late.number) < body.index(on_time.number)
        assert f'class="is-overdue" data-number="{late.number}"' in body and "测试承办单位" in body


def test_opening_a_criminal_case_page_is_audited(client, cast):
    from kaili.models import AuditEntry
    from tests.cases.factories import THEFT

    theft = report(cast.worker, cast.tree.unit_a, code=THEFT, description="电动车被盗")
    client.force_login(cast.centre)
    assert client.get(reverse("cases:detail", args=[theft.number])).status_code == 200
    assert AuditEntry.objects.filter(action="read_sensitive", object_id=str(theft.pk), actor_username="centre_t1").exists()


def test_a_long_list_of_places_is_cut_to_the_grids(client, cast, monkeypatch):
    from cases import views

    client.force_login(cast.centre)
    both = body_of(client.get(url("report")))
    assert cast.tree.unit_a.code in both and cast.tree.grid_a.code in both
    monkeypatch.setattr(views, "MAX_REPORT_CHOICES", 2)
    grids_only = body_of(client.get(url("report")))
    assert cast.tree.unit_a.code not in grids_only and cast.tree.grid_a.code in grids_only

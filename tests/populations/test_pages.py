"""The registry and programme pages: who sees what, masking, audited reads, doorplates."""

import datetime
import io
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from kaili import roles
from kaili.models import AuditAction, AuditEntry, AuditOutcome
from populations.models import (
    Enrollment,
    EnrollmentStatus,
    Facility,
    FacilityKind,
    Household,
    Person,
    Placement,
    Programme,
    Visit,
)
from populations.schedules import add_months, seed_schedule_rules
from populations.services import facility_create, placement_start
from tests.factories import force_verified
from tests.populations.factories import identity_number, make_enrollment, make_household, make_officer, make_person

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LONG_AGO = TODAY - datetime.timedelta(days=200)
PHONE_A = "13812345678"


def url(name, *args):
    return reverse(f"populations:{name}", args=args)


def body_of(response, status=200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.content.decode()


def audit_rows(**filters):
    return AuditEntry.objects.filter(**filters)


@pytest.fixture
def world(tree, user_factory):
    """Zone A and zone B, each with a household, people and a mental-health enrollment;
    zone A also has a left-behind child."""
    seed_schedule_rules()
    home_a = make_household(tree.unit_a, address="北京路 8 号", doorplate="8-1")
    id_a = identity_number()
    person_a = make_person(home_a, name="李明", identity_number=id_a, phone=PHONE_A, relation="head")
    child_a = make_person(home_a, name="李小红", born=datetime.date(2015, 3, 2), sex="F", relation="child")
    home_b = make_household(tree.unit_b, address="营盘坡 3 号", doorplate="3-2")
    id_b = identity_number()
    person_b = make_person(home_b, name="李强", identity_number=id_b, phone="13987654321", relation="head")
    officer_a = make_officer(user_factory, "officer_a", [tree.zone_a], programmes=[Programme.MENTAL_HEALTH])
    mental_a = make_enrollment(person_a, Programme.MENTAL_HEALTH, started_on=LONG_AGO)
    left_behind_a = make_enrollment(child_a, Programme.LEFT_BEHIND, started_on=add_months(TODAY, -3) + datetime.timedelta(days=3))
    mental_b = make_enrollment(person_b, Programme.MENTAL_HEALTH, started_on=LONG_AGO)
    return SimpleNamespace(
        tree=tree,
        home_a=home_a,
        home_b=home_b,
        person_a=person_a,
        id_a=id_a,
        child_a=child_a,
        person_b=person_b,
        id_b=id_b,
        mental_a=mental_a,
        left_behind_a=left_behind_a,
        mental_b=mental_b,
        officer_a=officer_a,
        # A drug-rehabilitation officer in zone A: sees the registry, is responsible for nobody here.
        drug_officer_a=make_officer(user_factory, "drug_officer_a", [tree.zone_a], programmes=[Programme.DRUG_REHAB]),
        worker_a=user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a]),
        worker_b=user_factory("worker_b", roles.GRID_WORKER, [tree.zone_b]),
        unit_head_a=user_factory("unit_head_a", roles.UNIT_HEAD, [tree.unit_a]),
        centre_a=user_factory("centre_a", roles.CENTRE_STAFF, [tree.zone_a]),
        nobody=user_factory("nobody"),
    )


@pytest.fixture
def leader(world, user_factory):
    return user_factory("leader_t1", roles.LEADER, [world.tree.t1], totp=True)


# --- households -------------------------------------------------------------------------


class TestHouseholdList:
    def test_lists_only_households_in_scope_with_counts(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.get(url("households")))
        assert world.home_a.number in body and "北京路 8 号" in body
        assert world.home_b.number not in body and "营盘坡" not in body
        assert 'data-label="人数">2<' in body

    @pytest.mark.parametrize("query", ["北京路", "8-1", "5226010010010010"])
    def test_search_by_address_doorplate_or_number(self, client, world, query):
        client.force_login(world.worker_a)
        body = body_of(client.get(url("households"), {"q": query}))
        assert world.home_a.number in body

    def test_zone_b_household_is_not_found_by_search(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.get(url("households"), {"q": "营盘坡"}))
        assert world.home_b.number not in body and "没有符合条件的住户" in body

    def test_filter_by_subtree_and_registration(self, client, world):
        client.force_login(world.centre_a)
        assert world.home_a.number in body_of(client.get(url("households"), {"under": world.tree.grid_a.code}))
        # A code outside the scope gives nothing, like a missing one.
        assert world.home_a.number not in body_of(client.get(url("households"), {"under": world.tree.zone_b.code}))
        assert world.home_a.number not in body_of(client.get(url("households"), {"registration": "resident_only"}))

    def test_anonymous_signs_in_and_no_role_is_forbidden(self, client, world):
        assert client.get(url("households")).url.startswith("/accounts/login/")
        client.force_login(world.nobody)
        assert client.get(url("households")).status_code == 403

    def test_query_budget(self, client, world, django_assert_max_num_queries):
        for n in range(30):
            make_person(make_household(world.tree.unit_a, address=f"北京路 {n + 20} 号"), name=f"住户{n}")
        client.force_login(world.worker_a)
        with django_assert_max_num_queries(12):
            body = body_of(client.get(url("households")))
        assert body.count('class="cell-head"') == 31


class TestHouseholdPage:
    def test_members_with_masked_numbers(self, client, world):
        client.force_login(world.worker_a)
        response = client.get(url("household", world.home_a.number))
        body = body_of(response)
        assert "李明" in body and "李小红" in body and "户主" in body and "子女" in body
        assert world.person_a.id_number_masked in body and "138****5678" in body
        assert world.id_a not in body and PHONE_A not in body
        assert f'href="/grids/{world.tree.unit_a.code}/"' in body
        assert url("doorplate-svg", world.home_a.number) in body
        assert response["Cache-Control"] == "no-store"

    def test_out_of_scope_household_is_not_found(self, client, world):
        client.force_login(world.worker_a)
        assert client.get(url("household", world.home_b.number)).status_code == 404
        assert client.get(url("household", "99999999999999999999")).status_code == 404

    def test_forms_for_those_who_may_change_only(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.get(url("household", world.home_a.number)))
        assert url("household-edit", world.home_a.number) in body and url("person-create", world.home_a.number) in body
        client.force_login(world.unit_head_a)
        body = body_of(client.get(url("household", world.home_a.number)))
        assert url("household-edit", world.home_a.number) not in body and url("person-create", world.home_a.number) not in body
        response = client.post(url("household-edit", world.home_a.number), {"address": "改", "registration": "registered"})
        assert response.status_code == 403

    def test_edit_household(self, client, world):
        client.force_login(world.worker_a)
        response = client.post(
            url("household-edit", world.home_a.number),
            {"address": "北京路 10 号", "doorplate": "10", "registration": "registered"},
        )
        assert response.status_code == 302
        world.home_a.refresh_from_db()
        assert world.home_a.address == "北京路 10 号"
        assert audit_rows(action=AuditAction.UPDATE, object_type="populations.household").exists()

    def test_edit_household_out_of_scope_is_not_found(self, client, world):
        client.force_login(world.worker_a)
        response = client.post(url("household-edit", world.home_b.number), {"address": "x", "registration": "registered"})
        assert response.status_code == 404
        world.home_b.refresh_from_db()
        assert world.home_b.address == "营盘坡 3 号"

    def test_add_member_shows_chinese_errors_per_field(self, client, world):
        client.force_login(world.worker_a)
        bad_number = world.id_a[:17] + ("0" if world.id_a[17] != "0" else "1")
        response = client.post(
            url("person-create", world.home_a.number),
            {
                "name": "",
                "identity_number": bad_number,
                "ethnicity": "06",
                "phone": "123",
                "relation": "spouse",
                "residence": "registered",
            },
        )
        body = body_of(response, 400)
        assert "请填写姓名。" in body
        # The services' own checks come back on their fields, in Chinese.
        response = client.post(
            url("person-create", world.home_a.number),
            {
                "name": "王芳",
                "identity_number": bad_number,
                "ethnicity": "06",
                "phone": "123",
                "relation": "spouse",
                "residence": "registered",
            },
        )
        body = body_of(response, 400)
        assert "身份证号校验位错误" in body and "电话号码格式不正确" in body
        assert 'id="add-member" open' in body

    def test_add_member(self, client, world):
        client.force_login(world.worker_a)
        new_number = identity_number(datetime.date(1982, 1, 9), "F")
        response = client.post(
            url("person-create", world.home_a.number),
            {
                "name": "王芳",
                "identity_number": new_number,
                "ethnicity": "06",
                "phone": "",
                "relation": "spouse",
                "residence": "registered",
            },
        )
        assert response.status_code == 302 and response.url == url("household", world.home_a.number)
        person = Person.objects.with_identity_number(new_number).get()
        assert person.household == world.home_a and person.unit == world.tree.unit_a and person.sex == "F"
        body = body_of(client.get(response.url))
        assert "王芳" in body and new_number not in body


# --- people -----------------------------------------------------------------------------


class TestPersonSearch:
    def test_name_fragment_finds_only_people_in_scope(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.get(url("persons"), {"q": "李"}))
        assert "李明" in body and "李小红" in body and "李强" not in body
        assert world.person_a.id_number_masked in body and world.id_a not in body

    def test_a_posted_name_search_comes_back_as_a_pageable_get(self, client, world):
        client.force_login(world.worker_a)
        response = client.post(url("persons"), {"q": "李明", "under": ""})
        assert response.status_code == 302 and response.url == url("persons") + "?q=%E6%9D%8E%E6%98%8E"

    def test_exact_identity_number_is_posted_and_not_echoed(self, client, world):
        client.force_login(world.worker_a)
        response = client.post(url("persons"), {"q": world.id_a, "under": ""})
        body = body_of(response)
        assert url("person", world.person_a.pk) in body and "李小红" not in body
        assert world.id_a not in body
        assert response["Cache-Control"] == "no-store"

    def test_exact_phone_number(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.post(url("persons"), {"q": PHONE_A}))
        assert url("person", world.person_a.pk) in body and PHONE_A not in body

    def test_a_number_sent_in_a_url_is_not_searched_nor_echoed(self, client, world):
        client.force_login(world.worker_a)
        response = client.get(url("persons"), {"q": world.id_a})
        assert response.status_code == 302 and response.url == url("persons")
        body = body_of(client.get(response.url))
        assert world.id_a not in body and "请在查询框中输入后提交" in body

    def test_zone_b_person_cannot_be_found_by_number(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.post(url("persons"), {"q": world.id_b}))
        assert "李强" not in body and "没有符合条件的人员" in body

    def test_filter_by_subtree(self, client, world):
        client.force_login(world.centre_a)
        assert "李明" in body_of(client.get(url("persons"), {"under": world.tree.unit_a.code}))
        assert "李明" not in body_of(client.get(url("persons"), {"under": world.tree.unit_b.code}))

    def test_query_budget(self, client, world, django_assert_max_num_queries):
        household = make_household(world.tree.unit_a, address="北京路 30 号")
        for n in range(30):
            make_person(household, name=f"李{n}")
        client.force_login(world.worker_a)
        with django_assert_max_num_queries(11):
            body = body_of(client.get(url("persons"), {"q": "李"}))
        assert body.count('class="cell-head"') == 32


class TestPersonExport:
    def test_export_buttons_only_for_exporters(self, client, world):
        client.force_login(world.worker_a)
        assert url("persons-export") not in body_of(client.get(url("persons")))
        assert client.get(url("persons-export")).status_code == 403
        client.force_login(world.centre_a)
        assert url("persons-export") in body_of(client.get(url("persons")))

    def test_export_is_scoped_filtered_masked_and_audited(self, client, world):
        client.force_login(world.centre_a)
        response = client.get(url("persons-export"), {"q": "李", "format": "csv"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        text = response.content.decode("utf-8-sig")
        assert "李明" in text and "李小红" in text and "李强" not in text
        assert world.id_a not in text and world.person_a.id_number_masked in text
        entry = audit_rows(action=AuditAction.EXPORT, actor=world.centre_a).get()
        assert entry.changes["rows"] == 2 and entry.changes["filters"] == {"q": "李"}

    def test_excel_export(self, client, world):
        client.force_login(world.centre_a)
        response = client.get(url("persons-export"), {"format": "xlsx", "under": world.tree.unit_a.code})
        rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        assert {row[5] for row in rows[1:]} == {"李明", "李小红"}

    def test_zone_b_is_not_exported_even_when_asked_for(self, client, world):
        client.force_login(world.centre_a)
        text = client.get(url("persons-export"), {"under": world.tree.zone_b.code}).content.decode("utf-8-sig")
        assert "李强" not in text and text.count("\n") == 1

    def test_a_number_filter_is_masked_in_the_audit_trail(self, client, world):
        client.force_login(world.centre_a)
        client.get(url("persons-export"), {"q": world.id_a})
        entry = audit_rows(action=AuditAction.EXPORT).get()
        assert world.id_a not in str(entry.changes) and entry.changes["filters"]["q"] == world.person_a.id_number_masked

    def test_unknown_format(self, client, world):
        client.force_login(world.centre_a)
        assert client.get(url("persons-export"), {"format": "pdf"}).status_code == 400


class TestPersonPage:
    def test_masked_for_a_grid_worker(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.get(url("person", world.person_a.pk)))
        assert world.person_a.id_number_masked in body and world.id_a not in body and PHONE_A not in body
        assert url("person-reveal", world.person_a.pk) not in body

    def test_masked_for_an_officer_not_responsible(self, client, world):
        client.force_login(world.drug_officer_a)
        body = body_of(client.get(url("person", world.person_a.pk)))
        assert world.id_a not in body and PHONE_A not in body and "显示完整号码" not in body
        # The mental-health enrollment is not theirs to see.
        assert url("enrollment", world.mental_a.pk) not in body

    def test_responsible_officer_reveals_once_audited(self, client, world):
        client.force_login(world.officer_a)
        body = body_of(client.get(url("person", world.person_a.pk)))
        assert "显示完整号码" in body and world.id_a not in body
        assert url("enrollment", world.mental_a.pk) in body
        response = client.post(url("person-reveal", world.person_a.pk), {"reason": "入户随访核对"})
        body = body_of(response)
        assert world.id_a in body and PHONE_A in body
        assert response["Cache-Control"] == "no-store"
        entry = audit_rows(action=AuditAction.READ_SENSITIVE, object_type="populations.person").get()
        assert entry.actor == world.officer_a and entry.outcome == AuditOutcome.SUCCESS
        assert entry.changes["reason"] == "入户随访核对"
        # The next ordinary view is masked again.
        assert world.id_a not in body_of(client.get(url("person", world.person_a.pk)))

    def test_reveal_is_refused_and_audited_for_others(self, client, world):
        for user in (world.worker_a, world.drug_officer_a):
            client.force_login(user)
            response = client.post(url("person-reveal", world.person_a.pk))
            assert response.status_code == 403 and world.id_a not in response.content.decode()
        denied = audit_rows(action=AuditAction.READ_SENSITIVE, outcome=AuditOutcome.DENIED)
        assert denied.count() == 2

    def test_reveal_by_get_is_not_allowed(self, client, world):
        client.force_login(world.officer_a)
        assert client.get(url("person-reveal", world.person_a.pk)).status_code == 405

    def test_out_of_scope_person_is_not_found(self, client, world):
        client.force_login(world.worker_a)
        assert client.get(url("person", world.person_b.pk)).status_code == 404
        assert client.post(url("person-reveal", world.person_b.pk)).status_code == 404
        client.force_login(world.worker_b)
        assert client.get(url("person", world.person_a.pk)).status_code == 404

    def test_edit_keeps_numbers_unless_given(self, client, world):
        client.force_login(world.worker_a)
        data = {
            "name": "李明明",
            "ethnicity": "06",
            "relation": "head",
            "residence": "registered",
            "identity_number": "",
            "phone": "",
        }
        assert client.post(url("person-edit", world.person_a.pk), data).status_code == 302
        world.person_a.refresh_from_db()
        assert world.person_a.name == "李明明" and world.person_a.identity_number == world.id_a
        assert world.person_a.phone == PHONE_A
        data.update(phone="abc")
        body = body_of(client.post(url("person-edit", world.person_a.pk), data), 400)
        assert "电话号码格式不正确" in body

    def test_active_enrollments_are_listed_before_exited_ones(self, client, world):
        from populations.services import enrollment_exit

        enrollment_exit(actor=None, enrollment=world.mental_a, exited_on=TODAY, reason="moved")
        again = make_enrollment(world.person_a, Programme.MENTAL_HEALTH, started_on=LONG_AGO)
        client.force_login(world.officer_a)
        body = body_of(client.get(url("person", world.person_a.pk)))
        assert body.index(url("enrollment", again.pk)) < body.index(url("enrollment", world.mental_a.pk))

    def test_unit_head_has_no_edit_form(self, client, world):
        client.force_login(world.unit_head_a)
        body = body_of(client.get(url("person", world.person_a.pk)))
        assert url("person-edit", world.person_a.pk) not in body


# --- programmes -------------------------------------------------------------------------


class TestProgrammeList:
    def test_officer_sees_own_programme_in_own_area(self, client, world):
        client.force_login(world.officer_a)
        body = body_of(client.get(url("programmes")))
        assert url("enrollment", world.mental_a.pk) in body
        assert url("enrollment", world.mental_b.pk) not in body and url("enrollment", world.left_behind_a.pk) not in body
        assert "安宁工程 <strong>1</strong>" in body
        # Long overdue (stable, every 3 months): flagged in red.
        assert 'class="is-overdue"' in body and "已逾期" in body

    def test_grid_worker_sees_left_behind_only(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.get(url("programmes")))
        assert url("enrollment", world.left_behind_a.pk) in body and url("enrollment", world.mental_a.pk) not in body

    def test_filters(self, client, world):
        client.force_login(world.officer_a)
        overdue = body_of(client.get(url("programmes"), {"due": "overdue"}))
        assert url("enrollment", world.mental_a.pk) in overdue
        assert url("enrollment", world.mental_a.pk) not in body_of(client.get(url("programmes"), {"due": "due"}))
        assert url("enrollment", world.mental_a.pk) not in body_of(client.get(url("programmes"), {"status": "exited"}))
        assert url("enrollment", world.mental_a.pk) not in body_of(client.get(url("programmes"), {"level": "3"}))
        assert url("enrollment", world.mental_a.pk) not in body_of(
            client.get(url("programmes"), {"under": world.tree.zone_b.code})
        )
        assert url("enrollment", world.mental_a.pk) in body_of(client.get(url("programmes"), {"programme": "mental_health"}))

    def test_due_within_a_week(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.get(url("programmes"), {"due": "due"}))
        assert url("enrollment", world.left_behind_a.pk) in body and 'class="is-due"' in body

    def test_leader_gets_counts_per_child_without_names(self, client, world, leader):
        force_verified(client, leader)
        body = body_of(client.get(url("programmes")))
        assert "北京路社区" in body and "营盘坡社区" in body
        assert "李明" not in body and "李强" not in body and "/populations/enrollments/" not in body
        assert "合计 <strong>3</strong>" in body and "安宁工程 <strong>2</strong>" in body
        # Drill down to a zone, still inside the scope; outside it is a 404.
        body = body_of(client.get(url("programmes"), {"node": world.tree.zone_a.code}))
        assert "北京路第1网格" in body and "合计 <strong>2</strong>" in body
        assert client.get(url("programmes"), {"node": world.tree.t2.code}).status_code == 404
        assert client.get(url("enrollment", world.mental_a.pk)).status_code == 403

    def test_no_programme_role_is_forbidden(self, client, world):
        client.force_login(world.unit_head_a)
        assert client.get(url("programmes")).status_code == 403
        assert client.get(url("worklist")).status_code == 403

    def test_query_budget(self, client, world, django_assert_max_num_queries):
        for n in range(30):
            person = make_person(world.home_a, name=f"患者{n}")
            make_enrollment(person, Programme.MENTAL_HEALTH, started_on=LONG_AGO)
        client.force_login(world.officer_a)
        with django_assert_max_num_queries(13):
            body = body_of(client.get(url("programmes")))
        assert body.count('class="cell-head"') == 31


class TestWorklist:
    def test_due_and_overdue_visits_link_to_the_visit_form(self, client, world, django_assert_max_num_queries):
        client.force_login(world.officer_a)
        with django_assert_max_num_queries(12):
            body = body_of(client.get(url("worklist")))
        assert f"{url('enrollment', world.mental_a.pk)}#record-visit" in body and 'class="is-overdue"' in body
        assert url("enrollment", world.mental_b.pk) not in body
        client.force_login(world.worker_a)
        body = body_of(client.get(url("worklist")))
        assert url("enrollment", world.left_behind_a.pk) in body and "即将到期" in body


class TestEnrollmentPage:
    def test_every_view_is_audited(self, client, world):
        client.force_login(world.officer_a)
        for _n in range(2):
            body = body_of(client.get(url("enrollment", world.mental_a.pk)))
        assert "安宁工程档案" in body and "诊断" in body and "精神分裂症" in body
        assert world.id_a not in body
        rows = audit_rows(action=AuditAction.READ_SENSITIVE, object_type="populations.enrollment", actor=world.officer_a)
        assert rows.count() == 2 and rows.first().object_id == str(world.mental_a.pk)
        assert "李明" not in rows.first().object_repr

    def test_others_cannot_open_it(self, client, world, leader):
        client.force_login(world.worker_b)
        assert client.get(url("enrollment", world.mental_a.pk)).status_code == 404
        client.force_login(world.worker_a)  # a grid worker sees left-behind people only
        assert client.get(url("enrollment", world.mental_a.pk)).status_code == 404
        assert client.get(url("enrollment", world.left_behind_a.pk)).status_code == 200
        client.force_login(world.officer_a)
        assert client.get(url("enrollment", world.mental_b.pk)).status_code == 404
        assert not audit_rows(action=AuditAction.READ_SENSITIVE, object_id=str(world.mental_b.pk)).exists()

    def test_mental_health_follow_up_form(self, client, world):
        client.force_login(world.officer_a)
        body = body_of(client.get(url("enrollment", world.mental_a.pk)))
        assert "自知力" in body and "危险性评估" in body and "5 级" in body and "关锁" in body
        data = {"kind": "follow_up", "visited_on": TODAY.isoformat(), "mode": "home", "level": ""}
        body = body_of(client.post(url("visit-record", world.mental_a.pk), data), 400)
        assert "随访须评估危险性等级" in body and "随访表须填写该项" in body
        data.update(
            level="3",
            insight="partial",
            sleep="poor",
            diet="fair",
            social_function="fair",
            medication="intermittent",
            effect="unchanged",
            risky_behaviours="on",
            note="夜间吵闹",
        )
        response = client.post(url("visit-record", world.mental_a.pk), data)
        assert response.status_code == 302
        visit = Visit.objects.get(enrollment=world.mental_a)
        assert visit.level == 3 and visit.details["insight"] == "partial" and visit.details["risky_behaviours"] is True
        world.mental_a.refresh_from_db()
        assert world.mental_a.level == 3 and not world.mental_a.overdue
        body = body_of(client.get(url("enrollment", world.mental_a.pk)))
        assert "自知力：自知力不全" in body and "有：危险行为" in body and "夜间吵闹" in body

    def test_visit_form_starts_on_the_scheduled_kind(self, client, world, user_factory):
        client.force_login(world.officer_a)
        assert '<option value="follow_up" selected>' in body_of(client.get(url("enrollment", world.mental_a.pk)))
        officer = make_officer(user_factory, "drug_officer", [world.tree.zone_a], programmes=[Programme.DRUG_REHAB])
        enrollment = make_enrollment(world.person_a, Programme.DRUG_REHAB, started_on=LONG_AGO)
        client.force_login(officer)
        assert '<option value="drug_test" selected>' in body_of(client.get(url("enrollment", enrollment.pk)))

    def test_query_budget(self, client, world, django_assert_max_num_queries):
        from populations.services import visit_record

        for n in range(20):
            visited_on = TODAY - datetime.timedelta(days=n)
            visit_record(
                actor=world.officer_a, enrollment=world.mental_a, kind="visit", visited_on=visited_on, note=f"第{n}号记录"
            )
        client.force_login(world.officer_a)
        with django_assert_max_num_queries(21):
            body = body_of(client.get(url("enrollment", world.mental_a.pk)))
        assert "第19号记录" in body
        # A form that comes back with errors asks the same questions once more, no more.
        data = {"exited_on": TODAY.isoformat(), "exit_reason": "other"}
        with django_assert_max_num_queries(26):
            body_of(client.post(url("enrollment-exit", world.mental_a.pk), data), 400)

    def test_drug_test_result(self, client, world, user_factory):
        officer = make_officer(user_factory, "drug_officer", [world.tree.zone_a], programmes=[Programme.DRUG_REHAB])
        enrollment = make_enrollment(world.person_a, Programme.DRUG_REHAB, started_on=LONG_AGO)
        client.force_login(officer)
        data = {"kind": "drug_test", "visited_on": TODAY.isoformat(), "mode": "office", "result": ""}
        assert "尿检结果须为阴性、阳性或拒检" in body_of(client.post(url("visit-record", enrollment.pk), data), 400)
        data["result"] = "negative"
        assert client.post(url("visit-record", enrollment.pk), data).status_code == 302
        assert "阴性" in body_of(client.get(url("enrollment", enrollment.pk)))

    def test_grid_worker_records_a_left_behind_visit_but_cannot_exit(self, client, world):
        client.force_login(world.worker_a)
        body = body_of(client.get(url("enrollment", world.left_behind_a.pk)))
        assert url("visit-record", world.left_behind_a.pk) in body and url("enrollment-exit", world.left_behind_a.pk) not in body
        data = {"kind": "visit", "visited_on": TODAY.isoformat(), "mode": "home", "note": "在家，状态良好"}
        assert client.post(url("visit-record", world.left_behind_a.pk), data).status_code == 302
        exit_data = {"exited_on": TODAY.isoformat(), "exit_reason": "moved"}
        assert client.post(url("enrollment-exit", world.left_behind_a.pk), exit_data).status_code == 403

    def test_exit(self, client, world):
        client.force_login(world.officer_a)
        body = body_of(
            client.post(url("enrollment-exit", world.mental_a.pk), {"exited_on": TODAY.isoformat(), "exit_reason": "other"}), 400
        )
        assert "退出原因为“其他”时须说明" in body
        data = {"exited_on": TODAY.isoformat(), "exit_reason": "moved", "exit_note": "迁往贵阳"}
        assert client.post(url("enrollment-exit", world.mental_a.pk), data).status_code == 302
        world.mental_a.refresh_from_db()
        assert world.mental_a.status == EnrollmentStatus.EXITED
        body = body_of(client.get(url("enrollment", world.mental_a.pk)))
        assert "迁出辖区" in body and url("visit-record", world.mental_a.pk) not in body

    def test_placement_refused_when_full_then_started_and_ended(self, client, world):
        centre = facility_create(
            actor=None, grid=world.tree.city, kind=FacilityKind.REHAB_CENTRE, name="凯里市康复中心", capacity=1
        )
        placement_start(actor=None, enrollment=world.mental_b, facility=centre, started_on=TODAY)
        client.force_login(world.officer_a)
        # A city facility serves the unit below it, though it lies outside the officer's scope.
        assert "凯里市康复中心" in body_of(client.get(url("enrollment", world.mental_a.pk)))
        data = {"facility": centre.pk, "started_on": TODAY.isoformat()}
        body = body_of(client.post(url("placement-start", world.mental_a.pk), data), 400)
        assert "已满（容量 1，在用 1），不能再安置" in body
        facility_update = Facility.objects.filter(pk=centre.pk)
        facility_update.update(capacity=2)
        assert client.post(url("placement-start", world.mental_a.pk), data).status_code == 302
        placement = Placement.objects.get(enrollment=world.mental_a)
        end = client.post(url("placement-end", world.mental_a.pk, placement.pk), {"ended_on": TODAY.isoformat()})
        assert end.status_code == 302
        placement.refresh_from_db()
        assert placement.ended_on == TODAY
        # Another enrollment's placement is not reachable through this one.
        other = Placement.objects.get(enrollment=world.mental_b)
        assert client.post(url("placement-end", world.mental_a.pk, other.pk), {"ended_on": TODAY.isoformat()}).status_code == 404


class TestEnroll:
    def test_officer_enrolls_in_own_programme(self, client, world):
        person = world.child_a
        client.force_login(world.officer_a)
        body = body_of(client.get(url("enroll", person.pk)))
        assert "安宁工程" in body and "阳光康复工程" not in body
        body = body_of(client.get(url("enroll", person.pk), {"programme": "mental_health"}))
        assert "安宁工程档案" in body and "诊断" in body and "管护合同签订日期" in body
        data = {
            "programme": "mental_health",
            "started_on": TODAY.isoformat(),
            "level": "1",
            "attention": "key",
            "join_team": "on",
        }
        body = body_of(client.post(url("enroll", person.pk), data), 400)
        assert 'id="id_detail-diagnosis_error">该字段是必填项。' in body
        data["detail-diagnosis"] = "bipolar"
        response = client.post(url("enroll", person.pk), data)
        assert response.status_code == 302
        enrollment = Enrollment.objects.get(person=person, programme=Programme.MENTAL_HEALTH)
        assert response.url == url("enrollment", enrollment.pk)
        assert enrollment.mental_health.diagnosis == "bipolar" and enrollment.level == 1
        assert list(enrollment.team.all()) == [world.officer_a]

    def test_an_officer_of_two_programmes_chooses_first(self, client, world, user_factory):
        officer = make_officer(user_factory, "two_hats", [world.tree.zone_a], programmes=[Programme.YOUTH, Programme.LEFT_BEHIND])
        client.force_login(officer)
        body = body_of(client.get(url("enroll", world.child_a.pk)))
        assert 'name="programme"' in body and "春雨工程" in body and "雨露工程" in body and "安宁工程" not in body
        body = body_of(client.get(url("enroll", world.child_a.pk), {"programme": "youth"}))
        assert "春雨工程档案" in body and "就学状况" in body and "改选工程" in body

    def test_service_errors_come_back_on_the_form(self, client, world):
        client.force_login(world.officer_a)
        data = {"programme": "mental_health", "started_on": (TODAY + datetime.timedelta(days=3)).isoformat(), "level": "0"}
        data.update({"attention": "normal", "detail-diagnosis": "bipolar"})
        assert "纳入日期不能晚于今天" in body_of(client.post(url("enroll", world.child_a.pk), data), 400)
        data["started_on"] = TODAY.isoformat()
        assert "不能重复纳入" in body_of(client.post(url("enroll", world.person_a.pk), data), 400)

    def test_other_programmes_and_roles_are_refused(self, client, world):
        client.force_login(world.officer_a)
        assert client.get(url("enroll", world.child_a.pk), {"programme": "drug_rehab"}).status_code == 400
        assert client.get(url("enroll", world.person_b.pk)).status_code == 404
        client.force_login(world.worker_a)
        assert client.get(url("enroll", world.child_a.pk)).status_code == 403


# --- doorplates -------------------------------------------------------------------------


class TestDoorplate:
    def test_anonymous_is_sent_to_sign_in_and_back(self, client, world):
        link = url("doorplate", world.home_a.doorplate_token)
        response = client.get(link)
        assert response.status_code == 302 and response.url == f"/accounts/login/?next={link}"

    def test_in_scope_goes_to_the_household(self, client, world):
        client.force_login(world.worker_a)
        response = client.get(url("doorplate", world.home_a.doorplate_token))
        assert response.status_code == 302 and response.url == url("household", world.home_a.number)

    @pytest.mark.parametrize("who", ["worker_b", "nobody"])
    def test_out_of_scope_gets_a_plain_not_found(self, client, world, who):
        client.force_login(getattr(world, who))
        response = client.get(url("doorplate", world.home_a.doorplate_token))
        body = body_of(response, 404)
        for secret in ("北京路 8 号", "8-1", world.home_a.number, "李明", world.tree.unit_a.name):
            assert secret not in body

    def test_unknown_token_is_not_found(self, client, world):
        client.force_login(world.worker_a)
        assert client.get(url("doorplate", "no-such-token")).status_code == 404

    def test_png(self, client, world):
        client.force_login(world.worker_a)
        response = client.get(url("doorplate-png", world.home_a.number))
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
        client.force_login(world.worker_b)
        assert client.get(url("doorplate-png", world.home_a.number)).status_code == 404

    def test_svg_carries_the_absolute_link_and_the_doorplate_number(self, client, world):
        client.force_login(world.worker_a)
        response = client.get(url("doorplate-svg", world.home_a.number))
        svg = response.content.decode()
        assert response["Content-Type"].startswith("image/svg+xml")
        assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and ">8-1</text>" in svg
        assert f">{world.home_a.number}</text>" in svg
        assert "北京路" not in svg and "李明" not in svg

    def test_qr_encodes_the_absolute_doorplate_url(self, rf, world, settings):
        from populations import qr

        settings.ALLOWED_HOSTS = ["grid.kaili.example"]
        request = rf.get("/", HTTP_HOST="grid.kaili.example")
        assert (
            qr.doorplate_url(request, world.home_a) == f"http://grid.kaili.example/populations/h/{world.home_a.doorplate_token}/"
        )

    def test_unit_sheet_prints_every_household_of_the_unit(self, client, world):
        make_household(world.tree.unit_a, address="北京路 9 号", doorplate="9-1")
        client.force_login(world.worker_a)
        body = body_of(client.get(url("unit-doorplates", world.tree.unit_a.code)))
        assert body.count('class="plate"') == 2 and body.count('class="doorplate-svg"') == 2
        assert "populations.css" in body and "北京路 9 号" in body
        client.force_login(world.worker_b)
        assert client.get(url("unit-doorplates", world.tree.unit_a.code)).status_code == 404
        assert client.get(url("unit-doorplates", world.tree.zone_b.code)).status_code == 404

    def test_pages_load_nothing_from_outside(self, client, world):
        client.force_login(world.officer_a)
        for page in (url("households"), url("household", world.home_a.number), url("enrollment", world.mental_a.pk)):
            body = body_of(client.get(page)).replace("http://www.w3.org", "")
            assert "http://" not in body and "https://" not in body


def test_households_are_counted_once_with_their_members(client, world):
    assert Household.objects.count() == 2
    client.force_login(world.centre_a)
    body = body_of(client.get(url("households")))
    assert "人口 <strong>2</strong>" in body and "户籍户 <strong>1</strong>" in body


def test_long_lists_are_paginated(client, tree, user_factory):
    """Regression: the shared pagination template failed on ListView pages past 50 rows."""
    from kaili import roles
    from tests.populations.factories import make_household

    for number in range(51):
        make_household(tree.unit_a, address=f"北京路 {number} 号")
    worker = user_factory("worker_paged", roles.GRID_WORKER, [tree.zone_a.code])
    client.force_login(worker)
    first = client.get("/populations/households/")
    assert first.status_code == 200 and "第 1 / 2 页" in first.content.decode()
    second = client.get("/populations/households/?page=2")
    assert second.status_code == 200 and "第 2 / 2 页" in second.content.decode()


@pytest.mark.parametrize(
    "page",
    [
        lambda w: url("households"),
        lambda w: url("household", w.home_a.number),
        lambda w: url("doorplate-png", w.home_a.number),
        lambda w: url("doorplate-svg", w.home_a.number),
        lambda w: url("unit-doorplates", w.tree.unit_a.code),
        lambda w: url("persons"),
        lambda w: url("person", w.person_a.pk),
        lambda w: url("enroll", w.child_a.pk),
        lambda w: url("programmes"),
        lambda w: url("worklist"),
        lambda w: url("enrollment", w.mental_a.pk),
    ],
)
def test_pages_with_personal_data_are_not_kept_in_any_cache(client, world, page):
    client.force_login(world.officer_a)
    response = client.get(page(world))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"


def test_the_export_is_not_kept_in_any_cache(client, world):
    client.force_login(world.centre_a)
    assert client.get(url("persons-export"))["Cache-Control"] == "no-store"

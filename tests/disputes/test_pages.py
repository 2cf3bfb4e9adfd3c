"""The dispute pages: registration (a grid worker's short form, the centre's full one),
the triage board with its export, a mediator's worklist, the dispute page with its step
forms and the audited "show full number", the printable agreement, supervision, and a
court account's page. Real database, the real services."""

import csv
import datetime
import io
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import Incident
from cases.services import incident_step
from cases.workflow import Step as IncidentStep
from disputes.models import Dispute, DisputeParty, EntrustedMediation, JudicialConfirmation, Ruling, Status
from disputes.workflow import Step
from kaili.models import AuditAction, AuditEntry, AuditOutcome
from tests.disputes.factories import MEDICAL, NEIGHBOUR, agree, register, step, tier, triage
from tests.factories import force_verified, make_user
from tests.populations.factories import identity_number, make_household, make_person
from tests.reads import body_of

pytestmark = pytest.mark.django_db

MISSING = "MD-522601-2026-999999"


def url(name, *args):
    return reverse(f"disputes:{name}", args=args)


def sign_in(client, user):
    if user.totpdevice_set.exists():
        force_verified(client, user)
    else:
        client.force_login(user)


def fresh(dispute) -> Dispute:
    return Dispute.objects.select_related("tier__line", "body", "grid").get(pk=dispute.pk)


def register_data(tree, **changes):
    data = {
        "client_key": str(uuid.uuid4()),
        "name": "张李两家排水沟纠纷",
        "category": NEIGHBOUR,
        "grid": tree.grid_a.code,
        "occurred_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
        "place": "北京路 8 号后院",
        "summary": "两家因排水沟堵塞互相指责，多次争吵。",
        "people_count": "",
        "risk": "low",
        "parties": "",
        "party_role": ["applicant", "respondent"],
        "party_kind": ["person", "person"],
        "party_person": ["", ""],
        "party_name": ["张三", "李四"],
        "party_id_number": ["", ""],
        "party_sex": ["M", ""],
        "party_ethnicity": ["06", ""],
        "party_address": ["北京路 8 号", ""],
        "party_phone": ["", ""],
    }
    data.update(changes)
    return data


def step_data(dispute, **fields):
    return {"version": dispute.version, **fields}


def with_id_number(people, number):
    """A dispute between a party told by name with an identity number and a neighbour."""
    from disputes.services import Party

    parties = [Party(role="applicant", name="张三", id_number=number, sex="M", ethnicity="06", address="北京路 8 号")]
    parties.append(Party(role="respondent", name="李四"))
    return register(people.worker, people.tree.grid_a, parties=parties)


# --- who opens what ---------------------------------------------------------------------


class TestWhoOpensWhichPage:
    def test_anonymous_is_sent_to_sign_in(self, client, people):
        response = client.get(url("register"))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    @pytest.mark.parametrize(
        ("page", "allowed", "refused"),
        [
            ("register", "worker", "judge"),
            ("register", "centre", "leader"),
            ("mine", "worker", "judge"),
            ("mine", "industry_mediator", "leader"),
            ("queue", "centre", "worker"),
            ("queue", "leader", "mediator"),
            ("supervision", "centre", "worker"),
            ("supervision", "leader", "industry_mediator"),
            ("entrusted", "judge", "centre"),
        ],
    )
    def test_pages_for_their_users_only(self, client, people, page, allowed, refused):
        sign_in(client, getattr(people, allowed))
        response = client.get(url(page))
        body_of(response)
        assert response["Cache-Control"] == "no-store"
        sign_in(client, getattr(people, refused))
        body_of(client.get(url(page)), 403)

    def test_zone_b_and_town_t2_cannot_open_list_search_export_or_act_on_a_zone_a_dispute(self, client, people):
        dispute = with_id_number(people, identity_number())
        party = dispute.parties.get(role="applicant")
        for user in (people.worker, people.centre):
            sign_in(client, user)
            assert dispute.number in body_of(client.get(url("detail", dispute.number)))
        for user in (people.worker_b, people.centre_b, people.centre_t2, people.mediator_c):
            sign_in(client, user)
            body_of(client.get(url("detail", dispute.number)), 404)
            body_of(client.post(url("step", dispute.number, Step.TRIAGE), step_data(dispute, tier=tier().pk)), 404)
            body_of(client.post(url("party-reveal", dispute.number, party.pk)), 404)
        for user in (people.centre_b, people.centre_t2):
            sign_in(client, user)
            row = f'data-number="{dispute.number}"'
            assert row not in body_of(client.get(url("queue")))
            assert row not in body_of(client.get(url("queue"), {"q": dispute.number}))
            assert dispute.number not in body_of(client.get(url("supervision")))
            exported = body_of(client.get(url("export"), {"q": dispute.number, "format": "csv"}))
            assert dispute.number not in exported and "编号" in exported
        sign_in(client, people.worker_b)
        assert dispute.number not in body_of(client.get(url("mine")))
        assert fresh(dispute).status == Status.REGISTERED

    def test_a_number_out_of_scope_or_missing_is_404_and_no_permission_is_403(self, client, people):
        sign_in(client, people.centre)
        body_of(client.get(url("detail", MISSING)), 404)
        body_of(client.get(url("agreement", MISSING)), 404)
        sign_in(client, make_user("nobody"))
        body_of(client.get(url("detail", MISSING)), 403)

    def test_the_members_of_the_body_a_dispute_is_routed_to_find_and_work_it(self, client, people):
        dispute = register(people.worker, people.tree.grid_a, code=MEDICAL, name="医疗费用纠纷")
        step(people.centre, dispute, Step.TRIAGE, body=people.medical)
        sign_in(client, people.industry_mediator)  # no role: a member of the medical committee
        assert dispute.number in body_of(client.get(url("mine")))
        page = body_of(client.get(url("detail", dispute.number)))
        assert 'id="step-record_session"' in page and 'id="step-triage"' not in page

    def test_home_and_menu_links_follow_roles_and_memberships(self, client, people):
        expectations = [
            (people.worker, ("register", "mine"), ("supervision", "entrusted")),
            (people.centre, ("queue", "supervision"), ("entrusted",)),
            (people.leader, ("supervision",), ("register",)),
            (people.judge, ("entrusted",), ("register", "queue")),
            (people.industry_mediator, ("mine",), ("register", "entrusted")),
        ]
        for user, shown, hidden in expectations:
            sign_in(client, user)
            home = body_of(client.get(reverse("home")))
            for name in shown:
                assert f'href="{url(name)}"' in home, (user.username, name)
            for name in hidden:
                assert f'href="{url(name)}"' not in home, (user.username, name)
        # ...and in the menu of another page, for a court account that holds no role.
        sign_in(client, people.judge)
        assert f'href="{url("entrusted")}"' in body_of(client.get(reverse("password-change")))


# --- registration -----------------------------------------------------------------------


class TestRegistration:
    def test_a_grid_worker_gets_the_short_form_with_the_grid_preselected(self, client, people):
        sign_in(client, people.worker)
        page = body_of(client.get(url("register")))
        assert f'<option value="{people.tree.grid_a.code}" selected>' in page
        assert people.tree.unit_a.code in page and people.tree.grid_b.code not in page
        assert 'name="client_key"' in page and 'name="party_name"' in page
        assert reverse("cases:person-lookup") in page
        for centre_only in ("amount", "units_involved", "group_risk", "scale", "source"):
            assert f'name="{centre_only}"' not in page

    def test_the_centre_gets_the_full_form_and_its_fields_are_kept(self, client, people):
        sign_in(client, people.centre)
        page = body_of(client.get(url("register")))
        for field in ("amount", "units_involved", "group_risk", "scale", "source"):
            assert f'name="{field}"' in page
        data = register_data(
            people.tree,
            scale="major",
            source="walk_in",
            amount="12000.50",
            units_involved="某建筑公司",
            people_count="8",
            group_risk="false",
        )
        response = client.post(url("register"), data)
        dispute = Dispute.objects.get()
        assert response.status_code == 302 and response["Location"] == url("detail", dispute.number)
        assert (dispute.scale.code, dispute.source, str(dispute.amount)) == ("major", "walk_in", "12000.50")
        assert dispute.people_count == 8 and dispute.group_risk is False and dispute.units_involved == "某建筑公司"

    def test_a_registration_with_parties_creates_the_dispute_and_shows_it(self, client, people):
        household = make_household(people.tree.unit_a, address="北京路 8 号")
        neighbour = make_person(household, name="李明", identity_number=identity_number(), relation="head")
        number = identity_number(datetime.date(1975, 3, 2))
        sign_in(client, people.worker)
        data = register_data(
            people.tree,
            party_role=["applicant", "respondent", "third_party"],
            party_kind=["person", "person", "organisation"],
            party_person=["", str(neighbour.pk), ""],
            party_name=["张三", "", "北京路物业公司"],
            party_id_number=[number, "", ""],
            party_sex=["M", "", ""],
            party_ethnicity=["06", "", ""],
            party_address=["北京路 8 号", "", ""],
            party_phone=["13800001234", "", ""],
        )
        response = client.post(url("register"), data, follow=True)
        dispute = Dispute.objects.get()
        page = body_of(response)
        assert f"已登记，纠纷编号 {dispute.number}" in page and "待研判" in page
        assert dispute.registered_by == people.worker and dispute.status == Status.REGISTERED
        parties = {party.role: party for party in dispute.parties.all()}
        assert parties["applicant"].identity_number == number and parties["applicant"].ethnicity == "06"
        assert parties["respondent"].person == neighbour and parties["respondent"].name == "李明"
        assert parties["third_party"].kind == "organisation"
        # The page shows the masks, never a clear number.
        assert number not in page and parties["applicant"].id_number_masked in page
        assert neighbour.id_number_masked in page and "13800001234" not in page

    def test_errors_name_the_field_and_keep_what_was_typed(self, client, people):
        sign_in(client, people.worker)
        page = body_of(client.post(url("register"), register_data(people.tree, name="", summary="邻居半夜装修噪音扰民")), 400)
        assert "请填写纠纷名称。" in page and "邻居半夜装修噪音扰民" in page
        assert 'value="张三"' in page and 'value="李四"' in page
        # The service's errors: a date ahead, no applicant, an impossible identity number.
        tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
        data = register_data(people.tree, occurred_on=tomorrow, party_role=["respondent", "respondent"])
        page = body_of(client.post(url("register"), data), 400)
        assert "发生日期不能晚于今天。" in page and "请至少填写一位申请人。" in page
        assert f'value="{tomorrow}"' in page and 'value="张李两家排水沟纠纷"' in page
        data = register_data(people.tree, party_id_number=["52260119800517001X", ""])
        page = body_of(client.post(url("register"), data), 400)
        assert "第 1 位当事人：" in page and 'value="52260119800517001X"' in page
        data = register_data(people.tree, party_name=["", ""])
        assert "请至少填写一位当事人。" in body_of(client.post(url("register"), data), 400)
        assert not Dispute.objects.exists()

    def test_a_registry_person_out_of_reach_is_refused(self, client, people):
        stranger = make_person(unit=people.tree.unit_b, name="王五")
        sign_in(client, people.worker)
        data = register_data(people.tree, party_person=[str(stranger.pk), ""], party_name=["", "李四"])
        page = body_of(client.post(url("register"), data), 400)
        assert "第 1 位当事人不在您可查看的人员范围内。" in page and "王五" not in page

    def test_the_same_form_sent_twice_registers_once(self, client, people):
        sign_in(client, people.worker)
        data = register_data(people.tree)
        first = client.post(url("register"), data)
        second = client.post(url("register"), data, follow=True)
        dispute = Dispute.objects.get()
        assert first["Location"] == url("detail", dispute.number)
        assert "已提交过，未重复登记。" in body_of(second)


# --- the board --------------------------------------------------------------------------


class TestQueue:
    def test_counts_chips_filters_and_deadline_flags(self, client, people):
        waiting = register(people.worker, people.tree.grid_a, name="排水沟纠纷")
        late = triage(people.centre, register(people.worker, people.tree.grid_a, name="宅基地边界纠纷"), people.mediator)
        soon = register(people.worker_b, people.tree.grid_b, name="欠薪纠纷", code="09")
        today = timezone.localdate()
        Dispute.objects.filter(pk=late.pk).update(due_on=today - datetime.timedelta(days=2))
        Dispute.objects.filter(pk=soon.pk).update(due_on=today + datetime.timedelta(days=1))
        sign_in(client, people.centre)
        page = body_of(client.get(url("queue")))
        assert "全部 <strong>3</strong>" in page and "待研判 <strong>2</strong>" in page and "调解中 <strong>1</strong>" in page
        assert "已超期 <strong>1</strong>" in page
        assert f'<tr class="is-overdue" data-number="{late.number}">' in page
        assert f'<tr class="is-due-soon" data-number="{soon.number}">' in page
        assert str(people.mediator) in page and "村（社区）调解委员会" in page
        page = body_of(client.get(url("queue"), {"status": "mediating"}))
        assert late.number in page and waiting.number not in page
        page = body_of(client.get(url("queue"), {"overdue": "true"}))
        assert late.number in page and soon.number not in page
        page = body_of(client.get(url("queue"), {"under": people.tree.zone_b.code}))
        assert soon.number in page and waiting.number not in page
        page = body_of(client.get(url("queue"), {"tier": "12", "category": NEIGHBOUR}))
        assert late.number in page and waiting.number not in page
        page = body_of(client.get(url("queue"), {"q": "宅基地"}))
        assert late.number in page and waiting.number not in page
        page = body_of(client.get(url("queue"), {"registered_from": "2030-01-02", "registered_to": "2030-01-01"}))
        assert "结束日期不能早于开始日期。" in page

    def test_the_export_follows_the_filters(self, client, people):
        neighbour = register(people.worker, people.tree.grid_a)
        wages = register(people.worker_b, people.tree.grid_b, code="09", name="欠薪纠纷")
        sign_in(client, people.centre)
        page = body_of(client.get(url("queue"), {"category": "09"}))
        assert f"{url('export')}?category=09&amp;format=xlsx" in page
        response = client.get(url("export"), {"category": "09", "format": "csv"})
        assert response["Cache-Control"] == "no-store" and "attachment" in response["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        numbers = [row[0] for row in rows[1:]]
        assert numbers == [wages.number] and neighbour.number not in numbers
        assert AuditEntry.objects.filter(action=AuditAction.EXPORT, actor=people.centre).exists()
        body_of(client.get(url("export"), {"format": "pdf"}), 400)
        sign_in(client, people.worker)
        body_of(client.get(url("export"), {"format": "csv"}), 403)

    def test_a_leader_reads_the_board_without_steps(self, client, people):
        dispute = register(people.worker, people.tree.grid_a)
        sign_in(client, people.leader)
        assert dispute.number in body_of(client.get(url("queue")))
        page = body_of(client.get(url("detail", dispute.number)))
        assert 'id="steps"' not in page and "显示完整号码" not in page


class TestQueryBudgets:
    """List pages and the dispute page: the number of queries does not grow with rows."""

    def count(self, client, path, params=None) -> int:
        with CaptureQueriesContext(connection) as captured:
            body_of(client.get(path, params or {}))
        return len(captured)

    def test_the_board_the_worklist_and_supervision(self, client, people):
        def more(n):
            for _n in range(n):
                triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)

        more(2)
        pages = {
            people.centre: [(url("queue"), {"under": people.tree.t1.code}), (url("supervision"), None)],
            people.mediator: [(url("mine"), None)],
        }
        few = {}
        for user, paths in pages.items():
            sign_in(client, user)
            for path, params in paths:
                self.count(client, path, params)  # warm up
                few[path] = self.count(client, path, params)
        more(10)
        for user, paths in pages.items():
            sign_in(client, user)
            for path, params in paths:
                assert self.count(client, path, params) == few[path], path
        assert max(few.values()) <= 25, few

    def test_the_dispute_page(self, client, people):
        plain = register(people.worker, people.tree.grid_a)
        busy = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
        for _n in range(3):
            busy = step(people.mediator, busy, Step.RECORD_SESSION, outcome="partial", place="村委会", notes="继续调解")
        busy = step(people.centre, busy, Step.ROUTE, tier=tier(12), mediators=[people.mediator, people.worker])
        sign_in(client, people.centre)
        self.count(client, url("detail", plain.number))
        plain = triage(people.centre, plain, people.mediator)
        plain = step(people.mediator, plain, Step.RECORD_SESSION, outcome="partial", place="村委会", notes="继续调解")
        queries = self.count(client, url("detail", plain.number))
        assert self.count(client, url("detail", busy.number)) == queries
        assert queries <= 25, queries


# --- my disputes ------------------------------------------------------------------------


class TestMine:
    def test_reminders_come_first_then_the_worklist_and_my_registrations(self, client, people):
        overdue = triage(people.centre, register(people.worker, people.tree.grid_a, name="排水沟纠纷"), people.mediator)
        soon = triage(people.centre, register(people.worker, people.tree.grid_a, name="宅基地纠纷"), people.mediator)
        later = triage(people.centre, register(people.worker, people.tree.grid_a, name="噪音纠纷"), people.mediator)
        today = timezone.localdate()
        Dispute.objects.filter(pk=overdue.pk).update(due_on=today - datetime.timedelta(days=1))
        Dispute.objects.filter(pk=soon.pk).update(due_on=today + datetime.timedelta(days=3))
        sign_in(client, people.mediator)
        page = body_of(client.get(url("mine")))
        reminders, rest = page.split('id="worklist-title"')
        assert reminders.index(overdue.number) < reminders.index(soon.number)
        assert f'class="is-overdue" data-number="{overdue.number}"' in reminders
        assert f'class="is-due-soon" data-number="{soon.number}"' in reminders
        assert later.number not in reminders and later.number in rest
        assert "我登记的纠纷" in page  # a mediator may register too
        sign_in(client, people.worker)
        page = body_of(client.get(url("mine")))
        assert "我登记的纠纷" in page and later.number in page.split('id="registered-title"')[1]


# --- the dispute page and its steps -----------------------------------------------------


class TestDisputePage:
    def test_the_centre_gets_the_triage_form_with_the_mediators_in_reach(self, client, people):
        dispute = register(people.worker, people.tree.grid_a)
        sign_in(client, people.centre)
        page = body_of(client.get(url("detail", dispute.number)))
        triage_form = page.split('id="step-triage"')[1].split("</details>")[0]
        assert "open" in page.split('id="step-triage"')[1][:20]
        assert '<optgroup label="人民调解">' in triage_form and "村（社区）调解委员会（30 天）" in triage_form
        assert f'<option value="{people.mediator.pk}">' in triage_form and f'<option value="{people.worker.pk}">' in triage_form
        assert f'<option value="{people.mediator_c.pk}">' not in triage_form  # zone C, town T2
        assert f'<optgroup label="{people.medical.name}">' in triage_form  # the body's members
        assert "data-tier-days" in triage_form
        # The registrant (a grid worker) is not the centre: no triage for them.
        sign_in(client, people.worker)
        assert 'id="step-triage"' not in body_of(client.get(url("detail", dispute.number)))

    def test_triage_through_the_form(self, client, people):
        dispute = register(people.worker, people.tree.grid_a)
        sign_in(client, people.centre)
        data = step_data(
            dispute, tier=tier(12).pk, mediators=[people.mediator.pk], risk="medium", scale="general", note="就地调解"
        )
        response = client.post(url("step", dispute.number, Step.TRIAGE), data, follow=True)
        page = body_of(response)
        dispute = fresh(dispute)
        assert dispute.status == Status.MEDIATING and dispute.tier.rank == 12 and dispute.risk == "medium"
        assert list(dispute.mediators.all()) == [people.mediator]
        assert dispute.due_on == timezone.localdate() + datetime.timedelta(days=dispute.tier.days)
        assert f"纠纷 {dispute.number}：已研判分流。" in page and "就地调解" in page
        assert 'data-status="mediating"' in page

    def test_a_stale_version_is_refused_as_a_conflict_and_what_was_typed_stays(self, client, people):
        dispute = register(people.worker, people.tree.grid_a)
        sign_in(client, people.centre)
        seen = dispute.version
        step(people.centre, dispute, Step.TRIAGE, tier=tier(11), mediators=[people.worker])  # someone else, meanwhile
        data = {"version": seen, "tier": tier(12).pk, "mediators": [people.mediator.pk], "note": "请调委会调解"}
        page = body_of(client.post(url("step", dispute.number, Step.ROUTE), data), 409)
        assert "已被他人办理" in page and "请调委会调解" in page
        dispute = fresh(dispute)
        assert dispute.tier.rank == 11 and f'name="version" value="{dispute.version}"' in page

    def test_a_step_the_state_does_not_allow_is_refused_with_a_message(self, client, people):
        dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
        dispute = step(people.mediator, dispute, Step.RECORD_SESSION, outcome="failed", place="村委会", notes="分歧较大")
        sign_in(client, people.mediator)
        data = step_data(dispute, form="oral", reached_on=timezone.localdate().isoformat(), terms="张家清理排水沟")
        page = body_of(client.post(url("step", dispute.number, Step.RECORD_AGREEMENT), data), 409)
        assert "当前为“本级调解不成”，不能记录调解协议" in page
        assert fresh(dispute).status == Status.FAILED

    def test_service_errors_land_on_their_fields(self, client, people):
        dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
        sign_in(client, people.mediator)
        data = step_data(
            dispute,
            form="written",
            reached_on=timezone.localdate().isoformat(),
            terms="张家三日内清理排水沟。",
            parties_signed="",
        )
        page = body_of(client.post(url("step", dispute.number, Step.RECORD_AGREEMENT), data), 400)
        form = page.split('id="step-record_agreement"')[1].split("</details>")[0]
        sealed = form.split('id="record_agreement_sealed_on_error"')[1].split("</span>")[0]
        assert "书面协议须加盖调解委员会印章" in sealed
        assert "张家三日内清理排水沟。" in form and 'id="record_agreement_form_0"' in form
        page = body_of(client.post(url("step", dispute.number, Step.ESCALATE), step_data(dispute, reason="")), 400)
        assert "升级须说明本级调解不成的原因。" in page.split('id="step-escalate"')[1]
        assert fresh(dispute).status == Status.MEDIATING and not fresh(dispute).agreements.exists()

    def test_someone_who_may_not_take_the_step_is_refused(self, client, people):
        dispute = register(people.worker, people.tree.grid_a)
        sign_in(client, people.worker)  # sees it (registered it), may not triage
        body_of(client.post(url("step", dispute.number, Step.TRIAGE), step_data(dispute, tier=tier().pk)), 403)
        body_of(client.post(url("step", dispute.number, "fly")), 404)
        assert fresh(dispute).status == Status.REGISTERED

    def test_the_whole_flow_through_the_step_forms(self, client, people):
        dispute = register(people.worker, people.tree.grid_a)
        today = timezone.localdate().isoformat()

        def take(user, name, **fields):
            sign_in(client, user)
            current = fresh(dispute)
            response = client.post(url("step", current.number, name), step_data(current, **fields))
            assert response.status_code == 302, body_of(response, 200)[:2000]
            return fresh(dispute)

        take(people.centre, Step.TRIAGE, tier=tier(12).pk, mediators=[people.mediator.pk], risk="low", scale="general")
        assert (
            take(
                people.mediator,
                Step.RECORD_SESSION,
                held_on=today,
                place="村委会",
                method="ordinary",
                notes="分歧较大",
                outcome="failed",
            ).status
            == Status.FAILED
        )
        escalated = take(people.mediator, Step.ESCALATE, reason="调委会调解不成")
        assert escalated.tier.rank == 13 and escalated.status == Status.MEDIATING
        assert take(people.mediator, Step.EXTEND, days="10", reason="双方同意再谈", consent="on").extensions == 1
        agreed = take(people.mediator, Step.RECORD_AGREEMENT, form="oral", reached_on=today, terms="张家清理排水沟", amount="300")
        assert agreed.status == Status.AGREED and str(agreed.agreement.amount) == "300.00"
        confirming = take(
            people.mediator, Step.APPLY_CONFIRMATION, court=people.court.pk, applied_on=today, applicants="张三、李四"
        )
        assert confirming.status == Status.CONFIRMING
        sign_in(client, people.judge)
        page = body_of(client.get(url("entrusted")))
        assert confirming.number in page and "司法确认申请" in page
        assert take(people.judge, Step.RECORD_RULING, result=Ruling.CONFIRMED, ruled_on=today).agreement.enforceable
        take(people.worker, Step.FOLLOW_UP, visited_on=today, performance="performed", satisfaction="5", note="已履行")
        closed = take(people.centre, Step.CLOSE, note="协议已履行")
        assert closed.status == Status.RESOLVED and closed.satisfaction == 5
        sign_in(client, people.centre)
        page = body_of(client.get(url("detail", closed.number)))
        assert 'data-status="resolved"' in page and "经司法确认，具有强制执行力" in page
        for label in (
            "登记",
            "研判分流",
            "记录调解",
            "升级调解",
            "延长调解期限",
            "记录调解协议",
            "申请司法确认",
            "记录法院裁定",
            "回访",
            "结案",
        ):
            assert f"<strong>{label}</strong>" in page, label
        assert 'id="steps"' not in page

    def test_close_unresolved_needs_the_routes_told(self, client, people):
        dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
        sign_in(client, people.mediator)
        page = body_of(
            client.post(url("step", dispute.number, Step.CLOSE), step_data(dispute, unresolved="on", note="分歧大")), 400
        )
        assert "未化解结案须告知当事人其他解决途径" in page
        data = step_data(dispute, unresolved="on", note="分歧大", routes=["litigation", "arbitration"])
        assert client.post(url("step", dispute.number, Step.CLOSE), data).status_code == 302
        dispute = fresh(dispute)
        assert dispute.status == Status.UNRESOLVED and dispute.other_routes == ["litigation", "arbitration"]


class TestShowFullNumber:
    def test_the_centre_sees_it_once_audited_and_not_cached(self, client, people):
        number = identity_number(datetime.date(1969, 8, 1))
        dispute = with_id_number(people, number)
        party = dispute.parties.get(role="applicant")
        sign_in(client, people.centre)
        page = body_of(client.get(url("detail", dispute.number)))
        assert number not in page and url("party-reveal", dispute.number, party.pk) in page
        respondent = dispute.parties.get(role="respondent")  # no number: nothing to show
        assert url("party-reveal", dispute.number, respondent.pk) not in page
        response = client.post(url("party-reveal", dispute.number, party.pk))
        assert number in body_of(response) and response["Cache-Control"] == "no-store"
        entry = AuditEntry.objects.get(action=AuditAction.READ_SENSITIVE, actor=people.centre)
        assert entry.object_repr == dispute.number and entry.outcome == AuditOutcome.SUCCESS

    def test_someone_not_working_the_dispute_is_refused_and_audited(self, client, people):
        number = identity_number()
        dispute = with_id_number(people, number)
        party = dispute.parties.get(role="applicant")
        sign_in(client, people.worker)  # registered it; does not mediate it
        page = body_of(client.get(url("detail", dispute.number)))
        assert "显示完整号码" not in page
        assert number not in body_of(client.post(url("party-reveal", dispute.number, party.pk)), 403)
        assert AuditEntry.objects.get(action=AuditAction.READ_SENSITIVE).outcome == AuditOutcome.DENIED
        sign_in(client, people.centre)
        registry = make_person(unit=people.tree.unit_a, name="李明")
        DisputeParty.objects.filter(pk=party.pk).update(person=registry)
        body_of(client.post(url("party-reveal", dispute.number, party.pk)), 404)  # the registry reveals its own


class TestPrintableAgreement:
    def test_masked_for_a_leader_full_and_audited_for_the_mediator(self, client, people):
        number = identity_number(datetime.date(1969, 8, 1))
        dispute = agree(people.centre, with_id_number(people, number), people.mediator, form="written", amount="500")
        party = dispute.parties.get(role="applicant")
        sign_in(client, people.leader)
        page = body_of(client.get(url("agreement", dispute.number)))
        assert "人民调解协议书" in page and dispute.number in page and "张家三日内清理排水沟" in page
        assert party.id_number_masked in page and number not in page
        assert "性别：男" in page and "民族：苗族" in page and "住址：北京路 8 号" in page
        assert "人民调解员（签名）" in page and "盖章" in page
        assert not AuditEntry.objects.filter(action=AuditAction.READ_SENSITIVE).exists()
        sign_in(client, people.mediator)
        response = client.get(url("agreement", dispute.number))
        assert number in body_of(response) and response["Cache-Control"] == "no-store"
        entry = AuditEntry.objects.get(action=AuditAction.READ_SENSITIVE, actor=people.mediator)
        assert entry.changes["document"] == "agreement" and entry.object_repr == dispute.number

    def test_there_is_none_before_an_agreement(self, client, people):
        dispute = register(people.worker, people.tree.grid_a)
        sign_in(client, people.centre)
        body_of(client.get(url("agreement", dispute.number)), 404)
        assert "打印协议书" not in body_of(client.get(url("detail", dispute.number)))


# --- supervision ------------------------------------------------------------------------


class TestSupervision:
    def test_open_disputes_by_line_and_tier_with_links_to_the_board(self, client, people):
        register(people.worker, people.tree.grid_a)
        late = triage(people.centre, register(people.worker, people.tree.grid_a, name="宅基地纠纷"), people.mediator)
        Dispute.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - datetime.timedelta(days=3))
        sign_in(client, people.centre)
        page = body_of(client.get(url("supervision")))
        waiting_row = page.split("待研判（未分流）")[1].split("</tr>")[0]
        assert '<td data-label="未结案">1</td>' in waiting_row
        tier_row = page.split('?tier=12&amp;open=true">')[1].split("</tr>")[0]
        assert '<td data-label="未结案">1</td>' in tier_row and "?tier=12&amp;open=true&amp;overdue=true" in tier_row
        assert late.number in page.split('id="overdue-title"')[1]
        assert "只读" not in page
        sign_in(client, people.leader)
        page = body_of(client.get(url("supervision")))
        assert "只读" in page and late.number in page
        sign_in(client, people.centre_t2)
        assert late.number not in body_of(client.get(url("supervision")))


# --- the court's page -------------------------------------------------------------------


class TestCourtPage:
    def entrust_data(self, people, **changes):
        data = {
            "court": people.court.pk,
            "court_case_number": "（2026）黔2601民初123号",
            "referral": "after_filing",
            "procedure": "simple",
            "body": people.medical.pk,
            "grid": people.tree.grid_a.code,
            "name": "王某诉某医院医疗损害赔偿纠纷",
            "category": MEDICAL,
            "occurred_on": (timezone.localdate() - datetime.timedelta(days=20)).isoformat(),
            "summary": "原告称手术后感染，要求赔偿。",
            "applicant": "王某",
            "respondent": "某医院",
        }
        data.update(changes)
        return data

    def test_a_court_account_entrusts_a_case_and_follows_it(self, client, people):
        sign_in(client, people.judge)
        page = body_of(client.get(url("entrusted")))
        assert "本院还没有委派或委托调解。" in page and "没有向本院提出的司法确认申请。" in page
        response = client.post(url("entrusted"), self.entrust_data(people), follow=True)
        entrusted = EntrustedMediation.objects.select_related("dispute").get()
        page = body_of(response)
        assert f"已委托调解，纠纷编号 {entrusted.dispute.number}" in page and "立案后委托调解" in page
        assert entrusted.due_on == timezone.localdate() + datetime.timedelta(days=7)
        assert entrusted.dispute.body == people.medical and entrusted.dispute.status == Status.MEDIATING
        page = body_of(client.get(url("entrusted")))
        assert "（2026）黔2601民初123号" in page and entrusted.dispute.number in page
        # The medical committee's member finds it in their worklist.
        sign_in(client, people.industry_mediator)
        assert entrusted.dispute.number in body_of(client.get(url("mine")))

    def test_entrust_errors_name_the_field_and_keep_the_input(self, client, people):
        sign_in(client, people.judge)
        page = body_of(client.post(url("entrusted"), self.entrust_data(people, procedure="")), 400)
        assert "立案后委托调解须选择审理程序" in page and "王某诉某医院医疗损害赔偿纠纷" in page
        page = body_of(client.post(url("entrusted"), self.entrust_data(people, grid="522601999999999")), 400)
        assert "网格 522601999999999 不存在或不在您的管辖范围内。" in page
        assert not Dispute.objects.exists()

    def test_the_court_rules_on_a_confirmation_from_the_dispute_page(self, client, people):
        dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
        dispute = step(people.mediator, dispute, Step.APPLY_CONFIRMATION, court=people.court, applicants="张三、李四")
        sign_in(client, people.judge)
        page = body_of(client.get(url("entrusted")))
        assert f'href="{url("detail", dispute.number)}#steps"' in page
        page = body_of(client.get(url("detail", dispute.number)))
        assert 'id="step-record_ruling"' in page and 'id="step-close"' not in page
        data = step_data(dispute, result=Ruling.REJECTED, ruled_on=timezone.localdate().isoformat(), reason="", then="mediation")
        page = body_of(client.post(url("step", dispute.number, Step.RECORD_RULING), data), 400)
        assert "请填写不予受理或驳回的理由。" in page
        data["reason"] = "协议内容违反法律强制性规定"
        assert client.post(url("step", dispute.number, Step.RECORD_RULING), data).status_code == 302
        dispute = fresh(dispute)
        assert dispute.status == Status.MEDIATING and dispute.agreement is None
        assert JudicialConfirmation.objects.get().result == Ruling.REJECTED


# --- the incident a dispute came from ---------------------------------------------------


def test_an_incident_turned_into_a_dispute_links_both_ways(client, people):
    from tests.cases.factories import NEIGHBOUR_DISPUTE, report

    incident = report(people.worker, people.tree.grid_a, code=NEIGHBOUR_DISPUTE)
    incident = incident_step(actor=people.centre, incident=incident, step=IncidentStep.TRANSFER, note="转纠纷调解")
    incident = Incident.objects.get(pk=incident.pk)
    sign_in(client, people.centre)
    page = body_of(client.get(reverse("cases:detail", args=[incident.number])))
    assert f'href="{url("detail", incident.dispute_number)}"' in page
    page = body_of(client.get(url("detail", incident.dispute_number)))
    assert f'href="{reverse("cases:detail", args=[incident.number])}"' in page

"""What the review of the disputes app found, each pinned down: a registry person's number
on the printed agreement, the members of another area's mediation body, the name of an
account of another area in a refusal, the mediators of a session, the sources a hand
registration may claim, the sex, ethnicity and phone of a party, the query count of one's
own registrations, and a court's case sent twice at once."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from disputes.models import Dispute, EntrustedMediation, MediationSession
from disputes.services import Party, court_entrust
from kaili.models import AuditAction, AuditEntry
from tests.cases.test_api_access import sign_in as api_sign_in
from tests.disputes.factories import MEDICAL, agree, category, make_body, register, step, triage
from tests.disputes.test_pages import body_of, sign_in, url
from tests.populations.factories import make_enrollment, make_person

pytestmark = pytest.mark.django_db


def registration(grid, **fields) -> dict:
    return {
        "name": "张李两家排水沟纠纷",
        "category": "02",
        "grid": grid.code,
        "summary": "两家因排水沟堵塞互相指责，多次争吵。",
        "occurred_on": (timezone.localdate() - timezone.timedelta(days=2)).isoformat(),
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
        **fields,
    }


def refusal(response, field: str) -> str:
    assert response.status_code == 400, response.content
    return " ".join(response.json()["error"]["fields"][field])


# --- the printed agreement --------------------------------------------------------------


class TestARegistryPersonOnThePrintedAgreement:
    """The registry keeps a registry person's number and shows it in full to their
    responsible staff only; the printed agreement follows the registry, as the dispute's
    own "show full number" does (it sends registry people to the registry)."""

    def agreed_with(self, people, person):
        parties = [Party(role="applicant", person=person), Party(role="respondent", name="李四", id_number="X1234567")]
        dispute = register(people.worker, people.tree.grid_a, parties=parties)
        return agree(people.centre, dispute, people.mediator, form="written")

    def test_the_dispute_s_mediator_sees_the_mask_unless_responsible_for_the_person(self, client, people):
        person = make_person(unit=people.tree.unit_a, name="王芳")
        dispute = self.agreed_with(people, person)
        told = dispute.parties.get(person__isnull=True)
        sign_in(client, people.mediator)
        page = body_of(client.get(url("agreement", dispute.number)))
        assert person.identity_number not in page and person.id_number_masked in page
        # the party told by name is the dispute's own record: in full, for its mediator
        assert "X1234567" in page
        entry = AuditEntry.objects.get(action=AuditAction.READ_SENSITIVE, actor=people.mediator)
        assert entry.changes["parties"] == [told.pk]

    def test_the_person_s_responsible_staff_see_it_in_full(self, client, people):
        person = make_person(unit=people.tree.unit_a, name="王芳")
        make_enrollment(person, team=[people.mediator])
        dispute = self.agreed_with(people, person)
        sign_in(client, people.mediator)
        assert person.identity_number in body_of(client.get(url("agreement", dispute.number)))
        sign_in(client, people.centre)
        assert person.identity_number not in body_of(client.get(url("agreement", dispute.number)))


# --- who is named to whom ---------------------------------------------------------------


class TestMediatorsOfOtherAreas:
    def test_the_bodies_list_members_only_of_bodies_in_the_caller_s_reach(self, api, people):
        make_body("北京路社区人民调解委员会", node=people.tree.zone_a, members=[people.mediator])
        make_body("南花村人民调解委员会", node=people.tree.zone_c, members=[people.mediator_c])

        def members(user) -> dict:
            api_sign_in(api, user)
            response = api.get("/api/mediation-bodies/", {"page_size": 100})
            assert response.status_code == 200, response.content
            return {body["name"]: [m["username"] for m in body["members"]] for body in response.json()["results"]}

        seen = members(people.centre)  # town T1: zones A and B
        assert seen["北京路社区人民调解委员会"] == ["mediator_a"] and seen["南花村人民调解委员会"] == []
        assert seen["凯里市医疗纠纷人民调解委员会"] == ["medical_mediator"]  # city-wide
        seen = members(people.centre_t2)
        assert seen["北京路社区人民调解委员会"] == [] and seen["南花村人民调解委员会"] == ["mediator_c"]
        assert members(people.worker_b)["北京路社区人民调解委员会"] == []  # zone B: another village
        assert members(people.industry_mediator)["凯里市医疗纠纷人民调解委员会"] == ["medical_mediator"]
        assert members(people.judge)["南花村人民调解委员会"] == ["mediator_c"]  # the court serves the city

    def test_a_refused_mediator_is_named_by_account_not_by_name(self, api, people):
        dispute = register(people.worker, people.tree.grid_a)
        api_sign_in(api, people.centre)
        for sent in ("mediator_c", str(people.mediator_c.pk)):
            response = api.post(f"/api/disputes/{dispute.number}/triage/", {"tier": 12, "mediators": [sent]}, format="json")
            message = refusal(response, "mediators")
            assert "mediator_c" in message and people.mediator_c.full_name not in message
        assert Dispute.objects.get(pk=dispute.pk).version == dispute.version


class TestBodiesAndCourtsOfOtherAreas:
    """The members of the body a dispute is routed to, and the accounts of the court asked
    to confirm its agreement, read it: the API offers what the pages offer, a city-wide
    body or court, or one of the places above the dispute."""

    def test_a_dispute_is_routed_to_a_body_of_its_own_area_or_a_city_wide_one(self, api, people):
        dispute = register(people.worker, people.tree.grid_a)
        elsewhere = make_body("南花村人民调解委员会", node=people.tree.zone_c, members=[people.mediator_c])
        api_sign_in(api, people.centre)
        response = api.post(f"/api/disputes/{dispute.number}/triage/", {"tier": 12, "body": elsewhere.pk}, format="json")
        assert "南花村人民调解委员会" in refusal(response, "body")
        assert Dispute.objects.get(pk=dispute.pk).version == dispute.version
        api_sign_in(api, people.mediator_c)
        assert api.get(f"/api/disputes/{dispute.number}/").status_code == 404
        with pytest.raises(ValidationError) as refused:
            court_entrust(
                actor=people.judge,
                court=people.court,
                court_case_number="（2026）黔2601民初78号",
                referral="pre_filing",
                body=elsewhere,
                name="委托纠纷",
                category=category(),
                grid=people.tree.grid_a,
                summary="委托调解",
                occurred_on=timezone.localdate(),
                parties=[Party(role="applicant", name="王五")],
            )
        assert "body" in refused.value.message_dict and not EntrustedMediation.objects.exists()
        town = make_body("大十字街道人民调解委员会", node=people.tree.t1, members=[people.mediator])
        api_sign_in(api, people.centre)
        response = api.post(f"/api/disputes/{dispute.number}/triage/", {"tier": 12, "body": town.pk}, format="json")
        assert response.status_code == 200 and response.json()["body"]["name"] == "大十字街道人民调解委员会"

    def test_a_confirmation_is_asked_of_a_court_whose_area_holds_the_dispute(self, api, client, people):
        from disputes.models import Court

        Court.objects.create(code="santree", name="三棵树人民法庭", node=people.tree.t2)
        Court.objects.create(code="dashizi", name="大十字人民法庭", node=people.tree.t1)
        dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
        sign_in(client, people.mediator)
        page = body_of(client.get(url("detail", dispute.number)))
        assert "大十字人民法庭" in page and "凯里市人民法院" in page and "三棵树人民法庭" not in page
        api_sign_in(api, people.mediator)
        apply = {"applicants": "张三、李四"}
        response = api.post(f"/api/disputes/{dispute.number}/apply-confirmation/", {**apply, "court": "santree"}, format="json")
        assert refusal(response, "court") == "三棵树人民法庭不管辖该纠纷所在区域。"
        response = api.post(f"/api/disputes/{dispute.number}/apply-confirmation/", {**apply, "court": "dashizi"}, format="json")
        assert response.status_code == 200 and response.json()["status"] == "confirming"


class TestWhoHeldASession:
    def test_a_session_is_held_by_mediators_of_the_dispute_or_of_where_it_lies(self, api, people):
        dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
        api_sign_in(api, people.mediator)
        session = {"place": "村委会", "notes": "双方各执一词", "outcome": "failed"}
        for stranger in ("centre_t2", "mediator_c", "medical_mediator"):
            response = api.post(
                f"/api/disputes/{dispute.number}/record-session/", {**session, "mediators": [stranger]}, format="json"
            )
            assert stranger in refusal(response, "mediators")
        assert not MediationSession.objects.exists() and Dispute.objects.get(pk=dispute.pk).version == dispute.version
        response = api.post(
            f"/api/disputes/{dispute.number}/record-session/",
            {**session, "mediators": ["mediator_a", "worker_a"]},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert sorted(m["username"] for m in response.json()["sessions"][0]["mediators"]) == ["mediator_a", "worker_a"]


# --- what a registration may say --------------------------------------------------------


class TestRegistrationInput:
    @pytest.mark.parametrize("source", ["incident", "court"])
    def test_incident_and_court_sources_come_only_through_their_own_paths(self, api, people, source):
        api_sign_in(api, people.worker)
        response = api.post("/api/disputes/", registration(people.tree.grid_a, source=source), format="json")
        refusal(response, "source")
        assert not Dispute.objects.exists()

    @pytest.mark.parametrize(
        "party, named",
        [
            ({"sex": "X"}, "性别“X”无效"),
            ({"ethnicity": "99"}, "民族代码“99”"),
            ({"phone": "电话没有"}, "电话号码格式不正确"),
            ({"phone": "12345"}, "电话号码格式不正确"),
        ],
    )
    def test_a_party_s_sex_ethnicity_and_phone_are_codes_the_registry_knows(self, api, people, party, named):
        api_sign_in(api, people.worker)
        parties = [{"role": "applicant", "name": "张三", **party}]
        message = refusal(api.post("/api/disputes/", registration(people.tree.grid_a, parties=parties), format="json"), "parties")
        assert message.startswith("第 1 位当事人：") and named in message
        assert not Dispute.objects.exists()
        parties = [{"role": "applicant", "name": "张三", "sex": "F", "ethnicity": "06", "phone": "138 0855 1234"}]
        assert api.post("/api/disputes/", registration(people.tree.grid_a, parties=parties), format="json").status_code == 201

    def test_the_registration_page_refuses_them_on_the_parties(self, client, people):
        from tests.disputes.test_pages import register_data

        sign_in(client, people.worker)
        data = register_data(people.tree, party_sex=["X", ""])
        page = body_of(client.post(url("register"), data), 400)
        assert "性别“X”无效" in page and not Dispute.objects.exists()


# --- query counts -----------------------------------------------------------------------


def test_my_registrations_cost_the_same_however_many(client, people):
    def mine_queries() -> int:
        client.get(url("mine"))
        with CaptureQueriesContext(connection) as captured:
            body_of(client.get(url("mine")))
        return len(captured)

    sign_in(client, people.worker)
    triage(people.centre, register(people.worker, people.tree.grid_a, name="纠纷0"), people.mediator)
    one = mine_queries()
    for n in range(1, 5):
        triage(people.centre, register(people.worker, people.tree.grid_a, name=f"纠纷{n}"), people.mediator)
    assert mine_queries() == one


# --- a court's case sent twice at once --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_case_entrusted_twice_at_once_is_registered_once(people):
    body = make_body(members=[people.mediator], node=people.tree.zone_a)
    barrier = threading.Barrier(2)
    outcomes = []

    def entrust():
        try:
            barrier.wait()
            court_entrust(
                actor=people.judge,
                court=people.court,
                court_case_number="（2026）黔2601民初77号",
                referral="after_filing",
                procedure="simple",
                body=body,
                name="委托纠纷",
                category=category(),
                grid=people.tree.grid_a,
                summary="委托调解",
                occurred_on=timezone.localdate(),
                parties=[Party(role="applicant", name="王五")],
            )
            outcomes.append("entrusted")
        except ValidationError as error:
            outcomes.append(" ".join(error.message_dict["court_case_number"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=entrust) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["entrusted", "案号 （2026）黔2601民初77号 已委托过调解。"]
    assert EntrustedMediation.objects.count() == 1 and Dispute.objects.count() == 1


def test_a_body_switched_off_no_longer_lends_its_members_its_disputes(people):
    from disputes.workflow import Step, may_take

    dispute = register(people.worker, people.tree.grid_a, code=MEDICAL)
    dispute = step(people.centre, dispute, Step.ROUTE, body=people.medical)
    assert Dispute.objects.restrict(people.industry_mediator).filter(pk=dispute.pk).exists()
    people.medical.is_active = False
    people.medical.save(update_fields=["is_active"])
    dispute = Dispute.objects.select_related("grid", "body").get(pk=dispute.pk)
    assert not Dispute.objects.restrict(people.industry_mediator).filter(pk=dispute.pk).exists()
    assert not may_take(people.industry_mediator, dispute, Step.RECORD_SESSION)


def test_a_mediator_left_without_a_role_still_reads_the_dispute_they_mediate_in_the_api_as_on_the_pages(api, client, people):
    from kaili.models import User
    from kaili.roles import MEDIATOR
    from kaili.services import user_revoke_role

    dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    user_revoke_role(actor=None, user=people.mediator, role=MEDIATOR)
    mediator = User.objects.get(pk=people.mediator.pk)
    api_sign_in(api, mediator)
    listed = api.get("/api/disputes/")
    assert listed.status_code == 200 and [row["number"] for row in listed.json()["results"]] == [dispute.number]
    assert api.get(f"/api/disputes/{dispute.number}/").status_code == 200
    sign_in(client, mediator)
    assert client.get(url("detail", dispute.number)).status_code == 200

"""The disputes API: a grid worker registers, the centre triages, the mediators mediate,
escalate and reach an agreement, the court confirms it, a follow-up visit finds it
performed and the dispute closes resolved; every refusal answers with the field or the
reason (400, 403, 409) and leaves nothing written. Courts entrust mediations and rule on
confirmations through their own endpoints."""

import datetime
import uuid

import pytest
from django.utils import timezone

from disputes.models import (
    Agreement,
    Dispute,
    DisputeParty,
    DisputeTransition,
    EntrustedMediation,
    FollowUp,
    JudicialConfirmation,
    MediationSession,
)
from disputes.services import Party
from disputes.workflow import Step
from kaili.models import AuditEntry
from tests.disputes.factories import MEDICAL, agree, make_body, register, step, tier, triage
from tests.factories import force_verified, make_user
from tests.populations.factories import identity_number, make_person
from tests.reads import listed_numbers

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def days_ago(days: int) -> str:
    return (timezone.localdate() - datetime.timedelta(days=days)).isoformat()


def registration(grid, **fields) -> dict:
    return {
        "name": "张李两家排水沟纠纷",
        "category": "02",
        "grid": grid.code,
        "summary": "两家因排水沟堵塞互相指责，多次争吵。",
        "occurred_on": days_ago(2),
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
        **fields,
    }


def url(dispute, action: str = "") -> str:
    number = dispute if isinstance(dispute, str) else dispute.number
    return f"/api/disputes/{number}/{action}/" if action else f"/api/disputes/{number}/"


def take(api, user, dispute, action: str, body=None):
    api.force_authenticate(user)
    return api.post(url(dispute, action), body or {}, format="json")


def error_of(response, status_code: int) -> dict:
    assert response.status_code == status_code, response.content
    return response.json()["error"]


def written() -> tuple:
    """What a refusal must leave as it was."""
    return (
        Dispute.objects.count(),
        DisputeParty.objects.count(),
        DisputeTransition.objects.count(),
        MediationSession.objects.count(),
        Agreement.objects.count(),
        FollowUp.objects.count(),
        JudicialConfirmation.objects.count(),
        EntrustedMediation.objects.count(),
        AuditEntry.objects.count(),
    )


def state(dispute) -> tuple:
    dispute = Dispute.objects.get(pk=dispute.pk)
    return (
        dispute.status,
        dispute.version,
        dispute.due_on,
        dispute.tier_id,
        sorted(dispute.mediators.values_list("pk", flat=True)),
    )


# --- registering -------------------------------------------------------------------------


def test_a_grid_worker_registers_with_a_registry_person_and_a_person_told_by_name(api, people):
    clear_id, resident_id = identity_number(), identity_number()
    resident = make_person(unit=people.tree.unit_a, name="王五", identity_number=resident_id, phone="13812345678")
    api.force_authenticate(people.worker)
    body = registration(
        people.tree.unit_a,
        place="北京路 12 号",
        amount="1200.50",
        parties=[
            {"role": "applicant", "name": "张三", "id_number": clear_id, "phone": "13987654321", "address": "北京路 12 号"},
            {"role": "respondent", "person": resident.pk},
            {"role": "third_party", "kind": "organisation", "name": "北京路物业公司"},
        ],
    )
    response = api.post("/api/disputes/", body, format="json")

    assert response.status_code == 201, response.content
    dispute = response.json()
    assert dispute["number"].startswith("MD-522601-") and dispute["status"] == "registered" and dispute["version"] == 1
    assert dispute["grid"] == {"code": people.tree.unit_a.code, "name": people.tree.unit_a.name}
    assert dispute["category"]["code"] == "02" and dispute["scale"]["code"] == "general"
    assert dispute["source"] == "screening" and dispute["amount"] == "1200.50" and dispute["people_count"] == 3
    assert dispute["registered_by"]["username"] == "worker_a" and dispute["due_on"] and dispute["due_flag"] == "due_soon"
    parties = {party["name"]: party for party in dispute["parties"]}
    assert parties["张三"]["id_number_masked"] == clear_id[:6] + "********" + clear_id[-4:]
    assert parties["张三"]["phone_masked"] == "139****4321" and parties["张三"]["person"] is None
    assert parties["王五"]["person"] == resident.pk and parties["王五"]["id_number_masked"] == resident.id_number_masked
    assert parties["北京路物业公司"]["kind"] == "organisation"
    content = response.content.decode()
    for clear in (clear_id, resident_id, "13987654321", "13812345678"):
        assert clear not in content
    assert not {"id_number", "phone", "id_number_encrypted"} & set(parties["张三"])
    assert [(t["step"], t["label"], t["to_status"]) for t in dispute["transitions"]] == [("register", "登记", "registered")]
    assert dispute["available_steps"] == []

    api.force_authenticate(people.centre)
    assert set(api.get(url(dispute["number"])).json()["available_steps"]) == {"triage", "route", "withdraw"}


def test_resubmitting_the_same_registration_creates_it_once(api, people):
    api.force_authenticate(people.worker)
    key = str(uuid.uuid4())
    first = api.post("/api/disputes/", registration(people.tree.unit_a, client_key=key), format="json")
    again = api.post("/api/disputes/", registration(people.tree.unit_a, client_key=key), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    assert Dispute.objects.filter(client_key=key).count() == 1
    assert DisputeTransition.objects.filter(dispute__client_key=key).count() == 1

    header = str(uuid.uuid4())
    first = api.post("/api/disputes/", registration(people.tree.unit_a), format="json", HTTP_IDEMPOTENCY_KEY=header)
    again = api.post("/api/disputes/", registration(people.tree.unit_a), format="json", HTTP_IDEMPOTENCY_KEY=header)
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["number"] == again.json()["number"]
    bad = api.post("/api/disputes/", registration(people.tree.unit_a), format="json", HTTP_IDEMPOTENCY_KEY="not-a-uuid")
    assert "client_key" in error_of(bad, 400)["fields"]

    api.force_authenticate(people.centre)  # the same key from someone else is another dispute
    assert api.post("/api/disputes/", registration(people.tree.unit_a, client_key=key), format="json").status_code == 201


BAD_REGISTRATIONS = {
    "unknown category": ("category", lambda people: {"category": "99"}),
    "unknown scale": ("scale", lambda people: {"scale": "huge"}),
    "grid out of scope": ("grid", lambda people: {"grid": people.tree.unit_b.code}),
    "missing grid": ("grid", lambda people: {"grid": "522601999999999"}),
    "a town is not registrable": ("grid", lambda people: {"grid": people.tree.t1.code}),
    "future occurrence": ("occurred_on", lambda people: {"occurred_on": days_ago(-2)}),
    "not a date": ("occurred_on", lambda people: {"occurred_on": "2026-13-40"}),
    "empty name": ("name", lambda people: {"name": "  "}),
    "empty summary": ("summary", lambda people: {"summary": ""}),
    "negative amount": ("amount", lambda people: {"amount": "-1"}),
    "unknown risk": ("risk", lambda people: {"risk": "extreme"}),
    "no parties": ("parties", lambda people: {"parties": []}),
    "no applicant": ("parties", lambda people: {"parties": [{"role": "respondent", "name": "李四"}]}),
    "party without a name": ("parties", lambda people: {"parties": [{"role": "applicant"}]}),
    "bad identity number": ("parties", lambda people: {"parties": [{"name": "张三", "id_number": "522601198005170018"}]}),
    "unknown person": ("parties", lambda people: {"parties": [{"person": 999999}]}),
    "person out of scope": ("parties", lambda people: {"parties": [{"person": make_person(unit=people.tree.unit_b).pk}]}),
    "unknown party role": ("parties", lambda people: {"parties": [{"role": "judge", "name": "张三"}]}),
}


@pytest.mark.parametrize("case", BAD_REGISTRATIONS, ids=list(BAD_REGISTRATIONS))
def test_a_bad_registration_names_the_field_and_writes_nothing(api, people, case):
    field, change = BAD_REGISTRATIONS[case]
    body = registration(people.tree.unit_a) | change(people)
    api.force_authenticate(people.worker)
    before = written()
    error = error_of(api.post("/api/disputes/", body, format="json"), 400)
    assert field in error["fields"] and error["message"]
    assert written() == before


def test_the_same_answer_for_a_grid_out_of_scope_and_a_missing_one(api, people):
    api.force_authenticate(people.worker)
    elsewhere = api.post("/api/disputes/", registration(people.tree.unit_b), format="json")
    missing = api.post("/api/disputes/", registration(people.tree.unit_b) | {"grid": "522601001009001"}, format="json")
    said_elsewhere = error_of(elsewhere, 400)["fields"]["grid"][0].replace(people.tree.unit_b.code, "X")
    said_missing = error_of(missing, 400)["fields"]["grid"][0].replace("522601001009001", "X")
    assert said_elsewhere == said_missing


def test_only_registering_roles_register(api, people):
    force_verified(api, people.leader)
    assert api.post("/api/disputes/", registration(people.tree.unit_a), format="json").status_code == 403
    api.logout()
    api.force_authenticate(people.judge)
    assert api.post("/api/disputes/", registration(people.tree.unit_a), format="json").status_code == 403
    assert Dispute.objects.count() == 0


# --- the flow ----------------------------------------------------------------------------


def test_the_whole_flow_through_the_api(api, people):
    api.force_authenticate(people.worker)
    number = api.post("/api/disputes/", registration(people.tree.unit_a), format="json").json()["number"]

    api.force_authenticate(people.centre)
    dispute = api.get(url(number)).json()
    body = {
        "version": dispute["version"],
        "tier": 12,
        "mediators": ["mediator_a"],
        "risk": "medium",
        "note": "邻里纠纷，村调委会调解",
    }
    dispute = take(api, people.centre, number, "triage", body).json()
    assert (dispute["status"], dispute["version"], dispute["risk"]) == ("mediating", 2, "medium")
    assert dispute["tier"]["rank"] == 12 and dispute["line"]["kind"] == "people"
    assert [m["username"] for m in dispute["mediators"]] == ["mediator_a"]
    assert dispute["due_on"] == (TODAY() + datetime.timedelta(days=30)).isoformat()

    api.force_authenticate(people.mediator)
    steps = set(api.get(url(number)).json()["available_steps"])
    assert {"record-session", "escalate", "extend", "record-agreement", "close", "withdraw"} <= steps
    assert not {"triage", "record-ruling", "follow-up"} & steps
    session = {"version": 2, "place": "村委会", "notes": "双方分歧较大", "outcome": "failed", "method": "five_elders"}
    dispute = take(api, people.mediator, number, "record-session", session).json()
    assert dispute["status"] == "failed" and dispute["sessions"][0]["method"] == "five_elders"
    assert [m["username"] for m in dispute["sessions"][0]["mediators"]] == ["mediator_a"]
    dispute = take(api, people.mediator, number, "escalate", {"reason": "调委会调解不成"}).json()
    assert (dispute["status"], dispute["tier"]["rank"]) == ("mediating", 13)

    agreement = {"form": "written", "terms": "张家三日内清理排水沟。", "amount": "300.00", "parties_signed": "张三、李四"}
    agreement |= {"mediator_signed": "调解员", "sealed_on": TODAY().isoformat()}
    dispute = take(api, people.mediator, number, "record-agreement", agreement).json()
    assert dispute["status"] == "agreed" and dispute["agreements"][0]["effective_on"] == TODAY().isoformat()
    assert "apply-confirmation" in dispute["available_steps"]
    applied = {"court": "kaili", "applicants": "张三、李四"}
    dispute = take(api, people.mediator, number, "apply-confirmation", applied).json()
    assert dispute["status"] == "confirming"
    confirmation = dispute["agreements"][0]["confirmations"][0]
    assert confirmation["court"]["code"] == "kaili" and confirmation["result"] == "pending"

    api.force_authenticate(people.judge)
    assert api.get(url(number)).json()["available_steps"] == ["record-ruling"]
    dispute = take(api, people.judge, number, "record-ruling", {"result": "confirmed"}).json()
    assert dispute["status"] == "agreed" and dispute["agreements"][0]["enforceable"] is True

    visit = {"performance": "performed", "satisfaction": 5, "note": "已清理"}
    dispute = take(api, people.worker, number, "follow-up", visit).json()
    assert dispute["agreements"][0]["follow_ups"][0]["performance"] == "performed" and dispute["satisfaction"] == 5
    dispute = take(api, people.centre, number, "close", {"note": "协议已履行"}).json()
    assert dispute["status"] == "resolved" and dispute["closed_at"] and dispute["due_on"] is None
    assert dispute["available_steps"] == [] and dispute["due_flag"] == ""

    timeline = [(t["step"], t["to_status"], t["actor"]) for t in dispute["transitions"]]
    assert timeline == [
        ("register", "registered", str(people.worker)),
        ("triage", "mediating", str(people.centre)),
        ("record_session", "failed", str(people.mediator)),
        ("escalate", "mediating", str(people.mediator)),
        ("record_agreement", "agreed", str(people.mediator)),
        ("apply_confirmation", "confirming", str(people.mediator)),
        ("record_ruling", "agreed", str(people.judge)),
        ("follow_up", "agreed", str(people.worker)),
        ("close", "resolved", str(people.centre)),
    ]


def test_the_centre_routes_to_a_body_by_tier_id_and_its_member_mediates(api, people):
    dispute = register(people.worker, people.tree.grid_a, code=MEDICAL, name="医疗费用纠纷")
    body = {"tier_id": tier(12).pk, "body": people.medical.pk}
    routed = take(api, people.centre, dispute, "route", body).json()
    assert routed["body"]["name"] == people.medical.name and routed["mediators"] == []
    assert routed["tier"]["rank"] == 12

    api.force_authenticate(people.industry_mediator)
    assert [row["number"] for row in api.get("/api/disputes/").json()["results"]] == [dispute.number]
    session = {"place": "医调委", "notes": "达成一致", "outcome": "agreement"}
    assert take(api, people.industry_mediator, dispute, "record-session", session).status_code == 200


def test_mediators_are_named_by_username_or_user_id(api, people):
    dispute = register(people.worker, people.tree.grid_a)
    routed = take(api, people.centre, dispute, "route", {"tier": 11, "mediators": [str(people.mediator.pk), "worker_a"]})
    assert routed.status_code == 200, routed.content
    assert sorted(m["username"] for m in routed.json()["mediators"]) == ["mediator_a", "worker_a"]


def test_extend_with_both_parties_consent(api, people):
    dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    before = Dispute.objects.get(pk=dispute.pk).due_on
    refused = take(api, people.mediator, dispute, "extend", {"days": 10, "reason": "当事人外出务工"})
    assert "consent" in error_of(refused, 400)["fields"]
    assert (
        "days"
        in error_of(take(api, people.mediator, dispute, "extend", {"days": 0, "reason": "x", "consent": True}), 400)["fields"]
    )
    extended = take(api, people.mediator, dispute, "extend", {"days": 10, "reason": "当事人外出务工", "consent": True}).json()
    assert extended["due_on"] == (before + datetime.timedelta(days=10)).isoformat()
    assert extended["transitions"][-1]["step"] == "extend" and extended["transitions"][-1]["note"] == "当事人外出务工"


def test_a_rejected_confirmation_sends_the_dispute_back_to_mediation(api, people):
    dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    dispute = step(people.mediator, dispute, Step.APPLY_CONFIRMATION, court=people.court, applicants="张三、李四")
    missing = take(api, people.judge, dispute, "record-ruling", {"result": "rejected"})
    assert "reason" in error_of(missing, 400)["fields"]
    ruled = take(
        api, people.judge, dispute, "record-ruling", {"result": "rejected", "reason": "协议内容违法", "then": "mediation"}
    )
    ruled = ruled.json()
    assert ruled["status"] == "mediating" and ruled["agreements"][0]["superseded"] is True
    assert ruled["agreements"][0]["confirmations"][0]["result"] == "rejected"


def test_close_unresolved_tells_the_parties_other_routes(api, people):
    dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    before = written()
    assert "routes" in error_of(take(api, people.mediator, dispute, "close", {"note": "分歧太大"}), 400)["fields"]
    assert "routes" in error_of(take(api, people.mediator, dispute, "close", {"note": "x", "routes": ["duel"]}), 400)["fields"]
    assert written() == before
    closed = take(api, people.mediator, dispute, "close", {"note": "分歧太大", "routes": ["litigation", "arbitration"]}).json()
    assert closed["status"] == "unresolved" and closed["other_routes"] == ["litigation", "arbitration"]


def test_withdraw_with_a_reason(api, people):
    dispute = register(people.worker, people.tree.grid_a)
    assert "reason" in error_of(take(api, people.centre, dispute, "withdraw", {"reason": " "}), 400)["fields"]
    withdrawn = take(api, people.centre, dispute, "withdraw", {"reason": "申请人撤回申请"}).json()
    assert withdrawn["status"] == "withdrawn" and withdrawn["closing_note"] == "申请人撤回申请"


# --- refused steps -----------------------------------------------------------------------


def test_an_illegal_step_is_a_conflict_with_a_clear_message(api, people):
    dispute = register(people.worker, people.tree.grid_a)
    before, was = written(), state(dispute)
    error = error_of(take(api, people.centre, dispute, "record-session", {"place": "x", "notes": "x", "outcome": "failed"}), 409)
    assert error["code"] == "illegal_step" and "待研判" in error["message"] and "记录调解" in error["message"]
    error = error_of(take(api, people.centre, dispute, "follow-up", {"performance": "performed", "note": "x"}), 409)
    assert error["code"] == "illegal_step"
    assert written() == before and state(dispute) == was


def test_a_stale_version_is_told_the_dispute_changed(api, people):
    dispute = register(people.worker, people.tree.grid_a)
    assert take(api, people.centre, dispute, "triage", {"version": 1, "tier": 12, "mediators": ["mediator_a"]}).status_code == 200
    before, was = written(), state(dispute)
    error = error_of(take(api, people.centre, dispute, "withdraw", {"version": 1, "reason": "重复"}), 409)
    assert error["code"] == "changed" and dispute.number in error["message"]
    assert written() == before and state(dispute) == was


def test_the_wrong_person_is_forbidden(api, people):
    dispute = register(people.worker, people.tree.grid_a)
    before, was = written(), state(dispute)
    error = error_of(take(api, people.worker, dispute, "triage", {"tier": 12, "mediators": ["mediator_a"]}), 403)
    assert dispute.number in error["message"] and "研判分流" in error["message"]
    dispute = triage(people.centre, dispute, people.industry_mediator, body=people.medical)
    before, was = written(), state(dispute)
    session = {"place": "村委会", "notes": "代为调解", "outcome": "failed"}
    assert take(api, people.mediator, dispute, "record-session", session).status_code == 403
    assert take(api, people.judge, dispute, "extend", {"days": 5, "reason": "x", "consent": True}).status_code == 404
    assert written() == before and state(dispute) == was


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("triage", {"tier": 99, "mediators": ["mediator_a"]}, "tier"),
        ("triage", {"tier_id": 999999, "mediators": ["mediator_a"]}, "tier"),
        ("triage", {"tier": 12, "mediators": ["nobody"]}, "mediators"),
        ("triage", {"tier": 12, "mediators": ["mediator_c"]}, "mediators"),
        ("triage", {"tier": 12}, "mediators"),
        ("triage", {"mediators": ["mediator_a"]}, "tier"),
        ("triage", {"tier": 12, "body": 999999}, "body"),
        ("triage", {"tier": 21, "body": "medical"}, "body"),
        ("triage", {"tier": 12, "mediators": ["mediator_a"], "due_on": "someday"}, "due_on"),
        ("triage", {"tier": 12, "mediators": ["mediator_a"], "due_on": "2001-01-01"}, "due_on"),
        ("triage", {"tier": 12, "mediators": ["mediator_a"], "scale": "huge"}, "scale"),
        ("triage", {"tier": 12, "mediators": ["mediator_a"], "risk": "extreme"}, "risk"),
        ("route", {"tier": 12, "mediators": "mediator_a"}, "mediators"),
    ],
)
def test_a_bad_assignment_names_the_field_and_writes_nothing(api, people, action, body, field):
    dispute = register(people.worker, people.tree.grid_a)
    if body.get("body") == "medical":
        body = {**body, "body": people.medical.pk}  # a people's-line body for an administrative tier
    before, was = written(), state(dispute)
    error = error_of(take(api, people.centre, dispute, action, body), 400)
    assert field in error["fields"] and error["message"]
    assert written() == before and state(dispute) == was


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("record-session", {"place": "村委会", "notes": "x"}, "outcome"),
        ("record-session", {"place": "村委会", "notes": " ", "outcome": "failed"}, "notes"),
        ("record-session", {"place": "", "notes": "x", "outcome": "failed"}, "place"),
        ("record-session", {"place": "村委会", "notes": "x", "outcome": "failed", "held_on": days_ago(-1)}, "held_on"),
        ("record-agreement", {"form": "written", "terms": "清理排水沟"}, "sealed_on"),
        ("record-agreement", {"form": "signed", "terms": "清理排水沟"}, "form"),
        ("record-agreement", {"form": "oral", "terms": ""}, "terms"),
        ("escalate", {"reason": ""}, "reason"),
        ("escalate", {"reason": "不成", "tier": 21}, "tier"),
        ("withdraw", {}, "reason"),
    ],
)
def test_a_bad_mediation_step_names_the_field_and_writes_nothing(api, people, action, body, field):
    dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    before, was = written(), state(dispute)
    error = error_of(take(api, people.mediator, dispute, action, body), 400)
    assert field in error["fields"] and error["message"]
    assert written() == before and state(dispute) == was


def test_an_application_for_confirmation_names_the_court_and_the_window(api, people):
    dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator, reached_on=TODAY())
    before, was = written(), state(dispute)
    assert (
        "court"
        in error_of(take(api, people.mediator, dispute, "apply-confirmation", {"court": "nowhere", "applicants": "张三"}), 400)[
            "fields"
        ]
    )
    late = {"court": "kaili", "applicants": "张三", "applied_on": days_ago(-1)}
    assert "applied_on" in error_of(take(api, people.mediator, dispute, "apply-confirmation", late), 400)["fields"]
    assert written() == before and state(dispute) == was


def test_an_unknown_number_is_not_found(api, people):
    api.force_authenticate(people.centre)
    assert api.get("/api/disputes/MD-522601-2026-999999/").status_code == 404
    assert api.post("/api/disputes/MD-522601-2026-999999/triage/", {}, format="json").status_code == 404


# --- the reveal --------------------------------------------------------------------------


def test_the_centre_reveals_a_partys_identity_number_audited_and_never_cached(api, people):
    clear_id = identity_number()
    told = [Party(role="applicant", name="张三", id_number=clear_id), Party(role="respondent", name="李四")]
    dispute = register(people.worker, people.tree.grid_a, parties=told)
    party = dispute.parties.get(name="张三")
    reveal = f"{url(dispute, 'parties')}{party.pk}/reveal/"

    api.force_authenticate(people.centre)
    response = api.post(reveal)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response.json() == {"id_number": clear_id, "person": None}
    entry = AuditEntry.objects.get(action="read_sensitive", actor_username="centre_t1")
    assert entry.changes["party"] == party.pk and clear_id not in str(entry.changes)

    for who in (people.worker, people.mediator):  # the registrant; a mediator not on the dispute
        api.force_authenticate(who)
        refused = api.post(reveal)
        assert refused.status_code == 403 and clear_id not in refused.content.decode()
    assert AuditEntry.objects.filter(action="read_sensitive", outcome="denied").count() == 2
    force_verified(api, people.leader)
    assert api.post(reveal).status_code == 403

    triage(people.centre, dispute, people.mediator)
    api.logout()
    api.force_authenticate(people.mediator)
    assert api.post(reveal).json()["id_number"] == clear_id
    assert api.post(f"{url(dispute, 'parties')}999999/reveal/").status_code == 404
    api.force_authenticate(people.centre_t2)
    assert api.post(reveal).status_code == 404


# --- the lists ---------------------------------------------------------------------------


def test_list_filters_counts_and_supervision(api, people):
    first = register(people.worker, people.tree.grid_a, name="一号排水沟", place="北京路 3 号")
    second = triage(people.centre, register(people.worker, people.tree.grid_a, name="二号宅基地", code="03"), people.mediator)
    third = register(people.worker_b, people.tree.grid_b, name="三号群体欠薪", code="09", people_count=12)
    Dispute.objects.filter(pk=first.pk).update(due_on=TODAY() - datetime.timedelta(days=1))
    api.force_authenticate(people.centre)

    def numbers(**params):
        return listed_numbers(api, "/api/disputes/", **params)

    assert numbers() == [third.number, second.number, first.number]
    assert numbers(ordering="number") == sorted([first.number, second.number, third.number])
    assert numbers(status="mediating") == [second.number]
    assert set(numbers(status=["mediating", "registered"])) == {first.number, second.number, third.number}
    assert numbers(category="03") == [second.number]
    assert numbers(line="people") == [second.number] and numbers(tier=12) == [second.number]
    assert numbers(overdue="true") == [first.number]
    assert numbers(group_risk="true") == [third.number]
    assert numbers(grid=people.tree.grid_b.code) == [third.number]
    assert set(numbers(under=people.tree.zone_a.code)) == {first.number, second.number}
    assert numbers(q=second.number) == [second.number] and numbers(q="北京路") == [first.number]
    assert numbers(q="欠薪") == [third.number] and numbers(open="false") == []
    assert numbers(entrusted="true") == [] and numbers(source="screening", risk="low", passed_upward="false")
    assert numbers(registered_from=TODAY().isoformat(), occurred_to=TODAY().isoformat())
    row = api.get("/api/disputes/", {"overdue": "true"}).json()["results"][0]
    assert row["due_flag"] == "overdue" and row["status_display"] == "待研判" and "parties" not in row
    assert error_of(api.get("/api/disputes/", {"status": "nonsense"}), 400)["fields"]

    counts = api.get("/api/disputes/counts/").json()
    assert counts["total"] == 3 and counts["registered"] == 2 and counts["mediating"] == 1 and counts["overdue"] == 1
    assert counts["resolved"] == 0
    assert api.get("/api/disputes/counts/", {"under": people.tree.zone_b.code}).json()["total"] == 1

    rows = api.get("/api/disputes/supervision/").json()
    assert [(row["tier"] and row["tier"]["rank"], row["total"], row["overdue"]) for row in rows] == [(None, 2, 1), (12, 1, 0)]
    assert rows[1]["tier"]["name"] == "村（社区）调解委员会" and rows[1]["tier"]["line_name"] == "人民调解"


# --- courts ------------------------------------------------------------------------------


def entrust_body(people, **fields) -> dict:
    body = make_body("北京路社区人民调解委员会", node=people.tree.zone_a, members=[people.mediator])
    court = {"court": "kaili", "court_case_number": "（2026）黔2601民初100号", "referral": "pre_filing", "body": body.pk}
    return registration(people.tree.grid_a, **(court | fields))


@pytest.mark.parametrize(
    ("referral", "procedure", "days"), [("pre_filing", "", 30), ("after_filing", "ordinary", 15), ("after_filing", "simple", 7)]
)
def test_a_court_entrusts_a_mediation_with_its_deadline(api, people, referral, procedure, days):
    api.force_authenticate(people.judge)
    received = days_ago(1)
    body = entrust_body(people, referral=referral, procedure=procedure, received_on=received, mediators=["mediator_a"])
    response = api.post("/api/entrusted-mediations/", body, format="json")
    assert response.status_code == 201, response.content
    entrusted = response.json()
    due = (TODAY() - datetime.timedelta(days=1) + datetime.timedelta(days=days)).isoformat()
    assert entrusted["due_on"] == due and entrusted["received_on"] == received and entrusted["referral"] == referral
    assert entrusted["court"]["code"] == "kaili" and entrusted["result"] == "pending" and entrusted["returned_on"] is None
    assert entrusted["dispute"]["status"] == "mediating" and entrusted["dispute"]["due_on"] == due

    number = entrusted["dispute"]["number"]
    dispute = api.get(url(number)).json()
    assert dispute["source"] == "court" and dispute["entrusted"]["court_case_number"] == "（2026）黔2601民初100号"
    assert [m["username"] for m in dispute["mediators"]] == ["mediator_a"] and dispute["available_steps"] == ["extend"]
    assert [row["id"] for row in api.get("/api/entrusted-mediations/").json()["results"]] == [entrusted["id"]]
    assert api.get(f"/api/entrusted-mediations/{entrusted['id']}/").json()["dispute"]["number"] == number


def test_the_court_extends_its_entrusted_mediation_and_gets_the_result_back(api, people):
    api.force_authenticate(people.judge)
    entrusted = api.post("/api/entrusted-mediations/", entrust_body(people, mediators=["mediator_a"]), format="json").json()
    extend = f"/api/entrusted-mediations/{entrusted['id']}/extend/"
    assert "consent" in error_of(api.post(extend, {"days": 10, "reason": "需鉴定"}, format="json"), 400)["fields"]
    extended = api.post(extend, {"days": 10, "reason": "需鉴定", "consent": True, "version": 2}, format="json")
    assert extended.status_code == 200, extended.content
    assert extended.json()["due_on"] == (TODAY() + datetime.timedelta(days=40)).isoformat()
    assert extended.json()["extensions"] == 1 and extended.json()["dispute"]["version"] == 3
    assert error_of(api.post(extend, {"days": 1, "reason": "x", "consent": True, "version": 2}, format="json"), 409)["code"] == (
        "changed"
    )

    number = entrusted["dispute"]["number"]
    withdrawn = take(api, people.mediator, number, "withdraw", {"reason": "原告撤诉"})
    assert withdrawn.status_code == 200
    api.force_authenticate(people.judge)
    back = api.get(f"/api/entrusted-mediations/{entrusted['id']}/").json()
    assert (back["result"], back["result_note"], back["returned_on"]) == ("withdrawn", "原告撤诉", TODAY().isoformat())
    assert error_of(api.post(extend, {"days": 5, "reason": "x", "consent": True}, format="json"), 409)["code"] == "illegal_step"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"court": "nowhere"}, "court"),
        ({"court_case_number": " "}, "court_case_number"),
        ({"referral": "after_filing"}, "procedure"),
        ({"referral": "sideways"}, "referral"),
        ({"body": 999999}, "body"),
        ({"received_on": days_ago(-3)}, "received_on"),
        ({"mediators": ["nobody"]}, "mediators"),
        ({"grid": "522601999999999"}, "grid"),
        ({"parties": []}, "parties"),
    ],
)
def test_a_bad_entrustment_names_the_field_and_writes_nothing(api, people, change, field):
    body = entrust_body(people) | change
    api.force_authenticate(people.judge)
    before = written()
    error = error_of(api.post("/api/entrusted-mediations/", body, format="json"), 400)
    assert field in error["fields"] and error["message"]
    assert written() == before


def test_the_same_court_case_is_entrusted_once(api, people):
    api.force_authenticate(people.judge)
    assert api.post("/api/entrusted-mediations/", entrust_body(people), format="json").status_code == 201
    before = written()
    again = api.post("/api/entrusted-mediations/", entrust_body(people), format="json")
    assert "court_case_number" in error_of(again, 400)["fields"] and written() == before


def test_only_court_accounts_entrust_and_only_for_their_court(api, people):
    before = written()
    for user in (people.centre, people.worker, make_user("nobody_at_all")):
        api.force_authenticate(user)
        assert api.post("/api/entrusted-mediations/", entrust_body(people), format="json").status_code == 403
        assert api.get("/api/entrusted-mediations/").json()["results"] == []
        assert api.get("/api/judicial-confirmations/").json()["results"] == []
    api.force_authenticate(people.judge)
    other_court = entrust_body(people, court="qiandongnan")
    assert api.post("/api/entrusted-mediations/", other_court, format="json").status_code == 403
    assert written() == before


def test_the_court_lists_and_rules_on_the_confirmations_asked_of_it(api, people):
    dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    dispute = step(people.mediator, dispute, Step.APPLY_CONFIRMATION, court=people.court, applicants="张三、李四")
    api.force_authenticate(people.judge)
    rows = api.get("/api/judicial-confirmations/").json()["results"]
    assert [(row["dispute"]["number"], row["result"]) for row in rows] == [(dispute.number, "pending")]
    assert rows[0]["agreement"]["terms"] and rows[0]["accept_due"]
    rule = f"/api/judicial-confirmations/{rows[0]['id']}/rule/"

    accepted = api.post(rule, {"result": "pending", "version": dispute.version}, format="json")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["accepted_on"] == TODAY().isoformat() and accepted.json()["ruling_due"]
    confirmed = api.post(rule, {"result": "confirmed"}, format="json").json()
    assert confirmed["result"] == "confirmed" and confirmed["dispute"]["status"] == "agreed"
    again = api.post(rule, {"result": "rejected", "reason": "x"}, format="json")
    assert error_of(again, 409)["code"] == "illegal_step"

    api.force_authenticate(people.centre)
    assert api.get("/api/judicial-confirmations/").json()["results"] == []
    assert api.post(rule, {"result": "confirmed"}, format="json").status_code == 404


# --- the tables --------------------------------------------------------------------------


def test_the_tables_for_the_pickers(api, people):
    api.force_authenticate(people.worker)
    categories = api.get("/api/dispute-categories/", {"page_size": 100}).json()["results"]
    assert len(categories) == 12 and categories[1] == {**categories[1], "code": "02", "name": "邻里纠纷"}
    assert api.get("/api/dispute-categories/10/").json()["name"] == "医疗纠纷"
    assert [row["code"] for row in api.get("/api/dispute-scales/").json()["results"]] == ["general", "major", "serious"]

    lines = api.get("/api/mediation-lines/").json()["results"]
    assert [line["kind"] for line in lines] == ["people", "administrative", "judicial"]
    assert [(t["rank"], t["days"]) for t in lines[2]["tiers"]] == [(31, 30), (32, 15), (33, 30)]
    assert api.get("/api/mediation-lines/judicial/").json()["tiers"][1]["name"] == "审中调解"

    medical = api.get("/api/mediation-bodies/", {"category": MEDICAL}).json()["results"]
    assert {row["name"] for row in medical} == {people.medical.name, "凯里市卫生健康局"}
    committee = next(row for row in medical if row["name"] == people.medical.name)
    assert committee["tier"]["rank"] == 12 and [m["username"] for m in committee["members"]] == ["medical_mediator"]
    administrative = api.get("/api/mediation-bodies/", {"line": "administrative"}).json()["results"]
    assert administrative and {row["line"]["kind"] for row in administrative} == {"administrative"}
    assert {row["code"] for row in api.get("/api/courts/").json()["results"]} >= {"kaili", "qiandongnan"}

    api.force_authenticate(people.judge)  # a court account without a role
    assert api.get("/api/courts/").status_code == 200 and api.get("/api/mediation-bodies/").status_code == 200
    api.force_authenticate(make_user("no_role_at_all"))
    for path in ("dispute-categories", "dispute-scales", "mediation-lines", "mediation-bodies", "courts"):
        assert api.get(f"/api/{path}/").status_code == 403
    api.force_authenticate(None)
    assert api.get("/api/courts/").status_code in (401, 403)

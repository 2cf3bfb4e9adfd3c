"""The disputes services step by step: what each step writes, and every refusal, which
leaves nothing written (no transition, the version unchanged). Dates are passed in the
payloads (applied_on, reached_on, ...) relative to today rather than by moving the clock."""

import contextlib
import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from disputes.models import (
    Agreement,
    Dispute,
    DisputeParty,
    DisputeTransition,
    EntrustedMediation,
    EntrustedResult,
    FollowUp,
    JudicialConfirmation,
    MediationBody,
    Performance,
    Ruling,
    Source,
    Status,
)
from disputes.services import (
    CONFIRMATION_WINDOW_DAYS,
    RULING_DAYS,
    Party,
    court_entrust,
    dispute_party_revealed,
    dispute_register,
    effective_date,
)
from disputes.workflow import Step, available_steps
from kaili import crypto
from kaili.exceptions import Conflict
from kaili.models import AuditAction, AuditEntry, AuditOutcome
from populations.identity import make_identity_number
from tests.disputes.factories import MEDICAL, agree, category, court, make_body, register, step, tier, triage

NINE_TIERS = [11, 12, 13, 21, 22, 23, 31, 32, 33]


def today() -> datetime.date:
    return timezone.localdate()


def days_ago(n: int) -> datetime.date:
    return today() - datetime.timedelta(days=n)


def identity(sequence: int = 7) -> str:
    return make_identity_number("522601", datetime.date(1975, 3, 9), sequence, "M")


def footprint(dispute) -> tuple:
    """Everything a step may write about a dispute, to check a refusal wrote none of it."""
    row = Dispute.objects.get(pk=dispute.pk)
    agreements = Agreement.objects.filter(dispute=row)
    return (
        row.version,
        row.status,
        row.due_on,
        row.tier_id,
        row.body_id,
        row.closed_at,
        sorted(row.mediators.values_list("pk", flat=True)),
        DisputeTransition.objects.filter(dispute=row).count(),
        row.sessions.count(),
        sorted(agreements.values_list("pk", "superseded", "enforceable", "performance")),
        sorted(JudicialConfirmation.objects.filter(agreement__dispute=row).values_list("pk", "result", "accepted_on")),
        FollowUp.objects.filter(agreement__dispute=row).count(),
        list(EntrustedMediation.objects.filter(dispute=row).values_list("due_on", "extensions", "result")),
    )


@contextlib.contextmanager
def refused(dispute, error=ValidationError, *, field=None, code=None):
    """The block is refused with ``error`` (naming ``field`` / with ``code``) and leaves the
    dispute exactly as it was."""
    before = footprint(dispute)
    with pytest.raises(error) as raised:
        yield raised
    if field is not None:
        assert field in raised.value.message_dict, raised.value.message_dict
    if code is not None:
        assert raised.value.code == code
    assert footprint(dispute) == before


def at_tier(people, rank: int, grid=None):
    dispute = register(people.worker, grid or people.tree.grid_a)
    return triage(people.centre, dispute, people.mediator, rank=rank)


def steps_taken(dispute) -> list[str]:
    return list(DisputeTransition.objects.filter(dispute=dispute).order_by("at", "id").values_list("step", flat=True))


# --- registration ------------------------------------------------------------------------


def test_registration_writes_the_dispute_its_parties_and_one_transition(people):
    dispute = register(people.worker, people.tree.grid_a, amount="1200.5", place="北京路 3 号")
    assert dispute.status == Status.REGISTERED and dispute.version == 1
    assert dispute.registered_by == people.worker and dispute.source == Source.SCREENING
    assert dispute.people_count == 2 and dispute.group_risk is False
    assert str(dispute.amount) == "1200.50"
    assert dispute.due_on == today() + datetime.timedelta(days=3)  # the centre triages within 3 days
    assert [(p.role, p.name) for p in dispute.parties.all()] == [("applicant", "张三"), ("respondent", "李四")]
    assert steps_taken(dispute) == [Step.REGISTER]
    assert (
        AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="disputes.dispute", object_id=str(dispute.pk)).count()
        == 1
    )


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"name": "  "}, "name", "纠纷名称"),
        ({"summary": ""}, "summary", "简要情况"),
        ({"occurred_on": None}, "occurred_on", "发生日期"),
        ({"occurred_on": datetime.date.today() + datetime.timedelta(days=2)}, "occurred_on", "不能晚于今天"),
        ({"amount": "abc"}, "amount", "数字"),
        ({"risk": "extreme"}, "risk", "extreme"),
        ({"people_count": 0}, "people_count", "涉及人数"),
    ],
)
def test_a_wrong_field_is_named_and_nothing_is_registered(people, fields, field, words):
    with pytest.raises(ValidationError) as raised:
        register(people.worker, people.tree.grid_a, **fields)
    assert words in " ".join(raised.value.message_dict[field])
    assert not Dispute.objects.exists() and not DisputeParty.objects.exists()


def bad_checksum() -> str:
    number = identity()
    return number[:-1] + ("0" if number[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("parties", "words"),
    [
        ([], "至少填写一位当事人"),
        ([Party(role="respondent", name="李四")], "至少填写一位申请人"),
        ([Party(role="applicant", name="")], "第 1 位当事人"),
        ([Party(role="applicant", name="张三"), Party(role="respondent", name="李四", id_number="bad")], "第 2 位当事人"),
        ([Party(role="applicant", name="张三", id_number="CHECKSUM")], "第 1 位当事人"),
        ([Party(role="judge", name="张三")], "身份"),
    ],
)
def test_parties_are_checked_one_by_one(people, parties, words):
    parties = [
        Party(role=p.role, name=p.name, id_number=bad_checksum() if p.id_number == "CHECKSUM" else p.id_number) for p in parties
    ]
    with pytest.raises(ValidationError) as raised:
        register(people.worker, people.tree.grid_a, parties=parties)
    assert words in " ".join(raised.value.message_dict["parties"])
    assert not Dispute.objects.exists()


def test_an_identity_number_with_a_wrong_check_character_is_refused_by_name(people):
    with pytest.raises(ValidationError) as raised:
        register(people.worker, people.tree.grid_a, parties=[Party(role="applicant", name="张三", id_number=bad_checksum())])
    message = " ".join(raised.value.message_dict["parties"])
    assert "第 1 位当事人" in message and "校验" in message


def test_a_registry_person_is_a_party_only_inside_the_registrars_scope(people):
    from tests.populations.factories import make_person

    neighbour = make_person(unit=people.tree.unit_a, name="王五")
    elsewhere = make_person(unit=people.tree.unit_b, name="赵六")
    with pytest.raises(ValidationError) as raised:
        register(people.worker, people.tree.grid_a, parties=[Party(role="applicant", person=elsewhere)])
    assert "不在您的管辖范围内" in " ".join(raised.value.message_dict["parties"])
    dispute = register(people.worker, people.tree.grid_a, parties=[Party(role="applicant", person=neighbour)])
    party = dispute.parties.get()
    assert party.name == "王五" and party.person == neighbour
    assert party.id_number_masked == neighbour.id_number_masked and party.id_number_encrypted == ""


@pytest.mark.parametrize(("who", "where", "words"), [("worker", "grid_b", "不在您的管辖范围内"), ("centre", "t1", "街道")])
def test_a_dispute_belongs_to_a_village_grid_or_unit_inside_the_scope(people, who, where, words):
    with pytest.raises(ValidationError) as raised:
        register(getattr(people, who), getattr(people.tree, where))
    assert words in " ".join(raised.value.message_dict["grid"])
    assert not Dispute.objects.exists()


def test_the_same_client_key_sent_again_returns_the_first_dispute(people):
    key = uuid.uuid4()
    first = register(people.worker, people.tree.grid_a, client_key=key)
    again, created = dispute_register(
        actor=people.worker,
        category=category(),
        grid=people.tree.grid_a,
        name="再次提交",
        summary="手机没收到回复，又点了一次。",
        occurred_on=days_ago(1),
        parties=[Party(role="applicant", name="张三")],
        client_key=key,
    )
    assert (again.pk, created) == (first.pk, False)
    assert Dispute.objects.count() == 1 and DisputeTransition.objects.count() == 1


@pytest.mark.parametrize(
    ("count", "group_risk", "expected"), [(4, None, False), (5, None, True), (30, False, False), (2, True, True)]
)
def test_a_group_dispute_is_flagged_from_five_people_and_the_flag_can_be_changed(people, count, group_risk, expected):
    dispute = register(people.worker, people.tree.grid_a, people_count=count, group_risk=group_risk)
    assert dispute.group_risk is expected


def test_identity_numbers_are_stored_encrypted_and_shown_masked(people):
    number = identity()
    dispute = register(
        people.worker,
        people.tree.grid_a,
        parties=[
            Party(role="applicant", name="张三", id_number=number, phone="13800001111"),
            Party(role="respondent", name="李四"),
        ],
    )
    stored = DisputeParty.objects.filter(dispute=dispute, role="applicant").values().get()
    assert number not in str(stored) and "13800001111" not in str(stored)
    assert stored["id_number_masked"] == number[:6] + "********" + number[-4:]
    assert stored["id_number_hash"] == crypto.lookup_hash(number)
    assert stored["phone_masked"] != "13800001111" and stored["phone_masked"].endswith("1111")
    assert DisputeParty.objects.get(pk=stored["id"]).identity_number == number


# --- triage and routing -----------------------------------------------------------------


def test_triage_sends_the_dispute_to_a_tier_with_its_mediators_and_its_days(people):
    dispute = register(people.worker, people.tree.grid_a)
    dispute = triage(people.centre, dispute, people.mediator, risk="medium", note="邻里矛盾，先由调委会调解")
    assert dispute.status == Status.MEDIATING and dispute.version == 2
    assert dispute.tier.rank == 12 and dispute.line.kind == "people"
    assert list(dispute.mediators.all()) == [people.mediator]
    assert dispute.due_on == today() + datetime.timedelta(days=tier(12).days)
    assert dispute.tier_started_on == today() and dispute.accepted_at is not None and dispute.risk == "medium"
    move = dispute.transitions.get(step=Step.TRIAGE)
    assert (move.from_status, move.to_status, move.actor) == (Status.REGISTERED, Status.MEDIATING, people.centre)
    assert move.note == "邻里矛盾，先由调委会调解" and move.details["tier"] == str(tier(12))


def test_triage_needs_a_tier(people):
    dispute = register(people.worker, people.tree.grid_a)
    with refused(dispute, field="tier"):
        step(people.centre, dispute, Step.TRIAGE, mediators=[people.mediator])


def test_a_mediator_outside_the_disputes_area_and_not_in_the_body_is_refused(people):
    dispute = register(people.worker, people.tree.grid_a)
    with refused(dispute, field="mediators") as raised:
        triage(people.centre, dispute, people.mediator_c)
    # named by account: the name of someone of another area is not the caller's to learn
    assert people.mediator_c.username in raised.value.message_dict["mediators"][0]


def test_a_body_of_another_line_than_the_tier_is_refused(people):
    bureau = MediationBody.objects.get(name="凯里市卫生健康局")  # administrative line
    dispute = register(people.worker, people.tree.grid_a)
    with refused(dispute, field="body"):
        step(people.centre, dispute, Step.TRIAGE, tier=tier(12), body=bureau, mediators=[people.mediator])


def test_triage_needs_mediators_or_a_body(people):
    dispute = register(people.worker, people.tree.grid_a)
    with refused(dispute, field="mediators"):
        step(people.centre, dispute, Step.TRIAGE, tier=tier(12))


@pytest.mark.parametrize(("offset", "words"), [(-1, "不能早于今天"), (30 + 61, "过长")])
def test_a_deadline_in_the_past_or_far_beyond_the_tiers_days_is_refused(people, offset, words):
    dispute = register(people.worker, people.tree.grid_a)
    with refused(dispute, field="due_on") as raised:
        triage(people.centre, dispute, people.mediator, due_on=today() + datetime.timedelta(days=offset))
    assert words in raised.value.message_dict["due_on"][0]


def test_a_deadline_chosen_by_the_centre_is_kept(people):
    dispute = register(people.worker, people.tree.grid_a)
    due = today() + datetime.timedelta(days=10)
    assert triage(people.centre, dispute, people.mediator, due_on=due.isoformat()).due_on == due


def test_a_medical_dispute_goes_straight_to_the_medical_committee_whose_members_mediate(people):
    dispute = register(people.worker, people.tree.grid_a, code=MEDICAL, name="术后感染赔偿纠纷")
    dispute = step(people.centre, dispute, Step.TRIAGE, body=people.medical, note="医疗纠纷，由医调委调解")
    assert dispute.body == people.medical and dispute.tier == people.medical.tier
    assert dispute.tier.rank == 12 and list(dispute.mediators.all()) == []
    # a member of the committee mediates without any grid role; an outsider may not
    assert Step.RECORD_SESSION in available_steps(people.industry_mediator, dispute)
    dispute = step(people.industry_mediator, dispute, Step.RECORD_SESSION, outcome="partial", place="医调委", notes="初步沟通")
    assert dispute.sessions.get().recorded_by == people.industry_mediator
    with refused(dispute, PermissionDenied):
        step(people.mediator, dispute, Step.RECORD_SESSION, outcome="partial", place="村委会", notes="无权")


def test_the_centre_routes_a_failed_dispute_to_another_line(people):
    dispute = at_tier(people, 12)
    dispute = step(people.mediator, dispute, Step.RECORD_SESSION, outcome="failed", place="村委会", notes="分歧大")
    dispute = step(people.centre, dispute, Step.ROUTE, tier=tier(21), mediators=[people.mediator], note="转行政调解")
    assert dispute.status == Status.MEDIATING and dispute.tier.rank == 21
    assert dispute.passed_upward is True  # it left the people's mediation of the village


def test_triage_straight_to_another_line_is_not_passing_upward(people):
    assert at_tier(people, 21).passed_upward is False


# --- sessions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "status", "closed"),
    [
        ("failed", Status.FAILED, False),
        ("withdrawn", Status.WITHDRAWN, True),
        ("agreement", Status.MEDIATING, False),
        ("partial", Status.MEDIATING, False),
    ],
)
def test_a_session_outcome_moves_the_dispute(people, outcome, status, closed):
    dispute = at_tier(people, 12)
    dispute = step(
        people.mediator,
        dispute,
        Step.RECORD_SESSION,
        outcome=outcome,
        method="five_elders",
        place="村委会",
        notes="双方到场陈述",
        held_on=today(),
    )
    assert dispute.status == status
    assert (dispute.closed_at is not None) is closed
    if closed:
        assert dispute.due_on is None and dispute.closing_note == "双方到场陈述"
    session = dispute.sessions.get()
    assert (session.outcome, session.method, session.tier.rank) == (outcome, "five_elders", 12)
    assert list(session.mediators.all()) == [people.mediator]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"method": "magic"}, "method"),
        ({"place": ""}, "place"),
        ({"notes": ""}, "notes"),
        ({"held_on": "2026-13-01"}, "held_on"),
        ({"held_on": datetime.date.today() + datetime.timedelta(days=1)}, "held_on"),
    ],
)
def test_a_session_with_a_wrong_field_is_refused(people, payload, field):
    dispute = at_tier(people, 12)
    payload = {"outcome": "partial", "place": "村委会", "notes": "记录", **payload}
    with refused(dispute, field=field):
        step(people.mediator, dispute, Step.RECORD_SESSION, **payload)


def test_a_session_on_a_registered_dispute_is_an_illegal_step(people):
    dispute = register(people.worker, people.tree.grid_a)
    with refused(dispute, Conflict, code="illegal_step"):
        step(people.centre, dispute, Step.RECORD_SESSION, outcome="partial", place="村委会", notes="未分流")


# --- escalation --------------------------------------------------------------------------


def test_escalation_climbs_all_nine_tiers_in_order_and_stops_after_the_last(people):
    dispute = at_tier(people, 11)
    ranks, passed = [dispute.tier.rank], [dispute.passed_upward]
    for _rung in range(8):
        dispute = step(people.mediator, dispute, Step.RECORD_SESSION, outcome="failed", place="调解室", notes="不成")
        # crossing into the next line needs that line's mediators: the same one, for the test
        dispute = step(people.mediator, dispute, Step.ESCALATE, reason="本级调解不成", mediators=[people.mediator])
        ranks.append(dispute.tier.rank)
        passed.append(dispute.passed_upward)
        assert dispute.status == Status.MEDIATING
        assert dispute.due_on == today() + datetime.timedelta(days=dispute.tier.days)
    assert ranks == NINE_TIERS
    assert passed == [False, False, False, True, True, True, True, True, True]
    assert dispute.escalations == 8 and dispute.line.kind == "judicial"
    assert Step.ESCALATE not in available_steps(people.centre, dispute)
    with refused(dispute, Conflict, code="illegal_step"):
        step(people.mediator, dispute, Step.ESCALATE, reason="已是最后一级")


def test_escalation_goes_one_tier_at_a_time(people):
    dispute = at_tier(people, 11)
    with refused(dispute, field="tier") as raised:
        step(people.mediator, dispute, Step.ESCALATE, reason="跳级", tier=tier(13))
    assert str(tier(12)) in raised.value.message_dict["tier"][0]


def test_escalation_needs_a_reason_and_a_tier_to_start_from(people):
    dispute = at_tier(people, 11)
    with refused(dispute, field="reason"):
        step(people.mediator, dispute, Step.ESCALATE, reason=" ")
    registered = register(people.worker, people.tree.grid_a)
    with refused(registered, Conflict, code="illegal_step"):
        step(people.centre, registered, Step.ESCALATE, reason="尚未分流")


def test_escalation_within_a_line_stays_with_its_body_and_mediators(people):
    committee = make_body(members=[people.mediator], node=people.tree.zone_a)
    dispute = register(people.worker, people.tree.grid_a)
    dispute = step(people.centre, dispute, Step.TRIAGE, tier=tier(12), body=committee, mediators=[people.mediator])
    dispute = step(people.mediator, dispute, Step.ESCALATE, reason="调委会调解不成")
    assert dispute.tier.rank == 13 and dispute.body == committee and list(dispute.mediators.all()) == [people.mediator]
    with refused(dispute, field="mediators") as raised:
        step(people.mediator, dispute, Step.ESCALATE, reason="村主任调解不成")
    assert "行政调解" in raised.value.message_dict["mediators"][0]
    bureau = MediationBody.objects.get(name="凯里市人力资源和社会保障局")
    dispute = step(people.mediator, dispute, Step.ESCALATE, reason="村主任调解不成", body=bureau)
    # the village's mediators leave it with the line: the bureau's members mediate now
    assert (dispute.tier.rank, dispute.body, dispute.passed_upward) == (21, bureau, True)
    assert list(dispute.mediators.all()) == []


# --- extension ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"consent": False}, "consent"),
        ({"days": 0}, "days"),
        ({"days": 61}, "days"),
        ({"days": "十"}, "days"),
        ({"reason": ""}, "reason"),
    ],
)
def test_an_extension_needs_consent_a_reason_and_a_sensible_number_of_days(people, payload, field):
    dispute = at_tier(people, 12)
    payload = {"consent": True, "days": 15, "reason": "当事人外出务工", **payload}
    with refused(dispute, field=field):
        step(people.mediator, dispute, Step.EXTEND, **payload)


def test_an_extension_moves_the_deadline_without_changing_the_status(people):
    dispute = at_tier(people, 12)
    due = dispute.due_on
    dispute = step(people.mediator, dispute, Step.EXTEND, consent=True, days=15, reason="双方同意延期")
    assert dispute.due_on == due + datetime.timedelta(days=15) and dispute.extensions == 1
    assert dispute.status == Status.MEDIATING
    assert dispute.transitions.get(step=Step.EXTEND).details == {"days": 15, "until": dispute.due_on.isoformat()}


# --- agreement ---------------------------------------------------------------------------


def test_an_oral_agreement_takes_effect_the_day_it_is_reached(people):
    dispute = register(people.worker, people.tree.grid_a, occurred_on=days_ago(20))
    dispute = agree(people.centre, dispute, people.mediator, reached_on=days_ago(5), performance_due=days_ago(1))
    agreement = dispute.agreement
    assert dispute.status == Status.AGREED and agreement.effective_on == days_ago(5)
    assert (agreement.tier.rank, agreement.form, agreement.performance) == (12, "oral", Performance.PENDING)
    assert dispute.due_on == days_ago(1) + datetime.timedelta(days=15)  # the follow-up visit


@pytest.mark.parametrize(("signed", "sealed", "effective"), [(8, 5, 5), (3, 6, 3), (7, 7, 7)])
def test_a_written_agreement_takes_effect_when_it_is_both_signed_and_sealed(people, signed, sealed, effective):
    dispute = register(people.worker, people.tree.grid_a, occurred_on=days_ago(20))
    dispute = agree(
        people.centre,
        dispute,
        people.mediator,
        form="written",
        reached_on=days_ago(10),
        signed_on=days_ago(signed),
        sealed_on=days_ago(sealed),
    )
    assert dispute.agreement.effective_on == days_ago(effective)
    assert effective_date("written", days_ago(10), days_ago(signed), days_ago(sealed)) == days_ago(effective)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sealed_on": None}, "sealed_on"),
        ({"parties_signed": ""}, "parties_signed"),
        ({"mediator_signed": ""}, "mediator_signed"),
        ({"signed_on": "BEFORE"}, "signed_on"),
        ({"sealed_on": "BEFORE"}, "sealed_on"),
    ],
)
def test_a_written_agreement_without_signatures_or_seal_is_refused(people, payload, field):
    dispute = at_tier(people, 12)
    payload = {key: (days_ago(5) if value == "BEFORE" else value) for key, value in payload.items()}
    full = {
        "form": "written",
        "terms": "赔偿 500 元",
        "reached_on": days_ago(2),
        "parties_signed": "张三、李四",
        "mediator_signed": "调解员",
        "sealed_on": days_ago(1),
    }
    with refused(dispute, field=field):
        step(people.mediator, dispute, Step.RECORD_AGREEMENT, **{**full, **payload})


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"form": "video"}, "form"),
        ({"terms": ""}, "terms"),
        ({"reached_on": datetime.date.today() + datetime.timedelta(days=1)}, "reached_on"),
        ({"reached_on": "OCCURRED"}, "reached_on"),
        ({"amount": "-1"}, "amount"),
        ({"performance_due": "EARLY"}, "performance_due"),
    ],
)
def test_an_agreement_with_a_wrong_field_is_refused(people, payload, field):
    dispute = register(people.worker, people.tree.grid_a, occurred_on=days_ago(10))
    dispute = triage(people.centre, dispute, people.mediator)
    dates = {"OCCURRED": days_ago(11), "EARLY": days_ago(3)}
    payload = {key: dates.get(value, value) if isinstance(value, str) else value for key, value in payload.items()}
    with refused(dispute, field=field):
        step(
            people.mediator,
            dispute,
            Step.RECORD_AGREEMENT,
            **{"form": "oral", "terms": "和解", "reached_on": days_ago(2), **payload},
        )


# --- judicial confirmation ---------------------------------------------------------------


def agreed_days_ago(people, days: int, rank: int = 12):
    dispute = register(people.worker, people.tree.grid_a, occurred_on=days_ago(days + 10))
    dispute = triage(people.centre, dispute, people.mediator, rank=rank)
    return agree(people.centre, dispute, people.mediator, reached_on=days_ago(days))


def apply(people, dispute, applied_on, court_=None):
    return step(
        people.mediator,
        dispute,
        Step.APPLY_CONFIRMATION,
        court=court_ or people.court,
        applicants="张三、李四",
        applied_on=applied_on,
    )


def test_confirmation_is_asked_within_30_days_of_the_agreement_taking_effect(people):
    late = agreed_days_ago(people, CONFIRMATION_WINDOW_DAYS + 1)
    with refused(late, field="applied_on") as raised:
        apply(people, late, today())  # the 31st day
    assert "30 日内" in raised.value.message_dict["applied_on"][0]
    on_time = agreed_days_ago(people, CONFIRMATION_WINDOW_DAYS + 1)
    on_time = apply(people, on_time, days_ago(1))  # the 30th day
    confirmation = JudicialConfirmation.objects.get(agreement__dispute=on_time)
    assert on_time.status == Status.CONFIRMING and confirmation.result == Ruling.PENDING
    assert confirmation.accept_due == days_ago(1) + datetime.timedelta(days=3) == on_time.due_on


def test_confirmation_cannot_be_asked_before_the_agreement_takes_effect(people):
    dispute = agreed_days_ago(people, 5)
    with refused(dispute, field="applied_on"):
        apply(people, dispute, days_ago(6))


@pytest.mark.parametrize(("payload", "field"), [({"court": None}, "court"), ({"applicants": ""}, "applicants")])
def test_confirmation_needs_a_court_and_the_joint_applicants(people, payload, field):
    dispute = agreed_days_ago(people, 5)
    with refused(dispute, field=field):
        step(people.mediator, dispute, Step.APPLY_CONFIRMATION, **{"court": people.court, "applicants": "张三、李四", **payload})


def test_a_judicial_line_agreement_is_not_sent_for_confirmation(people):
    dispute = agreed_days_ago(people, 5, rank=31)
    assert Step.APPLY_CONFIRMATION not in available_steps(people.centre, dispute)
    with refused(dispute, Conflict, code="illegal_step"):
        apply(people, dispute, days_ago(1))


def confirming(people, effective_days_ago: int = 40, applied_after: int = 1):
    dispute = agreed_days_ago(people, effective_days_ago)
    return apply(people, dispute, days_ago(effective_days_ago - applied_after))


def test_the_court_accepts_then_confirms_within_fifteen_days_and_the_agreement_is_enforceable(people):
    dispute = confirming(people)  # applied 39 days ago
    dispute = step(people.judge, dispute, Step.RECORD_RULING, result="pending", accepted_on=days_ago(37))
    confirmation = JudicialConfirmation.objects.get(agreement__dispute=dispute)
    assert dispute.status == Status.CONFIRMING and confirmation.accepted_on == days_ago(37)
    assert confirmation.ruling_due == days_ago(37) + datetime.timedelta(days=RULING_DAYS) == dispute.due_on
    dispute = step(people.judge, dispute, Step.RECORD_RULING, result="confirmed", ruled_on=days_ago(22))
    confirmation.refresh_from_db()
    assert dispute.status == Status.AGREED and dispute.agreement.enforceable
    assert (confirmation.result, confirmation.ruled_on, confirmation.late) == (Ruling.CONFIRMED, days_ago(22), False)
    assert Step.APPLY_CONFIRMATION not in available_steps(people.centre, dispute)


@pytest.mark.parametrize("result", ["pending", "not_accepted"])
def test_an_accepted_application_is_not_accepted_or_turned_away_afterwards(people, result):
    dispute = confirming(people)
    dispute = step(people.judge, dispute, Step.RECORD_RULING, result="pending", accepted_on=days_ago(37))
    with refused(dispute, field="result"):
        step(people.judge, dispute, Step.RECORD_RULING, result=result, accepted_on=days_ago(36), reason="重复")


@pytest.mark.parametrize(
    ("payload", "late"),
    [
        ({"result": "pending", "accepted_on": "applied+4"}, True),
        ({"result": "pending", "accepted_on": "applied+3"}, False),
        ({"result": "confirmed", "accepted_on": "applied+2", "ruled_on": "applied+18"}, True),
        ({"result": "confirmed", "accepted_on": "applied+2", "ruled_on": "applied+17"}, False),
        ({"result": "not_accepted", "ruled_on": "applied+4", "reason": "不属于本院管辖", "then": "mediation"}, True),
    ],
)
def test_a_court_beyond_three_days_to_accept_or_fifteen_to_rule_is_flagged_late(people, payload, late):
    dispute = confirming(people, effective_days_ago=40, applied_after=1)
    applied = days_ago(39)
    payload = {
        key: applied + datetime.timedelta(days=int(value.split("+")[1])) if str(value).startswith("applied+") else value
        for key, value in payload.items()
    }
    step(people.judge, dispute, Step.RECORD_RULING, **payload)
    assert JudicialConfirmation.objects.get(agreement__dispute=dispute).late is late


@pytest.mark.parametrize("result", ["not_accepted", "rejected"])
def test_a_refusal_by_the_court_needs_a_reason(people, result):
    dispute = confirming(people)
    with refused(dispute, field="reason"):
        step(people.judge, dispute, Step.RECORD_RULING, result=result, accepted_on=days_ago(37), ruled_on=days_ago(30))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"result": "maybe"}, "result"),
        ({"result": "pending", "accepted_on": "BEFORE"}, "accepted_on"),
        ({"result": "confirmed", "accepted_on": "APPLIED", "ruled_on": "BEFORE"}, "ruled_on"),
        ({"result": "rejected", "reason": "违反法律规定", "then": "nowhere"}, "then"),
    ],
)
def test_a_ruling_with_a_wrong_field_is_refused(people, payload, field):
    dispute = confirming(people)
    dates = {"BEFORE": days_ago(45), "APPLIED": days_ago(39)}
    payload = {key: dates.get(value, value) for key, value in payload.items()}
    with refused(dispute, field=field):
        step(people.judge, dispute, Step.RECORD_RULING, **payload)


def test_a_rejected_agreement_goes_back_to_mediation_and_a_new_one_can_be_reached(people):
    dispute = confirming(people)
    refused_agreement = dispute.agreement
    dispute = step(
        people.judge,
        dispute,
        Step.RECORD_RULING,
        result="rejected",
        accepted_on=days_ago(38),
        ruled_on=days_ago(30),
        reason="协议内容损害第三人利益",
        then="mediation",
    )
    refused_agreement.refresh_from_db()
    assert dispute.status == Status.MEDIATING and dispute.agreement is None
    assert refused_agreement.superseded and not refused_agreement.enforceable
    assert dispute.due_on == today() + datetime.timedelta(days=dispute.tier.days)
    assert JudicialConfirmation.objects.get(agreement=refused_agreement).reason == "协议内容损害第三人利益"
    dispute = step(people.mediator, dispute, Step.RECORD_AGREEMENT, form="oral", terms="重新达成：赔偿 800 元")
    assert dispute.status == Status.AGREED and dispute.agreement.terms == "重新达成：赔偿 800 元"
    assert dispute.agreements.count() == 2
    assert Step.APPLY_CONFIRMATION in available_steps(people.mediator, dispute)


def test_a_rejected_agreement_may_go_to_litigation_and_the_dispute_closes_unresolved(people):
    dispute = confirming(people)
    dispute = step(
        people.judge,
        dispute,
        Step.RECORD_RULING,
        result="rejected",
        accepted_on=days_ago(38),
        ruled_on=days_ago(30),
        reason="违反法律强制性规定",
        then="litigation",
    )
    assert dispute.status == Status.UNRESOLVED and dispute.closed_at is not None and dispute.due_on is None
    assert dispute.other_routes == ["litigation"] and dispute.closing_note == "违反法律强制性规定"


def test_a_court_that_does_not_accept_sends_the_parties_back_to_mediation(people):
    dispute = confirming(people)
    dispute = step(people.judge, dispute, Step.RECORD_RULING, result="not_accepted", ruled_on=days_ago(38), reason="材料不全")
    confirmation = JudicialConfirmation.objects.get(agreement__dispute=dispute)
    assert confirmation.result == Ruling.NOT_ACCEPTED and confirmation.accepted_on is None
    assert dispute.status == Status.MEDIATING and dispute.agreement is None


# --- follow-up and close -----------------------------------------------------------------


def test_an_agreement_is_followed_up_before_it_closes_resolved(people):
    dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    with refused(dispute, field="note") as raised:
        step(people.centre, dispute, Step.CLOSE)
    assert "回访" in raised.value.message_dict["note"][0]
    dispute = step(people.worker, dispute, Step.FOLLOW_UP, performance="performed", satisfaction=5, note="已清理排水沟")
    assert dispute.status == Status.AGREED and dispute.satisfaction == 5
    assert dispute.agreement.performance == Performance.PERFORMED
    dispute = step(people.mediator, dispute, Step.CLOSE)
    assert dispute.status == Status.RESOLVED and dispute.closed_at is not None and dispute.due_on is None
    assert dispute.closing_note == "协议已履行，化解结案。"


@pytest.mark.parametrize(
    ("performance", "performance_due", "waits"),
    [("performing", 20, 20 + 15), ("performing", None, 15), ("performing", -5, 15), ("performed", 20, 3), ("breached", 20, 3)],
)
def test_after_a_follow_up_the_dispute_waits_for_the_next_visit_or_for_its_close(people, performance, performance_due, waits):
    due = None if performance_due is None else today() + datetime.timedelta(days=performance_due)
    dispute = register(people.worker, people.tree.grid_a, occurred_on=days_ago(30))
    dispute = agree(people.centre, dispute, people.mediator, reached_on=days_ago(10), performance_due=due)
    dispute = step(people.mediator, dispute, Step.FOLLOW_UP, performance=performance, note="回访")
    assert dispute.due_on == today() + datetime.timedelta(days=waits)


def test_a_breached_agreement_does_not_close_resolved_but_may_close_unresolved(people):
    dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    dispute = step(people.mediator, dispute, Step.FOLLOW_UP, performance="breached", note="李家拒不履行")
    with refused(dispute, field="note") as raised:
        step(people.centre, dispute, Step.CLOSE, note="结案")
    assert "未履行" in raised.value.message_dict["note"][0]
    dispute = step(people.centre, dispute, Step.CLOSE, unresolved=True, routes=["litigation"], note="告知可向法院起诉")
    assert dispute.status == Status.UNRESOLVED and dispute.other_routes == ["litigation"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"routes": []}, "routes"),
        ({"routes": ["fight"]}, "routes"),
        ({"note": ""}, "note"),
    ],
)
def test_an_unresolved_close_tells_the_parties_other_routes_and_why(people, payload, field):
    dispute = at_tier(people, 12)
    dispute = step(people.mediator, dispute, Step.RECORD_SESSION, outcome="failed", place="村委会", notes="不成")
    with refused(dispute, field=field):
        step(people.mediator, dispute, Step.CLOSE, **{"routes": ["litigation", "arbitration"], "note": "双方分歧大", **payload})
    dispute = step(people.mediator, dispute, Step.CLOSE, routes=["litigation", "arbitration"], note="双方分歧大")
    assert dispute.status == Status.UNRESOLVED and dispute.other_routes == ["litigation", "arbitration"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"performance": "pending"}, "performance"),
        ({"satisfaction": 6}, "satisfaction"),
        ({"satisfaction": "good"}, "satisfaction"),
        ({"note": ""}, "note"),
        ({"visited_on": "BEFORE"}, "visited_on"),
    ],
)
def test_a_follow_up_with_a_wrong_field_is_refused(people, payload, field):
    dispute = register(people.worker, people.tree.grid_a, occurred_on=days_ago(20))
    dispute = agree(people.centre, dispute, people.mediator, reached_on=days_ago(5))
    payload = {key: days_ago(6) if value == "BEFORE" else value for key, value in payload.items()}
    with refused(dispute, field=field):
        step(people.mediator, dispute, Step.FOLLOW_UP, **{"performance": "performing", "note": "履行中", **payload})


def test_a_dispute_is_withdrawn_with_a_reason_while_it_is_open(people):
    dispute = register(people.worker, people.tree.grid_a)
    with refused(dispute, field="reason"):
        step(people.centre, dispute, Step.WITHDRAW)
    dispute = step(people.centre, dispute, Step.WITHDRAW, reason="申请人撤回申请")
    assert dispute.status == Status.WITHDRAWN and dispute.closed_at is not None and dispute.closing_note == "申请人撤回申请"
    with refused(dispute, Conflict, code="illegal_step"):
        step(people.centre, dispute, Step.WITHDRAW, reason="再次撤回")


def test_an_agreed_dispute_is_not_withdrawn(people):
    dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    with refused(dispute, Conflict, code="illegal_step"):
        step(people.mediator, dispute, Step.WITHDRAW, reason="撤回")


def test_a_step_on_a_version_the_actor_did_not_see_is_refused(people):
    dispute = register(people.worker, people.tree.grid_a)
    seen = dispute.version
    dispute = triage(people.centre, dispute, people.mediator)
    with refused(dispute, Conflict, code="changed"):
        step(people.centre, dispute, Step.ROUTE, tier=tier(13), mediators=[people.mediator], version=seen)
    dispute = step(people.centre, dispute, Step.ROUTE, tier=tier(13), mediators=[people.mediator], version=dispute.version)
    assert dispute.tier.rank == 13


def test_an_unknown_step_is_refused(people):
    dispute = register(people.worker, people.tree.grid_a)
    with refused(dispute, Conflict, code="illegal_step"):
        step(people.centre, dispute, "teleport")


def test_every_step_is_one_transition_row_with_an_audit_row(people):
    dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    assert steps_taken(dispute) == [Step.REGISTER, Step.TRIAGE, Step.RECORD_AGREEMENT]
    statuses = list(dispute.transitions.order_by("at", "id").values_list("from_status", "to_status"))
    assert statuses == [("", Status.REGISTERED), (Status.REGISTERED, Status.MEDIATING), (Status.MEDIATING, Status.AGREED)]
    assert (
        AuditEntry.objects.filter(
            action=AuditAction.TRANSITION, object_type="disputes.dispute", object_id=str(dispute.pk)
        ).count()
        == 2
    )


# --- lateness ----------------------------------------------------------------------------


def test_a_step_taken_after_the_deadline_is_late_and_the_dispute_stays_marked(people):
    dispute = at_tier(people, 12)
    Dispute.objects.filter(pk=dispute.pk).update(due_on=days_ago(1))
    dispute = step(people.centre, dispute, Step.ROUTE, tier=tier(13), mediators=[people.mediator])
    move = dispute.transitions.get(step=Step.ROUTE)
    assert (move.late, move.due_on, dispute.late) == (True, days_ago(1), True)
    dispute = step(people.mediator, dispute, Step.ESCALATE, reason="不成", mediators=[people.mediator])
    assert dispute.transitions.get(step=Step.ESCALATE).late is False and dispute.late is True


@pytest.mark.parametrize(("reached", "late"), [(3, False), (2, False), (1, True)])
def test_an_agreement_is_late_by_the_day_it_was_reached_not_the_day_it_is_recorded(people, reached, late):
    dispute = at_tier(people, 12)
    Dispute.objects.filter(pk=dispute.pk).update(due_on=days_ago(2), occurred_on=days_ago(10))
    dispute = step(people.mediator, dispute, Step.RECORD_AGREEMENT, form="oral", terms="和解", reached_on=days_ago(reached))
    assert dispute.transitions.get(step=Step.RECORD_AGREEMENT).late is late and dispute.late is late


def test_a_court_acting_in_time_but_recorded_later_does_not_make_the_dispute_late(people):
    dispute = confirming(people)  # applied 39 days ago: accept by 36 days ago
    dispute = step(people.judge, dispute, Step.RECORD_RULING, result="pending", accepted_on=days_ago(37))
    dispute = step(people.judge, dispute, Step.RECORD_RULING, result="confirmed", ruled_on=days_ago(25))
    assert not dispute.late
    assert list(dispute.transitions.filter(step=Step.RECORD_RULING).values_list("late", flat=True)) == [False, False]
    late = confirming(people)
    late = step(people.judge, late, Step.RECORD_RULING, result="pending", accepted_on=days_ago(35))
    # the court's lateness is the court's: kept on the confirmation, not on the mediation
    assert JudicialConfirmation.objects.get(agreement__dispute=late).late and not late.late


# --- entrusted mediation -----------------------------------------------------------------


def entrust(people, number="(2026)黔2601民初101号", referral="pre_filing", procedure="", actor=None, **fields):
    body = make_body("北京路社区人民调解委员会", members=[people.mediator], node=people.tree.zone_a)
    fields.setdefault("mediators", [people.mediator])
    fields.setdefault("received_on", days_ago(2))
    return court_entrust(
        actor=actor or people.judge,
        court=people.court,
        court_case_number=number,
        referral=referral,
        procedure=procedure,
        body=body,
        name="房屋租赁合同纠纷",
        category=category("05"),
        grid=people.tree.grid_a,
        summary="租客拖欠房租三个月。",
        occurred_on=days_ago(60),
        parties=[Party(role="applicant", name="房东张某"), Party(role="respondent", kind="person", name="租客李某")],
        **fields,
    )


@pytest.mark.parametrize(
    ("referral", "procedure", "days"), [("pre_filing", "", 30), ("after_filing", "ordinary", 15), ("after_filing", "simple", 7)]
)
def test_a_court_entrusts_a_case_with_the_court_linked_deadline(people, referral, procedure, days):
    dispute = entrust(people, referral=referral, procedure=procedure)
    entrusted = dispute.entrusted
    assert dispute.source == Source.COURT and dispute.status == Status.MEDIATING
    assert entrusted.due_on == days_ago(2) + datetime.timedelta(days=days) == dispute.due_on
    assert dispute.body == entrusted.body and dispute.tier.rank == 12 and list(dispute.mediators.all()) == [people.mediator]
    assert entrusted.result == EntrustedResult.PENDING and entrusted.entrusted_by == people.judge
    assert steps_taken(dispute) == [Step.REGISTER, Step.ENTRUST]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"referral": "after_filing", "procedure": ""}, "procedure"),
        ({"referral": "sometime"}, "referral"),
        ({"number": " "}, "court_case_number"),
        ({"received_on": datetime.date.today() + datetime.timedelta(days=1)}, "received_on"),
    ],
)
def test_an_entrusted_case_with_a_wrong_field_is_refused(people, fields, field):
    with pytest.raises(ValidationError) as raised:
        entrust(people, **fields)
    assert field in raised.value.message_dict
    assert not Dispute.objects.exists() and not EntrustedMediation.objects.exists()


def test_a_court_case_is_entrusted_once(people):
    entrust(people)
    with pytest.raises(ValidationError) as raised:
        entrust(people)
    assert "已委托" in raised.value.message_dict["court_case_number"][0]
    assert Dispute.objects.count() == 1


def test_only_the_courts_own_accounts_entrust(people):
    with pytest.raises(PermissionDenied):
        entrust(people, actor=people.centre)
    assert not Dispute.objects.exists()


def test_entrusted_mediators_are_checked_like_any_assignment(people):
    with pytest.raises(ValidationError) as raised:
        entrust(people, mediators=[people.mediator_c])
    assert "mediators" in raised.value.message_dict
    assert not Dispute.objects.exists() and not EntrustedMediation.objects.exists()


def test_the_court_extends_an_entrusted_mediation_with_consent_and_both_deadlines_move(people):
    dispute = entrust(people, referral="after_filing", procedure="simple")
    due = dispute.entrusted.due_on
    with refused(dispute, field="consent"):
        step(people.judge, dispute, Step.EXTEND, days=7, reason="当事人申请延期")
    dispute = step(people.judge, dispute, Step.EXTEND, days=7, reason="当事人申请延期", consent=True)
    entrusted = EntrustedMediation.objects.get(dispute=dispute)
    assert entrusted.due_on == max(due, today()) + datetime.timedelta(days=7) and entrusted.extensions == 1
    assert dispute.due_on == max(due, today()) + datetime.timedelta(days=7) and dispute.extensions == 1


def test_another_courts_account_does_not_extend(people):
    from tests.factories import make_user

    other = make_user("court_qdn")
    court("qiandongnan").members.add(other)
    dispute = entrust(people)
    with refused(dispute, PermissionDenied):
        step(other, dispute, Step.EXTEND, days=7, reason="延期", consent=True)


def test_closing_an_entrusted_dispute_returns_its_result_to_the_court(people):
    settled = entrust(people, number="A-1")
    settled = agree(people.centre, settled, people.mediator)
    settled = step(people.mediator, settled, Step.FOLLOW_UP, performance="performed", note="已付清房租")
    step(people.mediator, settled, Step.CLOSE)
    failed = entrust(people, number="A-2")
    step(people.mediator, failed, Step.CLOSE, routes=["litigation"], note="调解不成，退回法院审理")
    withdrawn = entrust(people, number="A-3")
    step(people.mediator, withdrawn, Step.WITHDRAW, reason="原告撤诉")
    results = dict(EntrustedMediation.objects.values_list("court_case_number", "result"))
    assert results == {"A-1": EntrustedResult.SETTLED, "A-2": EntrustedResult.FAILED, "A-3": EntrustedResult.WITHDRAWN}
    assert set(EntrustedMediation.objects.values_list("returned_on", flat=True)) == {today()}
    assert EntrustedMediation.objects.get(court_case_number="A-2").result_note == "调解不成，退回法院审理"


def test_the_entrusted_deadline_caps_a_later_assignment(people):
    dispute = entrust(people, referral="after_filing", procedure="simple")
    dispute = step(people.centre, dispute, Step.ROUTE, tier=tier(13), mediators=[people.mediator])
    assert dispute.due_on == dispute.entrusted.due_on


# --- who may act -------------------------------------------------------------------------


def test_a_grid_worker_registers_but_does_not_triage(people):
    dispute = register(people.worker, people.tree.grid_a)
    assert Step.TRIAGE not in available_steps(people.worker, dispute)
    with refused(dispute, PermissionDenied):
        triage(people.worker, dispute, people.mediator)


def test_a_mediator_of_another_zone_does_not_record_a_session(people):
    dispute = at_tier(people, 12)
    with refused(dispute, PermissionDenied):
        step(people.mediator_c, dispute, Step.RECORD_SESSION, outcome="partial", place="村委会", notes="越权")


@pytest.mark.parametrize("who", ["centre_b", "centre_t2", "leader", "worker_b"])
def test_people_outside_zone_a_do_not_act_on_its_disputes(people, who):
    dispute = register(people.worker, people.tree.grid_a)
    assert available_steps(getattr(people, who), dispute) == []
    with refused(dispute, PermissionDenied):
        triage(getattr(people, who), dispute, people.mediator)


def test_the_centre_of_zone_b_acts_on_zone_b_only(people):
    dispute = register(people.worker_b, people.tree.grid_b)
    dispute = triage(people.centre_b, dispute, people.centre_b)
    assert dispute.status == Status.MEDIATING


def test_a_judge_rules_only_on_a_pending_confirmation_asked_of_their_court(people):
    dispute = confirming(people)
    other = agreed_days_ago(people, 10)
    other = apply(people, other, days_ago(5), court_=court("qiandongnan"))
    with refused(other, PermissionDenied):
        step(people.judge, other, Step.RECORD_RULING, result="pending", accepted_on=days_ago(4))
    agreed = agreed_days_ago(people, 3)
    with refused(agreed, PermissionDenied):
        step(people.judge, agreed, Step.RECORD_RULING, result="confirmed")
    step(people.judge, dispute, Step.RECORD_RULING, result="pending", accepted_on=days_ago(38))
    # and nothing else on the dispute
    with refused(dispute, PermissionDenied):
        step(people.judge, dispute, Step.WITHDRAW, reason="法院撤回")


def test_the_centre_may_record_the_courts_ruling_from_its_paper(people):
    dispute = confirming(people)
    dispute = step(
        people.centre, dispute, Step.RECORD_RULING, result="confirmed", accepted_on=days_ago(38), ruled_on=days_ago(30)
    )
    assert dispute.agreement.enforceable


def test_a_grid_worker_pays_the_follow_up_visit_in_their_grid_only(people):
    dispute = agree(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    with refused(dispute, PermissionDenied):
        step(people.worker_b, dispute, Step.FOLLOW_UP, performance="performed", note="回访")
    assert step(people.worker, dispute, Step.FOLLOW_UP, performance="performed", note="回访").agreement.follow_ups.count() == 1


# --- from an incident --------------------------------------------------------------------


def neighbour_incident(people):
    from cases.services import Involved
    from tests.cases.factories import NEIGHBOUR_DISPUTE, report
    from tests.populations.factories import make_person

    neighbour = make_person(unit=people.tree.unit_a, name="王五")
    return report(
        people.worker,
        people.tree.unit_a,
        code=NEIGHBOUR_DISPUTE,
        title="王赵两家宅基地边界争执",
        description="两家因院墙位置发生争执，险些动手。",
        place="北京路 5 号",
        occurred_at=timezone.now() - datetime.timedelta(days=1),
        people=[
            Involved(person=neighbour, role="party"),
            Involved(name="赵六", role="party"),
            Involved(name="钱七", role="witness"),
        ],
    )


def test_turning_a_neighbour_incident_into_a_dispute_registers_it_with_the_incidents_facts(people):
    from cases.models import Status as IncidentStatus
    from cases.services import incident_step
    from cases.workflow import Step as IncidentStep

    incident = neighbour_incident(people)
    incident = incident_step(actor=people.centre, incident=incident, step=IncidentStep.TRANSFER, note="转纠纷调解")
    dispute = Dispute.objects.get(incident=incident)
    assert incident.status == IncidentStatus.TRANSFERRED and incident.dispute_number == dispute.number
    assert dispute.incident == incident and dispute.source == Source.INCIDENT
    assert dispute.grid == people.tree.unit_a and dispute.name == "王赵两家宅基地边界争执"
    assert incident.number in dispute.summary and "院墙" in dispute.summary
    assert dispute.category.code == "02" and dispute.place == "北京路 5 号" and dispute.registered_by == people.centre
    assert [(p.role, p.name) for p in dispute.parties.all()] == [
        ("applicant", "王五"),
        ("respondent", "赵六"),
        ("third_party", "钱七"),
    ]
    assert dispute.parties.first().person is not None


@pytest.mark.parametrize(
    ("involved", "reporter", "expected"),
    [
        ([("钱七", "witness"), ("赵六", "suspect")], "", [("third_party", "钱七"), ("applicant", "赵六")]),
        ([("钱七", "witness")], "孙大爷", [("applicant", "孙大爷"), ("third_party", "钱七")]),
        ([], "", [("applicant", "（事件反映人）")]),
    ],
)
def test_a_witness_of_the_incident_never_becomes_the_applicant(people, involved, reporter, expected):
    from cases.services import Involved, incident_step
    from cases.workflow import Step as IncidentStep
    from tests.cases.factories import NEIGHBOUR_DISPUTE, report

    incident = report(
        people.worker,
        people.tree.unit_a,
        code=NEIGHBOUR_DISPUTE,
        reporter_name=reporter,
        people=[Involved(name=name, role=role) for name, role in involved],
    )
    incident_step(actor=people.centre, incident=incident, step=IncidentStep.TRANSFER)
    dispute = Dispute.objects.get(incident=incident)
    assert [(p.role, p.name) for p in dispute.parties.all()] == expected


def test_an_incident_of_a_category_without_a_dispute_category_becomes_an_other_dispute(people):
    from cases.services import Involved, incident_step
    from cases.workflow import Step as IncidentStep
    from disputes.models import DisputeCategory
    from tests.cases.factories import report

    DisputeCategory.objects.create(code="13", name="后加的类别", sort=99)
    incident = report(people.worker, people.tree.unit_a, code="0103", people=[Involved(name="张三")])  # 调处小纠纷
    incident_step(actor=people.centre, incident=incident, step=IncidentStep.TRANSFER)
    assert Dispute.objects.get(incident=incident).category.code == "12"


def test_a_dispute_that_cannot_be_registered_leaves_the_incident_as_it_was(people):
    from cases.models import Incident
    from cases.services import incident_step
    from cases.workflow import Step as IncidentStep
    from disputes.models import DisputeCategory

    incident = neighbour_incident(people)
    DisputeCategory.objects.update(is_active=False)
    with pytest.raises(ValidationError):
        incident_step(actor=people.centre, incident=incident, step=IncidentStep.TRANSFER)
    stored = Incident.objects.get(pk=incident.pk)
    assert (stored.status, stored.version, stored.dispute_number) == (incident.status, incident.version, "")
    assert not Dispute.objects.exists() and stored.transitions.count() == incident.transitions.count()


# --- privacy -----------------------------------------------------------------------------


def test_revealing_a_partys_number_is_for_those_working_the_dispute_and_always_audited(people):
    number = identity(11)
    dispute = register(
        people.worker,
        people.tree.grid_a,
        parties=[Party(role="applicant", name="张三", id_number=number), Party(role="respondent", name="李四")],
    )
    dispute = triage(people.centre, dispute, people.mediator)
    party = dispute.parties.get(role="applicant")
    assert dispute_party_revealed(actor=people.mediator, dispute=dispute, party=party) == number
    assert dispute_party_revealed(actor=people.centre, dispute=dispute, party=party) == number
    for outsider in (people.worker_b, people.mediator_c, people.leader):
        with pytest.raises(PermissionDenied):
            dispute_party_revealed(actor=outsider, dispute=dispute, party=party)
    rows = AuditEntry.objects.filter(action=AuditAction.READ_SENSITIVE, object_id=str(dispute.pk))
    assert sorted((row.actor_username, row.outcome) for row in rows) == [
        ("centre_t1", AuditOutcome.SUCCESS),
        ("leader_city", AuditOutcome.DENIED),
        ("mediator_a", AuditOutcome.SUCCESS),
        ("mediator_c", AuditOutcome.DENIED),
        ("worker_b", AuditOutcome.DENIED),
    ]
    assert all(number not in str(row.changes) for row in rows)
    assert {row.changes["masked"] for row in rows} == {party.id_number_masked}


def test_a_party_of_another_dispute_is_not_revealed_through_this_one(people):
    mine = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    theirs = register(people.worker_b, people.tree.grid_b, parties=[Party(role="applicant", name="孙八", id_number=identity(12))])
    with pytest.raises(PermissionDenied):
        dispute_party_revealed(actor=people.mediator, dispute=mine, party=theirs.parties.get())
    denied = AuditEntry.objects.get(action=AuditAction.READ_SENSITIVE)
    assert denied.outcome == AuditOutcome.DENIED


def test_a_written_agreement_missing_signatures_and_seal_is_told_everything_at_once(people):
    dispute = at_tier(people, 12)
    with refused(dispute, field="sealed_on") as raised:
        step(people.mediator, dispute, Step.RECORD_AGREEMENT, form="written", terms="和解")
    assert {"parties_signed", "mediator_signed", "sealed_on"} <= set(raised.value.message_dict)


def test_a_party_of_the_incident_living_outside_the_centres_area_stays_a_party(people):
    """The incident already names them: the centre of town T1 transfers it although the
    person lives in town T2, outside that centre's registry."""
    from cases.services import Involved, incident_step
    from cases.workflow import Step as IncidentStep
    from grids.models import GridKind
    from grids.services import grid_create
    from kaili.roles import CENTRE_STAFF
    from tests.cases.factories import NEIGHBOUR_DISPUTE, report
    from tests.factories import make_user
    from tests.populations.factories import make_person

    unit_c = grid_create(
        actor=None, code="52260110120000101", name="南花1-1十户联防", kind=GridKind.UNIT, parent=people.tree.grid_c
    )
    visitor = make_person(unit=unit_c, name="外村人")
    city_centre = make_user("centre_city", CENTRE_STAFF, [people.tree.city])
    incident = report(city_centre, people.tree.unit_a, code=NEIGHBOUR_DISPUTE, people=[Involved(person=visitor, role="party")])
    incident_step(actor=people.centre, incident=incident, step=IncidentStep.TRANSFER)
    party = Dispute.objects.get(incident=incident).parties.get(person__isnull=False)
    assert (party.person, party.role) == (visitor, "applicant")

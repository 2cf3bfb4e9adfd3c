"""The demo disputes (disputes/demo.py): the seed's yearly figures exactly, every status,
tier and method, legal paths, encrypted parties, numbers that later registrations continue,
idempotent."""

import datetime
import itertools
import re
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.functions import ExtractYear
from django.utils import timezone

from disputes import demo
from disputes.models import (
    CLOSED_STATUSES,
    Agreement,
    AgreementForm,
    BodyKind,
    Dispute,
    DisputeParty,
    DisputeTransition,
    EntrustedMediation,
    EntrustedResult,
    FollowUp,
    JudicialConfirmation,
    LineKind,
    MediationBody,
    MediationSession,
    Method,
    Performance,
    Referral,
    Ruling,
    Source,
    Status,
    Tier,
)
from disputes.selectors import court_confirmations, court_entrusted, mediator_worklist
from disputes.services import Party, dispute_register
from disputes.workflow import STEP_RULES, Step
from kaili.demo import seed_demo_court_accounts
from kaili.models import AuditAction, AuditEntry, User
from kaili.roles import CENTRE_STAFF, GRID_WORKER, MEDIATOR
from populations.identity import parse_identity_number
from tests.disputes.factories import category
from tests.factories import make_user
from tests.populations.factories import make_household, make_person

pytestmark = pytest.mark.django_db

NUMBER = re.compile(r"MD-522601-(\d{4})-(\d{6})")
# What a step with no fixed target may lead to (disputes.services).
OUTCOMES = {
    Step.RECORD_SESSION: {Status.MEDIATING, Status.FAILED, Status.WITHDRAWN},
    Step.EXTEND: {Status.MEDIATING, Status.FAILED},
    Step.RECORD_RULING: {Status.CONFIRMING, Status.AGREED, Status.MEDIATING, Status.UNRESOLVED},
    Step.FOLLOW_UP: {Status.AGREED},
    Step.CLOSE: {Status.RESOLVED, Status.UNRESOLVED},
}


@pytest.fixture
def demo_cast(tree):
    """The demo accounts whose codes exist in the small tree (grid A is the demo grid
    worker's, town T1 the centre's and the mediator's), the court account, and registry
    people in unit A."""
    household = make_household(tree.unit_a)
    for name in ("龙玉兰", "杨光明", "吴金花"):
        make_person(household, name=name)
    seed_demo_court_accounts()
    return {
        "tree": tree,
        "gridworker": make_user("gridworker", GRID_WORKER, [tree.grid_a]),
        "centre": make_user("centre", CENTRE_STAFF, [tree.t1]),
        "mediator": make_user("mediator", MEDIATOR, [tree.t1]),
        "court": User.objects.get(username="court_kaili"),
    }


@pytest.fixture
def loaded(demo_cast):
    return demo.seed_disputes(seed=7)


def test_the_seed_figures_exactly_minus_26_41_percent(loaded):
    by_year = dict(
        Dispute.objects.annotate(year=ExtractYear("registered_at")).values_list("year").annotate(n=Count("pk")).order_by()
    )
    assert by_year[2015] == 3041 and by_year[2016] == 2238
    assert 1500 <= by_year[2017] < 2238
    assert round((by_year[2016] - by_year[2015]) * 100 / by_year[2015], 2) == -26.41
    assert loaded.change(2016) == -26.41
    assert loaded.registered[2015] == 3041 and loaded.by_year[2016] == 2238
    assert loaded.showcase == len(demo.SHOWCASE)


SCALE = 0.2  # a fifth of the yearly figures: every path still taken, five times faster


@pytest.fixture
def fifth(demo_cast):
    return demo.seed_disputes(seed=7, scale=SCALE)


def test_village_committees_for_every_zone_with_a_mediator_account_that_cannot_sign_in(fifth, demo_cast):
    tree = demo_cast["tree"]
    committees = MediationBody.objects.filter(kind=BodyKind.COMMITTEE).select_related("tier__line", "node")
    assert {body.node for body in committees} == {tree.zone_a, tree.zone_b, tree.zone_c}
    for body in committees:
        assert body.name == f"{body.node.name}人民调解委员会"
        assert (body.tier.line.kind, body.tier.level) == (LineKind.PEOPLE, 2)
        accounts = body.members.filter(username__startswith="tjy_")
        assert accounts.count() == 1 and not accounts.get().has_usable_password()
    assert fifth.committees == 3
    # the demo mediator sits on the committee of its zone, and the court account is the court's
    mediator, court = demo_cast["mediator"], demo_cast["court"]
    assert committees.get(node=tree.zone_a).members.filter(pk=mediator.pk).exists()
    assert not committees.exclude(node=tree.zone_a).filter(members=mediator).exists()
    assert court.courts.filter(code="kaili").exists() and court.check_password("Kaili@2026")


def test_every_status_tier_method_and_source_mostly_resolved_in_peoples_mediation(fifth):
    statuses = Counter(Dispute.objects.values_list("status", flat=True))
    assert set(statuses) == set(Status.values)
    history = Dispute.objects.filter(registered_at__year__in=demo.DEMO_YEARS)
    assert not history.exclude(status__in=CLOSED_STATUSES).exists()
    resolved, closed = history.filter(status=Status.RESOLVED).count(), history.count()
    assert 0.9 <= resolved / closed <= 0.97  # 化解率
    tiers = Counter(history.values_list("tier__rank", flat=True))
    assert set(tiers) - {None} == set(Tier.objects.values_list("rank", flat=True))
    people = sum(n for rank, n in tiers.items() if rank in (11, 12))
    assert people > 0.6 * closed
    assert tiers[11] + tiers[12] > 3 * sum(n for rank, n in tiers.items() if rank and rank > 20)
    assert Counter(MediationSession.objects.values_list("method", flat=True)).keys() == set(Method.values)
    assert set(Dispute.objects.values_list("source", flat=True)) == set(Source.values) - {Source.INCIDENT}
    categories = Counter(history.values_list("category__code", flat=True))
    assert len(categories) == 12 and {code for code, _n in categories.most_common(4)} == {"01", "02", "04", "09"}
    assert set(Dispute.objects.values_list("scale__code", flat=True)) == {"general", "major", "serious"}
    # passed upward: exactly those that left people's mediation for another line
    upward = set(history.filter(passed_upward=True).values_list("pk", flat=True))
    assert 0.03 < len(upward) / closed < 0.2
    in_village = set(DisputeTransition.objects.filter(tier__line__kind=LineKind.PEOPLE).values_list("dispute_id", flat=True))
    left = set(history.exclude(tier__line__kind=LineKind.PEOPLE).exclude(tier=None).values_list("pk", flat=True))
    assert upward == in_village & left
    assert (
        Dispute.objects.filter(group_risk=True).exists()
        and not Dispute.objects.filter(group_risk=True, people_count__lt=5).exists()
    )


def test_the_fields_each_status_implies(fifth):
    today = timezone.localdate()
    for case in Dispute.objects.prefetch_related("mediators", "agreements"):
        assert case.occurred_on <= timezone.localtime(case.registered_at).date() <= today, case.number
        if case.status in CLOSED_STATUSES:
            assert case.closed_at is not None and case.due_on is None and case.closed_at >= case.registered_at, case.number
        else:
            assert case.closed_at is None and case.due_on is not None, case.number
        if case.status == Status.REGISTERED or (case.status == Status.WITHDRAWN and case.tier_id is None):
            assert case.tier_id is None and case.accepted_at is None
        else:
            assert case.tier_id and case.line_id == Tier.objects.get(pk=case.tier_id).line_id, case.number
            assert case.accepted_at >= case.registered_at and case.tier_started_on and case.mediators.exists(), case.number
        current = [a for a in case.agreements.all() if not a.superseded]
        assert len(current) <= 1
        if case.status in (Status.AGREED, Status.CONFIRMING, Status.RESOLVED):
            assert current, case.number
        if case.status == Status.RESOLVED:
            assert 1 <= case.satisfaction <= 5 and case.closing_note
        if case.status == Status.UNRESOLVED:
            assert case.other_routes and case.closing_note, case.number
    assert Dispute.objects.overdue(today).exists() and Dispute.objects.open().filter(due_on__gte=today).exists()
    assert Dispute.objects.filter(late=True).exists() and Dispute.objects.filter(late=False).exists()
    assert Dispute.objects.filter(extensions__gt=0).exists() and Dispute.objects.filter(escalations__gt=1).exists()


def test_the_transitions_of_each_dispute_form_a_legal_path(fifth):
    cases = {c["pk"]: c for c in Dispute.objects.values("pk", "number", "status", "version", "late", "registered_at", "tier_id")}
    paths = defaultdict(list)
    for row in DisputeTransition.objects.order_by("dispute_id", "at", "pk").values(
        "dispute_id", "step", "from_status", "to_status", "at", "due_on", "late", "tier_id", "details"
    ):
        paths[row["dispute_id"]].append(row)
    assert set(paths) == set(cases)
    # an agreement meets its deadline by the day it was reached, not the day it was sealed
    reached = dict(Agreement.objects.values_list("pk", "reached_on"))
    seen = Counter()
    for pk, path in paths.items():
        case = cases[pk]
        first = path[0]
        assert (first["step"], first["from_status"], first["to_status"]) == (Step.REGISTER, "", Status.REGISTERED)
        assert first["at"] == case["registered_at"]
        for index, (before, after) in enumerate(itertools.pairwise(path), start=1):
            assert after["from_status"] == before["to_status"], case["number"]
            assert after["at"] >= before["at"], case["number"]
            seen[after["step"]] += 1
            if after["step"] == Step.ENTRUST:
                assert index == 1 and (after["from_status"], after["to_status"]) == (Status.REGISTERED, Status.MEDIATING)
                continue
            rule = STEP_RULES[after["step"]]
            assert after["from_status"] in rule.sources, (case["number"], after["step"])
            assert after["to_status"] in ({rule.target} if rule.target else OUTCOMES[after["step"]]), case["number"]
            if rule.meets_deadline:
                day = timezone.localtime(after["at"]).date()
                if after["step"] == Step.RECORD_AGREEMENT:
                    day = reached[after["details"]["agreement"]]
                assert after["late"] == (after["due_on"] is not None and day > after["due_on"]), case["number"]
            else:
                assert after["due_on"] is None and not after["late"]
            if after["step"] in (Step.TRIAGE, Step.ROUTE, Step.ESCALATE):
                assert after["tier_id"] is not None
        assert path[-1]["to_status"] == case["status"] and len(path) == case["version"], case["number"]
        assert case["late"] == any(row["late"] for row in path), case["number"]
        if case["tier_id"]:
            assert path[-1]["tier_id"] == case["tier_id"], case["number"]
    assert set(seen) == set(Step.values) - {Step.REGISTER}


def test_agreements_confirmations_follow_ups_and_entrusted_cases_keep_their_time_limits(fifth):
    assert set(Agreement.objects.values_list("form", flat=True)) == set(AgreementForm.values)
    for agreement in Agreement.objects.all():
        if agreement.form == AgreementForm.WRITTEN:
            assert agreement.parties_signed and agreement.mediator_signed and agreement.sealed_on
            assert agreement.effective_on == max(agreement.signed_on, agreement.sealed_on) >= agreement.reached_on
        else:
            assert agreement.effective_on == agreement.reached_on and agreement.sealed_on is None
    results = Counter(JudicialConfirmation.objects.values_list("result", flat=True))
    assert {Ruling.CONFIRMED, Ruling.REJECTED, Ruling.NOT_ACCEPTED, Ruling.PENDING} <= set(results)
    assert results[Ruling.CONFIRMED] > 5 * (results[Ruling.REJECTED] + results[Ruling.NOT_ACCEPTED])
    for confirmation in JudicialConfirmation.objects.select_related("agreement__tier__line"):
        agreement = confirmation.agreement
        assert agreement.tier.line.kind in (LineKind.PEOPLE, LineKind.ADMINISTRATIVE)
        assert 0 <= (confirmation.applied_on - agreement.effective_on).days <= 30
        assert confirmation.accept_due == confirmation.applied_on + datetime.timedelta(days=3)
        if confirmation.accepted_on:
            assert confirmation.ruling_due == confirmation.accepted_on + datetime.timedelta(days=15)
        late = (confirmation.accepted_on or confirmation.ruled_on or confirmation.applied_on) > confirmation.accept_due or (
            confirmation.ruling_due is not None
            and confirmation.ruled_on is not None
            and confirmation.ruled_on > confirmation.ruling_due
        )
        assert confirmation.late == late
        assert agreement.enforceable == (confirmation.result == Ruling.CONFIRMED)
        assert agreement.superseded == (
            confirmation.result in (Ruling.REJECTED, Ruling.NOT_ACCEPTED) and agreement.dispute.status != Status.UNRESOLVED
        )
    assert JudicialConfirmation.objects.filter(late=True).exists()
    performed = FollowUp.objects.filter(performance=Performance.PERFORMED)
    assert performed.values("agreement__dispute").distinct().count() == Dispute.objects.filter(status=Status.RESOLVED).count()
    assert {Performance.PERFORMING, Performance.BREACHED} <= set(FollowUp.objects.values_list("performance", flat=True))
    assert not FollowUp.objects.filter(visited_on__lt=F("agreement__reached_on")).exists()
    entrusted = EntrustedMediation.objects.select_related("dispute")
    assert {(e.referral, e.procedure) for e in entrusted} == {
        (Referral.PRE_FILING, ""),
        (Referral.AFTER_FILING, "ordinary"),
        (Referral.AFTER_FILING, "simple"),
    }
    days = {(Referral.PRE_FILING, ""): 30, (Referral.AFTER_FILING, "ordinary"): 15, (Referral.AFTER_FILING, "simple"): 7}
    for case in entrusted:
        assert case.dispute.source == Source.COURT and case.entrusted_by.courts.exists()
        assert case.due_on >= case.received_on + datetime.timedelta(days=days[(case.referral, case.procedure)])
        if case.dispute.is_open:
            assert case.result == EntrustedResult.PENDING and case.returned_on is None
        else:
            expected = {Status.RESOLVED: "settled", Status.UNRESOLVED: "failed", Status.WITHDRAWN: "withdrawn"}
            assert case.result == expected[case.dispute.status]
            assert case.returned_on == timezone.localtime(case.dispute.closed_at).date()
    assert not EntrustedMediation.objects.values("court", "court_case_number").annotate(n=Count("pk")).filter(n__gt=1).exists()


def test_party_numbers_are_valid_encrypted_and_masked_never_stored_in_clear(fifth):
    told = DisputeParty.objects.exclude(id_number_encrypted="")
    assert told.count() > 100
    with connection.cursor() as cursor:
        for party in told[:200]:
            number = party.identity_number
            parse_identity_number(number)  # a valid check character
            assert party.id_number_masked == number[:6] + "********" + number[-4:]
            cursor.execute("SELECT count(*) FROM disputes_disputeparty t WHERE strpos(t::text, %s) > 0", [number])
            assert cursor.fetchone()[0] == 0
    registry = DisputeParty.objects.filter(person__isnull=False).select_related("person")
    assert registry.exists()
    for party in registry:
        assert party.id_number_encrypted == "" and party.name == party.person.name
        assert party.id_number_masked == party.person.id_number_masked
    assert DisputeParty.objects.filter(kind="organisation").exists()
    # two parties of one dispute are two people
    assert not DisputeParty.objects.values("dispute", "name").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert not Dispute.objects.annotate(n=Count("parties", filter=Q(parties__role="applicant"))).filter(n=0).exists()


def test_this_year_the_worklists_the_triage_queue_and_the_court_are_not_empty(fifth, demo_cast):
    gridworker, centre, mediator, court = (demo_cast[k] for k in ("gridworker", "centre", "mediator", "court"))
    # the showcase lies within the last two months, the history years before
    showcase = Dispute.objects.filter(registered_at__gte=timezone.now() - datetime.timedelta(days=60))
    assert fifth.showcase == len(demo.SHOWCASE) == showcase.count()
    assert {Status.REGISTERED, Status.MEDIATING, Status.FAILED, Status.AGREED, Status.CONFIRMING} <= set(
        showcase.values_list("status", flat=True)
    )
    tree = demo_cast["tree"]
    assert not showcase.exclude(grid__in=[tree.grid_a, tree.unit_a]).exists()
    assert Dispute.objects.restrict(gridworker).filter(pk__in=showcase).count() == len(demo.SHOWCASE)
    assert showcase.filter(registered_by=gridworker).exists() and showcase.filter(registered_by=centre).exists()
    queue = Dispute.objects.restrict(centre, "change").filter(status=Status.REGISTERED, pk__in=showcase)
    assert queue.count() >= 3
    worklist = mediator_worklist(mediator).filter(pk__in=showcase)
    assert worklist.filter(mediators=mediator, status=Status.MEDIATING).count() >= 3
    assert worklist.overdue(timezone.localdate()).exists()
    assert showcase.filter(status=Status.FAILED, mediators=gridworker).exists()
    assert court_entrusted(court).filter(result=EntrustedResult.PENDING).exists()
    assert court_confirmations(court).filter(result=Ruling.PENDING).exists()


def test_numbers_are_unique_well_formed_in_order_and_a_new_registration_continues_them(fifth, demo_cast):
    by_year = defaultdict(list)
    for number, registered_at in Dispute.objects.order_by("registered_at", "pk").values_list("number", "registered_at"):
        match = NUMBER.fullmatch(number)
        assert match and int(match[1]) == timezone.localtime(registered_at).year, number
        by_year[int(match[1])].append(int(match[2]))
    for year, sequence in by_year.items():
        assert sequence == list(range(1, len(sequence) + 1)), year  # in order of registration, no gaps
    this_year = timezone.localdate().year
    dispute, created = dispute_register(
        actor=demo_cast["gridworker"],
        name="演示后新登记的纠纷",
        category=category(),
        grid=demo_cast["tree"].grid_a,
        summary="登记后应接续演示数据的编号。",
        occurred_on=timezone.localdate(),
        parties=[Party(role="applicant", name="王五")],
    )
    assert created and dispute.number == f"MD-522601-{this_year}-{len(by_year[this_year]) + 1:06d}"


def test_seeding_again_adds_nothing_and_audits_once(fifth):
    counts = (
        Dispute.objects.count(),
        DisputeTransition.objects.count(),
        DisputeParty.objects.count(),
        MediationBody.objects.count(),
    )
    again = demo.seed_disputes(seed=7, scale=SCALE)
    assert (again.created, again.committees, again.accounts, again.showcase) == (0, 0, 0, 0)
    assert counts == (
        Dispute.objects.count(),
        DisputeTransition.objects.count(),
        DisputeParty.objects.count(),
        MediationBody.objects.count(),
    )
    imports = AuditEntry.objects.filter(action=AuditAction.IMPORT, object_type="disputes.dispute")
    assert imports.count() == 1 and imports.get().changes["disputes"] == counts[0]


def test_the_same_seed_gives_the_same_disputes(fifth):
    def fingerprint():
        return list(
            Dispute.objects.filter(registered_at__year__in=demo.DEMO_YEARS)
            .order_by("number")
            .values_list("number", "category__code", "grid__code", "status", "registered_at", "name", "tier__rank", "late")
        )

    first = fingerprint()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE disputes_dispute RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM kaili_numbersequence WHERE key LIKE 'MD-%%'")
    demo.seed_disputes(seed=7, scale=SCALE)
    assert fingerprint() == first


def test_nothing_to_seed_on_an_empty_tree(db):
    result = demo.seed_disputes(seed=7)
    assert (result.created, result.committees, result.disputes) == (0, 0, 0)


def test_seed_demo_loads_the_disputes_for_the_demo_accounts(db, capsys):
    """What `make run` loads (without the incidents, which have their own test)."""
    call_command("seed_demo", "--no-incidents", verbosity=0)
    out = capsys.readouterr().out
    assert "2015 年 3,041 件、2016 年 2,238 件" in out and "同比 -26.41%" in out
    assert "court_kaili" in out and "法院账号（凯里市人民法院）" in out
    mediator = User.objects.get(username="mediator")
    assert mediator_worklist(mediator).filter(mediators=mediator).exists()
    assert court_entrusted(User.objects.get(username="court_kaili")).exists()
    total = Dispute.objects.count()
    call_command("seed_demo", "--no-incidents", verbosity=0)
    assert Dispute.objects.count() == total and "新建纠纷 0 件" in capsys.readouterr().out

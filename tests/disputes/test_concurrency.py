"""Two people take a step on the same dispute at the same moment: the row lock and the
version make exactly one of them win; the other is told the dispute changed, and only
one transition is written."""

import datetime
import threading
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from disputes.models import Dispute, DisputeTransition, Status
from disputes.services import Party, dispute_register
from disputes.workflow import Step
from kaili.exceptions import Conflict
from tests.disputes.factories import category, register, step, tier, triage

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*calls) -> list:
    """Run the calls on their own threads, released together; each outcome is "won" or the
    code of the Conflict that refused it."""
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(call):
        try:
            barrier.wait()
            call()
            outcomes.append("won")
        except Conflict as conflict:
            outcomes.append(conflict.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_the_town_centre_triages_while_the_zone_centre_routes_one_wins(people):
    dispute = register(people.worker_b, people.tree.grid_b)
    seen = dispute.version
    outcomes = at_once(
        lambda: step(people.centre, dispute, Step.TRIAGE, tier=tier(12), mediators=[people.centre_b], version=seen),
        lambda: step(people.centre_b, dispute, Step.ROUTE, tier=tier(13), mediators=[people.centre_b], version=seen),
    )
    assert outcomes == ["changed", "won"]
    stored = Dispute.objects.get(pk=dispute.pk)
    assert stored.status == Status.MEDIATING and stored.version == seen + 1
    assert DisputeTransition.objects.filter(dispute=dispute, step__in=[Step.TRIAGE, Step.ROUTE]).count() == 1
    assert stored.tier.rank in (12, 13)


def test_two_escalations_of_the_same_version_climb_one_tier(people):
    dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator, rank=11)
    seen = dispute.version
    outcomes = at_once(
        lambda: step(people.mediator, dispute, Step.ESCALATE, reason="调解不成", version=seen),
        lambda: step(people.centre, dispute, Step.ESCALATE, reason="调解不成", version=seen),
    )
    assert outcomes == ["changed", "won"]
    stored = Dispute.objects.get(pk=dispute.pk)
    assert (stored.tier.rank, stored.escalations, stored.version) == (12, 1, seen + 1)
    assert DisputeTransition.objects.filter(dispute=dispute, step=Step.ESCALATE).count() == 1


def test_an_agreement_and_a_withdrawal_at_once_leave_one_outcome(people):
    dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    seen = dispute.version
    outcomes = at_once(
        lambda: step(people.mediator, dispute, Step.RECORD_AGREEMENT, form="oral", terms="和解", version=seen),
        lambda: step(people.centre, dispute, Step.WITHDRAW, reason="申请人撤回", version=seen),
    )
    assert outcomes == ["changed", "won"]
    stored = Dispute.objects.get(pk=dispute.pk)
    assert stored.status in (Status.AGREED, Status.WITHDRAWN)
    assert stored.agreements.exists() is (stored.status == Status.AGREED)
    assert DisputeTransition.objects.filter(dispute=dispute).count() == 3


def test_without_a_version_the_lock_still_serialises_the_steps(people):
    """Two escalations sent blind are taken one after the other, none lost: the second
    reads the tier the first left (not the one it saw before waiting for the lock)."""
    dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator, rank=11)
    outcomes = at_once(
        lambda: step(people.mediator, dispute, Step.ESCALATE, reason="调解不成"),
        lambda: step(people.centre, dispute, Step.ESCALATE, reason="调解不成"),
    )
    assert outcomes == ["won", "won"]
    stored = Dispute.objects.get(pk=dispute.pk)
    assert (stored.tier.rank, stored.escalations) == (13, 2)
    ranks = DisputeTransition.objects.filter(dispute=dispute, step=Step.ESCALATE).values_list("tier__rank", flat=True)
    assert sorted(ranks) == [12, 13]


def test_a_registration_sent_twice_at_once_is_registered_once(people):
    key = uuid.uuid4()
    results = []

    def send():
        dispute, created = dispute_register(
            actor=people.worker,
            category=category(),
            grid=people.tree.grid_a,
            name="同时提交两次",
            summary="网络不好，连点两次提交。",
            occurred_on=timezone.localdate() - datetime.timedelta(days=1),
            parties=[Party(role="applicant", name="张三")],
            client_key=key,
        )
        results.append((dispute.pk, created))

    assert at_once(send, send) == ["won", "won"]
    assert len({pk for pk, _created in results}) == 1
    assert sorted(created for _pk, created in results) == [False, True]
    assert Dispute.objects.count() == 1 and DisputeTransition.objects.count() == 1

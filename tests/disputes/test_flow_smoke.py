"""The whole flow once, end to end through the services (the detailed rules are in
test_services)."""

from disputes.models import Status
from disputes.workflow import Step
from tests.disputes.factories import agree, register, step, triage


def test_a_neighbour_dispute_goes_from_registration_to_a_resolved_close(people):
    dispute = register(people.worker, people.tree.grid_a)
    assert dispute.number.startswith("MD-522601-")
    dispute = triage(people.centre, dispute, people.mediator)
    dispute = step(people.mediator, dispute, Step.RECORD_SESSION, outcome="failed", place="村委会", notes="分歧较大")
    assert dispute.status == Status.FAILED
    dispute = step(people.mediator, dispute, Step.ESCALATE, reason="调解委员会调解不成")
    assert dispute.tier.rank == 13
    dispute = agree(people.centre, dispute, people.mediator)
    dispute = step(people.mediator, dispute, Step.APPLY_CONFIRMATION, court=people.court, applicants="张三、李四")
    dispute = step(people.judge, dispute, Step.RECORD_RULING, result="confirmed")
    assert dispute.agreement.enforceable
    dispute = step(people.worker, dispute, Step.FOLLOW_UP, performance="performed", note="已履行")
    dispute = step(people.centre, dispute, Step.CLOSE)
    assert dispute.status == Status.RESOLVED

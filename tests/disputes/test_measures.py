"""The dispute measures against disputes built by hand through the services, some moved
back in time, counted over the last 30 days and split down the tree."""

import datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from disputes.measures import dispute_measures, dispute_measures_by_child
from disputes.models import Dispute
from disputes.services import Party, court_entrust
from disputes.workflow import Step
from tests.disputes.factories import agree, category, make_body, register, step, triage

NO_ENTRUSTED = {"pending": 0, "settled": 0, "failed": 0, "withdrawn": 0}


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def moved(dispute, **fields) -> None:
    """Put a dispute's timestamps back in time (what the services stamp as "now")."""
    Dispute.objects.filter(pk=dispute.pk).update(**fields)


def long_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def followed_up_and_closed(people, dispute, visitor, closer):
    dispute = step(visitor, dispute, Step.FOLLOW_UP, performance="performed", note="已履行")
    return step(closer, dispute, Step.CLOSE)


def confirmed(people, dispute, applied: int, accepted: int, ruled: int):
    dispute = step(
        people.mediator, dispute, Step.APPLY_CONFIRMATION, court=people.court, applicants="双方", applied_on=days_ago(applied)
    )
    return step(
        people.judge, dispute, Step.RECORD_RULING, result="confirmed", accepted_on=days_ago(accepted), ruled_on=days_ago(ruled)
    )


def entrusted(people, number: str, received: int):
    return court_entrust(
        actor=people.judge,
        court=people.court,
        court_case_number=number,
        referral="pre_filing",
        body=make_body("营盘坡社区人民调解委员会", node=people.tree.zone_b),
        received_on=days_ago(received),
        name="买卖合同纠纷",
        category=category("05"),
        grid=people.tree.grid_b,
        summary="货款未付。",
        occurred_on=days_ago(90),
        parties=[Party(role="applicant", name="甲公司", kind="organisation"), Party(role="respondent", name="乙")],
    )


@pytest.fixture
def scene(people):
    """Zone A: A1 agreed, confirmed in the period and resolved; A2 passed up to the
    administrative line and closed unresolved after running late; A3 withdrawn; A4
    registered two months ago, resolved now; A5 registered two months ago, confirmation
    asked then and granted in the period; A6 all of it long ago; Z1 registered on the zone
    itself. Zone B: B1 open; B2 entrusted in the period, failed; B3 entrusted before the
    period; B4 entrusted in the period, pending. Zone C (town T2): C1 resolved."""
    tree, worker, centre, mediator = people.tree, people.worker, people.centre, people.mediator

    a1 = triage(centre, register(worker, tree.grid_a, occurred_on=days_ago(20)), mediator)
    a1 = agree(centre, a1, mediator, reached_on=days_ago(10))
    a1 = confirmed(people, a1, applied=5, accepted=4, ruled=3)
    followed_up_and_closed(people, a1, worker, centre)

    a2 = triage(centre, register(worker, tree.grid_a), mediator, rank=13)
    a2 = step(mediator, a2, Step.ESCALATE, reason="村主任调解不成", mediators=[mediator])
    moved(a2, late=True)
    step(mediator, a2, Step.CLOSE, routes=["litigation"], note="行政调解不成")

    step(centre, register(worker, tree.grid_a), Step.WITHDRAW, reason="申请人撤回")

    a4 = agree(centre, register(worker, tree.grid_a), mediator)
    followed_up_and_closed(people, a4, worker, centre)
    moved(a4, registered_at=long_ago(60))

    a5 = triage(centre, register(worker, tree.grid_a, occurred_on=days_ago(70)), mediator)
    a5 = agree(centre, a5, mediator, reached_on=days_ago(50))
    confirmed(people, a5, applied=45, accepted=44, ruled=20)
    moved(a5, registered_at=long_ago(60))

    a6 = step(centre, register(worker, tree.grid_a), Step.WITHDRAW, reason="撤回")
    moved(a6, registered_at=long_ago(90), closed_at=long_ago(80))

    register(centre, tree.zone_a, name="社区层面登记的纠纷")

    register(people.worker_b, tree.grid_b)
    b2 = entrusted(people, "B-2", received=2)
    step(centre, b2, Step.CLOSE, routes=["litigation"], note="调解不成，退回法院")
    entrusted(people, "B-3", received=40)
    entrusted(people, "B-4", received=1)

    c1 = register(people.centre_t2, tree.grid_c)
    c1 = agree(people.centre_t2, triage(people.centre_t2, c1, people.mediator_c), people.mediator_c)
    followed_up_and_closed(people, c1, people.mediator_c, people.centre_t2)
    return SimpleNamespace(start=days_ago(30), end=days_ago(-1), **vars(people))


def expected(
    accepted=0, resolved=0, passed_upward=0, closed=0, on_time=0, applied=0, granted=0, entrusted=0, results=NO_ENTRUSTED
):
    return {
        "accepted": accepted,
        "resolved": resolved,
        "resolution_rate": resolved / accepted if accepted else None,
        "passed_upward": passed_upward,
        "closed": closed,
        "closed_on_time": on_time,
        "on_time_rate": on_time / closed if closed else None,
        "confirmations_applied": applied,
        "confirmations_granted": granted,
        "entrusted": entrusted,
        "entrusted_results": {**NO_ENTRUSTED, **results},
    }


ZONE_A = expected(accepted=4, resolved=1, passed_upward=1, closed=4, on_time=3, applied=1, granted=2)
ZONE_B = expected(accepted=4, closed=1, on_time=1, entrusted=2, results={"failed": 1, "pending": 1})
ZONE_C = expected(accepted=1, resolved=1, closed=1, on_time=1)
TOWN_1 = expected(
    accepted=8,
    resolved=1,
    passed_upward=1,
    closed=5,
    on_time=4,
    applied=1,
    granted=2,
    entrusted=2,
    results={"failed": 1, "pending": 1},
)
CITY = expected(
    accepted=9,
    resolved=2,
    passed_upward=1,
    closed=6,
    on_time=5,
    applied=1,
    granted=2,
    entrusted=2,
    results={"failed": 1, "pending": 1},
)


def test_the_measures_of_the_whole_city_in_three_queries(scene, django_assert_num_queries):
    with django_assert_num_queries(3):
        measures = dispute_measures(Dispute.objects.all(), scene.start, scene.end)
    assert measures == CITY
    assert measures["resolution_rate"] == pytest.approx(2 / 9) and measures["on_time_rate"] == pytest.approx(5 / 6)


@pytest.mark.parametrize(("who", "figures"), [("centre", TOWN_1), ("centre_b", ZONE_B), ("centre_t2", ZONE_C)])
def test_a_scoped_queryset_measures_only_its_area(scene, who, figures):
    queryset = Dispute.objects.restrict(getattr(scene, who))
    assert dispute_measures(queryset, scene.start, scene.end) == figures


def test_a_period_with_nothing_in_it_has_no_rates(scene):
    measures = dispute_measures(Dispute.objects.all(), days_ago(200), days_ago(150))
    assert measures == expected()
    assert measures["resolution_rate"] is None and measures["on_time_rate"] is None


def test_the_period_includes_its_start_and_excludes_its_end(scene):
    assert dispute_measures(Dispute.objects.all(), days_ago(0), days_ago(-1))["accepted"] == 9
    assert dispute_measures(Dispute.objects.all(), days_ago(-1), days_ago(-2))["accepted"] == 0
    # A4 and A5 were moved 60 days back: a period starting that day holds them
    assert dispute_measures(Dispute.objects.all(), days_ago(60), days_ago(59))["accepted"] == 2
    assert dispute_measures(Dispute.objects.all(), days_ago(59), days_ago(0))["accepted"] == 0


def test_the_city_splits_into_its_towns(scene, django_assert_num_queries):
    with django_assert_num_queries(4):
        rows = dispute_measures_by_child(scene.tree.city, scene.start, scene.end)
    assert list(rows) == [scene.tree.t1, scene.tree.t2]
    assert rows[scene.tree.t1] == TOWN_1 and rows[scene.tree.t2] == ZONE_C


def test_a_town_splits_into_its_villages_and_the_rows_add_up(scene):
    rows = dispute_measures_by_child(scene.tree.t1, scene.start, scene.end)
    assert list(rows) == [scene.tree.zone_a, scene.tree.zone_b]
    assert rows[scene.tree.zone_a] == ZONE_A and rows[scene.tree.zone_b] == ZONE_B
    for key in ("accepted", "resolved", "closed", "confirmations_granted", "entrusted"):
        assert sum(row[key] for row in rows.values()) == TOWN_1[key]


def test_what_was_registered_on_the_node_itself_comes_last_under_the_node(scene):
    rows = dispute_measures_by_child(scene.tree.zone_a, scene.start, scene.end)
    assert list(rows) == [scene.tree.grid_a, scene.tree.zone_a]
    assert rows[scene.tree.grid_a]["accepted"] == 3 and rows[scene.tree.zone_a] == expected(accepted=1)


def test_a_child_with_nothing_in_the_period_still_has_its_row(scene):
    rows = dispute_measures_by_child(scene.tree.city, days_ago(200), days_ago(150))
    assert rows == {scene.tree.t1: expected(), scene.tree.t2: expected()}


def test_the_split_follows_a_scoped_queryset(scene):
    rows = dispute_measures_by_child(scene.tree.city, scene.start, scene.end, queryset=Dispute.objects.restrict(scene.centre_b))
    assert rows[scene.tree.t1] == ZONE_B and rows[scene.tree.t2] == expected()

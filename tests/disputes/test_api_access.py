"""Who reaches which dispute through the API.

Zone A (town T1) holds a dispute mediated by the zone's mediator, zone B (town T1) one
registered by its grid worker, zone C (town T2) one mediated by its own mediator. A user of
one zone lists, reads, searches, counts, steps on, reveals and exports; another zone's
dispute never shows: out of scope is 404 exactly like missing, and absent from every list,
count, search and file. The centre of T1 sees zones A and B, the centre of T2 only C; a
mediator sees their scope and what they are assigned; a court account only what its court
entrusted or is asked to confirm; the leader reads everything and acts on nothing; a user
without a role sees nothing.
"""

import csv
import io
from types import SimpleNamespace

import pytest

from disputes.models import Court, Dispute, DisputeTransition, Status
from disputes.services import Party, court_entrust
from disputes.workflow import Step
from tests.cases.test_api_access import sign_in
from tests.disputes.factories import agree, category, make_body, register, step, triage
from tests.factories import make_user
from tests.reads import listed_numbers, queries, queries_after_warm_up

pytestmark = pytest.mark.django_db

# A step on each of the first stages, with a body that would pass: only the scope refuses.
STEPS = (
    ("triage", {"tier": 12, "mediators": ["mediator_a"]}),
    ("withdraw", {"reason": "越界撤回"}),
    ("record-session", {"place": "村委会", "notes": "越界调解", "outcome": "failed"}),
    ("extend", {"days": 5, "reason": "越界延期", "consent": True}),
)


@pytest.fixture
def world(people):
    tree = people.tree
    a = triage(people.centre, register(people.worker, tree.grid_a, name="北京路排水沟纠纷"), people.mediator)
    b = register(people.worker_b, tree.grid_b, name="营盘坡宅基地纠纷", code="03")
    c = triage(people.centre_t2, register(people.centre_t2, tree.grid_c, name="南花村山林纠纷", code="04"), people.mediator_c)
    return SimpleNamespace(people=people, a=a, b=b, c=c)


def numbers(api, **params) -> list[str]:
    return listed_numbers(api, "/api/disputes/", **params)


def export_numbers(api, **params) -> list[str]:
    response = api.get("/api/disputes/export/", {"format": "csv", **params})
    assert response.status_code == 200, response.content
    return [row[0] for row in list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]]


def reveal_url(dispute) -> str:
    return f"/api/disputes/{dispute.number}/parties/{dispute.parties.first().pk}/reveal/"


def untouched(*disputes) -> list:
    return [(d.status, d.version) for d in Dispute.objects.filter(pk__in=[d.pk for d in disputes]).order_by("pk")]


def supervised(api) -> int:
    return sum(row["total"] for row in api.get("/api/disputes/supervision/").json())


def assert_out_of_reach(api, dispute) -> None:
    """Not found, exactly like a missing number, whatever is asked of it."""
    before = (untouched(dispute), DisputeTransition.objects.count())
    assert numbers(api, q=dispute.number) == [] and numbers(api, q=dispute.name) == []
    assert dispute.number not in numbers(api, under=dispute.grid.code)
    assert api.get(f"/api/disputes/{dispute.number}/").status_code == 404
    for action, body in STEPS:
        assert api.post(f"/api/disputes/{dispute.number}/{action}/", body, format="json").status_code == 404
    assert api.post(reveal_url(dispute)).status_code == 404
    assert (untouched(dispute), DisputeTransition.objects.count()) == before


# --- one zone against another -----------------------------------------------------------


@pytest.mark.parametrize("who", ["worker_b", "centre_b"])
def test_a_zone_b_user_reaches_nothing_of_zone_a(api, world, who):
    sign_in(api, getattr(world.people, who))

    assert numbers(api) == [world.b.number]
    assert_out_of_reach(api, world.a)
    assert_out_of_reach(api, world.c)
    assert api.get("/api/disputes/counts/").json()["total"] == 1 and supervised(api) == 1
    assert api.get(f"/api/disputes/{world.b.number}/").status_code == 200
    if who == "worker_b":
        assert api.get("/api/disputes/export/", {"format": "csv"}).status_code == 403
    else:
        assert export_numbers(api) == [world.b.number]
        assert export_numbers(api, q=world.a.number) == [] and export_numbers(api, under=world.people.tree.zone_a.code) == []
        triaged = api.post(f"/api/disputes/{world.b.number}/triage/", {"tier": 11, "body": make_body().pk}, format="json")
        assert triaged.status_code == 200 and triaged.json()["status"] == "mediating"


def test_another_towns_centre_sees_nothing_of_t1(api, world):
    sign_in(api, world.people.centre_t2)
    assert numbers(api) == [world.c.number]
    assert_out_of_reach(api, world.a)
    assert_out_of_reach(api, world.b)
    assert api.get("/api/disputes/counts/").json()["total"] == 1
    assert export_numbers(api) == [world.c.number]


def test_the_town_centre_reaches_both_its_zones_and_acts_there(api, world):
    sign_in(api, world.people.centre)
    assert set(numbers(api)) == {world.a.number, world.b.number}
    assert_out_of_reach(api, world.c)
    assert api.get("/api/disputes/counts/").json()["total"] == 2
    assert set(export_numbers(api)) == {world.a.number, world.b.number}
    revealed = api.post(reveal_url(world.b))
    assert revealed.status_code == 200 and revealed["Cache-Control"] == "no-store"
    withdrawn = api.post(f"/api/disputes/{world.b.number}/withdraw/", {"reason": "申请人撤回"}, format="json")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


def test_a_grid_worker_reads_their_grid_only(api, world):
    sign_in(api, world.people.worker)
    assert numbers(api) == [world.a.number]
    assert_out_of_reach(api, world.b)
    refused = api.post(f"/api/disputes/{world.a.number}/withdraw/", {"reason": "网格员撤回"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["message"]


# --- mediators --------------------------------------------------------------------------


def test_a_mediator_sees_their_scope_and_what_they_are_assigned(api, world):
    people = world.people
    sign_in(api, people.mediator)
    assert numbers(api) == [world.a.number]
    assert "record-session" in api.get(f"/api/disputes/{world.a.number}/").json()["available_steps"]
    assert_out_of_reach(api, world.b)

    # zone B's dispute routed to a town committee the zone A mediator belongs to
    committee = make_body("大十字街道人民调解委员会", rank=13, members=[people.mediator], node=people.tree.t1)
    triage(people.centre, world.b, people.mediator, rank=13, body=committee)
    assert set(numbers(api)) == {world.a.number, world.b.number}
    session = {"place": "街道调委会", "notes": "双方同意再谈", "outcome": "partial"}
    assert api.post(f"/api/disputes/{world.b.number}/record-session/", session, format="json").status_code == 200
    assert_out_of_reach(api, world.c)

    sign_in(api, people.mediator_c)
    assert numbers(api) == [world.c.number]
    assert_out_of_reach(api, world.a)
    assert api.get("/api/disputes/export/", {"format": "csv"}).status_code == 403


def test_a_body_member_without_a_role_sees_only_what_was_routed_to_the_body(api, world):
    people = world.people
    sign_in(api, people.industry_mediator)
    assert numbers(api) == []
    assert_out_of_reach(api, world.b)
    assert api.get("/api/disputes/export/", {"format": "csv"}).status_code == 403
    assert api.post("/api/disputes/", {"name": "x"}, format="json").status_code == 403

    triage(people.centre, world.b, people.industry_mediator, body=people.medical)
    assert numbers(api) == [world.b.number]
    assert "record-session" in api.get(f"/api/disputes/{world.b.number}/").json()["available_steps"]
    assert_out_of_reach(api, world.a)


# --- courts -----------------------------------------------------------------------------


def test_a_court_account_sees_only_its_courts_entrusted_and_confirmation_disputes(api, world):
    people = world.people
    sign_in(api, people.judge)
    assert numbers(api) == []
    assert_out_of_reach(api, world.a)

    body = make_body("南花村人民调解委员会", node=people.tree.zone_c, members=[people.mediator_c])
    entrusted = court_entrust(
        actor=people.judge,
        court=people.court,
        court_case_number="（2026）黔2601民初7号",
        referral="pre_filing",
        body=body,
        name="南花村买卖合同纠纷",
        category=category("05"),
        grid=people.tree.grid_c,
        summary="货款未付",
        occurred_on=world.c.occurred_on,
        parties=[Party(role="applicant", name="王五"), Party(role="respondent", name="赵六")],
    )
    a = agree(people.centre, Dispute.objects.get(pk=world.a.pk), people.mediator)
    step(people.mediator, a, Step.APPLY_CONFIRMATION, court=people.court, applicants="张三、李四")

    assert set(numbers(api)) == {entrusted.number, world.a.number}
    assert api.get("/api/disputes/counts/").json()["total"] == 2
    assert api.get(f"/api/disputes/{world.a.number}/").json()["available_steps"] == ["record-ruling"]
    assert api.get(f"/api/disputes/{entrusted.number}/").json()["available_steps"] == ["extend"]
    assert api.post(f"/api/disputes/{world.a.number}/withdraw/", {"reason": "法院撤回"}, format="json").status_code == 403
    assert api.post(reveal_url(world.a)).status_code == 403
    assert_out_of_reach(api, world.b)
    assert_out_of_reach(api, world.c)
    assert api.get("/api/disputes/export/", {"format": "csv"}).status_code == 403

    other_court = make_user("court_qdn")
    Court.objects.get(code="qiandongnan").members.add(other_court)
    sign_in(api, other_court)
    assert numbers(api) == [] and api.get("/api/entrusted-mediations/").json()["results"] == []
    assert_out_of_reach(api, entrusted)
    assert_out_of_reach(api, world.a)


# --- leaders and users without a role ---------------------------------------------------


def test_the_leader_reads_everything_but_acts_on_nothing(api, world):
    sign_in(api, world.people.leader)
    assert set(numbers(api)) == {world.a.number, world.b.number, world.c.number}
    assert api.get("/api/disputes/counts/").json()["total"] == 3 and supervised(api) == 3
    dispute = api.get(f"/api/disputes/{world.a.number}/")
    assert dispute.status_code == 200 and dispute.json()["available_steps"] == []
    before = (untouched(world.a, world.b), DisputeTransition.objects.count())
    for number in (world.a.number, world.b.number):
        for action, body in STEPS:
            refused = api.post(f"/api/disputes/{number}/{action}/", body, format="json")
            assert refused.status_code in (403, 409), (action, refused.content)
    for action, body in STEPS[:2]:
        refused = api.post(f"/api/disputes/{world.b.number}/{action}/", body, format="json")
        assert refused.status_code == 403 and refused.json()["error"]["message"]
    assert api.post(reveal_url(world.a)).status_code == 403
    assert (untouched(world.a, world.b), DisputeTransition.objects.count()) == before
    assert set(export_numbers(api)) == {world.a.number, world.b.number, world.c.number}


def test_a_user_without_a_role_sees_nothing(api, world):
    sign_in(api, make_user("no_role_at_all"))
    assert api.get("/api/disputes/").status_code == 403
    assert api.get("/api/disputes/counts/").status_code == 403
    assert api.get(f"/api/disputes/{world.a.number}/").status_code == 403
    assert api.post(f"/api/disputes/{world.a.number}/withdraw/", {"reason": "x"}, format="json").status_code == 403
    assert api.get("/api/disputes/export/", {"format": "csv"}).status_code == 403
    assert api.get("/api/entrusted-mediations/").json()["results"] == []
    assert Dispute.objects.get(pk=world.a.pk).status == Status.MEDIATING


def test_signed_out_callers_get_nothing(api, world):
    assert api.get("/api/disputes/").status_code in (401, 403)
    assert api.get(f"/api/disputes/{world.a.number}/").status_code in (401, 403)
    assert api.get("/api/entrusted-mediations/").status_code in (401, 403)
    assert api.post(reveal_url(world.a)).status_code in (401, 403)


# --- query counts -----------------------------------------------------------------------


def test_the_list_costs_the_same_for_two_disputes_as_for_twelve(api, people, django_assert_max_num_queries):
    committee = make_body(members=[people.mediator], node=people.tree.zone_a)
    users = (people.centre, people.worker, people.mediator, people.judge, people.leader)

    def add(n: int) -> None:
        dispute = triage(people.centre, register(people.worker, people.tree.grid_a, name=f"纠纷{n}"), people.mediator)
        dispute = agree(people.centre, dispute, people.mediator)
        step(people.mediator, dispute, Step.APPLY_CONFIRMATION, court=people.court, applicants="张三、李四")
        court_entrust(
            actor=people.judge,
            court=people.court,
            court_case_number=f"（2026）黔2601民初{n}号",
            referral="after_filing",
            procedure="simple",
            body=committee,
            mediators=[people.mediator],
            name=f"委托纠纷{n}",
            category=category(),
            grid=people.tree.grid_a,
            summary="委托调解",
            occurred_on=dispute.occurred_on,
            parties=[Party(role="applicant", name="王五")],
        )

    def list_queries() -> list[int]:
        counts = []
        for user in users:
            sign_in(api, user)
            queries(api, "/api/disputes/")  # the user's roles, grants and courts are read once per request user
            counts.append(queries(api, "/api/disputes/", page_size=100))
        return counts

    add(0)
    one = list_queries()
    for n in range(1, 6):
        add(n)
    several = list_queries()
    # three queries (the disputes and bodies the user mediates, count, page), and for the
    # judge two more (the court's account, what the court entrusted or was asked); the
    # leader's session also reads the session, the account, its TOTP device, roles and
    # grants, and stamps the session's last activity
    assert one == several and several[:4] == [3, 3, 3, 5] and several[4] <= 13, (one, several)
    for user in users:
        sign_in(api, user)
        queries(api, "/api/disputes/")
        with django_assert_max_num_queries(13):
            assert len(numbers(api, page_size=100)) == 12


def test_a_dispute_page_costs_the_same_however_long_its_history(api, people):
    short = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    short = step(people.mediator, short, Step.RECORD_SESSION, place="村委会", notes="第一次", outcome="partial")
    short = agree(people.centre, short, people.mediator)
    short = step(people.worker, short, Step.FOLLOW_UP, performance="performing", note="正在履行")
    long = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    for n in range(3):
        long = step(people.mediator, long, Step.RECORD_SESSION, place="村委会", notes=f"第{n}次", outcome="partial")
    long = step(people.mediator, long, Step.EXTEND, days=5, reason="外出务工", consent=True)
    long = agree(people.centre, long, people.mediator)
    for performance in ("performing", "performing", "performed"):
        long = step(people.worker, long, Step.FOLLOW_UP, performance=performance, note="回访")
    for user in (people.centre, people.mediator, people.leader):
        sign_in(api, user)
        few, many = queries_after_warm_up(api, f"/api/disputes/{short.number}/", f"/api/disputes/{long.number}/")
        # the dispute and its parties, mediators, sessions, agreements, follow-ups,
        # confirmations and timeline, the current agreement for the steps (and the
        # leader's session reads)
        assert few == many <= (24 if user == people.leader else 14), (user, few, many)

"""Who reaches which incident through the API.

Zone A and zone B (both in town T1) each hold a case reported by their grid worker, with a
photo. A user of one zone lists, reads, searches, steps on, exports and downloads; the
other zone's case never shows: out of scope is 404 exactly like missing, and absent from
every list, search and file. The centre of T1 sees both, the centre of T2 nothing of T1;
a department's handler sees only what was dispatched to the department, until returned;
the leader reads everything but takes no centre step.
"""

import csv
import io
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Incident, Status
from cases.services import Involved, Upload
from kaili import roles
from tests.cases.factories import bring_to, make_department, report
from tests.factories import force_verified, make_user
from tests.populations.factories import make_person
from tests.reads import listed_numbers, queries, queries_after_warm_up

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def photo(name="scene.png"):
    return Upload(SimpleUploadedFile(name, PNG, content_type="image/png"))


@pytest.fixture
def world(cast):
    zones = {}
    for zone, worker, unit in (("a", cast.worker, cast.tree.unit_a), ("b", cast.worker_b, cast.tree.unit_b)):
        incident = report(worker, unit, description=f"{zone.upper()} 区路灯不亮", uploads=[photo()])
        zones[zone] = SimpleNamespace(
            incident=incident, number=incident.number, attachment=incident.attachments.get(), worker=worker
        )
    return SimpleNamespace(cast=cast, a=zones["a"], b=zones["b"])


def sign_in(api, user):
    api.logout()
    if roles.requires_two_factor(user):
        force_verified(api, user)  # a session that passed TOTP: the user is read on each request
    else:
        api.force_authenticate(user)
    return api


def numbers(api, **params) -> list[str]:
    return listed_numbers(api, "/api/incidents/", **params)


def attachment_url(zone) -> str:
    return f"/api/incidents/{zone.number}/attachments/{zone.attachment.pk}/"


def export_numbers(api, **params) -> list[str]:
    response = api.get("/api/incidents/export/", {"format": "csv", **params})
    assert response.status_code == 200, response.content
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return [row[0] for row in rows[1:]]


# --- one zone against the other ---------------------------------------------------------


@pytest.mark.parametrize("who", ["worker_b", "centre_b"])
def test_a_zone_b_user_reaches_nothing_of_zone_a(api, world, who):
    user = getattr(world.cast, who)
    sign_in(api, user)
    a, b = world.a, world.b

    assert numbers(api) == [b.number]
    assert numbers(api, q=a.number) == []
    assert numbers(api, under=world.cast.tree.zone_a.code) == []
    assert api.get(f"/api/incidents/{a.number}/").status_code == 404
    assert api.get(attachment_url(a)).status_code == 404
    for step, body in (("file", {}), ("cancel", {"reason": "越界"}), ("solve-on-spot", {"result": "越界"})):
        assert api.post(f"/api/incidents/{a.number}/{step}/", body, format="json").status_code == 404
    assert Incident.objects.get(pk=a.incident.pk).status == Status.REPORTED
    assert api.get("/api/incidents/counts/").json()["total"] == 1

    assert api.get(f"/api/incidents/{b.number}/").status_code == 200
    assert api.get(attachment_url(b)).status_code == 200
    if who == "worker_b":
        assert api.get("/api/incidents/export/", {"format": "csv"}).status_code == 403
    else:
        assert export_numbers(api) == [b.number]
        assert export_numbers(api, q=a.number) == []
        assert api.post(f"/api/incidents/{b.number}/file/", {}, format="json").status_code == 200


def test_the_town_centre_reaches_both_zones(api, world):
    sign_in(api, world.cast.centre)
    assert set(numbers(api)) == {world.a.number, world.b.number}
    assert numbers(api, q=world.a.number) == [world.a.number]
    download = api.get(attachment_url(world.a))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    case = api.post(f"/api/incidents/{world.a.number}/file/", {}, format="json")
    assert case.status_code == 200 and case.json()["status"] == "filed"
    assert set(export_numbers(api)) == {world.a.number, world.b.number}


def test_another_towns_centre_sees_nothing_of_t1(api, world):
    sign_in(api, world.cast.centre_t2)
    assert numbers(api) == [] and numbers(api, q=world.a.number) == []
    assert api.get(f"/api/incidents/{world.a.number}/").status_code == 404
    assert api.get(attachment_url(world.a)).status_code == 404
    assert api.post(f"/api/incidents/{world.a.number}/file/", {}, format="json").status_code == 404
    assert export_numbers(api) == []
    assert api.get("/api/incidents/counts/").json()["total"] == 0


def test_a_grid_worker_reads_their_own_grid_and_checks_there(api, world):
    sign_in(api, world.cast.worker)
    assert numbers(api) == [world.a.number]
    assert api.get(f"/api/incidents/{world.b.number}/").status_code == 404


# --- handlers ---------------------------------------------------------------------------


def test_a_handler_sees_only_what_was_dispatched_to_their_department_until_returned(api, world):
    cast = world.cast
    sign_in(api, cast.handler)
    assert numbers(api) == []
    assert api.get(f"/api/incidents/{world.a.number}/").status_code == 404
    assert api.post(f"/api/incidents/{world.a.number}/start/", {}, format="json").status_code == 404

    everyone = {"centre": cast.centre, "handler": cast.handler, "reporter": cast.worker, "department": cast.department}
    bring_to(world.a.incident, Status.DISPATCHED, **everyone)
    other = make_department("other-dept", "另一承办单位", members=[make_user("handler_other")])
    bring_to(world.b.incident, Status.DISPATCHED, **(everyone | {"reporter": cast.worker_b, "department": other}))

    assert numbers(api) == [world.a.number]
    assert numbers(api, q=world.b.number) == []
    case = api.get(f"/api/incidents/{world.a.number}/").json()
    assert set(case["available_steps"]) == {"start", "return", "report-back"}
    assert api.get(attachment_url(world.a)).status_code == 200
    assert api.get(f"/api/incidents/{world.b.number}/").status_code == 404
    assert api.post(f"/api/incidents/{world.b.number}/start/", {}, format="json").status_code == 404
    assert api.post(f"/api/incidents/{world.a.number}/file/", {}, format="json").status_code == 403
    assert api.get("/api/incidents/export/", {"format": "csv"}).status_code == 403
    assert api.post("/api/incidents/", {"category": "1201"}, format="json").status_code == 403

    returned = api.post(f"/api/incidents/{world.a.number}/return/", {"reason": "不属于本单位职责"}, format="json")
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert numbers(api) == []
    assert api.get(f"/api/incidents/{world.a.number}/").status_code == 404
    assert api.get(attachment_url(world.a)).status_code == 404


def test_a_person_dispatched_to_directly_handles_the_case(api, world):
    cast = world.cast
    sign_in(api, cast.centre)
    api.post(f"/api/incidents/{world.a.number}/file/", {}, format="json")
    dispatched = api.post(f"/api/incidents/{world.a.number}/dispatch/", {"handler": "handler_a"}, format="json")
    assert dispatched.status_code == 200 and dispatched.json()["department"] is None
    sign_in(api, cast.handler)
    assert numbers(api) == [world.a.number]
    done = api.post(f"/api/incidents/{world.a.number}/report-back/", {"result": "已修复"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "reported_back"


# --- leaders and roles without incidents ------------------------------------------------


def test_the_leader_reads_everything_but_takes_no_centre_step(api, world):
    sign_in(api, world.cast.leader)
    assert set(numbers(api)) == {world.a.number, world.b.number}
    case = api.get(f"/api/incidents/{world.a.number}/")
    assert case.status_code == 200 and case.json()["available_steps"] == []
    for step, body in (("file", {}), ("cancel", {"reason": "领导注销"})):
        refused = api.post(f"/api/incidents/{world.a.number}/{step}/", body, format="json")
        assert refused.status_code == 403 and refused.json()["error"]["message"]
    assert Incident.objects.get(pk=world.a.incident.pk).status == Status.REPORTED
    assert set(export_numbers(api)) == {world.a.number, world.b.number}


def test_the_leader_must_pass_two_factor_first(api, world):
    api.force_login(world.cast.leader)
    refused = api.get("/api/incidents/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "two_factor_required"


@pytest.mark.parametrize("role", [roles.UNIT_HEAD, roles.MEDIATOR])
def test_roles_without_incidents_are_refused(api, world, role):
    sign_in(api, make_user(f"no_incidents_{role}", role, [world.cast.tree.zone_a]))
    assert api.get("/api/incidents/").status_code == 403
    assert api.get(f"/api/incidents/{world.a.number}/").status_code == 403
    assert api.get("/api/incidents/export/", {"format": "csv"}).status_code == 403
    assert api.get("/api/categories/").status_code == 200  # the tables are for everyone signed in


def test_signed_out_callers_get_nothing(api, world):
    assert api.get("/api/incidents/").status_code in (401, 403)
    assert api.get(attachment_url(world.a)).status_code in (401, 403)


# --- query counts -----------------------------------------------------------------------


def test_the_list_costs_the_same_for_3_cases_as_for_20(api, cast):
    everyone = {"centre": cast.centre, "handler": cast.handler, "reporter": cast.worker, "department": cast.department}
    users = (cast.centre, cast.worker, cast.handler, cast.leader)

    def list_queries() -> list[int]:
        counts = []
        for user in users:
            sign_in(api, user)
            queries(api, "/api/incidents/")  # the user's roles and grants are read once per request user
            counts.append(queries(api, "/api/incidents/", page_size=100))
        return counts

    for _ in range(3):
        bring_to(report(cast.worker, cast.tree.unit_a), Status.DISPATCHED, **everyone)
    few = list_queries()
    for _ in range(17):
        bring_to(report(cast.worker, cast.tree.unit_a), Status.DISPATCHED, **everyone)
    many = list_queries()
    # two queries (count, page); the leader's session also reads the session, the account,
    # its TOTP device, roles, grants, the nodes of the grants and departments, and stamps
    # the session's last activity
    assert few == many and many[:3] == [2, 2, 2] and many[3] <= 12, (few, many)
    for user in users:
        sign_in(api, user)
        assert len(numbers(api, page_size=100)) == 20


def test_a_case_page_costs_the_same_however_long_its_history(api, cast):
    everyone = {"centre": cast.centre, "handler": cast.handler, "reporter": cast.worker, "department": cast.department}
    short = report(cast.worker, cast.tree.unit_a)
    people = [make_person(unit=cast.tree.unit_a, name=f"居民{n}") for n in range(4)]
    long = report(
        cast.worker,
        cast.tree.unit_a,
        people=[Involved(person=person) for person in people] + [Involved(name="路人")],
        uploads=[photo(f"{n}.png") for n in range(4)],
    )
    long = bring_to(long, Status.EVALUATED, **everyone)
    for user in (cast.centre, cast.worker, cast.leader):
        sign_in(api, user)
        few, many = queries_after_warm_up(api, f"/api/incidents/{short.number}/", f"/api/incidents/{long.number}/")
        # the case, its people, attachments and timeline (and the leader's session reads)
        assert few == many <= (14 if user == cast.leader else 4), (user, few, many)


def test_reading_a_criminal_case_in_the_api_is_audited(api, cast):
    from kaili.models import AuditEntry
    from tests.cases.factories import THEFT, report

    theft = report(cast.worker, cast.tree.unit_a, code=THEFT, description="电动车被盗")
    api.force_authenticate(cast.centre)
    assert api.get(f"/api/incidents/{theft.number}/").status_code == 200
    assert AuditEntry.objects.filter(action="read_sensitive", object_id=str(theft.pk), actor_username="centre_t1").count() == 1


def test_opening_a_photo_of_a_criminal_case_is_audited(api, cast, settings, tmp_path):
    from kaili.models import AuditEntry
    from tests.cases.factories import THEFT

    settings.MEDIA_ROOT = tmp_path
    theft = report(cast.worker, cast.tree.unit_a, code=THEFT, description="电动车被盗", uploads=[photo()])
    attachment = theft.attachments.get()
    api.force_authenticate(cast.centre)
    response = api.get(f"/api/incidents/{theft.number}/attachments/{attachment.pk}/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action="read_sensitive", object_id=str(theft.pk))
    assert entry.changes["attachment"] == attachment.pk

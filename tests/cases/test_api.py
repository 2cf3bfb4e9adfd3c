"""The incidents API: a grid worker reports from the phone, the centre files and dispatches,
the handler reports back, the reporter checks and the case closes; every refusal answers
with the field or the reason, and leaves nothing written."""

import datetime
import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases.hooks import register_dispute_receiver, unregister_dispute_receiver
from cases.models import Incident, IncidentAttachment, IncidentTransition, Status
from tests.cases.factories import NEIGHBOUR_DISPUTE, SMALL_HAZARD, THEFT, bring_to, category, make_department, report
from tests.factories import force_verified
from tests.populations.factories import make_person
from tests.reads import listed_numbers

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
STREETLIGHT = "1201"
CLEAR_ID = "522601198005170017"


def png(name="scene.png", content=PNG):
    return SimpleUploadedFile(name, content, content_type="image/png")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


def written(root) -> tuple:
    """What a refusal must leave as it was: cases, steps, attachments, files on disk."""
    return (
        Incident.objects.count(),
        IncidentTransition.objects.count(),
        IncidentAttachment.objects.count(),
        len(stored_files(root)),
    )


def an_hour_ago() -> str:
    return (timezone.now() - datetime.timedelta(hours=1)).isoformat()


def report_body(grid, **fields) -> dict:
    return {
        "category": STREETLIGHT,
        "grid": grid.code,
        "description": "北京路 12 号路灯不亮，夜间行人看不清路面。",
        "occurred_at": an_hour_ago(),
        **fields,
    }


def everyone(cast) -> dict:
    return {"centre": cast.centre, "handler": cast.handler, "reporter": cast.worker, "department": cast.department}


def error_of(response, status_code: int) -> dict:
    assert response.status_code == status_code, response.content
    return response.json()["error"]


def url(incident, step: str = "") -> str:
    number = incident if isinstance(incident, str) else incident.number
    return f"/api/incidents/{number}/{step}/" if step else f"/api/incidents/{number}/"


def take(api, user, incident, step: str, body=None, **options):
    api.force_authenticate(user)
    return api.post(url(incident, step), body or {}, **({"format": "json"} | options))


# --- reporting ---------------------------------------------------------------------------


def test_a_grid_worker_reports_with_photos_files_and_people_from_the_phone(api, cast, media):
    resident = make_person(unit=cast.tree.unit_a, name="李四", identity_number=CLEAR_ID)
    api.force_authenticate(cast.worker)
    body = report_body(
        cast.tree.unit_a,
        title="路灯不亮",
        place="北京路 12 号",
        latitude="26.566123",
        longitude="107.981234",
        people=json.dumps([{"person": resident.pk, "role": "reporter"}, {"name": "王五", "role": "witness", "note": "住 3 楼"}]),
        photos=[png("one.png"), png("two.png")],
        files=[SimpleUploadedFile("notes.txt", "值班记录".encode(), content_type="text/plain")],
    )
    response = api.post("/api/incidents/", body, format="multipart")

    assert response.status_code == 201, response.content
    case = response.json()
    assert case["number"].startswith("SJ-522601-") and case["status"] == "reported" and case["version"] == 1
    assert case["grid"] == {"code": cast.tree.unit_a.code, "name": cast.tree.unit_a.name}
    assert case["category"]["code"] == STREETLIGHT and case["category"]["major_name"]
    assert case["reporter"]["username"] == "worker_a" and case["source"] == "patrol"
    assert (case["latitude"], case["longitude"]) == ("26.566123", "107.981234")
    people = {person["name"]: person for person in case["people"]}
    assert people["李四"]["person"] == resident.pk and people["李四"]["role"] == "reporter"
    assert people["李四"]["id_number_masked"] == resident.id_number_masked != CLEAR_ID
    assert people["王五"] == {**people["王五"], "person": None, "id_number_masked": None, "note": "住 3 楼"}
    assert CLEAR_ID not in response.content.decode()
    kinds = sorted((a["kind"], a["filename"], a["content_type"]) for a in case["attachments"])
    assert kinds == [("file", "notes.txt", "text/plain"), ("photo", "one.png", "image/png"), ("photo", "two.png", "image/png")]
    assert len(stored_files(media)) == 3
    assert [(t["step"], t["label"], t["to_status"]) for t in case["transitions"]] == [("report", "上报", "reported")]
    assert case["deadlines"]["file"] == case["due_at"] and case["deadlines"]["handle"] is None
    assert case["available_steps"] == ["solve-on-spot"]

    photo = next(a for a in case["attachments"] if a["filename"] == "one.png")
    download = api.get(photo["url"])
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    assert download["Content-Type"] == "image/png" and b"".join(download.streaming_content) == PNG


def test_a_report_in_json_defaults_title_and_urgency(api, cast):
    resident = make_person(unit=cast.tree.unit_a, name="赵六")
    api.force_authenticate(cast.worker)
    people = [{"person": resident.pk}, {"name": "孙七", "role": "victim"}]
    response = api.post("/api/incidents/", report_body(cast.tree.grid_a, people=people), format="json")
    assert response.status_code == 201, response.content
    case = response.json()
    assert case["title"] and case["urgency"] == "normal" and case["attachments"] == []
    people = {person["name"]: person for person in case["people"]}
    assert (people["赵六"]["role"], people["孙七"]["role"]) == ("party", "victim")
    assert people["赵六"]["id_number_masked"] == resident.id_number_masked and people["孙七"]["person"] is None


def test_resubmitting_the_same_report_creates_it_once(api, cast):
    api.force_authenticate(cast.worker)
    key = str(uuid.uuid4())
    first = api.post("/api/incidents/", report_body(cast.tree.unit_a, client_key=key), format="json")
    again = api.post("/api/incidents/", report_body(cast.tree.unit_a, client_key=key), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    assert Incident.objects.filter(client_key=key).count() == 1
    assert IncidentTransition.objects.filter(incident__client_key=key).count() == 1


def test_the_idempotency_key_header_works_like_client_key(api, cast, media):
    api.force_authenticate(cast.worker)
    key = str(uuid.uuid4())
    body = report_body(cast.tree.unit_a, photos=[png()])
    first = api.post("/api/incidents/", body, format="multipart", HTTP_IDEMPOTENCY_KEY=key)
    body = report_body(cast.tree.unit_a, photos=[png()])
    again = api.post("/api/incidents/", body, format="multipart", HTTP_IDEMPOTENCY_KEY=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    assert Incident.objects.count() == 1 and len(stored_files(media)) == 1
    bad = api.post("/api/incidents/", report_body(cast.tree.unit_a), format="json", HTTP_IDEMPOTENCY_KEY="not-a-uuid")
    assert "client_key" in error_of(bad, 400)["fields"]


def test_the_same_key_from_another_reporter_is_another_report(api, cast):
    key = str(uuid.uuid4())
    api.force_authenticate(cast.worker)
    assert api.post("/api/incidents/", report_body(cast.tree.unit_a, client_key=key), format="json").status_code == 201
    api.force_authenticate(cast.centre)
    assert api.post("/api/incidents/", report_body(cast.tree.unit_a, client_key=key), format="json").status_code == 201
    assert Incident.objects.filter(client_key=key).count() == 2


def test_a_matter_solved_on_the_spot_is_closed_at_once(api, cast):
    api.force_authenticate(cast.worker)
    body = report_body(cast.tree.unit_a, category=SMALL_HAZARD, solved_on_spot=True, result="当场清理了楼道杂物。")
    case = api.post("/api/incidents/", body, format="json").json()
    assert case["status"] == "closed" and case["result"] == "当场清理了楼道杂物。"
    assert [t["step"] for t in case["transitions"]] == ["report", "solve_on_spot"]
    missing = api.post("/api/incidents/", {**body, "result": ""}, format="json")
    assert "result" in error_of(missing, 400)["fields"]


# --- bad input ---------------------------------------------------------------------------


def _text_as_photo():
    return {"photos": [SimpleUploadedFile("x.jpg", b"just some text, not a picture", content_type="image/jpeg")]}


def _too_large_photo():
    return {"photos": [png("big.png", PNG + b"\x00" * 2048)]}


BAD_REPORTS = {
    "unknown category": ("category", lambda cast: {"category": "9999"}),
    "major category": ("category", lambda cast: {"category": "12"}),
    "grid out of scope": ("grid", lambda cast: {"grid": cast.tree.unit_b.code}),
    "missing grid": ("grid", lambda cast: {"grid": "522601999999999"}),
    "photo not an image": ("photos", lambda cast: _text_as_photo()),
    "photo too large": ("photos", lambda cast: _too_large_photo()),
    "future occurrence": (
        "occurred_at",
        lambda cast: {"occurred_at": (timezone.now() + datetime.timedelta(hours=2)).isoformat()},
    ),
    "empty description": ("description", lambda cast: {"description": "   "}),
    "person out of scope": ("people", lambda cast: {"people": json.dumps([{"person": make_person(unit=cast.tree.unit_b).pk}])}),
    "person without a name": ("people", lambda cast: {"people": '[{"role": "witness"}]'}),
    "people not a list": ("people", lambda cast: {"people": "王五"}),
}


@pytest.mark.parametrize("case", BAD_REPORTS, ids=list(BAD_REPORTS))
def test_a_bad_report_names_the_field_and_writes_nothing(api, cast, media, settings, case):
    settings.KAILI_MAX_ATTACHMENT_BYTES = 1024
    field, change = BAD_REPORTS[case]
    api.force_authenticate(cast.worker)
    body = report_body(cast.tree.unit_a, photos=[png("ok.png")]) | change(cast)
    before = written(media)
    error = error_of(api.post("/api/incidents/", body, format="multipart"), 400)
    assert field in error["fields"] and error["message"]
    assert written(media) == before


def test_the_same_answer_for_a_grid_out_of_scope_and_a_missing_one(api, cast):
    api.force_authenticate(cast.worker)
    elsewhere = api.post("/api/incidents/", report_body(cast.tree.unit_b), format="json")
    missing = api.post("/api/incidents/", report_body(cast.tree.unit_b) | {"grid": "522601001009001"}, format="json")
    said_elsewhere = error_of(elsewhere, 400)["fields"]["grid"][0].replace(cast.tree.unit_b.code, "X")
    said_missing = error_of(missing, 400)["fields"]["grid"][0].replace("522601001009001", "X")
    assert said_elsewhere == said_missing


def test_an_inactive_category_is_refused(api, cast):
    category(STREETLIGHT).__class__.objects.filter(code=STREETLIGHT).update(is_active=False)
    api.force_authenticate(cast.worker)
    assert "category" in error_of(api.post("/api/incidents/", report_body(cast.tree.unit_a), format="json"), 400)["fields"]


def test_only_reporting_roles_report(api, cast):
    force_verified(api, cast.leader)
    assert api.post("/api/incidents/", report_body(cast.tree.unit_a), format="json").status_code == 403
    assert Incident.objects.count() == 0


# --- the loop ----------------------------------------------------------------------------


def test_the_whole_loop_through_the_api(api, cast, media):
    api.force_authenticate(cast.worker)
    number = api.post("/api/incidents/", report_body(cast.tree.unit_a), format="json").json()["number"]

    api.force_authenticate(cast.centre)
    case = api.get(url(number)).json()
    assert set(case["available_steps"]) == {"file", "cancel"}
    case = take(api, cast.centre, number, "file", {"version": case["version"], "urgency": "urgent", "note": "属实"}).json()
    assert (case["status"], case["urgency"], case["version"]) == ("filed", "urgent", 2)
    assert case["deadlines"]["dispatch"] == case["due_at"]
    assert set(case["available_steps"]) >= {"dispatch", "cancel"}

    case = take(
        api, cast.centre, number, "dispatch", {"department": cast.department.code, "handler": "handler_a", "version": 2}
    ).json()
    assert case["status"] == "dispatched" and case["department"]["code"] == "test-dept"
    assert case["handler"]["username"] == "handler_a" and case["deadlines"]["handle"] == case["due_at"]

    api.force_authenticate(cast.handler)
    assert [row["number"] for row in api.get("/api/incidents/").json()["results"]] == [number]
    assert set(api.get(url(number)).json()["available_steps"]) == {"start", "return", "report-back"}
    case = take(api, cast.handler, number, "start").json()
    assert case["status"] == "handling"
    response = take(
        api, cast.handler, number, "report-back", {"result": "已更换灯泡。", "photos": [png("done.png")]}, format="multipart"
    )
    case = response.json()
    assert case["status"] == "reported_back" and case["result"] == "已更换灯泡。"
    assert [(a["step"], a["filename"]) for a in case["attachments"]] == [("report_back", "done.png")]
    assert len(stored_files(media)) == 1

    case = take(api, cast.worker, number, "check", {"note": "现场核实，路灯已亮。"}).json()
    assert case["status"] == "closed" and case["check_result"] == "现场核实，路灯已亮。"
    case = take(api, cast.worker, number, "evaluate", {"satisfaction": 5, "note": "满意"}).json()
    assert (case["status"], case["satisfaction"], case["evaluation"]) == ("evaluated", 5, "满意")

    timeline = [(t["step"], t["label"], t["from_status"], t["to_status"], t["actor"]) for t in case["transitions"]]
    assert timeline == [
        ("report", "上报", "", "reported", str(cast.worker)),
        ("file", "立案", "reported", "filed", str(cast.centre)),
        ("dispatch", "派遣", "filed", "dispatched", str(cast.centre)),
        ("start", "签收", "dispatched", "handling", str(cast.handler)),
        ("report_back", "反馈", "handling", "reported_back", str(cast.handler)),
        ("check", "核查结案", "reported_back", "closed", str(cast.worker)),
        ("evaluate", "评价", "closed", "evaluated", str(cast.worker)),
    ]
    assert case["available_steps"] == []


def test_cancel_with_a_reason(api, cast):
    incident = report(cast.worker, cast.tree.unit_a)
    case = take(api, cast.centre, incident, "cancel", {"reason": "重复上报"}).json()
    assert case["status"] == "cancelled" and case["transitions"][-1]["note"] == "重复上报"
    assert case["due_at"] is None and case["overdue"] is False


def test_a_department_returns_a_case_it_does_not_own(api, cast):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.DISPATCHED, **everyone(cast))
    case = take(api, cast.handler, incident, "return", {"reason": "不属于本单位职责"}).json()
    assert case["status"] == "returned" and case["department"] is None and case["handler"] is None
    assert case["transitions"][-1]["note"] == "不属于本单位职责"


def test_the_checker_sends_it_back_for_rework(api, cast):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.REPORTED_BACK, **everyone(cast))
    case = take(api, cast.worker, incident, "rework", {"reason": "路灯仍不亮"}).json()
    assert case["status"] == "handling" and case["check_result"] == "路灯仍不亮"
    assert case["deadlines"]["handle"] == case["due_at"]


def test_extend_then_park(api, cast):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.DISPATCHED, **everyone(cast))
    before = Incident.objects.get(pk=incident.pk).handle_due_at
    case = take(api, cast.centre, incident, "extend", {"reason": "需采购配件", "minutes": 480}).json()
    assert case["status"] == "dispatched" and case["deadlines"]["extensions"] == 1
    assert Incident.objects.get(pk=incident.pk).handle_due_at > before
    case = take(api, cast.centre, incident, "park", {"reason": "需纳入明年改造计划"}).json()
    assert case["status"] == "parked" and case["due_at"] is None


def test_a_reported_case_solved_on_the_spot_by_its_reporter(api, cast):
    incident = report(cast.worker, cast.tree.unit_a, code=SMALL_HAZARD)
    case = take(api, cast.worker, incident, "solve-on-spot", {"result": "已劝离占道摊贩。"}).json()
    assert case["status"] == "closed" and case["handler"]["username"] == "worker_a"


def test_a_criminal_case_is_marked_cleared(api, cast):
    incident = report(cast.worker, cast.tree.unit_a, code=THEFT, description="电动车被盗")
    api.force_authenticate(cast.centre)
    assert "clear" in api.get(url(incident)).json()["available_steps"]
    today = timezone.localdate().isoformat()
    case = take(api, cast.centre, incident, "clear", {"cleared_on": today}).json()
    assert (case["cleared"], case["cleared_on"], case["status"]) == (True, today, "reported")
    assert "clear" not in case["available_steps"]


def test_turning_a_dispute_into_a_dispute_record(api, cast, without_disputes_app):
    incident = report(cast.worker, cast.tree.unit_a, code=NEIGHBOUR_DISPUTE, description="邻居因漏水争吵")
    before = IncidentTransition.objects.count()
    refused = error_of(take(api, cast.centre, incident, "turn-into-dispute"), 409)
    assert refused["code"] == "illegal_step" and IncidentTransition.objects.count() == before

    def receiver(actor, case):
        return "MD-522601-2026-000001"

    register_dispute_receiver(receiver)
    try:
        assert "turn-into-dispute" in api.get(url(incident)).json()["available_steps"]
        case = take(api, cast.centre, incident, "turn-into-dispute", {"note": "转人民调解"}).json()
    finally:
        unregister_dispute_receiver(receiver)
    assert (case["status"], case["dispute_number"]) == ("transferred", "MD-522601-2026-000001")
    assert IncidentTransition.objects.count() == before + 1


# --- refused steps -----------------------------------------------------------------------


def test_an_illegal_step_is_a_conflict_with_a_clear_message(api, cast, media):
    incident = report(cast.worker, cast.tree.unit_a)
    before = written(media)
    error = error_of(take(api, cast.worker, incident, "check"), 409)
    assert error["code"] == "illegal_step" and "已上报" in error["message"] and "核查结案" in error["message"]
    error = error_of(take(api, cast.centre, incident, "evaluate", {"satisfaction": 4}), 409)
    assert error["code"] == "illegal_step"
    assert written(media) == before and Incident.objects.get(pk=incident.pk).status == Status.REPORTED


def test_a_stale_version_is_told_the_case_changed(api, cast, media):
    incident = report(cast.worker, cast.tree.unit_a)
    assert take(api, cast.centre, incident, "file", {"version": 1}).status_code == 200
    before = written(media)
    error = error_of(take(api, cast.centre, incident, "cancel", {"version": 1, "reason": "重复"}), 409)
    assert error["code"] == "changed" and incident.number in error["message"]
    assert written(media) == before and Incident.objects.get(pk=incident.pk).status == Status.FILED


def test_the_wrong_actor_is_forbidden(api, cast, media):
    incident = report(cast.worker, cast.tree.unit_a)
    before = written(media)
    error = error_of(take(api, cast.worker, incident, "file"), 403)
    assert incident.number in error["message"] and "立案" in error["message"]
    dispatched = bring_to(report(cast.worker, cast.tree.unit_a), Status.DISPATCHED, **everyone(cast))
    before = written(media)
    assert take(api, cast.centre, dispatched, "report-back", {"result": "代为反馈"}).status_code == 403
    assert written(media) == before


@pytest.mark.parametrize(
    ("status", "who", "step", "field"),
    [
        (Status.REPORTED, "centre", "cancel", "reason"),
        (Status.DISPATCHED, "handler", "return", "reason"),
        (Status.REPORTED_BACK, "reporter", "rework", "reason"),
        (Status.DISPATCHED, "centre", "park", "reason"),
        (Status.DISPATCHED, "centre", "extend", "reason"),
        (Status.DISPATCHED, "handler", "report-back", "result"),
        (Status.REPORTED, "reporter", "solve-on-spot", "result"),
        (Status.CLOSED, "centre", "evaluate", "satisfaction"),
    ],
)
def test_a_step_without_its_reason_names_the_field(api, cast, media, status, who, step, field):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), status, **everyone(cast))
    actor = {"centre": cast.centre, "handler": cast.handler, "reporter": cast.worker}[who]
    body = {"satisfaction": 9} if field == "satisfaction" else {field: "  "}
    before = written(media)
    error = error_of(take(api, actor, incident, step, body), 400)
    assert field in error["fields"] and error["message"]
    assert written(media) == before and Incident.objects.get(pk=incident.pk).status == status


def test_a_report_back_with_a_bad_photo_writes_nothing(api, cast, media):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.HANDLING, **everyone(cast))
    before = written(media)
    body = {"result": "已更换灯泡。", **_text_as_photo()}
    error = error_of(take(api, cast.handler, incident, "report-back", body, format="multipart"), 400)
    assert "photos" in error["fields"]
    assert written(media) == before and Incident.objects.get(pk=incident.pk).status == Status.HANDLING


def test_dispatch_names_an_unknown_department_or_handler(api, cast, media):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.FILED, **everyone(cast))
    before = written(media)
    assert "department" in error_of(take(api, cast.centre, incident, "dispatch", {"department": "nowhere"}), 400)["fields"]
    assert "handler" in error_of(take(api, cast.centre, incident, "dispatch", {"handler": "nobody"}), 400)["fields"]
    assert "department" in error_of(take(api, cast.centre, incident, "dispatch", {}), 400)["fields"]
    other = make_department("other-dept", "另一承办单位")
    mismatch = take(api, cast.centre, incident, "dispatch", {"department": other.code, "handler": "handler_a"})
    assert "handler" in error_of(mismatch, 400)["fields"]
    assert written(media) == before


def test_an_unknown_number_is_not_found(api, cast):
    api.force_authenticate(cast.centre)
    assert api.get("/api/incidents/SJ-522601-2026-999999/").status_code == 404
    assert api.post("/api/incidents/SJ-522601-2026-999999/file/", {}, format="json").status_code == 404


# --- the centre's list -------------------------------------------------------------------


def test_bulk_dispatch_dispatches_what_it_can_and_says_why_not_for_the_rest(api, cast):
    ready = [bring_to(report(cast.worker, cast.tree.unit_a), Status.FILED, **everyone(cast)) for _ in range(2)]
    fresh = report(cast.worker, cast.tree.unit_a)
    cast.tree.grid_c.refresh_from_db()  # later inserts moved its MPTT bounds
    elsewhere = bring_to(
        report(cast.centre_t2, cast.tree.grid_c),
        Status.FILED,
        centre=cast.centre_t2,
        handler=cast.handler,
        reporter=cast.worker,
        department=cast.department,
    )
    api.force_authenticate(cast.centre)
    numbers = [ready[0].number, fresh.number, ready[1].number, elsewhere.number, "SJ-522601-2026-999999"]
    response = api.post(
        "/api/incidents/bulk-dispatch/", {"numbers": numbers, "department": "test-dept", "note": "请尽快处理"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dispatched"] == [ready[0].number, ready[1].number]
    refused = {row["number"]: row["message"] for row in body["refused"]}
    assert set(refused) == {fresh.number, elsewhere.number, "SJ-522601-2026-999999"}
    assert "已上报" in refused[fresh.number]
    assert refused[elsewhere.number] == refused["SJ-522601-2026-999999"]
    assert Incident.objects.get(pk=elsewhere.pk).status == Status.FILED
    assert "department" in error_of(api.post("/api/incidents/bulk-dispatch/", {"numbers": numbers}, format="json"), 400)["fields"]
    api.force_authenticate(cast.worker)
    assert api.post("/api/incidents/bulk-dispatch/", {"numbers": numbers, "department": "test-dept"}).status_code == 403


def test_list_filters_ordering_and_counts(api, cast):
    first = report(cast.worker, cast.tree.unit_a, title="一号")
    second = bring_to(report(cast.worker, cast.tree.unit_a, title="二号"), Status.FILED, **everyone(cast))
    theft = report(cast.worker, cast.tree.grid_a, code=THEFT, description="电动车被盗", urgency="urgent")
    Incident.objects.filter(pk=first.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    api.force_authenticate(cast.centre)

    def numbers(**params):
        return listed_numbers(api, "/api/incidents/", **params)

    assert numbers() == [theft.number, second.number, first.number]
    assert numbers(ordering="number") == sorted([first.number, second.number, theft.number])
    assert numbers(status="filed") == [second.number]
    assert set(numbers(status=["filed", "reported"])) == {first.number, second.number, theft.number}
    assert numbers(category="25") == [theft.number]
    assert numbers(kind="criminal") == [theft.number]
    assert numbers(urgency="urgent") == [theft.number]
    assert numbers(overdue="true") == [first.number]
    assert numbers(grid=cast.tree.grid_a.code) == [theft.number]
    assert set(numbers(under=cast.tree.zone_a.code)) == {first.number, second.number, theft.number}
    assert numbers(q=second.number) == [second.number]
    assert numbers(q="被盗") == [theft.number]
    row = api.get("/api/incidents/", {"overdue": "true"}).json()["results"][0]
    assert row["overdue"] is True and row["status_display"] == "已上报" and "description" not in row
    assert error_of(api.get("/api/incidents/", {"status": "nonsense"}), 400)["fields"]

    counts = api.get("/api/incidents/counts/").json()
    assert counts["total"] == 3 and counts["reported"] == 2 and counts["filed"] == 1 and counts["overdue"] == 1
    assert counts["closed"] == 0
    assert api.get("/api/incidents/counts/", {"kind": "criminal"}).json()["total"] == 1


# --- the tables --------------------------------------------------------------------------


def test_categories_for_the_picker(api, cast):
    api.force_authenticate(cast.worker)
    response = api.get("/api/categories/", {"major": "12", "page_size": 500})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert rows and all(row["parent_code"] == "12" for row in rows)
    streetlight = next(row for row in rows if row["code"] == STREETLIGHT)
    assert streetlight["name"] == "路灯不亮" and streetlight["parent_name"]
    assert set(streetlight["limits"]) >= {"file_minutes", "handle_minutes", "check_minutes_rural"}
    assert {row["code"] for row in api.get("/api/categories/", {"q": "路灯"}).json()["results"]} >= {STREETLIGHT}
    criminal = api.get("/api/categories/", {"kind": "criminal", "page_size": 500}).json()["results"]
    assert criminal and {row["kind"] for row in criminal} == {"criminal"}
    majors = api.get("/api/categories/", {"level": "major", "page_size": 500}).json()["results"]
    assert majors and all(row["parent_code"] is None for row in majors)
    category(STREETLIGHT).__class__.objects.filter(code=STREETLIGHT).update(is_active=False)
    active = api.get("/api/categories/", {"major": "12", "active": "true", "page_size": 500}).json()["results"]
    assert STREETLIGHT not in {row["code"] for row in active}
    assert api.get(f"/api/categories/{STREETLIGHT}/").json()["is_active"] is False


def test_departments_for_the_dispatch_picker(api, cast):
    make_department("closed-dept", "已撤销单位").__class__.objects.filter(code="closed-dept").update(is_active=False)
    api.force_authenticate(cast.handler)  # any signed-in user, even without a role
    response = api.get("/api/departments/", {"page_size": 500})
    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["results"]}
    assert "test-dept" in codes and "gongan" in codes and "closed-dept" not in codes
    assert [row["code"] for row in api.get("/api/departments/", {"q": "测试"}).json()["results"]] == ["test-dept"]
    api.force_authenticate(None)
    assert api.get("/api/departments/").status_code in (401, 403)

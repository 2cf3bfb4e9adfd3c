"""The incident loop through its services: every step, every refusal, nothing half-written."""

import datetime
import itertools
import threading
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from cases.calendar import WorkingCalendar
from cases.hooks import register_dispute_receiver, unregister_dispute_receiver
from cases.models import Category, Incident, IncidentAttachment, IncidentTransition, Status, Urgency
from cases.services import Involved, Upload, incident_bulk_dispatch, incident_report, incident_step
from cases.workflow import STEP_RULES, Step, available_steps
from grids.services import grid_retire
from kaili.exceptions import Conflict
from kaili.models import AuditEntry
from tests.cases.factories import NEIGHBOUR_DISPUTE, PATH, SMALL_HAZARD, THEFT, bring_to, category, make_department, report
from tests.populations.factories import make_person

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def photo(name="scene.png", content=PNG):
    return Upload(SimpleUploadedFile(name, content, content_type="image/png"))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


def written():
    return (Incident.objects.count(), IncidentTransition.objects.count(), IncidentAttachment.objects.count())


def everyone(cast):
    return {"centre": cast.centre, "handler": cast.handler, "reporter": cast.worker, "department": cast.department}


# --- reporting ---------------------------------------------------------------------------


def test_a_grid_worker_reports_with_photo_people_and_coordinates(cast, _media):
    resident = make_person(unit=cast.tree.unit_a, name="李四")
    incident, created = incident_report(
        actor=cast.worker,
        category=category(),
        grid=cast.tree.unit_a,
        description="北京路 3 号门口路灯不亮",
        occurred_at=timezone.now() - datetime.timedelta(hours=2),
        place="北京路 3 号",
        latitude="26.566321",
        longitude="107.981234",
        people=[Involved(person=resident), Involved(name="王某", role="witness")],
        uploads=[photo()],
    )
    assert created
    year = timezone.localdate().year
    assert incident.number.startswith(f"SJ-522601-{year}-")
    assert incident.status == Status.REPORTED and incident.version == 1
    assert incident.reporter == cast.worker
    assert incident.due_at == incident.file_due_at and incident.due_at > incident.reported_at
    people = [(p.person_id, p.name, p.role) for p in incident.people.order_by("id")]
    assert people == [(resident.pk, "", "party"), (None, "王某", "witness")]
    attachment = incident.attachments.get()
    assert attachment.content_type == "image/png" and attachment.size == len(PNG)
    assert len(stored_files(_media)) == 1
    step = incident.transitions.get()
    assert (step.step, step.from_status, step.to_status, step.actor) == (Step.REPORT, "", Status.REPORTED, cast.worker)
    assert AuditEntry.objects.filter(action="create", object_type="cases.incident", object_id=str(incident.pk)).exists()


def test_numbers_run_on_per_city_and_year(cast):
    first = report(cast.worker, cast.tree.unit_a)
    second = report(cast.worker, cast.tree.grid_a)
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


def test_the_same_client_key_creates_the_report_once(cast):
    key = uuid.uuid4()
    first = report(cast.worker, cast.tree.unit_a, client_key=key)
    again, created = incident_report(
        actor=cast.worker,
        category=category(),
        grid=cast.tree.unit_a,
        description="再次提交",
        occurred_at=timezone.now(),
        client_key=key,
    )
    assert not created and again.pk == first.pk
    assert Incident.objects.count() == 1
    # Another reporter's key is another report.
    other = report(cast.worker_b, cast.tree.unit_b, client_key=key)
    assert other.pk != first.pk


def test_an_urgent_category_makes_an_urgent_report_with_clock_limits(cast):
    robbery = Category.objects.get(statistic="robbery")
    incident = report(cast.worker, cast.tree.unit_a, code=robbery.code, description="有人抢包")
    assert incident.urgency == Urgency.URGENT
    assert incident.file_due_at == incident.reported_at + datetime.timedelta(minutes=robbery.urgent_minutes)


def test_solved_on_the_spot_closes_in_one_step(cast):
    incident = report(cast.worker, cast.tree.unit_a, code=SMALL_HAZARD, solved_on_spot=True, result="当场清理了楼道杂物")
    assert incident.status == Status.CLOSED and incident.closed_at and incident.handler == cast.worker
    assert list(incident.transitions.values_list("step", flat=True)) == [Step.REPORT, Step.SOLVE_ON_SPOT]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": "  "}, "description"),
        ({"occurred_at": "future"}, "occurred_at"),
        ({"source": "carrier_pigeon"}, "source"),
        ({"latitude": "123", "longitude": "107"}, "latitude"),
        ({"latitude": "26.5"}, "latitude"),
        ({"people": [Involved()]}, "people"),
        ({"solved_on_spot": True}, "result"),
    ],
)
def test_bad_reports_name_the_field_and_write_nothing(cast, change, field, _media):
    if change.get("occurred_at") == "future":
        change = {"occurred_at": timezone.now() + datetime.timedelta(hours=1)}
    with pytest.raises(ValidationError) as refusal:
        report(cast.worker, cast.tree.unit_a, uploads=[photo()], **change)
    assert field in refusal.value.message_dict
    assert written() == (0, 0, 0)
    assert stored_files(_media) == []


def test_a_major_or_inactive_category_is_refused(cast):
    major = Category.objects.get(code="12")
    with pytest.raises(ValidationError) as refusal:
        incident_report(actor=cast.worker, category=major, grid=cast.tree.unit_a, description="x", occurred_at=timezone.now())
    assert "category" in refusal.value.message_dict
    Category.objects.filter(code="1201").update(is_active=False)
    with pytest.raises(ValidationError) as refusal:
        report(cast.worker, cast.tree.unit_a)
    assert "category" in refusal.value.message_dict


def test_a_grid_outside_the_reporters_scope_or_retired_or_too_high_is_refused(cast):
    for grid in (cast.tree.unit_b, cast.tree.grid_c):
        with pytest.raises(ValidationError) as refusal:
            report(cast.worker, grid)
        assert "grid" in refusal.value.message_dict
    with pytest.raises(ValidationError) as refusal:
        report(cast.centre, cast.tree.zone_a)
    assert "grid" in refusal.value.message_dict
    grid_retire(actor=None, grid=cast.tree.unit_a, reason="撤并")
    cast.tree.unit_a.refresh_from_db()
    with pytest.raises(ValidationError) as refusal:
        report(cast.worker, cast.tree.unit_a)
    assert "grid" in refusal.value.message_dict
    assert written() == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "content", "field"),
    [("photo.jpg", b"this is not a picture", "photos"), ("huge.png", PNG + b"\0" * 2048, "photos")],
)
def test_a_photo_that_is_not_an_image_or_too_large_is_refused(cast, settings, name, content, field, _media):
    settings.KAILI_MAX_ATTACHMENT_BYTES = 1024
    with pytest.raises(ValidationError) as refusal:
        report(cast.worker, cast.tree.unit_a, uploads=[photo(name, content)])
    assert field in refusal.value.message_dict and name in refusal.value.message_dict[field][0]
    assert written() == (0, 0, 0) and stored_files(_media) == []


def test_a_failure_after_the_files_were_stored_removes_them(cast, _media, monkeypatch):
    # The transition row is written after the files; a database error there must not leave files behind.
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(IncidentTransition.objects, "create", fail)
    with pytest.raises(RuntimeError):
        report(cast.worker, cast.tree.unit_a, uploads=[photo()])
    assert written() == (0, 0, 0) and stored_files(_media) == []


# --- the loop ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(PATH))
def test_every_state_is_reached_through_the_loop(cast, status):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), status, **everyone(cast))
    assert incident.status == status
    steps = list(incident.transitions.order_by("at", "id"))
    assert len(steps) == len(PATH[status]) + 1
    for before, after in itertools.pairwise(steps):
        assert after.from_status == before.to_status
    assert incident.version == len(steps)


def test_the_full_loop_records_who_did_what_and_the_deadlines(cast):
    incident = report(cast.worker, cast.tree.unit_a)
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.FILE, note="符合立案条件")
    assert incident.due_at == incident.dispatch_due_at
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.DISPATCH, department=cast.department)
    calendar = WorkingCalendar.around(incident.dispatched_at)
    assert incident.handle_due_at == calendar.add(incident.dispatched_at, category().handle_minutes)
    assert incident.due_at == incident.handle_due_at
    incident = incident_step(actor=cast.handler, incident=incident, step=Step.START)
    assert incident.handler == cast.handler
    incident = incident_step(actor=cast.handler, incident=incident, step=Step.REPORT_BACK, result="已更换灯泡", uploads=[photo()])
    assert incident.status == Status.REPORTED_BACK and incident.due_at == incident.check_due_at
    assert incident.attachments.get().step == Step.REPORT_BACK
    incident = incident_step(actor=cast.worker, incident=incident, step=Step.CHECK, note="现场核实已亮")
    assert incident.status == Status.CLOSED and incident.closed_at and incident.due_at is None
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.EVALUATE, satisfaction=4, note="群众满意")
    assert (incident.status, incident.satisfaction) == (Status.EVALUATED, 4)
    actors = list(incident.transitions.order_by("at", "id").values_list("step", "actor__username"))
    assert actors == [
        ("report", "worker_a"),
        ("file", "centre_t1"),
        ("dispatch", "centre_t1"),
        ("start", "handler_a"),
        ("report_back", "handler_a"),
        ("check", "worker_a"),
        ("evaluate", "centre_t1"),
    ]


def test_the_check_deadline_is_longer_in_the_countryside(cast, user_factory):
    from kaili.roles import CENTRE_STAFF, GRID_WORKER

    rural_worker = user_factory("worker_c", GRID_WORKER, [cast.tree.grid_c])
    rural_centre = user_factory("centre_c", CENTRE_STAFF, [cast.tree.t2])
    towns = {}
    for worker, centre, grid in ((cast.worker, cast.centre, cast.tree.grid_a), (rural_worker, rural_centre, cast.tree.grid_c)):
        incident = bring_to(
            report(worker, grid),
            Status.REPORTED_BACK,
            centre=centre,
            handler=cast.handler,
            reporter=worker,
            department=cast.department,
        )
        back = incident.transitions.get(step=Step.REPORT_BACK).at
        towns[grid.area_type] = WorkingCalendar.around(back).minutes_between(back, incident.check_due_at)
    assert towns == {"urban": category().check_minutes_urban, "rural": category().check_minutes_rural}


def test_rework_sends_the_case_back_to_the_handler_with_a_new_deadline(cast):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.REPORTED_BACK, **everyone(cast))
    incident = incident_step(actor=cast.worker, incident=incident, step=Step.REWORK, reason="灯仍不亮")
    assert incident.status == Status.HANDLING and incident.check_result == "灯仍不亮"
    assert incident.due_at == incident.handle_due_at
    incident = incident_step(actor=cast.handler, incident=incident, step=Step.REPORT_BACK, result="更换了线路")
    incident = incident_step(actor=cast.worker, incident=incident, step=Step.CHECK)
    assert incident.status == Status.CLOSED


def test_a_returned_case_leaves_the_department_and_goes_back_to_the_centre(cast):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.RETURNED, **everyone(cast))
    assert incident.department is None and incident.handler is None
    assert not Incident.objects.restrict(cast.handler).filter(pk=incident.pk).exists()
    assert incident.transitions.get(step=Step.RETURN).note == "不属于本单位职责"
    other = make_department("chengguan-test", "城管测试")
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.DISPATCH, department=other)
    assert incident.status == Status.DISPATCHED and incident.department == other


def test_parking_needs_an_extension_or_an_expired_limit(cast):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.DISPATCHED, **everyone(cast))
    with pytest.raises(ValidationError) as refusal:
        incident_step(actor=cast.centre, incident=incident, step=Step.PARK, reason="无法解决")
    assert "reason" in refusal.value.message_dict
    before = Incident.objects.get(pk=incident.pk).handle_due_at
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.EXTEND, reason="需采购配件", minutes=480)
    assert incident.extensions == 1 and incident.handle_due_at > before and incident.status == Status.DISPATCHED
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.PARK, reason="需纳入明年改造计划")
    assert incident.status == Status.PARKED and incident.due_at is None
    # A parked case can be taken up again.
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.DISPATCH, department=cast.department)
    assert incident.status == Status.DISPATCHED


def test_a_step_after_its_deadline_is_marked_late(cast):
    incident = report(cast.worker, cast.tree.unit_a)
    Incident.objects.filter(pk=incident.pk).update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    assert Incident.objects.overdue(timezone.now()).filter(pk=incident.pk).exists()
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.FILE)
    assert incident.late and incident.transitions.get(step=Step.FILE).late
    assert not Incident.objects.overdue(timezone.now()).filter(pk=incident.pk).exists()


def test_a_criminal_case_is_marked_cleared(cast):
    incident = report(cast.worker, cast.tree.unit_a, code=THEFT, description="电动车被盗")
    assert Step.CLEAR in available_steps(cast.centre, Incident.objects.select_related("grid", "category").get(pk=incident.pk))
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.CLEAR, cleared_on=timezone.localdate())
    assert incident.cleared and incident.cleared_on == timezone.localdate()
    assert incident.status == Status.REPORTED  # clearing is not a step of the loop
    with pytest.raises(Conflict):
        incident_step(actor=cast.centre, incident=incident, step=Step.CLEAR)
    streetlight = report(cast.worker, cast.tree.unit_a)
    with pytest.raises(Conflict):
        incident_step(actor=cast.centre, incident=streetlight, step=Step.CLEAR)


def test_clearing_before_the_offence_or_in_the_future_is_refused(cast):
    incident = report(cast.worker, cast.tree.unit_a, code=THEFT, occurred_at=timezone.now() - datetime.timedelta(days=1))
    for day in (timezone.localdate() + datetime.timedelta(days=1), timezone.localdate() - datetime.timedelta(days=30)):
        with pytest.raises(ValidationError) as refusal:
            incident_step(actor=cast.centre, incident=incident, step=Step.CLEAR, cleared_on=day)
        assert "cleared_on" in refusal.value.message_dict


# --- refusals ----------------------------------------------------------------------------

ILLEGAL = [
    (Status.REPORTED, Step.DISPATCH),
    (Status.REPORTED, Step.CHECK),
    (Status.FILED, Step.FILE),
    (Status.FILED, Step.REPORT_BACK),
    (Status.DISPATCHED, Step.CANCEL),
    (Status.DISPATCHED, Step.CHECK),
    (Status.HANDLING, Step.EVALUATE),
    (Status.REPORTED_BACK, Step.DISPATCH),
    (Status.CLOSED, Step.REWORK),
    (Status.CLOSED, Step.CANCEL),
    (Status.EVALUATED, Step.EVALUATE),
    (Status.CANCELLED, Step.FILE),
    (Status.RETURNED, Step.REPORT_BACK),
    (Status.PARKED, Step.CHECK),
    (Status.FILED, Step.SOLVE_ON_SPOT),
]


@pytest.mark.parametrize(("status", "step"), ILLEGAL)
def test_illegal_steps_are_refused_and_change_nothing(cast, status, step):
    assert status not in STEP_RULES[step].sources
    incident = bring_to(report(cast.worker, cast.tree.unit_a), status, **everyone(cast))
    before = (incident.status, incident.version, IncidentTransition.objects.count())
    actor = cast.worker if STEP_RULES[step].actor in ("checker", "reporter") else cast.centre
    if STEP_RULES[step].actor == "handler":
        actor = cast.handler if incident.department_id else cast.centre
    with pytest.raises((Conflict, PermissionDenied)) as refusal:
        incident_step(
            actor=actor, incident=incident, step=step, reason="x", result="x", satisfaction=3, department=cast.department
        )
    if isinstance(refusal.value, Conflict):
        assert refusal.value.code == "illegal_step" and incident.number in str(refusal.value)
    incident.refresh_from_db()
    assert (incident.status, incident.version, IncidentTransition.objects.count()) == before


@pytest.mark.parametrize(
    ("status", "step", "who"),
    [
        (Status.REPORTED, Step.FILE, "worker"),  # a grid worker does not file
        (Status.REPORTED, Step.FILE, "centre_b"),  # the centre of another zone
        (Status.REPORTED, Step.FILE, "centre_t2"),
        (Status.REPORTED, Step.FILE, "leader"),  # leaders read
        (Status.DISPATCHED, Step.REPORT_BACK, "centre"),  # only the handler reports back
        (Status.DISPATCHED, Step.REPORT_BACK, "worker"),
        (Status.REPORTED_BACK, Step.CHECK, "worker_b"),  # not the reporter, another grid
        (Status.REPORTED_BACK, Step.CHECK, "handler"),
        (Status.REPORTED, Step.SOLVE_ON_SPOT, "centre"),  # only the reporter
        (Status.CLOSED, Step.EVALUATE, "handler"),
    ],
)
def test_steps_by_the_wrong_people_are_refused(cast, status, step, who):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), status, **everyone(cast))
    with pytest.raises(PermissionDenied):
        incident_step(
            actor=getattr(cast, who), incident=incident, step=step, result="x", satisfaction=3, department=cast.department
        )
    incident.refresh_from_db()
    assert incident.status == status


@pytest.mark.parametrize(
    ("status", "step", "who", "missing"),
    [
        (Status.REPORTED, Step.CANCEL, "centre", "reason"),
        (Status.FILED, Step.DISPATCH, "centre", "department"),
        (Status.DISPATCHED, Step.RETURN, "handler", "reason"),
        (Status.DISPATCHED, Step.REPORT_BACK, "handler", "result"),
        (Status.REPORTED_BACK, Step.REWORK, "worker", "reason"),
        (Status.DISPATCHED, Step.EXTEND, "centre", "reason"),
        (Status.CLOSED, Step.EVALUATE, "centre", "satisfaction"),
        (Status.REPORTED, Step.SOLVE_ON_SPOT, "worker", "result"),
    ],
)
def test_steps_missing_what_they_need_name_the_field(cast, status, step, who, missing):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), status, **everyone(cast))
    before = IncidentTransition.objects.count()
    with pytest.raises(ValidationError) as refusal:
        incident_step(actor=getattr(cast, who), incident=incident, step=step)
    assert missing in refusal.value.message_dict
    assert IncidentTransition.objects.count() == before


def test_evaluation_is_one_to_five(cast):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.CLOSED, **everyone(cast))
    for bad in (0, 6, "很好"):
        with pytest.raises(ValidationError):
            incident_step(actor=cast.centre, incident=incident, step=Step.EVALUATE, satisfaction=bad)


def test_a_handler_must_belong_to_the_department_dispatched_to(cast, user_factory):
    stranger = user_factory("stranger")
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.FILED, **everyone(cast))
    with pytest.raises(ValidationError) as refusal:
        incident_step(actor=cast.centre, incident=incident, step=Step.DISPATCH, department=cast.department, handler=stranger)
    assert "handler" in refusal.value.message_dict
    with pytest.raises(ValidationError) as refusal:
        incident_step(actor=cast.centre, incident=incident, step=Step.DISPATCH, handler=stranger)
    assert "handler" in refusal.value.message_dict
    # A grid worker of the case's grid may be dispatched to in person.
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.DISPATCH, handler=cast.worker)
    assert incident.handler == cast.worker and incident.department is None
    assert Step.REPORT_BACK in available_steps(cast.worker, incident)


def test_a_stale_version_is_told_the_case_changed(cast):
    incident = report(cast.worker, cast.tree.unit_a)
    seen = incident.version
    incident_step(actor=cast.centre, incident=incident, step=Step.FILE, version=seen)
    with pytest.raises(Conflict) as refusal:
        incident_step(actor=cast.centre, incident=incident, step=Step.CANCEL, version=seen, reason="重复")
    assert refusal.value.code == "changed" and "已被他人办理" in str(refusal.value)
    assert Incident.objects.get(pk=incident.pk).status == Status.FILED


def test_turning_into_a_dispute_waits_for_the_disputes_app_then_links_both(cast, without_disputes_app):
    incident = report(cast.worker, cast.tree.unit_a, code=NEIGHBOUR_DISPUTE, description="邻居因漏水争吵")
    with pytest.raises(Conflict):
        incident_step(actor=cast.centre, incident=incident, step=Step.TRANSFER)
    assert Step.TRANSFER not in available_steps(
        cast.centre, Incident.objects.select_related("grid", "category").get(pk=incident.pk)
    )

    def receiver(actor, case):
        return "MD-522601-2026-000001"

    register_dispute_receiver(receiver)
    try:
        incident = incident_step(actor=cast.centre, incident=incident, step=Step.TRANSFER)
        assert (incident.status, incident.dispute_number) == (Status.TRANSFERRED, "MD-522601-2026-000001")
        streetlight = report(cast.worker, cast.tree.unit_a)
        with pytest.raises(Conflict):
            incident_step(actor=cast.centre, incident=streetlight, step=Step.TRANSFER)
    finally:
        unregister_dispute_receiver(receiver)


def test_bulk_dispatch_reports_each_refusal_and_dispatches_the_rest(cast):
    ready = [bring_to(report(cast.worker, cast.tree.unit_a), Status.FILED, **everyone(cast)) for _ in range(3)]
    already = bring_to(report(cast.worker, cast.tree.unit_a), Status.DISPATCHED, **everyone(cast))
    elsewhere = bring_to(
        report(cast.worker_b, cast.tree.unit_b),
        Status.FILED,
        centre=cast.centre_b,
        handler=cast.handler,
        reporter=cast.worker_b,
        department=cast.department,
    )
    result = incident_bulk_dispatch(actor=cast.centre_t2, incidents=[elsewhere], department=cast.department)
    assert result.done == [] and result.refused[0][0] == elsewhere.number
    result = incident_bulk_dispatch(actor=cast.centre, incidents=[*ready, already], department=cast.department, note="批量")
    assert sorted(i.number for i in result.done) == sorted(i.number for i in ready)
    assert [number for number, _message in result.refused] == [already.number]
    assert "不能派遣" in result.refused[0][1]


# --- concurrency -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_staff_dispatching_at_once_one_wins_the_other_is_told(cast):
    incident = bring_to(report(cast.worker, cast.tree.unit_a), Status.FILED, **everyone(cast))
    second = make_department("second-dept", "第二承办单位")
    barrier = threading.Barrier(2)
    outcomes = []

    def dispatch(department):
        try:
            barrier.wait()
            incident_step(
                actor=cast.centre, incident=incident, step=Step.DISPATCH, department=department, version=incident.version
            )
            outcomes.append("won")
        except Conflict as conflict:
            outcomes.append(conflict.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch, args=(d,)) for d in (cast.department, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["changed", "won"]
    incident.refresh_from_db()
    assert incident.status == Status.DISPATCHED and incident.version == 3
    assert incident.transitions.filter(step=Step.DISPATCH).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_report_sent_twice_at_once_is_created_once(cast):
    key = uuid.uuid4()
    barrier = threading.Barrier(2)
    results = []

    def send():
        try:
            barrier.wait()
            incident, created = incident_report(
                actor=cast.worker,
                category=category(),
                grid=cast.tree.unit_a,
                description="同时提交两次",
                occurred_at=timezone.now(),
                client_key=key,
            )
            results.append((incident.pk, created))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({pk for pk, _created in results}) == 1
    assert sorted(created for _pk, created in results) == [False, True]
    assert Incident.objects.count() == 1


def test_uploads_are_read_from_the_start_even_after_a_check(cast):
    upload = SimpleUploadedFile("p.png", PNG, content_type="image/png")
    upload.read(4)
    incident = report(cast.worker, cast.tree.unit_a, uploads=[Upload(upload)])
    with incident.attachments.get().file.open("rb") as stored:
        assert stored.read() == PNG


def test_opening_a_criminal_case_is_audited_a_streetlight_is_not(cast):
    from cases.services import incident_opened

    theft = Incident.objects.select_related("category").get(pk=report(cast.worker, cast.tree.unit_a, code=THEFT).pk)
    streetlight = Incident.objects.select_related("category").get(pk=report(cast.worker, cast.tree.unit_a).pk)
    incident_opened(actor=cast.centre, incident=theft)
    incident_opened(actor=cast.centre, incident=streetlight)
    reads = AuditEntry.objects.filter(action="read_sensitive", object_type="cases.incident")
    assert list(reads.values_list("object_id", "actor_username")) == [(str(theft.pk), "centre_t1")]


def test_nobody_checks_their_own_work(cast, user_factory):
    from kaili.roles import GRID_WORKER

    colleague = user_factory("worker_a2", GRID_WORKER, [cast.tree.grid_a])
    walk_in = report(cast.centre, cast.tree.unit_a, source="walk_in", reporter_name="来访群众")
    incident = bring_to(walk_in, Status.FILED, **everyone(cast))
    incident = incident_step(actor=cast.centre, incident=incident, step=Step.DISPATCH, handler=cast.worker)
    incident = incident_step(actor=cast.worker, incident=incident, step=Step.REPORT_BACK, result="已清理")
    assert Step.CHECK not in available_steps(cast.worker, incident)
    with pytest.raises(PermissionDenied):
        incident_step(actor=cast.worker, incident=incident, step=Step.CHECK)
    incident = incident_step(actor=colleague, incident=incident, step=Step.CHECK, note="同网格网格员现场核实")
    assert incident.status == Status.CLOSED


def test_people_outside_the_reporters_scope_are_refused(cast):
    stranger = make_person(unit=cast.tree.unit_b, name="营盘坡居民")
    with pytest.raises(ValidationError) as refusal:
        report(cast.worker, cast.tree.unit_a, people=[Involved(person=stranger)])
    assert "people" in refusal.value.message_dict
    assert written() == (0, 0, 0)


def test_the_refusal_of_a_grid_out_of_scope_does_not_name_it(cast):
    with pytest.raises(ValidationError) as refusal:
        report(cast.worker, cast.tree.unit_b)
    message = refusal.value.message_dict["grid"][0]
    assert cast.tree.unit_b.code in message and cast.tree.unit_b.name not in message

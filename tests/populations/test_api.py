"""The registry and programme API: what each endpoint shows, takes and refuses, and how
many queries its lists cost."""

import csv
import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from kaili import roles
from kaili.models import AuditAction, AuditEntry
from populations.identity import make_identity_number
from populations.models import Enrollment, FacilityKind, Household, Person, Placement, Programme
from populations.services import enrollment_update, facility_create, placement_start, visit_record
from tests.populations.factories import identity_number, make_enrollment, make_household, make_officer, make_person

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def error_fields(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


@pytest.fixture
def worker_a(tree, user_factory):
    return user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a])


@pytest.fixture
def officer_a(tree, user_factory):
    """Mental-health and drug-rehabilitation officer of zone A."""
    return make_officer(user_factory, "officer_a", [tree.zone_a], [Programme.MENTAL_HEALTH, Programme.DRUG_REHAB])


@pytest.fixture
def leader_t1(tree, user_factory):
    return user_factory("leader_t1", roles.LEADER, [tree.t1])


# --- households -------------------------------------------------------------------------


def test_households_are_registered_listed_and_changed_by_number(api, tree, worker_a):
    api.force_authenticate(worker_a)
    created = api.post(
        "/api/households/", {"unit": tree.unit_a.code, "address": "北京路 8 号", "doorplate": "8-1"}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"] == f"{tree.unit_a.code}001"
    assert (body["unit_code"], body["unit_name"], body["member_count"], body["head_name"]) == (
        tree.unit_a.code,
        "北京路1-1十户联防",
        0,
        None,
    )
    head = make_person(Household.objects.get(number=body["number"]), name="王大", relation="head")
    detail = api.get(f"/api/households/{body['number']}/").json()
    assert detail["head_name"] == "王大" and detail["head_id_number_masked"] == head.id_number_masked
    assert detail["member_count"] == 1
    changed = api.patch(f"/api/households/{body['number']}/", {"address": "北京路 9 号"}, format="json")
    assert changed.status_code == 200 and changed.json()["address"] == "北京路 9 号"
    assert api.put(f"/api/households/{body['number']}/", {"address": "x"}, format="json").status_code == 405


def test_household_filters(api, tree, worker_a):
    make_household(tree.unit_a, address="北京路 1 号", doorplate="A-1")
    make_household(tree.unit_a, address="韶山路 2 号", registration="resident_only")
    api.force_authenticate(worker_a)

    def addresses(**params):
        return sorted(row["address"] for row in results(api.get("/api/households/", params)))

    assert addresses() == ["北京路 1 号", "韶山路 2 号"]
    assert addresses(q="韶山") == ["韶山路 2 号"]
    assert addresses(q="A-1") == ["北京路 1 号"]
    assert addresses(registration="resident_only") == ["韶山路 2 号"]
    assert addresses(unit=tree.unit_a.code) == addresses(under=tree.zone_a.code) == ["北京路 1 号", "韶山路 2 号"]
    assert addresses(under=tree.zone_b.code) == []


def test_household_refusals_name_the_field(api, tree, worker_a):
    api.force_authenticate(worker_a)
    assert "unit" in error_fields(api.post("/api/households/", {"unit": tree.grid_a.code, "address": "x"}, format="json"))
    assert "address" in error_fields(api.post("/api/households/", {"unit": tree.unit_a.code, "address": " "}, format="json"))
    assert "unit" in error_fields(api.post("/api/households/", {"unit": tree.unit_b.code, "address": "x"}, format="json"))


# --- people -----------------------------------------------------------------------------


def test_people_are_registered_with_numbers_write_only_and_shown_masked(api, tree, worker_a):
    household = make_household(tree.unit_a)
    number = identity_number(datetime.date(1990, 2, 3), "F")
    api.force_authenticate(worker_a)
    created = api.post(
        "/api/persons/",
        {
            "household": household.number,
            "name": "李梅",
            "identity_number": number,
            "phone": "13812345678",
            "ethnicity": "06",
            "relation": "head",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert number not in created.content.decode() and "13812345678" not in created.content.decode()
    assert "identity_number" not in body and "phone" not in body
    assert (body["sex"], body["birth_date"], body["ethnicity_display"], body["phone_masked"]) == (
        "F",
        "1990-02-03",
        "苗族",
        "138****5678",
    )
    assert body["id_number_masked"] == f"{number[:6]}********{number[-4:]}"
    changed = api.patch(f"/api/persons/{body['id']}/", {"phone": "13900001111", "occupation": "教师"}, format="json")
    assert changed.status_code == 200 and changed.json()["phone_masked"] == "139****1111"
    assert Person.objects.get(pk=body["id"]).phone == "13900001111"


def test_bad_identity_numbers_are_refused_by_field(api, tree, worker_a):
    household = make_household(tree.unit_a)
    good = identity_number()
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    api.force_authenticate(worker_a)

    def register(number):
        return api.post(
            "/api/persons/", {"household": household.number, "name": "赵六", "identity_number": number}, format="json"
        )

    refused = register(bad_check)
    assert set(error_fields(refused)) == {"identity_number"}
    assert "校验位" in refused.json()["error"]["message"]
    assert register(good).status_code == 201
    duplicate = register(good)
    assert set(error_fields(duplicate)) == {"identity_number"} and "已登记" in duplicate.json()["error"]["message"]
    assert "phone" in error_fields(
        api.post(
            "/api/persons/",
            {"household": household.number, "name": "钱七", "identity_number": identity_number(), "phone": "123"},
            format="json",
        )
    )
    assert Person.objects.count() == 1


def test_people_search_by_name_identity_number_and_phone(api, tree, worker_a):
    household = make_household(tree.unit_a)
    number = identity_number(datetime.date(1975, 1, 1), "M")
    zhang = make_person(household, name="张伟", identity_number=number, phone="13812345678", residence="floating")
    make_person(household, name="张丽", born=datetime.date(1980, 1, 1), sex="F", ethnicity="12")
    make_person(household, name="王强")
    api.force_authenticate(worker_a)

    def names(**params):
        return sorted(row["name"] for row in results(api.get("/api/persons/", params)))

    assert names(q="张") == ["张丽", "张伟"]
    assert names(q=number) == names(q=number.lower()) == names(identity_number=number) == ["张伟"]
    assert names(q="13812345678") == ["张伟"]
    assert names(q=number[:10]) == []  # a fragment of a number finds nothing: only exact numbers are hashed
    assert names(sex="F") == ["张丽"]
    assert names(ethnicity="12") == ["张丽"]
    assert names(residence="floating") == ["张伟"]
    assert names(household=household.number, q="王") == ["王强"]
    assert names(unit=tree.unit_a.code) == names(under=tree.t1.code) == ["张丽", "张伟", "王强"]
    response = api.get("/api/persons/", {"q": number})
    assert number not in response.content.decode() and zhang.id_number_masked in response.content.decode()


def test_searching_by_post_keeps_numbers_out_of_the_url_and_stays_in_scope(api, tree, worker_a):
    number = identity_number()
    make_person(unit=tree.unit_a, name="张伟", identity_number=number)
    elsewhere = identity_number()
    make_person(unit=tree.unit_b, name="李明", identity_number=elsewhere)
    api.force_authenticate(worker_a)
    found = api.post("/api/persons/search/", {"q": number}, format="json")
    assert [row["name"] for row in results(found)] == ["张伟"]
    assert number not in found.content.decode()
    assert results(api.post("/api/persons/search/", {"q": elsewhere}, format="json")) == []
    assert "q" in error_fields(api.post("/api/persons/search/", {}, format="json"))


def test_reveal_gives_clear_numbers_to_responsible_staff_and_is_audited(api, tree, worker_a, officer_a):
    number = identity_number()
    person = make_person(unit=tree.unit_a, identity_number=number, phone="13812345678")
    make_enrollment(person, Programme.MENTAL_HEALTH)
    api.force_authenticate(officer_a)
    revealed = api.get(f"/api/persons/{person.pk}/reveal/", {"reason": "入户核实"})
    assert revealed.status_code == 200
    assert revealed.json() == {"identity_number": number, "phone": "13812345678"}
    assert revealed["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action=AuditAction.READ_SENSITIVE, actor_username="officer_a")
    assert (entry.object_type, entry.object_id, entry.outcome) == ("populations.person", str(person.pk), "success")
    assert entry.changes["reason"] == "入户核实"

    api.force_authenticate(worker_a)
    refused = api.get(f"/api/persons/{person.pk}/reveal/")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "您不是该人员的责任人员，不能查看完整身份证号和电话。"
    assert number not in refused.content.decode()
    denied = AuditEntry.objects.get(action=AuditAction.READ_SENSITIVE, actor_username="worker_a")
    assert denied.outcome == "denied"


def test_people_export_is_clear_only_where_responsible_and_audited_masked(api, tree, officer_a):
    mine = make_person(unit=tree.unit_a, name="甲")
    make_enrollment(mine, Programme.MENTAL_HEALTH)
    other = make_person(unit=tree.unit_a, name="乙")
    api.force_authenticate(officer_a)
    response = api.get("/api/persons/export/", {"format": "csv", "q": other.identity_number})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(row["name"], row["identity_number"]) for row in rows] == [("乙", other.id_number_masked)]
    rows = list(csv.DictReader(io.StringIO(api.get("/api/persons/export/").content.decode("utf-8-sig"))))
    assert {row["name"]: row["identity_number"] for row in rows} == {"甲": mine.identity_number, "乙": other.id_number_masked}
    entries = AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="populations.person").order_by("id")
    assert [entry.changes["rows"] for entry in entries] == [1, 2]
    assert other.identity_number not in str(entries[0].changes)  # the searched number is kept masked
    xlsx = api.get("/api/persons/export/", {"format": "xlsx"})
    assert xlsx.status_code == 200
    assert len(list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows())) == 3
    refused = api.get("/api/persons/export/", {"format": "pdf"})
    assert refused.status_code == 400 and "format" in refused.json()["error"]["fields"]


# --- enrollments ------------------------------------------------------------------------


def test_an_officer_enrolls_with_team_and_details_and_reads_are_audited(api, tree, officer_a, worker_a):
    person = make_person(unit=tree.unit_a, name="周八")
    api.force_authenticate(officer_a)
    created = api.post(
        "/api/enrollments/",
        {
            "person": person.pk,
            "programme": "mental_health",
            "started_on": (TODAY - datetime.timedelta(days=10)).isoformat(),
            "level": 1,
            "attention": "key",
            "team": ["officer_a", worker_a.pk],
            "details": {"diagnosis": "bipolar", "guardian_name": "周母", "contract_reward": "1200.00"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["person_name"], body["person_id_number_masked"], body["unit_code"]) == (
        "周八",
        person.id_number_masked,
        tree.unit_a.code,
    )
    assert body["programme_display"] == "安宁工程" and body["team"] == ["officer_a", "worker_a"]
    assert body["details"]["diagnosis"] == "bipolar" and body["details"]["guardian_name"] == "周母"
    assert body["next_due_on"] == (TODAY + datetime.timedelta(days=4)).isoformat()
    assert body["due_state"] == "due" and body["overdue"] is False
    assert not AuditEntry.objects.filter(action=AuditAction.READ_SENSITIVE).exists()

    read = api.get(f"/api/enrollments/{body['id']}/")
    assert read.status_code == 200 and read.json()["details"]["contract_reward"] == "1200.00"
    entry = AuditEntry.objects.get(action=AuditAction.READ_SENSITIVE)
    assert (entry.actor_username, entry.object_type, entry.object_id) == ("officer_a", "populations.enrollment", str(body["id"]))
    assert "周八" not in entry.object_repr  # the audit trail names the record by masked number

    changed = api.patch(
        f"/api/enrollments/{body['id']}/", {"level": 3, "team": ["officer_a"], "details": {"help_note": "低保"}}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["level"] == 3 and changed.json()["team"] == ["officer_a"]
    assert changed.json()["details"]["help_note"] == "低保"


def test_enrollment_refusals(api, tree, officer_a):
    person = make_person(unit=tree.unit_a)
    api.force_authenticate(officer_a)
    start = TODAY.isoformat()

    def enroll(**fields):
        return api.post("/api/enrollments/", {"person": person.pk, "started_on": start, **fields}, format="json")

    assert "details.diagnosis" in error_fields(enroll(programme="mental_health", details={}))
    assert "level" in error_fields(enroll(programme="mental_health", level=6, details={"diagnosis": "bipolar"}))
    assert "team" in error_fields(enroll(programme="mental_health", team=["nobody"], details={"diagnosis": "bipolar"}))
    not_mine = enroll(programme="youth", details={"kind": "idle", "school_status": "in_school"})
    assert not_mine.status_code == 403 and "您不负责该工程" in not_mine.json()["error"]["message"]
    assert not Enrollment.objects.exists()
    assert not AuditEntry.objects.filter(object_type="populations.enrollment").exists()  # undone with the refusal
    assert enroll(programme="mental_health", details={"diagnosis": "bipolar"}).status_code == 201
    assert "programme" in error_fields(enroll(programme="mental_health", details={"diagnosis": "bipolar"}))


def test_enrollment_filters_and_due_states(api, tree, officer_a):
    overdue = make_enrollment(make_person(unit=tree.unit_a, name="逾期"), Programme.MENTAL_HEALTH)  # due 3 months after June
    soon = make_enrollment(
        make_person(unit=tree.unit_a, name="将到期"),
        Programme.MENTAL_HEALTH,
        started_on=TODAY - datetime.timedelta(days=10),
        level=1,
        attention="key",
    )
    later = make_enrollment(make_person(unit=tree.unit_a, name="未到期"), Programme.DRUG_REHAB, started_on=TODAY)
    api.force_authenticate(officer_a)

    def names(**params):
        return sorted(row["person_name"] for row in results(api.get("/api/enrollments/", params)))

    assert names() == ["将到期", "未到期", "逾期"]
    assert names(due="overdue") == ["逾期"]
    assert names(due="due") == ["将到期", "逾期"]
    assert names(programme="drug_rehab") == ["未到期"]
    assert names(level=1) == names(attention="key") == ["将到期"]
    assert names(person=later.person_id) == ["未到期"]
    assert names(under=tree.zone_a.code) == ["将到期", "未到期", "逾期"] and names(under=tree.zone_b.code) == []
    states = {row["person_name"]: row["due_state"] for row in results(api.get("/api/enrollments/"))}
    assert states == {"逾期": "overdue", "将到期": "due", "未到期": ""}
    exited = api.post(f"/api/enrollments/{overdue.pk}/exit/", {"exited_on": TODAY.isoformat(), "exit_reason": "moved"})
    assert exited.status_code == 200 and exited.json()["status"] == "exited"
    assert names(status="exited") == ["逾期"] and names(due="due") == ["将到期"]
    again = api.post(f"/api/enrollments/{overdue.pk}/exit/", {"exited_on": TODAY.isoformat(), "exit_reason": "moved"})
    assert again.status_code == 400
    assert "exit_note" in error_fields(
        api.post(f"/api/enrollments/{soon.pk}/exit/", {"exited_on": TODAY.isoformat(), "exit_reason": "other"})
    )


def test_enrollment_visits_and_the_visit_list(api, tree, officer_a):
    enrollment = make_enrollment(make_person(unit=tree.unit_a), Programme.DRUG_REHAB)
    api.force_authenticate(officer_a)
    recorded = api.post(
        "/api/visits/",
        {"enrollment": enrollment.pk, "kind": "drug_test", "visited_on": "2026-07-01", "mode": "office", "result": "negative"},
        format="json",
    )
    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["recorded_by"] == "officer_a"
    refused = api.post(
        "/api/visits/", {"enrollment": enrollment.pk, "kind": "drug_test", "visited_on": "2026-07-02"}, format="json"
    )
    assert "result" in error_fields(refused)
    api.post("/api/visits/", {"enrollment": enrollment.pk, "kind": "counselling", "visited_on": "2026-08-01"}, format="json")
    listed = results(api.get(f"/api/enrollments/{enrollment.pk}/visits/"))
    assert [row["kind"] for row in listed] == ["counselling", "drug_test"]
    assert [row["kind"] for row in results(api.get("/api/visits/", {"kind": "drug_test"}))] == ["drug_test"]
    in_august = results(api.get("/api/visits/", {"date_from": "2026-08-01", "date_to": "2026-08-31"}))
    assert [row["visited_on"] for row in in_august] == ["2026-08-01"]
    assert len(results(api.get("/api/visits/", {"enrollment": enrollment.pk}))) == 2
    assert api.get(f"/api/enrollments/{enrollment.pk}/").json()["next_due_on"] == "2026-08-01"
    list_reads = AuditEntry.objects.filter(action=AuditAction.READ_SENSITIVE, object_type="populations.visit")
    assert list_reads.count() == 3  # one per /api/visits/ page read above
    assert list_reads.first().changes["enrollments"] == [enrollment.pk]


def test_enrollment_export_is_masked_and_audited(api, tree, officer_a):
    person = make_person(unit=tree.unit_a, name="吴九")
    make_enrollment(person, Programme.MENTAL_HEALTH, level=2)
    api.force_authenticate(officer_a)
    response = api.get("/api/enrollments/export/", {"format": "csv", "programme": "mental_health"})
    assert response.status_code == 200, response.content
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        {
            "programme": "安宁工程",
            "name": "吴九",
            "identity_number_masked": person.id_number_masked,
            "unit_code": tree.unit_a.code,
            "level": "2",
            "attention": "一般关注",
            "started_on": "2026-06-01",
            "next_due_on": "2026-06-15",
            "status": "在册",
        }
    ]
    assert person.identity_number not in response.content.decode("utf-8-sig")
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, object_type="populations.enrollment")
    assert entry.changes["rows"] == 1 and entry.changes["filters"]["programme"] == "mental_health"
    api.get("/api/enrollments/export/", {"format": "csv", "q": person.identity_number})
    searched = AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="populations.enrollment").latest("id")
    assert person.identity_number not in str(searched.changes)  # a number in the query is kept masked
    xlsx = api.get("/api/enrollments/export/", {"format": "xlsx"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [cell.value for cell in next(sheet.iter_rows())][:3] == ["programme", "name", "identity_number_masked"]


def test_leaders_read_counts_per_programme_and_child_without_names(api, tree, leader_t1, worker_a):
    for unit, programmes in ((tree.unit_a, ["mental_health", "left_behind"]), (tree.unit_b, ["left_behind"])):
        for programme in programmes:
            make_enrollment(make_person(unit=unit, name="不应出现"), programme)
    api.force_authenticate(leader_t1)
    response = api.get("/api/enrollments/counts/", {"node": tree.t1.code})
    assert response.status_code == 200, response.content
    assert "不应出现" not in response.content.decode()
    body = response.json()
    totals = {row["programme"]: row["count"] for row in body["node"]["programmes"]}
    assert body["node"]["total"] == 3 and totals["left_behind"] == 2 and totals["mental_health"] == 1
    assert totals["youth"] == 0 and len(totals) == 6
    children = {child["code"]: child["total"] for child in body["children"]}
    assert children == {tree.zone_a.code: 2, tree.zone_b.code: 1}
    assert api.get("/api/enrollments/counts/", {"node": tree.t2.code}).status_code == 404
    assert api.get("/api/enrollments/counts/", {"node": tree.city.code}).status_code == 404
    assert "node" in error_fields(api.get("/api/enrollments/counts/"))
    assert api.get("/api/enrollments/").status_code == 403
    api.force_authenticate(worker_a)
    assert api.get("/api/enrollments/counts/", {"node": tree.zone_a.code}).status_code == 403


# --- facilities and placements ----------------------------------------------------------


def test_placements_within_capacity(api, tree, officer_a):
    home = facility_create(actor=None, grid=tree.zone_a, kind=FacilityKind.SUNSHINE_HOME, name="阳光家园", capacity=1)
    facility_create(actor=None, grid=tree.zone_a, kind=FacilityKind.REHAB_CENTRE, name="康复中心", capacity=10)
    first = make_enrollment(make_person(unit=tree.unit_a, name="一"), Programme.DRUG_REHAB)
    second = make_enrollment(make_person(unit=tree.unit_a, name="二"), Programme.DRUG_REHAB)
    api.force_authenticate(officer_a)
    placed = api.post(
        "/api/placements/", {"enrollment": first.pk, "facility": home.pk, "started_on": "2026-07-01"}, format="json"
    )
    assert placed.status_code == 201, placed.content
    assert (placed.json()["person_name"], placed.json()["facility_name"]) == ("一", "阳光家园")
    full = api.post("/api/placements/", {"enrollment": second.pk, "facility": home.pk, "started_on": "2026-07-01"}, format="json")
    assert "facility" in error_fields(full)
    assert full.json()["error"]["message"] == "阳光家园已满（容量 1，在用 1），不能再安置。"
    facilities = {row["name"]: row["occupied"] for row in results(api.get("/api/facilities/"))}
    assert facilities == {"阳光家园": 1, "康复中心": 0}
    assert [row["name"] for row in results(api.get("/api/facilities/", {"kind": "rehab_centre"}))] == ["康复中心"]
    assert results(api.get("/api/facilities/", {"under": tree.zone_b.code})) == []
    assert api.get(f"/api/facilities/{home.pk}/").json()["occupied"] == 1

    ended = api.post(f"/api/placements/{placed.json()['id']}/end/", {"ended_on": "2026-08-01"}, format="json")
    assert ended.status_code == 200 and ended.json()["ended_on"] == "2026-08-01"
    assert api.post(f"/api/placements/{placed.json()['id']}/end/", {"ended_on": "2026-08-02"}).status_code == 400
    assert results(api.get("/api/placements/", {"current": "true"})) == []
    again = api.post("/api/placements/", {"enrollment": second.pk, "facility": home.pk, "started_on": "2026-08-02"})
    assert again.status_code == 201
    assert Placement.objects.current().count() == 1


# --- query budgets ----------------------------------------------------------------------


@pytest.fixture
def busy_zone(tree, officer_a, worker_a):
    """Twenty people of zone A, each in a programme, with a visit and a placement."""
    home = facility_create(actor=None, grid=tree.zone_a, kind=FacilityKind.SUNSHINE_HOME, name="阳光家园", capacity=100)
    facility_create(actor=None, grid=tree.zone_a, kind=FacilityKind.CHILDRENS_HOME, name="儿童之家", capacity=30)
    programmes = [Programme.MENTAL_HEALTH, Programme.DRUG_REHAB, Programme.LEFT_BEHIND]
    for n in range(20):
        household = make_household(tree.unit_a, address=f"北京路 {n} 号")
        person = make_person(
            household,
            name=f"人{n}",
            relation="head",
            identity_number=make_identity_number("522601", datetime.date(1970 + n, 1, 1), n, "M"),
        )
        enrollment = make_enrollment(person, programmes[n % 3])
        enrollment_update(actor=None, enrollment=enrollment, team=[officer_a, worker_a])
        visit_record(actor=None, enrollment=enrollment, kind="visit", visited_on=datetime.date(2026, 7, 1))
        placement_start(actor=None, enrollment=enrollment, facility=home, started_on=datetime.date(2026, 7, 1))


@pytest.mark.parametrize(
    ("path", "expected_rows", "budget"),
    [
        # Scope (role permissions, grants), the count and the page.
        ("/api/households/", 20, 4),
        ("/api/persons/", 20, 4),
        # ... plus the caller's roles and programmes, and the prefetched teams.
        ("/api/enrollments/", 20, 7),
        # ... plus the caller's roles and programmes (the enrollment rule on visits and placements).
        ("/api/placements/", 20, 6),
        # ... plus the audit row of a visit list (savepoint, chain lock, previous hash, insert, release).
        ("/api/visits/", 20, 11),
        ("/api/facilities/", 2, 4),
    ],
)
def test_list_query_budgets(api, officer_a, busy_zone, django_assert_max_num_queries, path, expected_rows, budget):
    api.force_authenticate(officer_a)
    with django_assert_max_num_queries(budget):
        response = api.get(path)
    assert len(results(response)) == expected_rows


def test_enrollment_detail_and_counts_query_budgets(api, tree, officer_a, busy_zone, django_assert_max_num_queries):
    enrollment = Enrollment.objects.order_by("pk").first()
    api.force_authenticate(officer_a)
    with django_assert_max_num_queries(11):  # the read plus its audit row (savepoint, chain lock, last hash, insert)
        assert api.get(f"/api/enrollments/{enrollment.pk}/").status_code == 200
    with django_assert_max_num_queries(8):
        assert api.get("/api/enrollments/counts/", {"node": tree.zone_a.code}).status_code == 200

"""Registry files: households and people in, every bad row reported and nothing written."""

import csv
import datetime
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from openpyxl import Workbook

from grids.imports import RowError
from grids.services import grid_retire
from kaili import roles
from kaili.models import AuditEntry
from populations.exports import PEOPLE_HEADER, people_to_csv, people_to_xlsx
from populations.identity import make_identity_number
from populations.imports import COLUMN_LABELS, PeopleFileError, import_people_file
from populations.models import Household, PeopleImport, Person
from tests.factories import force_verified, make_user
from tests.kaili.test_celery_worker import live_celery  # noqa: F401  (fixture)
from tests.populations.factories import identity_number, make_household, make_person

pytestmark = pytest.mark.django_db

UNIT_A = "52260100100100101"  # zone A (北京路社区)
UNIT_B = "52260100100200101"  # zone B (营盘坡社区)
CHINESE_HEADER = [COLUMN_LABELS[column] for column in PEOPLE_HEADER]


def person(**fields) -> dict:
    row = {
        "household_number": "",
        "unit_code": UNIT_A,
        "address": "北京路 1 号",
        "doorplate": "1-101",
        "registration": "registered",
        "name": "张三",
        "identity_number": identity_number(),
        "ethnicity": "01",
        "phone": "13800000001",
        "relation": "other",
        "residence": "registered",
        "occupation": "",
        "notes": "",
    }
    return row | fields


def family(**fields) -> list[dict]:
    """A head, a spouse and a child at one address, without a household number."""
    return [
        person(name="杨光明", relation="head", **fields),
        person(name="吴秀英", relation="spouse", phone="", identity_number=identity_number(sex="F"), **fields),
        person(name="杨小明", relation="child", phone="", identity_number=identity_number(datetime.date(2012, 3, 1)), **fields),
    ]


def csv_bytes(rows: list[dict], header=PEOPLE_HEADER, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[column] for column in PEOPLE_HEADER])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(PEOPLE_HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def state():
    return (
        Household.objects.count(),
        Person.objects.count(),
        AuditEntry.objects.count(),
        list(
            Household.objects.order_by("pk").values_list("number", "address", "doorplate", "registration", "unit_id", "head_id")
        ),
        list(Person.objects.order_by("pk").values_list("name", "phone_hash", "relation", "ethnicity", "occupation", "unit_id")),
    )


def run(rows, *, user=None, dry_run=False, name="people.csv"):
    return import_people_file(name, csv_bytes(rows), actor=user, user=user, dry_run=dry_run)


@pytest.fixture
def units(tree):
    # the fixture's nodes carry lft/rght from before their siblings were added
    for node in (tree.unit_a, tree.unit_b, tree.zone_a, tree.zone_b):
        node.refresh_from_db()
    return tree


# ---------------------------------------------------------------- good files


def test_a_good_file_registers_households_and_people_with_numbers_encrypted(units):
    rows = [*family(), person(name="王五", address="北京路 2 号", doorplate="", relation="head", phone="0855-8221234")]
    plan = run(rows)
    assert plan.ok, plan.errors
    assert plan.summary() == {
        "rows": 4,
        "households_created": 2,
        "households_updated": 0,
        "people_created": 4,
        "people_updated": 0,
        "unchanged": 0,
        "errors": 0,
    }
    first, second = Household.objects.order_by("number")
    assert (first.number, second.number) == (f"{UNIT_A}001", f"{UNIT_A}002")
    assert first.unit == units.unit_a and first.members.count() == 3
    head = Person.objects.with_identity_number(rows[0]["identity_number"]).get()
    assert first.head == head and head.name == "杨光明" and head.unit == units.unit_a
    assert head.sex == "M" and head.birth_date == datetime.date(1980, 5, 17)
    assert head.phone == "13800000001" and head.phone_masked == "138****0001"
    assert Person.objects.with_identity_number(rows[1]["identity_number"]).get().sex == "F"
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number_encrypted, id_number_hash, id_number_masked, phone_encrypted FROM populations_person")
        stored = " ".join(" ".join(values) for values in cursor.fetchall())
    for row in rows:
        assert row["identity_number"] not in stored
    assert "13800000001" not in stored
    audit = AuditEntry.objects.get(action="import")
    assert audit.object_type == "populations.person"
    assert audit.changes["people_created"] == 4 and audit.changes["households_created"] == 2


def test_the_same_file_imported_twice_changes_nothing_the_second_time(units):
    rows = [*family(), *family(address="北京路 3 号")]
    run(rows)
    before = state()
    plan = run(rows)
    assert plan.ok, plan.errors
    assert plan.summary()["unchanged"] == 6 and not plan.has_changes
    assert state() == before  # no new household, person or audit row
    rows[1]["occupation"] = "教师"
    plan = run(rows)
    assert (plan.summary()["people_updated"], plan.summary()["people_created"], plan.summary()["households_created"]) == (1, 0, 0)
    assert Person.objects.with_identity_number(rows[1]["identity_number"]).get().occupation == "教师"


def test_a_landline_is_stored_as_digits_and_a_second_import_finds_it_unchanged(units):
    rows = [person(relation="head", phone="0855-822 1234")]
    assert run(rows).ok
    stored = Person.objects.get()
    assert stored.phone == "08558221234" and Person.objects.with_phone("0855-8221234").get() == stored
    plan = run(rows)
    assert plan.summary()["unchanged"] == 1 and not plan.has_changes


def test_numbered_households_and_known_people_are_updated(units):
    household = make_household(units.unit_a, address="旧住址")
    old_head = make_person(household, name="李四", relation="head", phone="13900000000")
    assert Household.objects.get(pk=household.pk).head == old_head
    rows = [
        person(
            household_number=household.number,
            address="新住址",
            registration="常住非户籍户",
            name="李四",
            identity_number=old_head.identity_number,
            relation="spouse",
            phone="13900000009",
        ),
        person(household_number=household.number, address="新住址", registration="", name="赵六", relation="head"),
    ]
    plan = run(rows)
    assert plan.ok, plan.errors
    assert (plan.summary()["households_updated"], plan.summary()["people_updated"], plan.summary()["people_created"]) == (1, 1, 1)
    household.refresh_from_db()
    old_head.refresh_from_db()
    assert household.address == "新住址" and household.registration == "resident_only"
    assert old_head.relation == "spouse" and old_head.phone == "13900000009"
    assert household.head.name == "赵六"


def test_a_head_who_becomes_a_child_leaves_the_household_without_a_head(units):
    head = make_person(unit=units.unit_a, name="周八", relation="head")
    household = head.household
    rows = [person(household_number=household.number, address=household.address, doorplate="", name="周八",
                   identity_number=head.identity_number, relation="子女", phone="")]  # fmt: skip
    assert run(rows).ok
    household.refresh_from_db()
    assert household.head is None and Person.objects.get(pk=head.pk).relation == "child"


def test_a_changed_unit_moves_the_household_and_its_members(units):
    household = make_household(units.unit_a, address="北京路 9 号")
    member = make_person(household, name="钱七")
    make_person(household, name="不在文件中的家人")
    rows = [person(household_number=household.number, unit_code=UNIT_B, address="北京路 9 号", name="钱七",
                   identity_number=member.identity_number, phone="")]  # fmt: skip
    plan = run(rows)
    assert plan.ok, plan.errors
    assert set(Person.objects.filter(household=household).values_list("unit__code", flat=True)) == {UNIT_B}
    assert Household.objects.get(pk=household.pk).unit.code == UNIT_B


def test_chinese_headers_labels_and_gbk_csv_from_excel(units):
    rows = [
        person(registration="户籍户", name="龙阿妹", relation="户主", residence="流动人口", ethnicity="苗族"),
        person(registration="", name="龙阿哥", relation="配偶", residence="户籍人口", ethnicity="06"),
        person(registration="", name="龙小妹", relation="女儿", residence="", ethnicity="侗", phone=""),
    ]
    plan = import_people_file("人口.csv", csv_bytes(rows, header=CHINESE_HEADER, encoding="gb18030"), actor=None)
    assert plan.ok, plan.errors
    people = {p.name: p for p in Person.objects.all()}
    assert people["龙阿妹"].relation == "head" and people["龙阿妹"].residence == "floating"
    assert people["龙阿妹"].ethnicity == "06" and people["龙阿哥"].ethnicity == "06" and people["龙小妹"].ethnicity == "12"
    assert people["龙阿哥"].relation == "spouse" and people["龙小妹"].relation == "child"
    assert people["龙小妹"].residence == "registered"  # an empty choice: the default for someone new


def test_xlsx_with_numeric_cells_and_an_identity_number_excel_rounded(units):
    good = identity_number()
    rounded = identity_number()
    cells = ["", UNIT_A, "北京路 5 号", "", "户籍户", "韦一", good, 6, 13800000005, "户主", "户籍人口", None, None]
    plan = import_people_file("people.xlsx", xlsx_bytes([cells]), actor=None, dry_run=True)
    assert plan.ok, plan.errors
    bad = [*cells[:5], "韦二", float(rounded), 1, None, "子女", "户籍人口", None, None]  # what Excel keeps of a typed number
    plan = import_people_file("people.xlsx", xlsx_bytes([cells, bad]), actor=None)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "identity_number")]
    assert "设为文本" in plan.errors[0].message and not Person.objects.exists()
    plan = import_people_file("people.xlsx", xlsx_bytes([cells]), actor=None)
    person_ = Person.objects.get()
    assert plan.ok and person_.ethnicity == "06" and person_.phone == "13800000005"


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_unmasked_export_imports_back_unchanged(units, file_format):
    run([*family(), person(name="龙阿妹", address="北京路 2 号", ethnicity="苗族", relation="head", notes="独居")])
    exporter = make_user("root", is_superuser=True)  # responsible for everyone: nothing masked
    render = people_to_csv if file_format == "csv" else people_to_xlsx
    before = state()
    plan = import_people_file(f"people.{file_format}", render(Person.objects.all(), exporter), actor=None)
    assert plan.ok, plan.errors
    assert plan.summary()["unchanged"] == 4 and not plan.has_changes
    assert state() == before


def test_a_masked_export_is_refused_but_a_masked_phone_as_recorded_is_kept(units):
    run(family())
    worker = make_user("worker_a", roles.GRID_WORKER, [units.zone_a])  # not responsible: numbers masked
    plan = import_people_file("masked.csv", people_to_csv(Person.objects.all(), worker), actor=None)
    assert {(e.column, "已打码" in e.message) for e in plan.errors} == {("identity_number", True)}
    head = Person.objects.get(name="杨光明")
    row = person(household_number=head.household.number, name="杨光明", identity_number=head.identity_number,
                 relation="head", phone=head.phone_masked)  # fmt: skip
    assert run([row]).summary()["unchanged"] == 1 and Person.objects.get(pk=head.pk).phone == "13800000001"
    plan = run([row | {"phone": "139****0001"}])
    assert [(e.line, e.column) for e in plan.errors] == [(2, "phone")]


# ---------------------------------------------------------------- bad rows


@pytest.fixture
def elsewhere(units):
    """Someone already registered in a household of unit A."""
    household = make_household(units.unit_a, address="北京路 8 号")
    return make_person(household, name="已登记", relation="head")


BAD_ROWS = [
    ({"unit_code": "52260100100100199"}, "unit_code", "不存在"),
    ({"unit_code": "522601001001001"}, "unit_code", "住户只能登记在十户联防单元"),
    ({"identity_number": "52260119800517001X"}, "identity_number", "校验位错误"),
    ({"identity_number": "5226011980051700"}, "identity_number", "应为 18 位"),
    ({"identity_number": "522601198002300011"}, "identity_number", "不是有效日期"),
    ({"identity_number": "522601********0011"}, "identity_number", "已打码"),
    ({"identity_number": "5.22601E+17"}, "identity_number", "科学计数法"),
    ({"phone": "12345"}, "phone", "电话号码格式不正确"),
    ({"relation": "邻居"}, "relation", "不是有效选项"),
    ({"residence": "暂住"}, "residence", "不是有效选项"),
    ({"registration": "集体户"}, "registration", "不是有效选项"),
    ({"ethnicity": "火星族"}, "ethnicity", "GB/T 3304"),
    ({"name": ""}, "name", "缺少必填项"),
    ({"address": "", "doorplate": "x"}, "address", "缺少必填项"),
    ({"name": "名" * 65}, "name", "不能超过 64 个字"),
    ({"relation": "head"}, "relation", "一户只能有一位户主：第 2 行"),
    ({"doorplate": "1-101", "registration": "resident_only"}, "registration", "与第 2 行同属一户"),
    ({"household_number": "52260100100200101001"}, "household_number", "新住户的户编号应为单元编码 52260100100100101"),
]


@pytest.mark.parametrize(("fields", "column", "message"), BAD_ROWS)
def test_each_kind_of_bad_row_is_reported_with_line_and_column_and_nothing_is_written(units, fields, column, message):
    rows = [person(name="好人", relation="head"), person(name="坏行") | fields]
    before = state()
    plan = run(rows)
    assert [(e.line, e.column) for e in plan.errors] == [(3, column)], plan.errors
    assert message in plan.errors[0].message
    assert state() == before  # the good row on line 2 was not written either


def test_a_number_excel_showed_in_scientific_notation_is_not_repeated_in_clear(units):
    shown = "5.22601198005170E+17"  # the first 15 digits of an identity number
    plan = run([person(relation="head", identity_number=shown, phone="1.38000000012E+10")])
    assert [(e.line, e.column) for e in plan.errors] == [(2, "identity_number"), (2, "phone")]
    assert all("科学计数法" in e.message for e in plan.errors)
    assert "522601198005170" not in str(plan.errors) and "38000000012" not in str(plan.errors)


def test_a_retired_unit_takes_no_new_households(units):
    grid_retire(actor=None, grid=units.unit_b)
    plan = run([person(), person(unit_code=UNIT_B)])
    assert [(e.line, e.column) for e in plan.errors] == [(3, "unit_code")] and "已撤销" in plan.errors[0].message


def test_identity_numbers_repeated_in_the_file_or_registered_in_another_household(units, elsewhere):
    number = identity_number()
    rows = [
        person(name="甲", identity_number=number, relation="head"),
        person(name="乙", identity_number=number),
        person(name="丙", identity_number=elsewhere.identity_number, address="北京路 1 号"),
    ]
    before = state()
    plan = run(rows)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "identity_number"), (4, "identity_number")]
    assert "与第 2 行重复" in plan.errors[0].message
    assert elsewhere.household.number in plan.errors[1].message and "迁户" in plan.errors[1].message
    assert number not in str(plan.errors)  # messages never carry the number itself
    assert state() == before


def test_a_new_head_where_the_household_has_one_not_in_the_file(units, elsewhere):
    rows = [person(household_number=elsewhere.household.number, address="北京路 8 号", name="新户主", relation="户主")]
    plan = run(rows)
    assert [(e.line, e.column) for e in plan.errors] == [(2, "relation")] and "已有户主 已登记" in plan.errors[0].message
    rows.append(person(household_number=elsewhere.household.number, address="北京路 8 号", name="已登记",
                       identity_number=elsewhere.identity_number, relation="父母"))  # fmt: skip
    plan = run(rows)
    assert plan.ok, plan.errors
    assert Household.objects.get(pk=elsewhere.household_id).head.name == "新户主"


def test_every_bad_row_is_reported_together_and_nothing_is_written(units):
    rows = [
        *family(),
        person(name="", phone="123"),
        person(unit_code="52260100100100199"),
        person(identity_number="522601198005170010"),
        *family(address="北京路 4 号"),
        person(unit_code="52260100100100199", identity_number="5.22601E+17", phone="138"),
    ]
    before = state()
    plan = run(rows)
    assert [(e.line, e.column) for e in plan.errors] == [
        (5, "name"),
        (5, "phone"),
        (6, "unit_code"),
        (7, "identity_number"),
        (11, "unit_code"),
        (11, "identity_number"),
        (11, "phone"),
    ]
    assert state() == before
    assert not AuditEntry.objects.filter(action="import").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("people.txt", b"x", "只支持 CSV 或 XLSX"),
        ("people.csv", b"", "文件是空的"),
        ("people.csv", "姓名,身份证号,籍贯\n".encode(), "多出：籍贯"),
        ("people.xlsx", b"not a zip", "无法读取 Excel"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(db, name, content, message):
    with pytest.raises(PeopleFileError, match=message):
        import_people_file(name, content, actor=None)


# ---------------------------------------------------------------- scope


def test_a_grid_worker_of_zone_a_cannot_import_into_zone_b(units):
    worker = make_user("worker_a", roles.GRID_WORKER, [units.zone_a])
    theirs = make_person(unit=units.unit_b, name="营盘坡居民", relation="head")
    neighbour = make_person(theirs.household, name="营盘坡邻居")
    rows = [
        person(name="北京路居民", relation="head"),
        person(unit_code=UNIT_B, address="营盘坡 1 号"),
        person(household_number=theirs.household.number, unit_code=UNIT_B, address="北京路 1 号",
               identity_number=theirs.identity_number),
        person(address="北京路 7 号", identity_number=neighbour.identity_number),
    ]  # fmt: skip
    before = state()
    plan = run(rows, user=worker)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "unit_code"), (4, "household_number"), (5, "identity_number")]
    assert all("管辖范围" in e.message for e in plan.errors)
    assert theirs.household.number not in plan.errors[2].message  # nothing told about households out of reach
    assert state() == before
    assert run(rows[:1], user=worker).ok


def test_a_household_out_of_reach_found_through_its_people_is_answered_as_a_new_one(units):
    worker = make_user("worker_a", roles.GRID_WORKER, [units.zone_a])
    theirs = make_person(unit=units.unit_b, name="营盘坡居民", relation="head")
    household = theirs.household
    found = person(unit_code=UNIT_B, address=household.address, doorplate=household.doorplate,
                   identity_number=theirs.identity_number, relation="head")  # fmt: skip
    new = person(unit_code=UNIT_B, address="营盘坡 9 号", relation="head")
    before = state()
    errors = [run([row], user=worker).errors for row in (found, new)]
    assert errors[0] == errors[1] == [RowError(2, "unit_code", f"单元 {UNIT_B} 不在您的管辖范围内。")]
    assert state() == before


# ---------------------------------------------------------------- the page


@pytest.fixture
def worker(units, client):
    user = make_user("worker", roles.GRID_WORKER, [units.zone_a])
    client.force_login(user)
    return user


def upload(client, rows, name="people.csv"):
    return client.post(reverse("populations:import"), {"file": SimpleUploadedFile(name, csv_bytes(rows))})


def test_page_dry_run_then_confirm_twice_imports_once(client, worker, django_capture_on_commit_callbacks):
    rows = family()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, rows)
    dry_run = PeopleImport.objects.get()
    assert response.url == reverse("populations:import-detail", args=[dry_run.pk])
    assert dry_run.status == PeopleImport.Status.VALID
    assert dry_run.summary["households_created"] == 1 and dry_run.summary["people_created"] == 3
    assert rows[0]["identity_number"].encode() not in bytes(dry_run.content_encrypted)  # the file is kept encrypted
    assert not Person.objects.exists()
    page = client.get(response.url).content.decode()
    assert "确认导入" in page and "将新增人员" in page
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(reverse("populations:import-confirm", args=[dry_run.pk]))
        again = client.post(reverse("populations:import-confirm", args=[dry_run.pk]))
    real = PeopleImport.objects.get(confirms=dry_run)
    assert confirmed.url == again.url == reverse("populations:import-detail", args=[real.pk])
    assert real.status == PeopleImport.Status.DONE and Person.objects.count() == 3 and Household.objects.count() == 1
    assert AuditEntry.objects.filter(action="import").count() == 1
    assert not bytes(PeopleImport.objects.get(pk=dry_run.pk).content_encrypted)  # dropped once imported
    progress = client.get(reverse("populations:import-progress", args=[real.pk])).json()
    assert progress["finished"] and progress["percent"] == 100
    assert "已新增人员" in client.get(confirmed.url).content.decode()


def test_page_shows_every_bad_row_with_a_csv_of_errors_and_offers_no_confirm(client, worker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, [person(name=""), person(unit_code=UNIT_B)])
    page = client.get(response.url).content.decode()
    assert "2 处错误" in page and "确认导入" not in page and "姓名" in page
    errors = client.get(reverse("populations:import-errors", args=[PeopleImport.objects.get().pk])).content.decode("utf-8-sig")
    assert errors.splitlines()[1:] == ["2,姓名,缺少必填项。", f"3,单元编码,单元 {UNIT_B} 不在您的管辖范围内。"]
    assert not Person.objects.exists()


def test_the_import_checks_again_when_confirmed(client, worker, units, django_capture_on_commit_callbacks):
    rows = family()
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, rows)
    dry_run = PeopleImport.objects.get()
    make_person(unit=units.unit_b, name="抢先登记", identity_number=rows[2]["identity_number"])  # meanwhile, elsewhere
    before = state()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("populations:import-confirm", args=[dry_run.pk]))
    real = PeopleImport.objects.get(confirms=dry_run)
    assert real.status == PeopleImport.Status.INVALID and real.errors[0]["line"] == 4
    assert state() == before


def test_page_refuses_other_files_other_peoples_imports_and_those_who_may_not_register(client, worker, units):
    response = upload(client, [], name="people.pdf")
    assert response.status_code == 200 and "只支持 CSV 或 XLSX" in response.content.decode()
    other = make_user("other", roles.GRID_WORKER, [units.zone_a])
    theirs = PeopleImport.objects.create(created_by=other, filename="x.csv")
    assert client.get(reverse("populations:import-detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("populations:import-confirm", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("populations:import-errors", args=[theirs.pk])).status_code == 404
    template = client.get(reverse("populations:import-template")).content.decode("utf-8-sig")
    assert template.strip() == "户编号,单元编码,住址,门牌号,户别,姓名,身份证号,民族,联系电话,与户主关系,人口类型,职业,备注"
    client.force_login(make_user("unit_head", roles.UNIT_HEAD, [units.unit_a]))
    assert client.get(reverse("populations:import")).status_code == 403


def test_a_system_admin_imports_through_the_page(client, units, django_capture_on_commit_callbacks):
    admin = make_user("sysadmin", roles.SYSTEM_ADMIN, [units.city], totp=True)
    force_verified(client, admin)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, [person(unit_code=UNIT_B, relation="head")])
    assert PeopleImport.objects.get().status == PeopleImport.Status.VALID


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_uploaded_import(client, tree, live_celery):  # noqa: F811
    client.force_login(make_user("worker", roles.GRID_WORKER, [tree.zone_a]))
    upload(client, family())
    record = PeopleImport.objects.get()
    deadline = time.monotonic() + 30
    while not PeopleImport.objects.get(pk=record.pk).is_finished and time.monotonic() < deadline:
        time.sleep(0.2)
    record.refresh_from_db()
    assert record.status == PeopleImport.Status.VALID and record.summary["people_created"] == 3
    assert client.get(reverse("populations:import-progress", args=[record.pk])).json()["percent"] == 100


# ---------------------------------------------------------------- the command


def test_the_command_dry_run_writes_nothing_and_errors_exit_non_zero(units, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(family()))
    call_command("import_people", str(good), "--dry-run")
    assert "住户将新增 1" in capsys.readouterr().out and not Person.objects.exists()
    call_command("import_people", str(good))
    assert "人员已新增 3" in capsys.readouterr().out and Person.objects.count() == 3
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([person(unit_code=UNIT_B, address="营盘坡 2 号"), person(phone="123")]))
    before = state()
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("import_people", str(bad))
    assert "第 3 行 phone（联系电话）" in capsys.readouterr().err
    assert state() == before


def test_the_command_as_a_user_keeps_to_their_scope(units, tmp_path, capsys):
    make_user("worker_a", roles.GRID_WORKER, [units.zone_a])
    path = tmp_path / "b.csv"
    path.write_bytes(csv_bytes([person(unit_code=UNIT_B)]))
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("import_people", str(path), "--user", "worker_a")
    assert "管辖范围" in capsys.readouterr().err
    with pytest.raises(CommandError, match="账号不存在"):
        call_command("import_people", str(path), "--user", "nobody")
    call_command("import_people", str(path))  # as the system
    assert Person.objects.get().unit.code == UNIT_B


def test_make_identity_number_gives_numbers_the_import_accepts(units):
    number = make_identity_number("522601", datetime.date(1950, 1, 1), 7, "F")
    assert run([person(identity_number=number, relation="head")]).ok

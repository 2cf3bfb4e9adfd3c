"""Grid files: every bad row reported and nothing written; export → import → export unchanged."""

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import Workbook

from grids.exports import grids_to_csv, grids_to_xlsx
from grids.imports import GridFileError, import_grid_file
from grids.integrity import tree_faults
from grids.models import Grid, GridEvent, GridImport
from grids.services import grid_merge, grid_retire
from kaili import roles
from kaili.models import AuditEntry
from tests.factories import force_verified, make_user
from tests.kaili.test_celery_worker import live_celery  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

HEADER = "code,name,kind,parent_code,area_type,households\n"
SMALL_TREE = (
    HEADER + "522601,凯里市,city,,,\n"
    "522601001,大十字街道,town,522601,,\n"
    "522601001001,北京路社区,zone,522601001,urban,\n"
    "522601001001001,北京路社区第1网格,grid,522601001001,urban,\n"
    "52260100100100101,1号楼,unit,522601001001001,,12\n"
    "52260100100100102,2号楼,unit,522601001001001,,15\n"
    "522601101,三棵树镇,town,522601,,\n"
    "522601101200,南花村,zone,522601101,rural,\n"
)


def csv_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def state():
    return (
        list(Grid.objects.order_by("code").values_list("code", "name", "parent_id", "lft", "rght", "area_type", "households")),
        GridEvent.objects.count(),
        AuditEntry.objects.count(),
    )


def test_a_file_builds_the_tree_in_any_row_order_and_exports_back_identically(db):
    lines = SMALL_TREE.splitlines(keepends=True)
    shuffled = [lines[0], *reversed(lines[1:])]  # units first, city last
    plan = import_grid_file("tree.csv", csv_bytes("".join(shuffled)), actor=None)
    assert plan.ok and plan.summary()["created"] == 8
    assert tree_faults() == []
    assert Grid.objects.get(code="52260100100100102").get_ancestors().count() == 4
    assert grids_to_csv(Grid.objects.all()).decode("utf-8-sig") == SMALL_TREE.replace("\n", "\r\n")
    assert GridEvent.objects.filter(kind=GridEvent.Kind.CREATED).count() == 8
    assert AuditEntry.objects.get(action="import").changes["created"] == 8


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_import_export_round_trips_unchanged(tree, file_format, tmp_path):
    first = tmp_path / f"first.{file_format}"
    call_command("export_grids", str(first))
    before = state()
    call_command("import_grids", str(first))
    assert state() == before  # nothing to change: no events, no audit, same columns
    second = tmp_path / "second.csv"
    call_command("export_grids", str(second))
    assert second.read_bytes() == grids_to_csv(Grid.objects.active())
    if file_format == "csv":
        assert first.read_bytes() == second.read_bytes()


BAD_ROWS = [
    ("522601001009,新社区,zone,522601999,urban,", "parent_code", "都不存在"),
    ("522601001001009,新网格,grid,522601001,urban,", "parent_code", "只能位于一级网格"),
    ("522601101200009,新网格,grid,522601001001,urban,", "code", "须以上级编码 522601001001 开头"),
    ("522601001001001,重复,grid,522601001001,urban,", "code", None),  # exists: an update, fine
    (",无编码,zone,522601001,urban,", "code", "缺少必填项"),
    ("522601001009,,zone,522601001,urban,", "name", "缺少必填项"),
    ("522601001009,新社区,village,522601001,urban,", "kind", "不存在"),
    ("52260100100,新社区,zone,522601001,urban,", "code", "12 位数字"),
    ("522601001009,新社区,zone,522601001,,", "area_type", "须填 urban"),
    ("522601001009,新社区,zone,522601001,city,", "area_type", "只能是 urban 或 rural"),
    ("52260100100100109,9号楼,unit,522601001001001,,十二", "households", "非负整数"),
    ("522601001009,新社区,zone,522601001,urban,30", "households", "只有三级网格"),
    ("522601001001,北京路社区,grid,522601001,urban,", "code", "15 位数字"),
    ("522601001,大十字街道,zone,522601,urban,", "code", "12 位数字"),
    ("522601002,城西街道,town,,,", "parent_code", "缺少上级编码"),
]


@pytest.mark.parametrize(("row", "column", "message"), BAD_ROWS)
def test_each_kind_of_bad_row_is_reported_with_line_and_column_and_nothing_is_written(tree, row, column, message):
    text = HEADER + "522601001003,文化社区,zone,522601001,urban,\n" + row + "\n"
    before = state()
    plan = import_grid_file("bad.csv", csv_bytes(text), actor=None)
    if message is None:
        assert plan.ok
        return
    assert [(e.line, e.column) for e in plan.errors] == [(3, column)]
    assert message in plan.errors[0].message
    assert state() == before  # the good row on line 2 was not written either


def test_duplicates_and_every_error_are_reported_together(tree):
    text = (
        HEADER + "522601001003,文化社区,zone,522601001,urban,\n"
        "522601001003,文化社区,zone,522601001,urban,\n"
        "522601001004,,zone,522601001,urban,\n"
        "522601001001001,北京路第1网格,grid,522601101,urban,\n"
    )
    plan = import_grid_file("bad.csv", csv_bytes(text), actor=None)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "code"), (4, "name"), (5, "parent_code")]
    assert "与第 2 行重复" in plan.errors[0].message
    assert not Grid.objects.filter(code="522601001003").exists()


def test_updates_and_moves_keep_codes_and_write_history(tree):
    admin = make_user("admin")
    text = (
        HEADER + "522601001001,北京路街区,zone,522601001,urban,\n"  # renamed
        "522601001002001,营盘坡第1网格,grid,522601001001,urban,\n"  # moved from zone B to zone A
        "52260100100100101,北京路1-1十户联防,unit,522601001001001,,14\n"  # households 12 → 14
    )
    plan = import_grid_file("changes.csv", csv_bytes(text), actor=admin)
    assert plan.summary() == {"rows": 3, "created": 0, "updated": 2, "moved": 1, "unchanged": 0, "errors": 0}
    moved = Grid.objects.get(code="522601001002001")
    assert moved.parent.code == "522601001001" and moved.code == "522601001002001"
    assert moved.events.get(kind=GridEvent.Kind.MOVED).detail == {
        "from": "522601001002",
        "from_name": "营盘坡社区",
        "to": "522601001001",
        "reason": "import",
    }
    assert Grid.objects.get(code="522601001001").events.filter(kind=GridEvent.Kind.RENAMED).exists()
    assert Grid.objects.get(code="52260100100100101").households == 14
    assert tree_faults() == []


def test_retired_nodes_cannot_be_changed_by_a_file_but_may_appear_unchanged(tree):
    grid_retire(actor=None, grid=tree.unit_b)
    unchanged = HEADER + "52260100100200101,营盘坡1-1十户联防,unit,522601001002001,,11\n"
    assert import_grid_file("same.csv", csv_bytes(unchanged), actor=None).ok
    changed = HEADER + "52260100100200101,改名,unit,522601001002001,,11\n"
    plan = import_grid_file("changed.csv", csv_bytes(changed), actor=None)
    assert "已撤销" in plan.errors[0].message


def test_new_nodes_under_a_retired_parent_are_refused(tree):
    grid_merge(actor=None, source=tree.zone_b, target=tree.zone_a)
    text = HEADER + "522601001002009,新网格,grid,522601001002,urban,\n"
    plan = import_grid_file("x.csv", csv_bytes(text), actor=None)
    assert plan.errors[0].column == "parent_code"


def test_an_admin_of_one_town_cannot_touch_another_town_by_file(tree):
    admin = make_user("t1admin", roles.SYSTEM_ADMIN, [tree.t1])
    text = (
        HEADER + "522601101200,南花新村,zone,522601101,rural,\n"  # rename in T2
        "522601101201,新村,zone,522601101,rural,\n"  # new zone in T2
        "522601001001001,北京路第1网格,grid,522601101200,urban,\n"  # move into T2
    )
    plan = import_grid_file("x.csv", csv_bytes(text), actor=admin, user=admin)
    assert [(e.line, e.column) for e in plan.errors] == [(2, "code"), (3, "parent_code"), (4, "parent_code")]
    assert all("管辖范围" in e.message for e in plan.errors)


def test_files_from_excel_gbk_csv_and_numeric_cells_are_read(tree):
    gbk = (HEADER + "522601001003,文化社区,zone,522601001,urban,\n").encode("gb18030")
    assert import_grid_file("gbk.csv", gbk, actor=None, dry_run=True).summary()["created"] == 1
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["code", "name", "kind", "parent_code", "area_type", "households"])
    sheet.append(["52260100100100102", "2号楼", "unit", 522601001001001, None, 13])  # a 15-digit number is exact
    sheet.append([52260100100100103, "3号楼", "unit", "522601001001001", None, 10])  # a 17-digit one is not
    buffer = io.BytesIO()
    workbook.save(buffer)
    plan = import_grid_file("units.xlsx", buffer.getvalue(), actor=None)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "code")] and "设为文本" in plan.errors[0].message
    sheet.delete_rows(3)
    buffer = io.BytesIO()
    workbook.save(buffer)
    plan = import_grid_file("units.xlsx", buffer.getvalue(), actor=None)
    assert plan.ok and Grid.objects.get(code="52260100100100102").households == 13


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("grids.txt", b"x", "只支持 CSV 或 XLSX"),
        ("grids.csv", b"", "文件是空的"),
        ("grids.csv", "code,名称,kind,备注\n".encode(), "缺少：parent_code,area_type,households；多出：备注"),
        ("grids.xlsx", b"not a zip", "无法读取 Excel"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(db, name, content, message):
    with pytest.raises(GridFileError, match=message):
        import_grid_file(name, content, actor=None)


def test_the_command_dry_run_writes_nothing_and_errors_exit_non_zero(tree, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "522601001003,文化社区,zone,522601001,urban,\n", encoding="utf-8")
    call_command("import_grids", str(good), "--dry-run")
    assert "将新增 1" in capsys.readouterr().out and not Grid.objects.filter(code="522601001003").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "522601001003,文化社区,zone,522601999,urban,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("import_grids", str(bad))
    assert "第 2 行 parent_code" in capsys.readouterr().err


def test_export_command_writes_csv_to_stdout_and_can_take_a_subtree(tree, capsys):
    call_command("export_grids", "--under", tree.zone_a.code)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("code,name") and [line.split(",")[0] for line in lines[1:]] == [
        "522601001001",
        "522601001001001",
        "52260100100100101",
    ]


def test_xlsx_export_imports_unchanged(tree):
    plan = import_grid_file("grids.xlsx", grids_to_xlsx(Grid.objects.all()), actor=None)
    assert plan.ok and plan.summary()["unchanged"] == Grid.objects.count()


# ---------------------------------------------------------------- the page


@pytest.fixture
def sysadmin(tree, client):
    admin = make_user("sysadmin", roles.SYSTEM_ADMIN, [tree.city], totp=True)
    force_verified(client, admin)
    return admin


def upload(client, text: str, name: str = "grids.csv"):
    return client.post(reverse("grids:import"), {"file": SimpleUploadedFile(name, text.encode())})


def test_page_dry_run_then_confirm_imports_once(client, sysadmin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, HEADER + "522601001003,文化社区,zone,522601001,urban,\n")
    dry_run = GridImport.objects.get()
    assert response.url == reverse("grids:import-detail", args=[dry_run.pk])
    assert dry_run.status == GridImport.Status.VALID and dry_run.summary["created"] == 1
    assert not Grid.objects.filter(code="522601001003").exists()
    page = client.get(response.url).content.decode()
    assert "确认导入" in page and "将新增" in page
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(reverse("grids:import-confirm", args=[dry_run.pk]))
        again = client.post(reverse("grids:import-confirm", args=[dry_run.pk]))
    real = GridImport.objects.get(confirms=dry_run)
    assert confirmed.url == again.url == reverse("grids:import-detail", args=[real.pk])
    assert real.status == GridImport.Status.DONE and Grid.objects.filter(code="522601001003").exists()
    progress = client.get(reverse("grids:import-progress", args=[real.pk])).json()
    assert progress["finished"] and progress["percent"] == 100


def test_page_shows_every_bad_row_and_offers_no_confirm(client, sysadmin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, HEADER + "522601001003,,zone,522601001,urban,\n522601001004,x,zone,522601999,urban,\n")
    page = client.get(response.url).content.decode()
    assert "2 处错误" in page and "确认导入" not in page and "522601999" in page
    errors = client.get(reverse("grids:import-errors", args=[GridImport.objects.get().pk])).content.decode("utf-8-sig")
    assert errors.splitlines()[1:] == ["2,name,缺少必填项。", "3,parent_code,上级编码 522601999 在文件和系统中都不存在。"]


def test_page_refuses_other_files_and_other_peoples_imports(client, sysadmin, tree):
    response = upload(client, "hello", name="grids.pdf")
    assert response.status_code == 200 and "只支持 CSV 或 XLSX" in response.content.decode()
    other = make_user("other", roles.SYSTEM_ADMIN, [tree.city], totp=True)
    theirs = GridImport.objects.create(created_by=other, filename="x.csv", content=b"")
    assert client.get(reverse("grids:import-detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("grids:import-confirm", args=[theirs.pk])).status_code == 404


def test_grid_workers_cannot_open_the_import_page(client, tree):
    worker = make_user("worker", roles.GRID_WORKER, [tree.zone_a])
    client.force_login(worker)
    assert client.get(reverse("grids:import")).status_code == 403


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_uploaded_import(client, tree, live_celery):  # noqa: F811
    admin = make_user("sysadmin", roles.SYSTEM_ADMIN, [tree.city], totp=True)
    force_verified(client, admin)
    upload(client, HEADER + "522601001003,文化社区,zone,522601001,urban,\n")
    record = GridImport.objects.get()
    deadline = time.monotonic() + 30
    while not GridImport.objects.get(pk=record.pk).is_finished and time.monotonic() < deadline:
        time.sleep(0.2)
    record.refresh_from_db()
    assert record.status == GridImport.Status.VALID and record.summary["created"] == 1
    assert client.get(reverse("grids:import-progress", args=[record.pk])).json()["percent"] == 100


def test_a_file_that_changes_nothing_offers_no_confirm(client, sysadmin, tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, grids_to_csv(Grid.objects.all()).decode("utf-8-sig"))
    page = client.get(response.url).content.decode()
    assert "没有需要导入的变更" in page and "确认导入" not in page

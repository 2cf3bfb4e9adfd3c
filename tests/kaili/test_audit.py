"""The audit trail: written with every change and sensitive read, append-only, verifiable."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from grids.services import grid_rename
from kaili import roles
from kaili.audit import audit_record, audit_verify_chain
from kaili.models import AuditAction, AuditCheck, AuditEntry
from tests.factories import force_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(user_factory):
    return user_factory("auditor", roles.AUDITOR, totp=True)


def test_a_change_writes_an_audit_row_in_the_same_transaction(tree, user_factory):
    admin = user_factory("admin", roles.SYSTEM_ADMIN, [tree.city])
    grid_rename(actor=admin, grid=tree.zone_a, name="北京路社区（新）")
    entry = AuditEntry.objects.filter(object_type="grids.grid", object_id=str(tree.zone_a.pk)).first()
    assert entry.action == AuditAction.UPDATE
    assert entry.actor == admin and entry.changes == {"name": ["北京路社区", "北京路社区（新）"]}


def test_a_failed_change_leaves_no_audit_row(tree, user_factory):
    admin = user_factory("admin", roles.SYSTEM_ADMIN, [tree.city])
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        grid_rename(actor=admin, grid=tree.zone_a, name="   ")
    assert AuditEntry.objects.count() == before


def test_reading_the_audit_log_is_itself_audited(client, auditor):
    force_verified(client, auditor)
    assert client.get("/audit/").status_code == 200
    read = AuditEntry.objects.filter(action=AuditAction.READ_SENSITIVE, actor=auditor)
    assert read.count() == 1
    assert read.get().ip_address == "127.0.0.1"


def test_the_database_refuses_update_and_delete(tree):
    entry = AuditEntry.objects.first()
    for statement in (
        "UPDATE kaili_auditentry SET outcome = 'failure' WHERE id = %s",
        "DELETE FROM kaili_auditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.id])
    assert AuditEntry.objects.filter(pk=entry.pk, outcome="success").exists()


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_truncate_outside_the_test_flush(user_factory):
    audit_record(actor=user_factory("someone"), action=AuditAction.EXPORT, object_type="grids.grid")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL kaili.allow_audit_truncate = 'off'")
        cursor.execute("TRUNCATE kaili_auditentry CASCADE")
    assert AuditEntry.objects.count() == 1


def test_the_orm_cannot_change_a_row_either(tree):
    entry = AuditEntry.objects.first()
    entry.object_repr = "forged"
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()


def test_audit_verify_passes_on_an_intact_chain(tree, capsys):
    call_command("audit_verify", "--no-progress")
    assert "审计日志完整" in capsys.readouterr().out
    assert AuditCheck.objects.get().ok


def _tamper(sql: str, params) -> None:
    """Change a row behind the application's back, as a database superuser could."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # superuser: ordinary triggers off
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_audit_verify_detects_a_row_altered_in_the_database(tree, capsys):
    victim = AuditEntry.objects.order_by("id")[3]
    _tamper("UPDATE kaili_auditentry SET object_repr = 'forged' WHERE id = %s", [victim.id])
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_verify", "--no-progress")
    assert exit_info.value.code == 1
    assert f"第 {victim.id} 行" in capsys.readouterr().err
    assert not AuditCheck.objects.get().ok


def test_audit_verify_detects_a_deleted_row(tree):
    victim = AuditEntry.objects.order_by("id")[2]
    _tamper("DELETE FROM kaili_auditentry WHERE id = %s", [victim.id])
    report = audit_verify_chain()
    assert not report.ok and "前序哈希" in report.problem


def test_audit_verify_detects_rows_cut_from_the_end(tree):
    call_command("audit_verify", "--no-progress")
    last = AuditEntry.objects.order_by("-id").first()
    _tamper("DELETE FROM kaili_auditentry WHERE id = %s", [last.id])
    report = audit_verify_chain()
    assert not report.ok and "截断" in report.problem


def test_rows_record_who_what_which_when_where_and_outcome(user_factory):
    user = user_factory("someone")
    entry = audit_record(actor=user, action=AuditAction.EXPORT, object_type="grids.grid", ip_address="10.1.2.3")
    assert (entry.actor_username, entry.action, entry.object_type, entry.ip_address, entry.outcome) == (
        "someone",
        "export",
        "grids.grid",
        "10.1.2.3",
        "success",
    )
    assert entry.at is not None and len(entry.row_hash) == 64


class TestAuditorPage:
    def test_search_by_user_action_and_time(self, client, tree, auditor, user_factory):
        admin = user_factory("admin", roles.SYSTEM_ADMIN, [tree.city])
        grid_rename(actor=admin, grid=tree.zone_a, name="新名字")
        force_verified(client, auditor)
        body = client.get("/audit/", {"user": "admin", "action": "update"}).content.decode()
        assert "新名字" in body or "北京路" in body
        assert "共 1 条" in body
        bad = client.get("/audit/", {"start": "2026-02-01T00:00", "end": "2026-01-01T00:00"}).content.decode()
        assert "起始时间不能晚于截止时间" in bad

    def test_csv_export(self, client, tree, auditor):
        force_verified(client, auditor)
        response = client.get("/audit/export/", {"object": "grids.grid"})
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert rows[0][0] == "id" and len(rows) == 1 + 11
        assert AuditEntry.objects.filter(action=AuditAction.EXPORT, actor=auditor).exists()

    def test_the_auditor_reads_the_audit_log_and_nothing_else(self, client, api, tree, auditor):
        force_verified(client, auditor)
        assert client.get("/grids/").status_code == 403
        api.force_authenticate(auditor)
        assert api.get("/api/grids/").status_code == 403
        assert api.get("/api/users/").status_code == 403

    def test_admins_and_others_cannot_read_the_audit_log(self, client, tree, user_factory):
        admin = user_factory("admin", roles.SYSTEM_ADMIN, [tree.city], totp=True)
        force_verified(client, admin)
        assert client.get("/audit/").status_code == 403
        assert client.get("/audit/export/").status_code == 403
        worker = user_factory("worker", roles.GRID_WORKER, [tree.zone_a])
        client.force_login(worker)
        assert client.get("/audit/").status_code == 403


def test_auditor_runs_a_verification_from_the_page(client, tree, auditor, django_capture_on_commit_callbacks):
    force_verified(client, auditor)
    assert "尚未校验过审计日志" in client.get("/audit/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/audit/verify/").status_code == 302
    check = AuditCheck.objects.get()
    assert check.ok
    assert f"完整（{check.rows_checked} 行）" in client.get("/audit/").content.decode()


def test_tampering_shows_on_the_auditors_page(client, tree, auditor, django_capture_on_commit_callbacks):
    victim = AuditEntry.objects.order_by("id")[1]
    _tamper("UPDATE kaili_auditentry SET changes = '{}' WHERE id = %s", [victim.id])
    force_verified(client, auditor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/audit/verify/")
    body = client.get("/audit/").content.decode()
    assert "发现篡改" in body and f"第 {victim.id} 行" in body

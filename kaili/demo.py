"""Demo accounts, one or more for every role, with their grants; and what the demo
loaders of the apps share (fresh statistics after a load, its audit row)."""

import base64
import hashlib
from dataclasses import dataclass

from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from kaili import roles
from kaili.audit import audit_record
from kaili.models import AuditAction, User
from kaili.services import user_create, user_grant_role

DEMO_PASSWORD = "Kaili@2026"


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    codes: tuple[str, ...] = ()


DEMO_USERS = (
    DemoUser("gridworker", "张晓梅（网格员）", roles.GRID_WORKER, ("522601001001001",)),
    DemoUser("gridworker_b", "杨光明（网格员）", roles.GRID_WORKER, ("522601002001001",)),
    DemoUser("unithead", "吴大伯（十户长）", roles.UNIT_HEAD, ("52260100100100101",)),
    DemoUser("centre", "龙玉兰（综治中心）", roles.CENTRE_STAFF, ("522601001",)),
    DemoUser("mediator", "潘志刚（调解员）", roles.MEDIATOR, ("522601001",)),
    DemoUser("officer", "李红（禁毒专干）", roles.PROGRAMME_OFFICER, ("522601001001",)),
    DemoUser("officer_justice", "石建国（司法所矫正专干）", roles.PROGRAMME_OFFICER, ("522601001",)),
    DemoUser("officer_care", "吴金花（关爱专干）", roles.PROGRAMME_OFFICER, ("522601001001",)),
    DemoUser("leader_city", "王书记（市领导）", roles.LEADER, ("522601",)),
    DemoUser("leader_town", "刘主任（街道领导）", roles.LEADER, ("522601001",)),
    DemoUser("dept_police", "市公安局（接口）", roles.DEPARTMENT, ("522601",)),
    DemoUser("sysadmin", "系统管理员", roles.SYSTEM_ADMIN, ("522601",)),
    DemoUser("secadmin", "安全管理员", roles.SECURITY_ADMIN),
    DemoUser("auditor", "安全审计员", roles.AUDITOR),
)


@dataclass(frozen=True)
class DemoHandler:
    """A handler (承办人) of a handling department: no grid role, they work what is
    dispatched to their department (``cases.models.Department.members``)."""

    username: str
    full_name: str
    department: str  # cases.Department code, seeded by the cases migrations


DEMO_HANDLERS = (
    DemoHandler("handler_city", "陈志远（市城管局承办人）", "chengguan"),
    DemoHandler("handler_police", "杨建华（市公安局承办人）", "gongan"),
)


@dataclass(frozen=True)
class DemoCourtAccount:
    """A court account (法院账号): no grid role, it works what its court entrusted to
    mediation and the judicial confirmations asked of it (``disputes.models.Court.members``)."""

    username: str
    full_name: str
    court: str  # disputes.Court code, seeded by the disputes migrations


DEMO_COURT_ACCOUNTS = (DemoCourtAccount("court_kaili", "赵文静（凯里市人民法院）", "kaili"),)


@dataclass(frozen=True)
class DemoCommitteeMember:
    """A demo account that also sits on the people's mediation committee of a zone (the
    committees are made with the demo disputes, ``disputes.demo``)."""

    username: str
    zone: str


DEMO_COMMITTEE_MEMBERS = (DemoCommitteeMember("mediator", "522601001001"),)


def demo_totp_key(username: str, seed: int) -> bytes:
    """A fixed TOTP key per demo account, so the printed secret stays valid across runs."""
    return hashlib.sha256(f"kaili-demo-{seed}-{username}".encode()).digest()[:20]


def seed_demo_users(*, seed: int = 2016) -> list[dict]:
    rows = []
    for demo in DEMO_USERS:
        user = User.objects.filter(username=demo.username).first()
        if user is None:
            user = user_create(actor=None, username=demo.username, password=DEMO_PASSWORD, full_name=demo.full_name)
            user_grant_role(actor=None, user=user, role=demo.role, codes=demo.codes)
        secret = ""
        if roles.ROLES[demo.role].requires_two_factor:
            key = demo_totp_key(demo.username, seed)
            TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "demo", "key": key.hex()})
            device = TOTPDevice.objects.get(user=user, confirmed=True)
            secret = base64.b32encode(device.bin_key).decode()
        rows.append({"username": demo.username, "role": demo.role, "codes": " ".join(demo.codes), "totp_secret": secret})
    rows += seed_demo_handlers()
    rows += seed_demo_court_accounts()
    seed_demo_committee_members()
    return rows


def _seed_member_accounts(accounts, model, key: str) -> list[dict]:
    """Accounts without a role, each a member of the ``model`` row (a department, a court)
    whose code their ``key`` field holds, when that row exists."""
    rows = []
    for demo in accounts:
        user = User.objects.filter(username=demo.username).first()
        if user is None:
            user = user_create(actor=None, username=demo.username, password=DEMO_PASSWORD, full_name=demo.full_name)
        code = getattr(demo, key)
        group = model.objects.filter(code=code).first()
        if group is not None:
            group.members.add(user)
        rows.append({"username": demo.username, "role": "", "codes": "", "totp_secret": "", key: group.name if group else code})
    return rows


def seed_demo_handlers() -> list[dict]:
    """The handler accounts, members of their department (when it exists)."""
    from cases.models import Department

    return _seed_member_accounts(DEMO_HANDLERS, Department, "department")


def seed_demo_court_accounts() -> list[dict]:
    """The court accounts, members of their court (when it exists)."""
    from disputes.models import Court

    return _seed_member_accounts(DEMO_COURT_ACCOUNTS, Court, "court")


def seed_demo_committee_members() -> int:
    """Seat the demo accounts on their zone's mediation committee, once it exists; returns
    how many seats were added."""
    from disputes.models import BodyKind, MediationBody

    added = 0
    for demo in DEMO_COMMITTEE_MEMBERS:
        user = User.objects.filter(username=demo.username).first()
        body = MediationBody.objects.filter(kind=BodyKind.COMMITTEE, node__code=demo.zone).order_by("pk").first()
        if user is not None and body is not None and not body.members.filter(pk=user.pk).exists():
            body.members.add(user)
            added += 1
    return added


def analyze(models) -> None:
    """Fresh statistics for the tables of ``models`` after a bulk load, so that the first
    queries plan well."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models))


def audit_demo_load(object_type: str, object_repr: str, changes: dict) -> None:
    """The audit row of a demo load: what it made, how long it took."""
    audit_record(actor=None, action=AuditAction.IMPORT, object_type=object_type, object_repr=object_repr, changes=changes)

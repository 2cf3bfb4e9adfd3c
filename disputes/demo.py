"""Demo disputes (``seed_demo``): the "132" mechanism at work across the demo tree.

Every open zone (村/社区) gets its people's mediation committee. Then three years of
disputes: 3,041 registered in 2015 and 2,238 in 2016 (the seed's figures: -26.41% year on
year), 1,934 in 2017; neighbour, marriage and family, land and wage disputes most of all.
Most are settled in people's mediation by the grid worker or the village committee, fewer
climb to the administrative and judicial lines (those leaving the village are "passed
upward"), a share comes from the court (entrusted), and nearly all are closed: about
nineteen in twenty resolved, the rest unresolved (the parties told of other routes) or
withdrawn. A handful of open disputes of this year lie in the demo grid worker's grid, so
that the worklists, the triage queue and the court's list are not empty.

Each dispute goes through the flow as ``disputes.services`` takes it (``Flow`` mirrors
the services: the same steps from the same states, the same deadlines, one
``DisputeTransition`` per step, ``late`` where a step came after the deadline it met),
with its parties (identity numbers valid, encrypted like any other), sessions over the
six methods, agreements (written and oral), follow-up visits, judicial confirmations and
the court's entrusted cases with their results returned. Each mediation body gets one
mediator account without a password (the people who recorded what happened; they cannot
sign in), besides the demo accounts where they work.

A bulk load (COPY), not a stream of user actions: numbers are reserved from the same
sequences as the services, so later registrations continue them; one audit row records the
load. Running it again adds nothing once disputes of the demo years exist. Deterministic
for a seed and a day.
"""

import bisect
import datetime
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import ExtractYear
from django.utils import timezone

from cases.demo import Node, covering, load_nodes, load_staff, write_in_batches
from disputes.models import (
    CLOSED_STATUSES,
    GROUP_SIZE,
    Agreement,
    AgreementForm,
    BodyKind,
    Court,
    Dispute,
    DisputeCategory,
    DisputeParty,
    DisputeScale,
    DisputeTransition,
    EntrustedMediation,
    EntrustedResult,
    FollowUp,
    JudicialConfirmation,
    LineKind,
    MediationBody,
    MediationLine,
    MediationSession,
    Method,
    Outcome,
    PartyKind,
    PartyRole,
    Performance,
    Procedure,
    Referral,
    Risk,
    Ruling,
    Source,
    Status,
    Tier,
)
from disputes.services import (
    ACCEPT_DAYS,
    CONFIRMATION_WINDOW_DAYS,
    OTHER_ROUTES,
    RULING_DAYS,
    effective_date,
    entrusted_days,
    follow_up_days,
    triage_days,
)
from disputes.workflow import CONFIRMABLE_LINES, STEP_RULES, Step
from grids.models import Grid, GridKind
from kaili import roles
from kaili.audit import audit_record
from kaili.demo import DEMO_COURT_ACCOUNTS, DEMO_USERS, analyze, audit_demo_load, seed_demo_committee_members
from kaili.models import AuditAction, User
from kaili.numbering import reserve_numbers
from kaili.progress import no_progress
from populations.demo import (
    ETHNICITY_WEIGHTS,
    OTHER_REGIONS,
    Names,
    _allocate_ids,
    _check_columns,
    _copy,
    _forget_logged_queries,
    _phone,
    _weighted,
)
from populations.identity import make_identity_number

# Disputes registered per year: 2015 and 2016 are the seed's figures, 2017 continues the fall.
YEAR_COUNTS = {2015: 3041, 2016: 2238, 2017: 1934}
DEMO_YEARS = tuple(YEAR_COUNTS)

CATEGORY_WEIGHTS = {
    "01": 18, "02": 22, "03": 9, "04": 12, "05": 6, "06": 4, "07": 7, "08": 4, "09": 11, "10": 2, "11": 2, "12": 3,
}  # fmt: skip
SCALE_WEIGHTS = {"general": 86, "major": 11, "serious": 3}
SOURCE_WEIGHTS = {Source.SCREENING: 48, Source.WALK_IN: 22, Source.HOTLINE: 11, Source.PETITION: 6, Source.DEPARTMENT: 7}
ENTRUSTED_SHARE = 0.06  # of a year's disputes, sent by the court (source "court")
MONTH_WEIGHTS = (1.25, 1.3, 1.0, 0.95, 0.9, 0.95, 1.0, 1.0, 0.95, 0.95, 0.9, 1.05)  # more around the Spring Festival

OUTCOMES = (Status.RESOLVED, Status.UNRESOLVED, Status.WITHDRAWN)
OUTCOME_WEIGHTS = (95, 3.3, 1.7)
ENTRUSTED_OUTCOME_WEIGHTS = (76, 20, 4)
# Tiers failed before the last one: most are settled where they are first mediated.
FAILURE_WEIGHTS = (80, 14, 4, 1.5, 0.5)
ROUTE_SHARE = 0.2  # of the failures: the centre routes to another line instead of the next rung
EXTEND_SHARE = 0.06
CONFIRM_SHARE, ENTRUSTED_CONFIRM_SHARE = 0.1, 0.35
RULING_WEIGHTS = {Ruling.CONFIRMED: 90, Ruling.REJECTED: 6, Ruling.NOT_ACCEPTED: 4}
BREACH_SHARE = 0.03  # agreements breached once and performed after a second visit
ORAL_SHARE = 0.35
# Steps taken after their deadline: triage, the end of a tier, follow-up, closing, the court.
LATE_TRIAGE, LATE_MEDIATION, LATE_FOLLOW_UP, LATE_CLOSE, LATE_COURT = 0.03, 0.035, 0.03, 0.02, 0.04
SATISFACTION_WEIGHTS = (1, 2, 8, 30, 59)
REFERRALS = ((Referral.PRE_FILING, ""), (Referral.AFTER_FILING, Procedure.ORDINARY), (Referral.AFTER_FILING, Procedure.SIMPLE))
REFERRAL_WEIGHTS = (65, 20, 15)

PEOPLE, VILLAGE, DIRECTOR = 11, 12, 13  # tier ranks of the people's line
ADMINISTRATIVE_FIRST, JUDICIAL_FIRST, JUDICIAL_TRIAL = 21, 31, 32

# --- words ---------------------------------------------------------------------------

SUBJECTS = {
    "01": ("赡养老人", "离婚财产分割", "子女抚养费", "婚约彩礼返还", "家庭财产继承"),
    "02": ("排水沟堵塞", "楼上漏水", "噪音扰民", "树木遮挡采光", "通行道路", "饲养家禽", "滴水檐"),
    "03": ("宅基地边界", "房屋漏水维修", "建房占地", "房屋租赁", "房屋买卖"),
    "04": ("山林权属", "承包地边界", "田土调换", "林木采伐", "灌溉用水"),
    "05": ("借款", "买卖货款", "工程款", "租赁合同", "装修合同"),
    "06": ("合伙经营", "养殖场经营", "农资质量", "摊位经营", "客运线路"),
    "07": ("交通事故赔偿", "人身损害赔偿", "牲畜损害庄稼", "财产损坏赔偿", "犬只伤人"),
    "08": ("征地补偿", "房屋拆迁安置", "青苗补偿", "坟墓迁移补偿"),
    "09": ("拖欠工资", "工伤赔偿", "解除劳动合同补偿", "社保缴纳"),
    "10": ("医疗损害赔偿", "手术并发症", "诊疗费用"),
    "11": ("养殖污染", "工厂噪声", "粉尘污染", "污水排放"),
    "12": ("水电费分摊", "合伙购车", "红白喜事费用", "网络购物"),
}
DETAILS = {
    "01": "与{resp}因{subject}问题长期争吵，家庭矛盾激化",
    "02": "与邻居{resp}因{subject}问题多次发生口角",
    "03": "与{resp}因{subject}问题产生争议，双方各执一词",
    "04": "与{resp}因{subject}问题发生纠纷，争议面积约{area}亩",
    "05": "{resp}拖欠{subject}{amount}元，多次催要未果",
    "06": "与{resp}因{subject}问题发生经济纠纷",
    "07": "与{resp}因{subject}问题协商不成，涉及金额约{amount}元",
    "08": "对{subject}标准有异议，与{resp}协商未果",
    "09": "与{resp}因{subject}问题发生劳动争议，涉及金额约{amount}元",
    "10": "在{resp}就诊后因{subject}问题发生争议",
    "11": "反映{resp}{subject}影响正常生产生活",
    "12": "与{resp}因{subject}问题发生争执",
}
ASKS = ("请求调解", "请求村（社区）调委会调解", "要求对方赔偿损失", "请求有关部门协调处理")
REMEDIES = {
    "01": "子女轮流照顾老人并按月分担生活费，共同赡养",
    "02": "由{resp}负责疏通修复，今后互谅互让、和睦相处",
    "03": "以现场测量的界址为准，双方不再越界建房",
    "04": "按村组原始登记划定界线，双方各自经营管理",
    "05": "{resp}分期偿还欠款",
    "06": "合伙财产按出资比例分割，合伙关系解除",
    "07": "{resp}赔礼道歉并承担修复费用",
    "08": "按征收补偿方案足额补偿，另给予搬迁奖励",
    "09": "用人单位补发拖欠工资并依法补缴社会保险",
    "10": "院方承担部分医疗费用，患方不再追究",
    "11": "{resp}限期整改污染源并补偿损失",
    "12": "费用按约定比例分担，双方再无争议",
}
ORGANISATIONS = {
    "05": ("凯里市{x}建筑工程有限公司", "凯里市{x}装饰工程有限公司"),
    "06": ("凯里市{x}农业开发有限公司", "凯里市{x}商贸有限公司"),
    "08": ("凯里市{x}片区征收指挥部", "贵州{x}房地产开发有限公司"),
    "09": ("贵州{x}建筑劳务有限公司", "凯里市{x}餐饮有限公司", "凯里市{x}服装加工厂", "凯里市{x}物业管理有限公司"),
    "10": ("凯里市第一人民医院", "黔东南州人民医院", "凯里市{x}镇卫生院", "凯里{x}医院"),
    "11": ("凯里市{x}石材厂", "凯里市{x}养殖场", "贵州{x}化工有限公司"),
}
ORGANISATION_SHARE = {"05": 0.3, "06": 0.2, "08": 0.8, "09": 0.85, "10": 1.0, "11": 0.8}
FIRMS = ("鑫源", "宏达", "苗岭", "清江", "金山", "恒盛", "黔东", "华通", "龙场", "香炉山", "开怀", "舟溪")
# (share without an amount, lowest, highest) in yuan
AMOUNTS = {
    "01": (0.5, 2000, 80000), "02": (0.7, 200, 5000), "03": (0.5, 1000, 50000), "04": (0.6, 500, 30000),
    "05": (0.0, 3000, 300000), "06": (0.2, 2000, 200000), "07": (0.05, 2000, 150000), "08": (0.1, 10000, 500000),
    "09": (0.0, 3000, 120000), "10": (0.05, 10000, 300000), "11": (0.3, 2000, 100000), "12": (0.6, 200, 20000),
}  # fmt: skip
GROUP_CATEGORIES = {"08": 0.5, "09": 0.35, "11": 0.5, "04": 0.1}
SPOTS = ("家中", "村口", "田坎边", "小区楼道", "门面前", "施工工地", "承包地", "山林边", "河边", "巷道口")
METHOD_NOTES = {
    Method.EXPERT: "邀请法律专家释法析理",
    Method.INDUSTRY: "由行业调委会调解员结合行业规范进行调解",
    Method.FIVE_ELDERS: "邀请寨老、退休老干部参与调解",
    Method.FOLK_CUSTOM: "结合当地民族习俗和村规民约开展调解",
    Method.MOBILE: "调解员到纠纷现场实地查看",
    Method.JOINT: "会同司法所、派出所等部门联合调解",
    Method.ORDINARY: "调解员释法说理、耐心疏导",
}
OUTCOME_NOTES = {
    Outcome.AGREEMENT: "双方达成一致意见",
    Outcome.PARTIAL: "双方就部分事项达成共识，约定再次调解",
    Outcome.FAILED: "双方分歧较大，本级调解不成",
    Outcome.WITHDRAWN: "申请人表示撤回调解申请",
}
ESCALATE_REASONS = ("双方分歧较大，本级调解不成", "涉及金额较大，需上级调解组织介入", "当事人不接受本级调解意见")
ROUTE_NOTES = {
    LineKind.ADMINISTRATIVE: "涉及部门职责，转行政调解",
    LineKind.JUDICIAL: "当事人同意诉前调解，转法院诉调对接中心",
    LineKind.PEOPLE: "案情复杂，转专业调解组织",
}
EXTEND_REASONS = ("需等待鉴定结果", "当事人外出务工，经双方同意延期调解", "需协调相关部门核实情况")
WITHDRAW_REASONS = ("双方已自行和解，申请人撤回申请", "申请人外出务工，申请撤回调解", "申请人决定直接向法院起诉")
REJECT_REASONS = ("协议内容违反法律强制性规定", "当事人对协议内容存在重大误解", "协议涉及案外人利益")
UNRESOLVED_NOTES = (
    "双方分歧较大，经多次调解未能达成协议",
    "被申请人拒不到场，无法继续调解",
    "协议未履行，当事人要求通过诉讼解决",
)
TRIAGE_NOTES = ("事实清楚、争议不大，就地调解", "涉及村组历史问题，由村调委会调解", "属行业性纠纷，交专业调委会调解", "")
ROUTES_BY_CATEGORY = {"09": ("arbitration", "litigation"), "04": ("administrative", "litigation"), "08": ("administrative",)}
RESOLVED_NOTES = ("协议已履行，化解结案。", "经回访，协议已履行完毕，当事人满意，化解结案。")


# --- what the load reads -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TierInfo:
    pk: int
    rank: int
    days: int
    label: str  # str(tier), as the services write it into a transition
    line_kind: str

    @property
    def people(self) -> bool:
        return self.line_kind == LineKind.PEOPLE


@dataclass(frozen=True, slots=True)
class BodyInfo:
    pk: int
    name: str
    kind: str
    line_kind: str
    rank: int | None  # of its tier
    account: int  # the mediator account that records its work


@dataclass
class Catalogue:
    """The seeded tables and the bodies, for quick look-ups."""

    categories: dict  # code -> (pk, name)
    scales: dict  # code -> pk
    tiers: dict  # rank -> TierInfo
    ranks: list  # ascending
    committees: dict  # zone pk -> BodyInfo
    industry: dict  # category code -> BodyInfo (people's line, tier 2)
    departments: dict  # category code -> BodyInfo (administrative line)
    judicial: dict  # rank -> BodyInfo
    court: int | None  # the Kaili court (confirmations, entrustments)
    court_name: str
    names: dict  # user pk -> what str(user) shows
    lines: dict  # line kind -> pk

    def next_rank(self, rank: int) -> int | None:
        index = bisect.bisect_right(self.ranks, rank)
        return self.ranks[index] if index < len(self.ranks) else None


def _committee_name(zone_name: str) -> str:
    return f"{zone_name}人民调解委员会"


def seed_committees() -> int:
    """A people's mediation committee (tier 2 of the people's line) for every open zone
    that has none; returns how many were made."""
    tier = Tier.objects.filter(line__kind=LineKind.PEOPLE, level=2).select_related("line").first()
    if tier is None:
        return 0
    have = set(MediationBody.objects.filter(kind=BodyKind.COMMITTEE, node__isnull=False).values_list("node_id", flat=True))
    zones = Grid.objects.active().filter(kind=GridKind.ZONE).exclude(pk__in=have).order_by("code")
    bodies = [
        MediationBody(name=_committee_name(zone.name)[:100], kind=BodyKind.COMMITTEE, line=tier.line, tier=tier, node=zone)
        for zone in zones
    ]
    MediationBody.objects.bulk_create(bodies, batch_size=1000)
    return len(bodies)


def seed_body_accounts(rng: random.Random) -> int:
    """One mediator account for each body that has no member yet: the person who records
    its mediations in the demo. No password: nobody signs in with it."""
    bodies = list(
        MediationBody.objects.filter(is_active=True)
        .annotate(n=Count("members"))
        .filter(n=0)
        .select_related("node")
        .order_by("pk")
    )
    if not bodies:
        return 0
    names, ethnicities = Names(rng), _weighted(ETHNICITY_WEIGHTS)
    taken = set(User.objects.filter(username__startswith="tjy_").values_list("username", flat=True))
    users, pairs = [], []
    unusable = make_password(None)
    for body in bodies:
        username = f"tjy_{body.node.code}" if body.node_id else f"tjy_body{body.pk}"
        if username in taken:
            continue
        ethnicity = rng.choices(*ethnicities)[0]
        short = body.name.removesuffix("人民调解委员会") or body.name
        user = User(
            username=username,
            password=unusable,
            full_name=f"{names.full(ethnicity, age=50)}（{short[:20]}调解员）",
            organisation=body.name[:128],
        )
        users.append(user)
        pairs.append((body, user))
    User.objects.bulk_create(users, batch_size=1000)
    made = {u.username: u.pk for u in User.objects.filter(username__in=[u.username for u in users])}
    through = MediationBody.members.through
    through.objects.bulk_create([through(mediationbody_id=body.pk, user_id=made[user.username]) for body, user in pairs])
    for body, user in pairs:  # accounts are made on the record, like any other
        user.pk = made[user.username]
        changes = {"username": user.username, "full_name": user.full_name, "body": body.name, "password": "unusable"}
        audit_record(actor=None, action=AuditAction.CREATE, obj=user, changes=changes)
    return len(users)


def load_catalogue() -> Catalogue:
    tiers = {
        t.rank: TierInfo(pk=t.pk, rank=t.rank, days=t.days, label=str(t), line_kind=t.line.kind)
        for t in Tier.objects.select_related("line")
    }
    # The body's own mediator account records its work; a demo account that joined a
    # committee works only where its role lies.
    members = MediationBody.members.through.objects.filter(user__is_active=True).order_by("-user__username")
    accounts = {}
    for body_id, user_id, username in members.values_list("mediationbody_id", "user_id", "user__username"):
        if username.startswith("tjy_") or body_id not in accounts:
            accounts[body_id] = user_id
    committees, industry, departments, judicial = {}, {}, {}, {}
    for body in MediationBody.objects.filter(is_active=True).select_related("line", "tier").prefetch_related("categories"):
        account = accounts.get(body.pk)
        if account is None:
            continue
        info = BodyInfo(body.pk, body.name, body.kind, body.line.kind, body.tier.rank if body.tier else None, account)
        if body.kind == BodyKind.COMMITTEE and body.node_id:
            committees[body.node_id] = info
        elif body.kind == BodyKind.INDUSTRY:
            for category in body.categories.all():
                industry.setdefault(category.code, info)
        elif body.line.kind == LineKind.ADMINISTRATIVE:
            for category in body.categories.all():
                departments.setdefault(category.code, info)
        elif body.line.kind == LineKind.JUDICIAL and info.rank is not None:
            judicial.setdefault(info.rank, info)
    court = Court.objects.filter(code="kaili", is_active=True).first() or Court.objects.filter(is_active=True).first()
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=set(accounts.values()))}
    return Catalogue(
        categories={c.code: (c.pk, c.name) for c in DisputeCategory.objects.filter(is_active=True)},
        scales={s.code: s.pk for s in DisputeScale.objects.filter(is_active=True)},
        tiers=tiers,
        ranks=sorted(tiers),
        committees=committees,
        industry=industry,
        departments=departments,
        judicial=judicial,
        court=court.pk if court else None,
        court_name=court.name if court else "",
        names=names,
        lines=dict(MediationLine.objects.values_list("kind", "pk")),
    )


@dataclass
class Cast:
    """The demo accounts who act in the flow, each with the node range they cover."""

    workers: list = field(default_factory=list)  # (tree_id, lft, rght, user pk)
    centres: list = field(default_factory=list)
    mediators: list = field(default_factory=list)
    court: int | None = None


def load_cast(names: dict) -> Cast:
    staff = load_staff({})
    cast = Cast(workers=staff.reporters, centres=staff.centres)
    names.update(staff.names)
    users = {u.username: u for u in User.objects.filter(username__in=[d.username for d in DEMO_USERS], is_active=True)}
    codes = {code for demo in DEMO_USERS if demo.role == roles.MEDIATOR for code in demo.codes}
    nodes = {g.code: g for g in Grid.objects.filter(code__in=codes)}
    for demo in DEMO_USERS:
        user = users.get(demo.username)
        if demo.role != roles.MEDIATOR or user is None:
            continue
        names[user.pk] = str(user)
        cast.mediators += [(nodes[c].tree_id, nodes[c].lft, nodes[c].rght, user.pk) for c in demo.codes if c in nodes]
    court = User.objects.filter(username__in=[a.username for a in DEMO_COURT_ACCOUNTS], is_active=True).order_by("pk").first()
    if court is not None:
        cast.court = court.pk
        names[court.pk] = str(court)
    return cast


def load_registry() -> tuple[dict[int, list[int]], dict[int, tuple]]:
    """Registry person ids by unit, and what a party copied from the registry shows
    (name, sex, ethnicity, masked numbers) by person."""
    by_unit, details = defaultdict(list), {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, unit_id, name, sex, ethnicity, id_number_masked, phone_masked FROM populations_person ORDER BY id"
        )
        for pk, unit, *rest in cursor.fetchall():
            by_unit[unit].append(pk)
            details[pk] = tuple(rest)
    return dict(by_unit), details


# --- one dispute ---------------------------------------------------------------------


@dataclass(slots=True)
class PartyRow:
    role: str
    kind: str
    name: str
    person: int | None = None
    id_number: str = ""
    sex: str = ""
    ethnicity: str = ""
    address: str = ""
    phone: str = ""
    id_masked: str = ""  # a registry person's, copied as the services do
    phone_masked: str = ""


@dataclass(slots=True)
class SessionRow:
    pk: int
    tier: int | None
    held_on: datetime.date
    place: str
    method: str
    mediators: tuple
    attendance: str
    notes: str
    outcome: str
    recorded_by: int
    recorded_at: datetime.datetime


@dataclass(slots=True)
class ConfirmationRow:
    pk: int
    court: int
    applied_on: datetime.date
    applicants: str
    accept_due: datetime.date
    recorded_by: int
    accepted_on: datetime.date | None = None
    ruling_due: datetime.date | None = None
    ruled_on: datetime.date | None = None
    result: str = Ruling.PENDING
    reason: str = ""
    late: bool = False


@dataclass(slots=True)
class AgreementRow:
    pk: int
    tier: int | None
    body: int | None
    form: str
    reached_on: datetime.date
    terms: str
    amount: Decimal | None
    performance_due: datetime.date | None
    parties_signed: str
    mediator_signed: str
    signed_on: datetime.date | None
    sealed_on: datetime.date | None
    effective_on: datetime.date
    recorded_by: int
    recorded_at: datetime.datetime
    line_kind: str
    performance: str = Performance.PENDING
    enforceable: bool = False
    superseded: bool = False
    follow_ups: list = field(default_factory=list)  # (visited_on, performance, satisfaction, note, visited_by)
    confirmations: list = field(default_factory=list)


@dataclass(slots=True)
class EntrustedRow:
    court: int
    court_case_number: str
    referral: str
    procedure: str
    body: int
    received_on: datetime.date
    due_on: datetime.date
    entrusted_by: int
    extensions: int = 0
    result: str = EntrustedResult.PENDING
    result_note: str = ""
    returned_on: datetime.date | None = None


@dataclass(slots=True)
class Case:
    """A dispute being built with everything it records."""

    node: Node
    zone: int | None
    category: str
    scale: str
    source: str
    registered: datetime.datetime
    pk: int = 0
    number: str = ""
    name: str = ""
    summary: str = ""
    place: str = ""
    occurred_on: datetime.date | None = None
    amount: Decimal | None = None
    people_count: int = 2
    group_risk: bool = False
    risk: str = Risk.LOW
    units_involved: str = ""
    registered_by: int | None = None
    status: str = ""
    version: int = 0
    tier: TierInfo | None = None
    body: BodyInfo | None = None
    mediators: tuple = ()
    accepted_at: datetime.datetime | None = None
    tier_started_on: datetime.date | None = None
    due_on: datetime.date | None = None
    extensions: int = 0
    late: bool = False
    escalations: int = 0
    passed_upward: bool = False
    closed_at: datetime.datetime | None = None
    closing_note: str = ""
    other_routes: list = field(default_factory=list)
    satisfaction: int | None = None
    updated: datetime.datetime | None = None
    subject: str = ""
    parties: list = field(default_factory=list)
    sessions: list = field(default_factory=list)
    agreements: list = field(default_factory=list)
    entrusted: EntrustedRow | None = None
    transitions: list = field(default_factory=list)

    @property
    def agreement(self) -> AgreementRow | None:
        current = [a for a in self.agreements if not a.superseded]
        return current[0] if current else None

    def applicant(self) -> str:
        return next((p.name for p in self.parties if p.role == PartyRole.APPLICANT), "")

    def respondent(self) -> str:
        return next((p.name for p in self.parties if p.role == PartyRole.RESPONDENT), "")


class IdPool:
    """Primary keys drawn from a table's sequence a thousand at a time, so rows can point
    at each other before they are written."""

    def __init__(self, model):
        self.model, self.free = model, []

    def __call__(self) -> int:
        if not self.free:
            self.free = _allocate_ids(self.model, 1000)[::-1]
        return self.free.pop()


class Flow:
    """Takes a dispute through the steps as ``disputes.services`` does: the same sources
    and targets, the same fields and deadlines per step, one transition each, ``late``
    when a step that meets a deadline came after it."""

    def __init__(self, catalogue: Catalogue, ids: dict):
        self.catalogue, self.ids = catalogue, ids
        self.now = None  # the moment of the step being taken

    def name(self, user) -> str:
        return self.catalogue.names.get(user, "")

    def _step(self, case: Case, step: str, at: datetime.datetime, actor, apply, acted_on=None) -> None:
        """``acted_on``: the day the act took place when it is not the day it is recorded
        (an agreement reached before it was sealed); the deadline is met or missed by it."""
        rule = STEP_RULES[step]
        if case.status not in rule.sources:
            raise ValueError(f"{case.number}: {step} from {case.status}")
        from_status, waited = case.status, case.due_on
        today = at.date()
        late = bool(rule.meets_deadline and waited is not None and (acted_on or today) > waited)
        self.now = at
        note, details = apply(today)
        if rule.target is not None:
            case.status = rule.target
        if case.status in CLOSED_STATUSES:
            case.closed_at, case.due_on = at, None
            self._return_to_court(case, today)
        self._record(case, step, from_status, actor, at, note, waited if rule.meets_deadline else None, late, details)

    def _record(self, case, step, from_status, actor, at, note="", due_on=None, late=False, details=None) -> None:
        case.version += 1
        case.late = case.late or late
        case.updated = at
        tier = case.tier.pk if case.tier else None
        case.transitions.append((step, from_status, case.status, actor, at, note, tier, due_on, late, details or {}))

    def _return_to_court(self, case: Case, today) -> None:
        entrusted = case.entrusted
        if entrusted is None or entrusted.result != EntrustedResult.PENDING:
            return
        entrusted.result = {
            Status.RESOLVED: EntrustedResult.SETTLED,
            Status.UNRESOLVED: EntrustedResult.FAILED,
            Status.WITHDRAWN: EntrustedResult.WITHDRAWN,
        }[case.status]
        entrusted.result_note = case.closing_note
        entrusted.returned_on = today

    def _assign(self, case: Case, today, tier: TierInfo, body: BodyInfo | None, mediators, keep=False) -> dict:
        due_on = today + datetime.timedelta(days=tier.days)
        if case.entrusted is not None and case.entrusted.result == EntrustedResult.PENDING:
            due_on = min(due_on, case.entrusted.due_on)
        if case.tier is not None and case.tier.people and not tier.people:
            case.passed_upward = True
        before = case.tier.label if case.tier else ""
        if body is None and keep and case.body is not None and case.body.line_kind == tier.line_kind:
            body = case.body
        case.tier, case.body = tier, body
        case.tier_started_on, case.due_on = today, due_on
        if mediators or not keep:
            case.mediators = tuple(mediators)
        if case.accepted_at is None:
            case.accepted_at = self.now
        return {
            "from_tier": before,
            "tier": tier.label,
            "body": body.name if body is not None else "",
            "mediators": [self.name(m) for m in mediators],
            "due_on": due_on.isoformat(),
        }

    # the steps

    def register(self, case: Case, at: datetime.datetime, actor) -> None:
        case.status = Status.REGISTERED
        case.due_on = at.date() + datetime.timedelta(days=triage_days())
        self._record(case, Step.REGISTER, "", actor, at, due_on=case.due_on)

    def entrust(self, case, at, actor, *, court, body: BodyInfo, tier: TierInfo, mediators, referral, procedure, number):
        days = entrusted_days(referral, procedure)
        today = at.date()
        case.entrusted = EntrustedRow(
            court=court,
            court_case_number=number,
            referral=referral,
            procedure=procedure,
            body=body.pk,
            received_on=today,
            due_on=today + datetime.timedelta(days=days),
            entrusted_by=actor,
        )
        self.now = at
        self._assign(case, today, tier, body, mediators)  # the deadline capped by the court's
        case.status = Status.MEDIATING
        details = {"court": self.catalogue.court_name, "case": number, "referral": referral, "procedure": procedure, "days": days}
        self._record(case, Step.ENTRUST, Status.REGISTERED, actor, at, due_on=case.entrusted.due_on, details=details)

    def triage(self, case, at, actor, *, tier, body, mediators, note="", risk=None):
        def apply(today):
            details = self._assign(case, today, tier, body, mediators)
            if risk:
                case.risk = risk
            return note, details

        self._step(case, Step.TRIAGE, at, actor, apply)

    def route(self, case, at, actor, *, tier, body, mediators, note=""):
        self._step(case, Step.ROUTE, at, actor, lambda today: (note, self._assign(case, today, tier, body, mediators)))

    def escalate(self, case, at, actor, *, reason, body=None, mediators=()):
        higher = self.catalogue.tiers[self.catalogue.next_rank(case.tier.rank)]

        def apply(today):
            details = self._assign(case, today, higher, body, mediators, keep=True)
            case.escalations += 1
            return reason, details

        self._step(case, Step.ESCALATE, at, actor, apply)

    def extend(self, case, at, actor, *, days, reason):
        def apply(today):
            case.due_on = max(case.due_on or today, today) + datetime.timedelta(days=days)
            case.extensions += 1
            entrusted = case.entrusted
            if entrusted is not None and entrusted.result == EntrustedResult.PENDING:
                entrusted.due_on = max(entrusted.due_on, today) + datetime.timedelta(days=days)
                entrusted.extensions += 1
            return reason, {"days": days, "until": case.due_on.isoformat()}

        self._step(case, Step.EXTEND, at, actor, apply)

    def session(self, case, at, actor, *, outcome, method, place, notes, attendance="", mediators=()):
        def apply(today):
            session = SessionRow(
                pk=self.ids["session"](),
                tier=case.tier.pk if case.tier else None,
                held_on=today,
                place=place[:200],
                method=method,
                mediators=tuple(mediators) or (actor,),
                attendance=attendance,
                notes=notes,
                outcome=outcome,
                recorded_by=actor,
                recorded_at=at,
            )
            case.sessions.append(session)
            if outcome == Outcome.FAILED:
                case.status = Status.FAILED
            elif outcome == Outcome.WITHDRAWN:
                case.status = Status.WITHDRAWN
                case.closing_note = notes
            return notes, {"session": session.pk, "outcome": outcome, "method": method, "held_on": today.isoformat()}

        self._step(case, Step.RECORD_SESSION, at, actor, apply)

    def agree(self, case, at, actor, *, form, reached_on, terms, amount=None, performance_due=None, sealed_on=None):
        def apply(today):
            written = form == AgreementForm.WRITTEN
            signed_on = reached_on if written else None
            sealed = (sealed_on or today) if written else None
            effective = effective_date(form, reached_on, signed_on, sealed)
            agreement = AgreementRow(
                pk=self.ids["agreement"](),
                tier=case.tier.pk if case.tier else None,
                body=case.body.pk if case.body else None,
                form=form,
                reached_on=reached_on,
                terms=terms,
                amount=amount,
                performance_due=performance_due,
                parties_signed="、".join(p.name for p in case.parties if p.role != PartyRole.THIRD_PARTY)[:300]
                if written
                else "",
                mediator_signed=self.name(actor)[:100] if written else "",
                signed_on=signed_on,
                sealed_on=sealed,
                effective_on=effective,
                recorded_by=actor,
                recorded_at=at,
                line_kind=case.tier.line_kind if case.tier else "",
            )
            case.agreements.append(agreement)
            case.due_on = (performance_due or effective) + datetime.timedelta(days=follow_up_days())
            return terms, {"agreement": agreement.pk, "form": form, "effective_on": effective.isoformat()}

        self._step(case, Step.RECORD_AGREEMENT, at, actor, apply, acted_on=reached_on)

    def apply_confirmation(self, case, at, actor, *, court):
        agreement = case.agreement

        def apply(today):
            if not (0 <= (today - agreement.effective_on).days <= CONFIRMATION_WINDOW_DAYS):
                raise ValueError(f"{case.number}: confirmation outside the window")
            confirmation = ConfirmationRow(
                pk=self.ids["confirmation"](),
                court=court,
                applied_on=today,
                applicants=agreement.parties_signed or "、".join(p.name for p in case.parties)[:300],
                accept_due=today + datetime.timedelta(days=ACCEPT_DAYS),
                recorded_by=actor,
            )
            agreement.confirmations.append(confirmation)
            case.due_on = confirmation.accept_due
            details = {"confirmation": confirmation.pk, "court": self.catalogue.court_name, "applied_on": today.isoformat()}
            return "", details

        self._step(case, Step.APPLY_CONFIRMATION, at, actor, apply)

    def rule(self, case, at, actor, *, result, reason="", then="mediation"):
        """The court's ruling: ``pending`` accepts the application (15 days to rule)."""
        agreement = case.agreement
        confirmation = agreement.confirmations[-1]

        def apply(today):
            details = {"confirmation": confirmation.pk, "result": result}
            if result == Ruling.NOT_ACCEPTED:
                confirmation.late = today > confirmation.accept_due
                confirmation.ruled_on = today
            else:
                if confirmation.accepted_on is None:
                    confirmation.accepted_on = today
                    confirmation.ruling_due = today + datetime.timedelta(days=RULING_DAYS)
                    confirmation.late = today > confirmation.accept_due
                if result != Ruling.PENDING:
                    confirmation.ruled_on = today
                    confirmation.late = confirmation.late or today > confirmation.ruling_due
            if result in (Ruling.NOT_ACCEPTED, Ruling.REJECTED):
                confirmation.reason = reason
            confirmation.result = result
            note = confirmation.reason
            if result == Ruling.PENDING:
                case.status = Status.CONFIRMING
                case.due_on = confirmation.ruling_due
                details["accepted_on"] = confirmation.accepted_on.isoformat()
            elif result == Ruling.CONFIRMED:
                agreement.enforceable = True
                case.status = Status.AGREED
                case.due_on = (agreement.performance_due or today) + datetime.timedelta(days=follow_up_days())
            else:
                details["then"] = then
                if then == "mediation":
                    agreement.superseded = True
                    case.status = Status.MEDIATING
                    case.tier_started_on = today
                    case.due_on = today + datetime.timedelta(days=case.tier.days if case.tier else 30)
                else:
                    case.status = Status.UNRESOLVED
                    case.other_routes = ["litigation"]
                    case.closing_note = note
            return note, details

        self._step(case, Step.RECORD_RULING, at, actor, apply)

    def follow_up(self, case, at, actor, *, performance, note, satisfaction=None):
        agreement = case.agreement

        def apply(today):
            if satisfaction is not None:
                case.satisfaction = satisfaction
            agreement.follow_ups.append((today, performance, satisfaction, note, actor))
            agreement.performance = performance
            if performance == Performance.PERFORMING:  # visit again once the performance deadline has passed
                case.due_on = max(agreement.performance_due or today, today) + datetime.timedelta(days=follow_up_days())
            else:  # performed, or breached: the dispute now waits to be closed
                case.due_on = today + datetime.timedelta(days=triage_days())
            return note, {"performance": performance, "visited_on": today.isoformat()}

        self._step(case, Step.FOLLOW_UP, at, actor, apply)

    def close(self, case, at, actor, *, note="", routes=()):
        """Resolved when an agreement is performed, otherwise unresolved with the routes
        the parties were told of."""

        def apply(today):
            agreement = case.agreement if case.status == Status.AGREED else None
            if agreement is not None and not routes:
                if not agreement.follow_ups or agreement.performance == Performance.BREACHED:
                    raise ValueError(f"{case.number}: closing an agreement not followed up")
                case.status = Status.RESOLVED
                case.closing_note = note or RESOLVED_NOTES[0]
                return case.closing_note, {"outcome": Status.RESOLVED}
            case.status = Status.UNRESOLVED
            case.other_routes = list(routes)
            case.closing_note = note
            return note, {"outcome": Status.UNRESOLVED, "routes": list(routes)}

        self._step(case, Step.CLOSE, at, actor, apply)

    def withdraw(self, case, at, actor, *, reason):
        def apply(today):
            case.closing_note = reason
            return reason, {}

        self._step(case, Step.WITHDRAW, at, actor, apply)


# --- drawing disputes ----------------------------------------------------------------


class Generator:
    """Draws the facts of a dispute and where it goes, and takes it there with ``Flow``."""

    def __init__(self, rng, nodes, weights, zones, catalogue: Catalogue, cast: Cast, registry: tuple, tz):
        self.rng, self.nodes, self.weights, self.catalogue, self.cast, self.tz = rng, nodes, weights, catalogue, cast, tz
        self.cumulative = list(_accumulate(weights))
        self.zones = zones  # (tree_id, lft, rght, pk) sorted
        self.zone_starts = [(z[0], z[1]) for z in zones]
        self.people_by_unit, self.people = registry
        self.registry = {}  # node pk -> registry person ids of its units
        self.names = Names(rng)
        self.flow = Flow(
            catalogue,
            {"session": IdPool(MediationSession), "agreement": IdPool(Agreement), "confirmation": IdPool(JudicialConfirmation)},
        )
        self.categories = _weighted({c: w for c, w in CATEGORY_WEIGHTS.items() if c in catalogue.categories})
        self.scales = _weighted({s: w for s, w in SCALE_WEIGHTS.items() if s in catalogue.scales})
        self.sources = _weighted(SOURCE_WEIGHTS)
        self.ethnicities = _weighted(ETHNICITY_WEIGHTS)
        self.court_cases = Counter()

    # the cast

    def zone_of(self, node: Node) -> int | None:
        index = bisect.bisect_right(self.zone_starts, (node.tree_id, node.lft)) - 1
        if index >= 0:
            tree_id, lft, rght, pk = self.zones[index]
            if tree_id == node.tree_id and lft <= node.lft <= rght:
                return pk
        return None

    def committee(self, case: Case) -> BodyInfo | None:
        committees = self.catalogue.committees
        return committees.get(case.zone) or (next(iter(committees.values())) if committees else None)

    def centre(self, case: Case):
        return covering(self.cast.centres, case.node)

    def mediators_for(self, case: Case, tier: TierInfo, body: BodyInfo | None) -> tuple:
        if tier.rank == PEOPLE:
            worker = covering(self.cast.workers, case.node)
            if worker is not None:
                return (worker,)
        elif tier.people and body is not None and body.kind == BodyKind.COMMITTEE:
            mediator = covering(self.cast.mediators, case.node)
            if mediator is not None:
                return (mediator,)
        return (body.account,) if body is not None else ()

    def registrar(self, case: Case):
        if case.source == Source.SCREENING:
            return covering(self.cast.workers, case.node)
        if case.source == Source.COURT:
            return self.cast.court
        return self.centre(case)

    def actor(self, case: Case):
        return case.mediators[0] if case.mediators else (case.body.account if case.body else None)

    # facts

    def spec(self, year: int) -> tuple:
        rng = self.rng
        month = rng.choices(range(1, 13), MONTH_WEIGHTS)[0]
        first = datetime.date(year, month, 1)
        days = ((first.replace(month=month + 1) if month < 12 else datetime.date(year + 1, 1, 1)) - first).days
        day = first + datetime.timedelta(days=rng.randrange(days))
        moment = datetime.datetime.combine(day, datetime.time(8, 30), tzinfo=self.tz)
        moment += datetime.timedelta(minutes=rng.randrange(9 * 60))
        node = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        node = min(node, len(self.nodes) - 1)
        category = rng.choices(*self.categories)[0]
        source = Source.COURT if rng.random() < ENTRUSTED_SHARE else rng.choices(*self.sources)[0]
        return (moment, node, category, source)

    def person(self, case: Case, role: str) -> PartyRow:
        rng = self.rng
        registry = self.registry.get(case.node.pk)
        if registry is None:
            registry = self.registry[case.node.pk] = [pk for unit in case.node.units for pk in self.people_by_unit.get(unit, ())]
        names = {party.name for party in case.parties}  # two parties of one dispute are two people
        if registry and rng.random() < 0.35 and self.people[person := rng.choice(registry)][0] not in names:
            name, sex, ethnicity, id_masked, phone_masked = self.people[person]
            return PartyRow(
                role=role,
                kind=PartyKind.PERSON,
                name=name,
                person=person,
                sex=sex,
                ethnicity=ethnicity,
                id_masked=id_masked,
                phone_masked=phone_masked,
            )
        ethnicity = rng.choices(*self.ethnicities)[0]
        sex = rng.choice("MF")
        age = rng.randint(22, 78)
        born = datetime.date(case.registered.year - age, rng.randint(1, 12), rng.randint(1, 28))
        region = "522601" if rng.random() < 0.75 else rng.choice(OTHER_REGIONS)
        name = ""
        while not name or name in names:
            name = self.names.full(ethnicity, sex, age)
        return PartyRow(
            role=role,
            kind=PartyKind.PERSON,
            name=name,
            id_number=make_identity_number(region, born, rng.randrange(500), sex) if rng.random() < 0.9 else "",
            sex=sex,
            ethnicity=ethnicity,
            address=f"{case.node.place}{rng.randint(1, 120)}号",
            phone=_phone(rng) if rng.random() < 0.6 else "",
        )

    def organisation(self, case: Case) -> PartyRow:
        name = self.rng.choice(ORGANISATIONS[case.category]).format(x=self.rng.choice(FIRMS))
        return PartyRow(role=PartyRole.RESPONDENT, kind=PartyKind.ORGANISATION, name=name, address=case.node.place)

    def fill(self, case: Case) -> None:
        rng, code = self.rng, case.category
        case.zone = self.zone_of(case.node)
        case.subject = rng.choice(SUBJECTS.get(code, SUBJECTS["12"]))
        case.parties = [self.person(case, PartyRole.APPLICANT)]
        if rng.random() < 0.12:
            case.parties.append(self.person(case, PartyRole.APPLICANT))
        if rng.random() < ORGANISATION_SHARE.get(code, 0):
            case.parties.append(self.organisation(case))
            case.units_involved = case.parties[-1].name
        else:
            case.parties.append(self.person(case, PartyRole.RESPONDENT))
        if rng.random() < 0.1:
            case.parties.append(self.person(case, PartyRole.THIRD_PARTY))
        group = rng.random() < GROUP_CATEGORIES.get(code, 0.02)
        case.people_count = rng.randint(GROUP_SIZE, 60) if group else len(case.parties) + (rng.random() < 0.2)
        case.group_risk = case.people_count >= GROUP_SIZE
        case.scale = rng.choices(*self.scales)[0]
        if case.group_risk and case.scale == "general" and rng.random() < 0.5:
            case.scale = "major"
        risky = case.scale != "general" or case.group_risk
        case.risk = rng.choices((Risk.LOW, Risk.MEDIUM, Risk.HIGH), (40, 45, 15) if risky else (82, 16, 2))[0]
        none_share, low, high = AMOUNTS.get(code, AMOUNTS["12"])
        if rng.random() >= none_share:
            value = low * (high / low) ** rng.random()
            case.amount = Decimal(max(100, round(value / 100) * 100)).quantize(Decimal("0.01"))
        case.occurred_on = case.registered.date() - datetime.timedelta(days=int(rng.random() ** 3 * 60))
        case.place = f"{case.node.place}{rng.choice(SPOTS)}"

    def words(self, case: Case) -> None:
        """Name and summary, once the parties have their names."""
        rng = self.rng
        applicant, respondent = case.applicant(), case.respondent()
        case.name = f"{applicant}与{respondent}{case.subject}纠纷"[:100]
        amount = f"{case.amount:,.0f}" if case.amount else "若干"
        detail = DETAILS.get(case.category, DETAILS["12"]).format(
            resp=respondent, subject=case.subject, amount=amount, area=rng.randint(1, 30)
        )
        case.summary = f"{applicant}反映：{detail}。双方多次协商未果，{rng.choice(ASKS)}。"

    def terms(self, case: Case, performance_due) -> str:
        applicant, respondent = case.applicant(), case.respondent()
        remedy = REMEDIES.get(case.category, REMEDIES["12"]).format(resp=respondent)
        if case.amount:
            paid = case.amount * Decimal(self.rng.choice(("0.5", "0.6", "0.7", "0.8", "1")))
            when = f"于{performance_due:%Y年%m月%d日}前" if performance_due else "当场"
            return f"{respondent}{when}支付{applicant}人民币{paid:,.0f}元；{remedy}。双方就{case.subject}问题再无其他争议。"
        return f"双方同意{remedy}。今后互谅互让，不再因{case.subject}问题发生争执。"

    def method(self, case: Case) -> str:
        rng, body = self.rng, case.body
        if body is not None and body.kind == BodyKind.INDUSTRY:
            return rng.choices((Method.INDUSTRY, Method.EXPERT, Method.ORDINARY), (60, 25, 15))[0]
        kind = case.tier.line_kind if case.tier else LineKind.PEOPLE
        if kind == LineKind.ADMINISTRATIVE:
            return rng.choices((Method.JOINT, Method.EXPERT, Method.MOBILE, Method.ORDINARY), (30, 15, 15, 40))[0]
        if kind == LineKind.JUDICIAL:
            return rng.choices((Method.EXPERT, Method.JOINT, Method.ORDINARY), (30, 20, 50))[0]
        if case.category in ("03", "04", "08"):
            weights = (10, 10 if case.node.rural else 3, 35, 15, 30)
        elif case.category in ("01", "02"):
            weights = (25, 20 if case.node.rural else 5, 15, 5, 35)
        else:
            weights = (8, 5 if case.node.rural else 2, 15, 20, 52)
        methods = (Method.FIVE_ELDERS, Method.FOLK_CUSTOM, Method.MOBILE, Method.JOINT, Method.ORDINARY)
        return rng.choices(methods, weights)[0]

    def session_place(self, case: Case) -> str:
        if case.tier is not None and case.tier.rank == PEOPLE:
            return case.place
        if case.body is not None:
            return f"{case.body.name.removesuffix('人民调解委员会')}调解室"
        return "凯里市矛盾纠纷调解调度指挥中心"

    # times

    def at_day(self, day: datetime.date, after: datetime.datetime) -> datetime.datetime:
        """A moment in office hours on ``day``, after ``after``."""
        moment = datetime.datetime.combine(day, datetime.time(8, 30), tzinfo=self.tz)
        moment += datetime.timedelta(minutes=self.rng.randrange(9 * 60))
        if moment <= after:
            moment = after + datetime.timedelta(minutes=self.rng.randint(10, 90))
        return moment

    def days_after(self, prev: datetime.datetime, low: int, high: int) -> datetime.datetime:
        return self.at_day(prev.date() + datetime.timedelta(days=self.rng.randint(low, high)), prev)

    def timely(self, prev: datetime.datetime, due, late_share: float) -> datetime.datetime:
        """When the next step is taken: before ``due`` mostly, after it for ``late_share``."""
        rng = self.rng
        start = prev.date()
        if due is None or due <= start:
            return self.days_after(prev, 0, 2)
        if rng.random() < late_share:
            return self.at_day(due + datetime.timedelta(days=rng.randint(1, 8)), prev)
        return self.at_day(start + datetime.timedelta(days=int((due - start).days * rng.random() ** 1.5)), prev)

    # the path

    def run(self, case: Case) -> None:
        """Take a dispute of the demo years from its registration to its close."""
        rng, flow = self.rng, self.flow
        entrusted = case.source == Source.COURT and self.catalogue.court is not None
        outcome = rng.choices(OUTCOMES, ENTRUSTED_OUTCOME_WEIGHTS if entrusted else OUTCOME_WEIGHTS)[0]
        flow.register(case, case.registered, case.registered_by)
        t = case.registered
        if entrusted:
            t = self.entrust(case, t + datetime.timedelta(minutes=rng.randint(5, 60)))
            failures = 0
        else:
            if outcome == Status.WITHDRAWN and rng.random() < 0.3:
                at = self.timely(t, case.due_on, LATE_TRIAGE)
                # before triage only the centre may take it back (there is no mediator yet)
                flow.withdraw(case, at, self.centre(case), reason=rng.choice(WITHDRAW_REASONS))
                return
            t = self.triage(case, self.timely(t, case.due_on, LATE_TRIAGE))
            weights = FAILURE_WEIGHTS if case.scale == "general" else (60, 25, 10, 4, 1)
            failures = rng.choices(range(len(weights)), weights)[0]
        for _ in range(failures):
            if self.catalogue.next_rank(case.tier.rank) is None:
                break
            t = self.mediate(case, t, Outcome.FAILED)
            t = self.climb(case, self.timely(t, case.due_on, LATE_MEDIATION))
        if outcome == Status.WITHDRAWN:
            if rng.random() < 0.55:
                self.mediate(case, t, Outcome.WITHDRAWN)
            else:
                t = self.mediate(case, t, Outcome.PARTIAL)
                flow.withdraw(
                    case, self.timely(t, case.due_on, LATE_CLOSE), self.actor(case), reason=rng.choice(WITHDRAW_REASONS)
                )
            return
        if outcome == Status.UNRESOLVED:
            self.unresolved(case, t)
            return
        t = self.mediate(case, t, Outcome.AGREEMENT)
        t = self.maybe_confirm(case, t, ENTRUSTED_CONFIRM_SHARE if entrusted else CONFIRM_SHARE)
        t = self.follow_ups(case, t)
        flow.close(case, self.timely(t, case.due_on, LATE_CLOSE), self.actor(case), note=rng.choice(RESOLVED_NOTES))

    def entry(self, case: Case) -> tuple[TierInfo, BodyInfo | None]:
        """Where the centre sends a new dispute."""
        rng, tiers = self.rng, self.catalogue.tiers
        industry = self.catalogue.industry.get(case.category)
        department = self.catalogue.departments.get(case.category)
        roll = rng.random()
        if industry is not None and roll < 0.35:
            return tiers[industry.rank or VILLAGE], industry
        if department is not None and roll < 0.45:
            return tiers[department.rank or ADMINISTRATIVE_FIRST], department
        weights = (60, 35, 5) if case.scale == "general" else (20, 60, 20)
        rank = rng.choices((PEOPLE, VILLAGE, DIRECTOR), weights)[0]
        return tiers[rank], self.committee(case)

    def triage(self, case: Case, at) -> datetime.datetime:
        tier, body = self.entry(case)
        risk = self.rng.choice((None, None, Risk.MEDIUM)) if case.risk == Risk.LOW else None
        note = self.rng.choice(TRIAGE_NOTES)
        self.flow.triage(
            case,
            at,
            self.centre(case),
            tier=tier,
            body=body,
            mediators=self.mediators_for(case, tier, body),
            note=note,
            risk=risk,
        )
        return at

    def entrust(self, case: Case, at, referral=None, body=None) -> datetime.datetime:
        rng, catalogue = self.rng, self.catalogue
        referral, procedure = referral or rng.choices(REFERRALS, REFERRAL_WEIGHTS)[0]
        if body is None:
            roll = rng.random()
            if roll < 0.35:
                body = catalogue.judicial.get(JUDICIAL_FIRST)
            elif roll < 0.55:
                body = catalogue.industry.get(case.category)
            elif roll < 0.65:
                body = catalogue.departments.get(case.category)
            body = body or self.committee(case)
        tier = catalogue.tiers[body.rank or VILLAGE]
        year = at.year
        self.court_cases[(year, referral)] += 1
        kind = "民诉前调" if referral == Referral.PRE_FILING else "民初"
        number = f"（{year}）黔2601{kind}{self.court_cases[(year, referral)]}号"
        actor = self.cast.court or body.account
        self.flow.entrust(
            case,
            at,
            actor,
            court=catalogue.court,
            body=body,
            tier=tier,
            mediators=self.mediators_for(case, tier, body),
            referral=referral,
            procedure=procedure,
            number=number,
        )
        return at

    def climb(self, case: Case, at) -> datetime.datetime:
        """After a failed tier: the next rung, or the centre routes it to another line."""
        rng, catalogue, tiers = self.rng, self.catalogue, self.catalogue.tiers
        higher = tiers[catalogue.next_rank(case.tier.rank)]
        if rng.random() < ROUTE_SHARE:
            department = catalogue.departments.get(case.category)
            if case.tier.people and department is not None:
                tier, body = tiers[department.rank or ADMINISTRATIVE_FIRST], department
            elif case.tier.rank < JUDICIAL_FIRST and catalogue.judicial.get(JUDICIAL_FIRST):
                tier, body = tiers[JUDICIAL_FIRST], catalogue.judicial[JUDICIAL_FIRST]
            else:
                tier, body = higher, catalogue.judicial.get(higher.rank) or case.body
            mediators = self.mediators_for(case, tier, body)
            note = ROUTE_NOTES[tier.line_kind]
            self.flow.route(case, at, self.centre(case), tier=tier, body=body, mediators=mediators, note=note)
            return at
        body = None
        if higher.line_kind == LineKind.JUDICIAL:
            body = catalogue.judicial.get(higher.rank)
        elif higher.line_kind != case.tier.line_kind:
            body = catalogue.departments.get(case.category)
        # the new rung's mediators; none named: those of the tier below carry on
        kept = body or (case.body if case.body is not None and case.body.line_kind == higher.line_kind else None)
        mediators = self.mediators_for(case, higher, kept)
        self.flow.escalate(case, at, self.actor(case), reason=rng.choice(ESCALATE_REASONS), body=body, mediators=mediators)
        return at

    def mediate(self, case: Case, t: datetime.datetime, ending: str) -> datetime.datetime:
        """Sessions at the current tier ending with ``ending`` (an agreement is then
        recorded); returns the moment of the last step."""
        rng, flow = self.rng, self.flow
        actor = self.actor(case)
        end = self.timely(t, case.due_on, LATE_MEDIATION)
        if rng.random() < EXTEND_SHARE and case.due_on and case.due_on > t.date() + datetime.timedelta(days=2):
            # a first session, then more time near the deadline, with both parties' consent
            span = (case.due_on - t.date()).days
            t = self.at_day(t.date() + datetime.timedelta(days=rng.randint(1, span // 2)), t)
            self.session(case, t, Outcome.PARTIAL)
            t = self.at_day(case.due_on - datetime.timedelta(days=rng.randint(0, 3)), t)
            flow.extend(case, t, actor, days=rng.choice((10, 15, 20, 30)), reason=rng.choice(EXTEND_REASONS))
            end = self.timely(t, case.due_on, LATE_MEDIATION / 2)
        count = rng.choices((1, 2, 3, 4), (50, 30, 15, 5))[0]
        start, span = t, max(0, (end.date() - t.date()).days)
        for offset in sorted(rng.randint(0, span) for _ in range(count - 1)):
            t = self.at_day(start.date() + datetime.timedelta(days=offset), t)
            self.session(case, t, Outcome.PARTIAL)
        last = self.at_day(end.date(), t)
        self.session(case, last, ending)
        if ending != Outcome.AGREEMENT:
            return last
        return self.agreement(case, last)

    def session(self, case: Case, at, outcome: str) -> None:
        method = self.method(case)
        names = "、".join(p.name for p in case.parties[:3])
        mediators = case.mediators or (self.actor(case),)
        self.flow.session(
            case,
            at,
            self.actor(case),
            outcome=outcome,
            method=method,
            place=self.session_place(case),
            notes=f"{METHOD_NOTES[method]}，{OUTCOME_NOTES[outcome]}。",
            attendance=f"{names}；调解员{'、'.join(self.flow.name(m) for m in mediators)}",
            mediators=mediators,
        )

    def agreement(self, case: Case, last: datetime.datetime) -> datetime.datetime:
        rng = self.rng
        reached = last.date()
        oral = rng.random() < ORAL_SHARE and (case.amount is None or case.amount < 5000)
        form = AgreementForm.ORAL if oral else AgreementForm.WRITTEN
        at = last + datetime.timedelta(minutes=rng.randint(10, 60)) if oral else self.days_after(last, 0, 2)
        performance_due = None
        if case.amount or rng.random() < 0.5:
            performance_due = reached + datetime.timedelta(days=rng.choice((0, 7, 15, 30, 30, 60, 90)))
        self.flow.agree(
            case,
            at,
            self.actor(case),
            form=form,
            reached_on=reached,
            terms=self.terms(case, performance_due),
            amount=case.amount * Decimal("0.8") if case.amount and rng.random() < 0.3 else case.amount,
            performance_due=performance_due,
            sealed_on=at.date(),
        )
        return at

    def maybe_confirm(self, case: Case, t, share: float, result=None, then="mediation") -> datetime.datetime:
        """Judicial confirmation of an agreement reached in people's or administrative
        mediation; a refusal sends the dispute back to mediation (a new agreement)."""
        rng, flow = self.rng, self.flow
        agreement = case.agreement
        court = self.catalogue.court
        if court is None or agreement.line_kind not in CONFIRMABLE_LINES or (result is None and rng.random() >= share):
            return t
        result = result or rng.choices(*_weighted(RULING_WEIGHTS))[0]
        judge = self.cast.court or self.actor(case)
        applied = self.at_day(agreement.effective_on + datetime.timedelta(days=rng.randint(1, 20)), t)
        flow.apply_confirmation(case, applied, self.actor(case), court=court)
        if result == Ruling.NOT_ACCEPTED:
            at = self.timely(applied, case.due_on, LATE_COURT)
            flow.rule(case, at, judge, result=result, reason=rng.choice(REJECT_REASONS), then=then)
        else:
            at = self.timely(applied, case.due_on, LATE_COURT)
            flow.rule(case, at, judge, result=Ruling.PENDING)
            at = self.timely(at, case.due_on, LATE_COURT)
            flow.rule(case, at, judge, result=result, reason=rng.choice(REJECT_REASONS), then=then)
        if case.status == Status.MEDIATING:
            return self.mediate(case, at, Outcome.AGREEMENT)
        return at

    def follow_ups(self, case: Case, t, breach=None) -> datetime.datetime:
        """Visits until the agreement is performed (or found breached, when ``breach``)."""
        rng, flow = self.rng, self.flow
        agreement = case.agreement
        visitor = self.actor(case)
        due = agreement.performance_due
        if due is not None and due > t.date() + datetime.timedelta(days=3) and rng.random() < 0.4:
            t = self.at_day(t.date() + datetime.timedelta(days=rng.randint(1, (due - t.date()).days - 1)), t)
            flow.follow_up(case, t, visitor, performance=Performance.PERFORMING, note="协议正在履行，双方关系缓和。")
        # the visit that counts comes once the performance deadline has passed
        start = self.at_day(due, t) if due is not None and due > t.date() else t
        if breach or (breach is None and rng.random() < BREACH_SHARE):
            start = self.timely(start, case.due_on, LATE_FOLLOW_UP)
            flow.follow_up(case, start, visitor, performance=Performance.BREACHED, note=f"{case.respondent()}未按期履行协议。")
            if breach:
                return start
        t = self.timely(start, case.due_on, LATE_FOLLOW_UP)
        satisfaction = rng.choices((1, 2, 3, 4, 5), SATISFACTION_WEIGHTS)[0]
        flow.follow_up(
            case, t, visitor, performance=Performance.PERFORMED, satisfaction=satisfaction, note="回访了解，协议已履行完毕。"
        )
        return t

    def unresolved(self, case: Case, t) -> None:
        """The ways a dispute ends unresolved, the parties told of other routes."""
        rng, flow = self.rng, self.flow
        routes = [rng.choice(ROUTES_BY_CATEGORY.get(case.category, ("litigation",)))]
        variant = rng.choices(("failed", "mediating", "breached", "refused"), (55, 10, 20, 15))[0]
        confirmable = case.tier.line_kind in CONFIRMABLE_LINES and self.catalogue.court is not None
        if variant == "refused" and confirmable:
            t = self.mediate(case, t, Outcome.AGREEMENT)
            result = rng.choice((Ruling.REJECTED, Ruling.NOT_ACCEPTED))
            self.maybe_confirm(case, t, 1.0, result=result, then="litigation")
            return
        if variant == "breached":
            t = self.mediate(case, t, Outcome.AGREEMENT)
            t = self.follow_ups(case, t, breach=True)
        else:
            t = self.mediate(case, t, Outcome.FAILED if variant != "mediating" else Outcome.PARTIAL)
        note = rng.choice(UNRESOLVED_NOTES) + f"，已告知当事人可{OTHER_ROUTES[routes[0]]}。"
        flow.close(case, self.timely(t, case.due_on, LATE_CLOSE), self.actor(case), note=note, routes=routes)


def _accumulate(values):
    total = 0
    for value in values:
        total += value
        yield total


# --- this year's open disputes -------------------------------------------------------


@dataclass(frozen=True)
class Showcase:
    """An open (or just closed) dispute of this year in the demo grid worker's grid:
    category, source, on a unit rather than the grid, days ago it was registered, and
    where it stands (the script ``Generator.showcase`` plays)."""

    category: str
    source: str
    on_unit: bool
    days_ago: float
    state: str


SHOWCASE = (
    Showcase("02", Source.SCREENING, False, 0.1, "registered"),
    Showcase("01", Source.WALK_IN, True, 1, "registered"),
    Showcase("03", Source.SCREENING, True, 2.2, "registered"),
    Showcase("04", Source.SCREENING, False, 8, "mediating"),
    Showcase("09", Source.HOTLINE, True, 29, "due_soon"),
    Showcase("02", Source.SCREENING, True, 12, "failed"),
    Showcase("05", Source.WALK_IN, False, 30, "agreed"),
    Showcase("07", Source.SCREENING, True, 20, "confirming"),
    Showcase("03", Source.SCREENING, False, 50, "overdue"),
    Showcase("06", Source.COURT, True, 3, "entrusted"),
    Showcase("12", Source.SCREENING, False, 25, "resolved"),
)


def _showcase_case(generator: "Generator", show: Showcase, node: Node, now: datetime.datetime) -> Case:
    registered = now - datetime.timedelta(days=show.days_ago)
    case = Case(node=node, zone=None, category=show.category, scale="general", source=show.source, registered=registered)
    generator.fill(case)
    case.scale, case.risk = "general", Risk.LOW if show.state != "overdue" else Risk.MEDIUM
    case.registered_by = generator.registrar(case)
    generator.words(case)
    return case


def play_showcase(generator: "Generator", case: Case, show: Showcase, now: datetime.datetime) -> None:
    """Take a showcase dispute to ``show.state`` at fixed moments before ``now``."""
    flow, tiers = generator.flow, generator.catalogue.tiers

    def ago(days: float) -> datetime.datetime:
        return now - datetime.timedelta(days=days)

    flow.register(case, case.registered, case.registered_by)
    if show.state == "registered":
        return
    body = generator.committee(case)
    if show.state == "entrusted":
        generator.entrust(case, case.registered + datetime.timedelta(minutes=20), referral=(Referral.PRE_FILING, ""), body=body)
        return
    tier = tiers[PEOPLE] if show.state == "failed" else tiers[VILLAGE]
    mediators = generator.mediators_for(case, tier, body)
    flow.triage(case, ago(show.days_ago - 0.9), generator.centre(case), tier=tier, body=body, mediators=mediators)
    if show.state == "mediating":
        generator.session(case, ago(3), Outcome.PARTIAL)
    elif show.state == "due_soon":
        generator.session(case, ago(14), Outcome.PARTIAL)
        generator.session(case, ago(4), Outcome.PARTIAL)
    elif show.state == "failed":
        generator.session(case, ago(6), Outcome.PARTIAL)
        generator.session(case, ago(2), Outcome.FAILED)
    elif show.state == "overdue":
        generator.session(case, ago(40), Outcome.PARTIAL)
        generator.session(case, ago(25), Outcome.PARTIAL)
    elif show.state in ("agreed", "confirming", "resolved"):
        generator.session(case, ago(show.days_ago - 10), Outcome.AGREEMENT)
        reached = ago(show.days_ago - 10).date()
        due = reached + datetime.timedelta(days=25) if show.state == "agreed" else None
        form = AgreementForm.ORAL if show.state == "resolved" else AgreementForm.WRITTEN
        flow.agree(
            case,
            ago(show.days_ago - 10.1),
            generator.actor(case),
            form=form,
            reached_on=reached,
            terms=generator.terms(case, due),
            amount=case.amount,
            performance_due=due,
        )
        if show.state == "confirming":
            flow.apply_confirmation(case, ago(1), generator.actor(case), court=generator.catalogue.court)
        elif show.state == "resolved":
            flow.follow_up(
                case,
                ago(6),
                generator.actor(case),
                performance=Performance.PERFORMED,
                satisfaction=5,
                note="回访了解，协议已履行完毕。",
            )
            flow.close(case, ago(5), generator.actor(case), note=RESOLVED_NOTES[1])


# --- writing -------------------------------------------------------------------------

DISPUTE_COLUMNS = (
    "id", "number", "name", "category_id", "scale_id", "grid_id", "source", "status", "version", "occurred_on", "place",
    "summary", "amount", "people_count", "group_risk", "risk", "units_involved", "registered_at", "registered_by_id",
    "client_key", "incident_id", "line_id", "tier_id", "body_id", "accepted_at", "tier_started_on", "due_on", "extensions",
    "late", "escalations", "passed_upward", "closed_at", "closing_note", "other_routes", "satisfaction", "created_at",
    "updated_at",
)  # fmt: skip
PARTY_COLUMNS = (
    "dispute_id", "role", "kind", "person_id", "name", "id_number_encrypted", "id_number_hash", "id_number_masked", "sex",
    "ethnicity", "address", "phone_encrypted", "phone_masked",
)  # fmt: skip
SESSION_COLUMNS = (
    "id", "dispute_id", "tier_id", "held_on", "place", "method", "attendance", "notes", "outcome", "recorded_by_id",
    "recorded_at",
)  # fmt: skip
AGREEMENT_COLUMNS = (
    "id", "dispute_id", "tier_id", "body_id", "form", "reached_on", "terms", "amount", "performance_due", "parties_signed",
    "mediator_signed", "signed_on", "sealed_on", "effective_on", "performance", "enforceable", "superseded", "recorded_by_id",
    "recorded_at",
)  # fmt: skip
FOLLOW_UP_COLUMNS = ("agreement_id", "visited_on", "performance", "satisfaction", "note", "visited_by_id")
CONFIRMATION_COLUMNS = (
    "id", "agreement_id", "court_id", "applied_on", "applicants", "accept_due", "accepted_on", "ruling_due", "ruled_on",
    "result", "reason", "late", "recorded_by_id",
)  # fmt: skip
ENTRUSTED_COLUMNS = (
    "dispute_id", "court_id", "court_case_number", "referral", "procedure", "body_id", "received_on", "due_on", "extensions",
    "result", "result_note", "returned_on", "entrusted_by_id",
)  # fmt: skip
TRANSITION_COLUMNS = (
    "dispute_id", "step", "from_status", "to_status", "actor_id", "at", "note", "tier_id", "due_on", "late", "details",
)  # fmt: skip
DISPUTE_MEDIATORS = Dispute.mediators.through
SESSION_MEDIATORS = MediationSession.mediators.through


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


class Writer:
    """COPYs disputes with everything they record, a batch at a time."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        _check_columns(Dispute, DISPUTE_COLUMNS)
        _check_columns(DisputeParty, ("id", *PARTY_COLUMNS))
        _check_columns(MediationSession, SESSION_COLUMNS)
        _check_columns(Agreement, AGREEMENT_COLUMNS)
        _check_columns(FollowUp, ("id", *FOLLOW_UP_COLUMNS))
        _check_columns(JudicialConfirmation, CONFIRMATION_COLUMNS)
        _check_columns(EntrustedMediation, ("id", *ENTRUSTED_COLUMNS))
        _check_columns(DisputeTransition, ("id", *TRANSITION_COLUMNS))
        _check_columns(DISPUTE_MEDIATORS, ("id", "dispute_id", "user_id"))
        _check_columns(SESSION_MEDIATORS, ("id", "mediationsession_id", "user_id"))
        self.disputes = self.parties = self.sessions = self.agreements = self.transitions = 0

    def write(self, cases: list[Case]) -> None:
        if not cases:
            return
        for case, pk in zip(cases, _allocate_ids(Dispute, len(cases)), strict=True):
            case.pk = pk
        _copy(Dispute, DISPUTE_COLUMNS, (self._dispute_row(case) for case in cases))
        _copy(DisputeParty, PARTY_COLUMNS, (self._party_row(case, party) for case in cases for party in case.parties))
        _copy(DISPUTE_MEDIATORS, ("dispute_id", "user_id"), ((case.pk, user) for case in cases for user in case.mediators))
        sessions = [(case, session) for case in cases for session in case.sessions]
        _copy(MediationSession, SESSION_COLUMNS, (self._session_row(case, s) for case, s in sessions))
        links = ((s.pk, user) for _case, s in sessions for user in s.mediators)
        _copy(SESSION_MEDIATORS, ("mediationsession_id", "user_id"), links)
        agreements = [(case, a) for case in cases for a in case.agreements]
        _copy(Agreement, AGREEMENT_COLUMNS, (self._agreement_row(case, a) for case, a in agreements))
        _copy(FollowUp, FOLLOW_UP_COLUMNS, ((a.pk, *visit) for _case, a in agreements for visit in a.follow_ups))
        confirmations = (self._confirmation_row(a, c) for _case, a in agreements for c in a.confirmations)
        _copy(JudicialConfirmation, CONFIRMATION_COLUMNS, confirmations)
        entrusted = (self._entrusted_row(case) for case in cases if case.entrusted is not None)
        _copy(EntrustedMediation, ENTRUSTED_COLUMNS, entrusted)
        transitions = [(case.pk, *row[:9], _json(row[9])) for case in cases for row in case.transitions]
        _copy(DisputeTransition, TRANSITION_COLUMNS, transitions)
        self.disputes += len(cases)
        self.parties += sum(len(case.parties) for case in cases)
        self.sessions += len(sessions)
        self.agreements += len(agreements)
        self.transitions += len(transitions)
        _forget_logged_queries()

    def _dispute_row(self, c: Case) -> tuple:
        categories, scales = self.catalogue.categories, self.catalogue.scales
        line = c.tier.line_kind if c.tier else None
        return (
            c.pk, c.number, c.name, categories[c.category][0], scales[c.scale], c.node.pk, c.source, c.status, c.version,
            c.occurred_on, c.place, c.summary, c.amount, c.people_count, c.group_risk, c.risk, c.units_involved, c.registered,
            c.registered_by, None, None, self.catalogue.lines.get(line), c.tier.pk if c.tier else None,
            c.body.pk if c.body else None, c.accepted_at, c.tier_started_on, c.due_on, c.extensions, c.late, c.escalations,
            c.passed_upward, c.closed_at, c.closing_note, _json(c.other_routes), c.satisfaction, c.registered, c.updated,
        )  # fmt: skip

    @staticmethod
    def _party_row(case: Case, party: PartyRow) -> tuple:
        row = DisputeParty()
        if party.person is None:
            if party.id_number:
                row.set_identity_number(party.id_number)
            if party.phone:
                row.set_phone(party.phone)
        else:
            row.id_number_masked, row.phone_masked = party.id_masked, party.phone_masked
        return (
            case.pk, party.role, party.kind, party.person, party.name[:100], row.id_number_encrypted, row.id_number_hash,
            row.id_number_masked, party.sex, party.ethnicity, party.address[:200], row.phone_encrypted, row.phone_masked,
        )  # fmt: skip

    @staticmethod
    def _session_row(case: Case, s: SessionRow) -> tuple:
        return (
            s.pk, case.pk, s.tier, s.held_on, s.place, s.method, s.attendance, s.notes, s.outcome, s.recorded_by,
            s.recorded_at,
        )  # fmt: skip

    @staticmethod
    def _confirmation_row(a: AgreementRow, c: ConfirmationRow) -> tuple:
        return (
            c.pk, a.pk, c.court, c.applied_on, c.applicants, c.accept_due, c.accepted_on, c.ruling_due, c.ruled_on, c.result,
            c.reason, c.late, c.recorded_by,
        )  # fmt: skip

    @staticmethod
    def _entrusted_row(case: Case) -> tuple:
        e = case.entrusted
        return (
            case.pk, e.court, e.court_case_number, e.referral, e.procedure, e.body, e.received_on, e.due_on, e.extensions,
            e.result, e.result_note, e.returned_on, e.entrusted_by,
        )  # fmt: skip

    @staticmethod
    def _agreement_row(case: Case, a: AgreementRow) -> tuple:
        return (
            a.pk, case.pk, a.tier, a.body, a.form, a.reached_on, a.terms, a.amount, a.performance_due, a.parties_signed,
            a.mediator_signed, a.signed_on, a.sealed_on, a.effective_on, a.performance, a.enforceable, a.superseded,
            a.recorded_by, a.recorded_at,
        )  # fmt: skip


# --- the whole load ------------------------------------------------------------------


@dataclass
class DemoDisputes:
    created: int
    parties: int
    sessions: int
    agreements: int
    transitions: int
    committees: int  # created by this run
    accounts: int  # mediator accounts created for the bodies
    by_year: dict[int, int]  # created, by year of registration (this year's showcase included)
    showcase: int
    disputes: int  # in the database
    registered: dict[int, int]  # in the database, by year of registration
    resolved: dict[int, int]
    closed: dict[int, int]
    seconds: float

    def change(self, year: int = 2016) -> float | None:
        """Year-on-year change in percent of the disputes registered."""
        before = self.registered.get(year - 1)
        return None if not before else round((self.registered.get(year, 0) - before) * 100 / before, 2)

    def resolution_rate(self, year: int = 2016) -> float | None:
        """化解率 as disputes.measures counts it: resolved among the disputes accepted
        (registered) that year, in percent."""
        accepted = self.registered.get(year)
        return None if not accepted else round(self.resolved.get(year, 0) * 100 / accepted, 1)


def year_figures() -> tuple[dict, dict, dict]:
    """Disputes registered, resolved and closed by local year of registration."""
    rows = (
        Dispute.objects.annotate(year=ExtractYear("registered_at"))
        .values_list("year")
        .annotate(
            n=Count("pk"),
            resolved=Count("pk", filter=Q(status=Status.RESOLVED)),
            closed=Count("pk", filter=Q(status__in=CLOSED_STATUSES)),
        )
        .order_by()
    )
    registered, resolved, closed = {}, {}, {}
    for year, n, done, finished in rows:
        registered[year], resolved[year], closed[year] = n, done, finished
    return registered, resolved, closed


def year_counts(scale: float = 1.0) -> dict[int, int]:
    return {year: round(n * scale) for year, n in YEAR_COUNTS.items()}


def _demo_years_loaded(tz) -> bool:
    start = datetime.datetime(DEMO_YEARS[0], 1, 1, tzinfo=tz)
    end = datetime.datetime(DEMO_YEARS[-1] + 1, 1, 1, tzinfo=tz)
    return Dispute.objects.filter(registered_at__gte=start, registered_at__lt=end).exists()


def _zones() -> list[tuple]:
    return sorted(
        Grid.objects.active().filter(kind=GridKind.ZONE).values_list("tree_id", "lft", "rght", "pk"), key=lambda z: (z[0], z[1])
    )


def seed_disputes(*, seed: int = 2016, progress=no_progress, today=None, scale: float = 1.0) -> DemoDisputes:
    """The village committees, then the demo disputes (``scale`` 1: the seed's yearly
    figures; the benchmarks load more); idempotent."""
    started = time.perf_counter()
    tz = timezone.get_current_timezone()
    now = timezone.localtime() if today is None else datetime.datetime.combine(today, datetime.time(16), tzinfo=tz)
    rng = random.Random(f"disputes-{seed}")
    created = Counter()
    showcase = 0
    with transaction.atomic():
        committees = seed_committees()
        accounts = seed_body_accounts(random.Random(f"disputes-accounts-{seed}"))
        seed_demo_committee_members()
        catalogue = load_catalogue()
        writer = Writer(catalogue)
        nodes, weights = load_nodes()
        if nodes and catalogue.committees and not _demo_years_loaded(tz):
            cast = load_cast(catalogue.names)
            generator = Generator(rng, nodes, weights, _zones(), catalogue, cast, load_registry(), tz)
            created.update(_load_history(generator, scale, tz, progress, writer))
            showcase = _load_showcase(generator, now, tz, writer)
            created[now.year] += showcase
        if writer.disputes:
            analyze((Dispute, DisputeParty, DisputeTransition, MediationSession, Agreement))
        registered, resolved, closed = year_figures()
        result = DemoDisputes(
            created=writer.disputes,
            parties=writer.parties,
            sessions=writer.sessions,
            agreements=writer.agreements,
            transitions=writer.transitions,
            committees=committees,
            accounts=accounts,
            by_year=dict(sorted(created.items())),
            showcase=showcase,
            disputes=Dispute.objects.count(),
            registered=registered,
            resolved=resolved,
            closed=closed,
            seconds=time.perf_counter() - started,
        )
        if writer.disputes:
            audit_demo_load(
                "disputes.dispute",
                "演示数据：矛盾纠纷",
                {
                    "source": f"seed_demo --seed {seed}",
                    "scale": scale,
                    "disputes": writer.disputes,
                    "parties": writer.parties,
                    "sessions": writer.sessions,
                    "agreements": writer.agreements,
                    "transitions": writer.transitions,
                    "committees": committees,
                    "mediator_accounts": accounts,
                    "by_year": {str(year): n for year, n in result.by_year.items()},
                    "seconds": round(result.seconds, 1),
                },
            )
    return result


def _load_history(generator: Generator, scale: float, tz, progress, writer: Writer) -> Counter:
    """The demo years: every dispute drawn, numbered in order of registration, written in batches."""
    specs = [generator.spec(year) for year, n in year_counts(scale).items() for _ in range(n)]
    specs.sort(key=lambda spec: (spec[0], spec[1]))
    numbers = {}
    for key, n in Counter((generator.nodes[s[1]].code[:6], s[0].year) for s in specs).items():
        numbers[key] = iter(reserve_numbers("MD", key[0], key[1], n))
    created = Counter()

    def drawn():
        for registered, node_index, category, source in specs:
            node = generator.nodes[node_index]
            case = Case(node=node, zone=None, category=category, scale="general", source=source, registered=registered)
            case.number = next(numbers[(node.code[:6], registered.year)])
            generator.fill(case)
            case.registered_by = generator.registrar(case)
            generator.words(case)
            generator.run(case)
            created[registered.year] += 1
            yield case

    write_in_batches(drawn(), len(specs), writer, progress, "纠纷")
    return created


def _load_showcase(generator: Generator, now: datetime.datetime, tz, writer: Writer) -> int:
    """Open disputes of this year in the demo grid worker's own grid."""
    workers = generator.cast.workers
    if not workers:
        return 0
    tree_id, lft, rght, _user = workers[0]
    inside = [n for n in generator.nodes if n.tree_id == tree_id and lft <= n.lft <= rght]
    grids = [n for n in inside if n.kind == GridKind.GRID]
    if not grids or generator.catalogue.court is None:
        return 0
    grid = grids[0]
    units = [n for n in inside if n.kind == GridKind.UNIT and n.pk in grid.units]
    cases = []
    for index, show in enumerate(SHOWCASE):
        if show.category not in generator.catalogue.categories:
            continue
        node = units[index % len(units)] if show.on_unit and units else grid
        case = _showcase_case(generator, show, node, now)
        play_showcase(generator, case, show, now)
        cases.append((case, show))
    cases.sort(key=lambda pair: pair[0].registered)
    for key, n in Counter((c.node.code[:6], c.registered.year) for c, _show in cases).items():
        numbers = iter(reserve_numbers("MD", key[0], key[1], n))
        for case, _show in cases:
            if (case.node.code[:6], case.registered.year) == key:
                case.number = next(numbers)
    writer.write([case for case, _show in cases])
    return len(cases)

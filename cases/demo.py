"""Demo incidents (``seed_demo``): three years of the loop across the demo tree.

2015, 2016 and 2017 get about 40,000 incidents a year at ``--scale 1`` (scaled linearly),
spread over the grids and ten-household units by households: nine-small work and service
items most of all, then disputes, public-order cases, petitions, accidents. Criminal
incidents are not scaled: they reproduce the seed's figures by year of occurrence (2016:
2,879 cases, 50 robberies and snatchings, 1,898 thefts, 4 homicides; 2015: 3,280, 188,
2,058 and 14), so that the year-on-year changes are -12.23%, -73.40%, -7.77% and -71.43%;
about two in three are cleared.

Each incident goes through the loop as the services would take it (``Loop`` mirrors
``cases.services``: the same deadlines on the working calendar, the same fields per step,
one ``IncidentTransition`` per step, ``late`` where a step came after its deadline): most
old ones closed and evaluated, some cancelled or parked, some sent back for rework,
extended or returned by a department and dispatched again; the last weeks of 2017 still
open in every state. A handful of open incidents of this year lie in the demo grid
workers' own grids, so that ``gridworker`` has reports to check and ``centre`` a queue.

This is a bulk load (COPY, ``populations.demo``'s helpers), not a stream of user actions:
numbers are reserved from the same sequences as the services (``reserve_numbers``), so later
reports continue them; one audit row records the load. Running it again adds nothing once
incidents of the demo years exist. Deterministic for a seed and a day.
"""

import bisect
import datetime
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import ExtractYear
from django.utils import timezone

from cases.models import (
    CalendarDay,
    Category,
    CategoryKind,
    Department,
    Incident,
    IncidentPerson,
    IncidentTransition,
    PersonRole,
    Source,
    Status,
    Urgency,
)
from cases.workflow import STEP_RULES, Step
from grids.models import AreaType, Grid, GridKind
from kaili import roles
from kaili.demo import DEMO_USERS, analyze, audit_demo_load
from kaili.models import User
from kaili.numbering import reserve_numbers
from kaili.progress import no_progress
from populations.demo import Names, _allocate_ids, _check_columns, _copy, _forget_logged_queries

# The criminal cases follow the seed's city-wide figures at any scale (about 3,000 a year);
# at this scale the nine-small work and service items outnumber them, as in the real mix.
DEFAULT_SCALE = 0.25
DEMO_YEARS = (2015, 2016, 2017)
PER_YEAR = 40_000  # incidents a year at scale 1, the criminal ones included
BATCH = 5000

# Criminal incidents by year of occurrence and ``Category.statistic``; never scaled. 2015 and
# 2016 are the seed's figures (the rest of each year's total split plausibly: telecom fraud
# rising); 2017 continues the downward trend.
CRIMINAL_FIGURES = {
    2015: {"robbery": 188, "theft": 2058, "homicide": 14, "fraud": 520, "drug": 230, "criminal_other": 270},
    2016: {"robbery": 50, "theft": 1898, "homicide": 4, "fraud": 560, "drug": 170, "criminal_other": 197},
    2017: {"robbery": 38, "theft": 1720, "homicide": 5, "fraud": 540, "drug": 150, "criminal_other": 197},
}
CLEARANCE = {"robbery": 0.86, "theft": 0.62, "homicide": 1.0, "fraud": 0.5, "drug": 0.97, "criminal_other": 0.72}

# The other incidents of a year, by kind (percent).
KIND_SHARES = {
    CategoryKind.NINE_SMALL: 44,
    CategoryKind.SERVICE: 34,
    CategoryKind.DISPUTE: 7,
    CategoryKind.PUBLIC_ORDER: 5.5,
    CategoryKind.PETITION: 4,
    CategoryKind.ACCIDENT: 3,
    CategoryKind.OTHER: 2.5,
}
# Weights of the minor categories inside their kind (a minor not listed weighs 1; service
# items get a fixed random weight of 1-6 each).
MINOR_WEIGHTS = {
    "0101": 18, "0102": 8, "0103": 14, "0104": 14, "0105": 16, "0106": 8, "0107": 12, "0108": 4, "0109": 6,
    "2601": 30, "2602": 15, "2603": 20, "2604": 8, "2605": 12, "2606": 15,
    "2701": 20, "2702": 60, "2703": 12, "2704": 8,
    "2801": 15, "2802": 45, "2803": 25, "2804": 5, "2805": 10,
    "2901": 14, "2902": 22, "2903": 10, "2904": 10, "2905": 6, "2906": 5, "2907": 8, "2908": 6, "2909": 9, "2910": 3,
    "2911": 3, "2912": 4,
    "3001": 60, "3002": 40,
}  # fmt: skip
SOURCE_WEIGHTS = {  # patrol, walk-in, phone, WeChat, department data, video patrol
    CategoryKind.NINE_SMALL: (80, 4, 4, 6, 0, 6),
    CategoryKind.SERVICE: (45, 25, 10, 15, 5, 0),
    CategoryKind.CRIMINAL: (12, 30, 43, 5, 5, 5),
    CategoryKind.PUBLIC_ORDER: (30, 20, 30, 5, 5, 10),
    CategoryKind.ACCIDENT: (30, 5, 45, 5, 10, 5),
    CategoryKind.PETITION: (5, 50, 15, 15, 15, 0),
    CategoryKind.DISPUTE: (45, 30, 15, 8, 2, 0),
    CategoryKind.OTHER: (30, 20, 20, 30, 0, 0),
}
SOURCES = (Source.PATROL, Source.WALK_IN, Source.PHONE, Source.WECHAT, Source.DEPARTMENT, Source.VIDEO)
# How long after it happened an incident is reported, by source (seconds, low and high).
REPORT_DELAY = {
    Source.PATROL: (120, 2400),
    Source.VIDEO: (60, 600),
    Source.PHONE: (300, 3 * 3600),
    Source.WECHAT: (600, 2 * 86400),
    Source.WALK_IN: (3600, 4 * 86400),
    Source.DEPARTMENT: (3600, 3 * 86400),
}
MONTH_WEIGHTS = (0.85, 0.8, 0.95, 1.0, 1.05, 1.1, 1.15, 1.1, 1.05, 1.0, 0.95, 0.9)
DAY_HOURS = (0, 0, 0, 0, 0, 0, 1, 3, 8, 10, 10, 9, 6, 5, 8, 10, 10, 9, 7, 4, 3, 2, 1, 0)  # found on rounds
ANY_HOURS = (4, 3, 3, 2, 2, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 9, 8, 7, 5)  # criminal, accidents

# Departments for the categories that have none (the nine small and "other").
FALLBACK_DEPARTMENTS = {
    "0101": "anjian", "0102": "gongan", "0103": "sifa", "0104": "minzheng", "0105": "chengguan", "0106": "gongan",
    "0107": "zhujian", "0108": "sifa", "0109": "minzheng", "3001": "xinfang", "3002": "chengguan",
}  # fmt: skip
DEFAULT_DEPARTMENT = "chengguan"

# Shares of the ways a case ends, and of its detours.
CANCELLED_SHARE = 0.05
PARKED_SHARE = 0.015
EVALUATED_SHARE = 0.62
SOLVED_ON_SPOT_SHARE = 0.55  # of the nine-small matters found on patrol
REWORK_SHARE = 0.06
EXTEND_SHARE = 0.05
REDISPATCH_SHARE = 0.03
# Steps taken after their deadline: filing and dispatching, handling, checking.
LATE_OFFICE, LATE_HANDLING, LATE_CHECK = 0.04, 0.08, 0.06
STUCK_SHARE = 0.003  # old cases still open (long overdue)
SATISFACTION_WEIGHTS = (2, 3, 10, 30, 55)

# (younger than days, share still open, weights of reported, filed, dispatched, handling, reported back, returned)
OPEN_BY_AGE = (
    (2, 0.85, (3, 2, 3, 2, 1, 0.5)),
    (10, 0.5, (0.5, 0.5, 2, 4, 2, 1)),
    (45, 0.15, (0, 0, 1, 3, 1, 1)),
)
OPEN_TARGETS = (Status.REPORTED, Status.FILED, Status.DISPATCHED, Status.HANDLING, Status.REPORTED_BACK, Status.RETURNED)

# The demo grid workers' own grids get these open (and a few just finished) incidents of
# this year: (category code, state, hours ago it was reported, on a unit rather than the grid).
SHOWCASE = (
    ("1201", Status.REPORTED, 0.6, False),
    ("0101", Status.REPORTED, 12 * 24, True),  # nobody filed it: overdue
    ("2902", Status.FILED, 20, True),
    ("1202", Status.DISPATCHED, 1.5, False),
    ("2502", Status.DISPATCHED, 6, True),
    ("1203", Status.HANDLING, 30, False),
    ("0105", Status.REPORTED_BACK, 9, True),
    ("1401", Status.REPORTED_BACK, 50, False),
    ("2601", Status.RETURNED, 26, False),
    ("0107", Status.CLOSED, 72, True),
    ("0109", Status.EVALUATED, 100, False),
)

# --- words ---------------------------------------------------------------------------

URBAN_SPOTS = (
    "菜市场门口", "小区大门", "地下停车场", "公交站台旁", "学校门口", "沿街商铺前", "背街小巷", "广场", "人行道", "农贸市场",
    "建筑工地旁", "老旧小区院内",
)  # fmt: skip
RURAL_SPOTS = (
    "村口", "风雨桥旁", "村委会", "田坎边", "鼓楼前", "进村公路", "小卖部门口", "山林边", "河边", "晒谷场", "芦笙场",
    "组里水井旁",
)  # fmt: skip
THINGS = (
    "排水", "楼上漏水", "占道堆放杂物", "噪音扰民", "宅基地边界", "饲养家禽", "通行道路", "赡养老人", "借款", "树木遮挡采光",
)  # fmt: skip

TEMPLATES = {
    "0101": ("{place}发现电线私拉乱接，存在火灾隐患，已提醒住户整改。", "{place}一处围墙开裂倾斜，存在倒塌隐患。"),
    "0102": ("{place}有{n}名青年深夜聚集饮酒，情绪激动，需持续关注。", "{who}近期情绪异常，与家人多次争吵，已告知社区民警。"),
    "0103": ("{who}与邻居因{thing}发生口角，网格员到场调解。",),
    "0104": ("{who}咨询证件办理流程，网格员代为预约并协助准备材料。", "为{who}代办医保缴费事宜。"),
    "0105": ("{place}生活垃圾堆积，影响环境卫生。", "{place}污水横流、杂物乱堆，需整治。"),
    "0106": ("{place}新入住{n}名外来务工人员，已登记基本信息。", "收集到{place}出租屋人员变动信息{n}条。"),
    "0107": ("{place}下水道堵塞，污水外溢。", "{place}楼道灯损坏，居民夜间出行不便。"),
    "0108": ("在{place}开展防范电信诈骗宣传，发放资料{n}份。", "在{place}宣传禁毒知识，受众约{n}人。"),
    "0109": ("为独居老人{who}代购药品并送医复诊。", "帮助{who}联系家政服务。"),
    "1201": ("{place}路灯不亮，夜间行人看不清路面。",),
    "1202": ("{place}井盖缺失破损，存在安全隐患。",),
    "1203": ("{place}有流动摊贩占道经营，影响通行。",),
    "1401": ("{place}垃圾桶满溢，未及时清运。",),
    "robbery": (
        "{who}报称在{place}被一男子抢走手机一部，价值约{money}元，嫌疑人骑摩托车逃离。",
        "{who}在{place}被抢夺挎包，内有现金{money}元。",
    ),
    "theft": ("{who}报称停放在{place}的电动车被盗。", "{who}家中被盗现金{money}元。", "{place}一商铺夜间被撬，损失约{money}元。"),
    "homicide": ("{place}发生一起命案，一人死亡，公安机关已立案侦查。",),
    "fraud": ("{who}接到冒充客服的电话，被骗{money}元。", "{who}网购刷单被骗{money}元。"),
    "drug": ("群众举报{place}出租屋内有人聚众吸毒。", "{place}发现疑似贩卖毒品人员。"),
    "criminal_other": ("{place}发生一起故意伤害案件，{who}受轻伤。", "{place}发生一起故意毁坏财物案件。"),
    CategoryKind.SERVICE: (
        "{who}申请办理“{category}”，网格员已上门核实情况并协助准备材料。",
        "群众{who}反映“{category}”方面的困难，请相关部门办理。",
    ),
    CategoryKind.PUBLIC_ORDER: ("{who}在{place}与他人发生冲突，请求处理。", "群众反映{place}有人{category}，请依法处理。"),
    CategoryKind.ACCIDENT: ("{place}发生一起{category}，{n}人受伤，已送医。", "{place}发生{category}，无人员伤亡。"),
    CategoryKind.PETITION: ("{who}反映{thing}问题长期未解决，要求有关部门答复。",),
    CategoryKind.DISPUTE: ("{who}与{other}因{thing}产生纠纷，双方争执不下。", "{who}反映{category}，请求调解。"),
    CategoryKind.OTHER: ("{who}建议在{place}增设休闲座椅和健身器材。", "{place}有群众反映的其他事项，需核实。"),
    CategoryKind.NINE_SMALL: ("{place}：{category}。",),
}
RESULTS = {
    CategoryKind.CRIMINAL: ("已立案侦查，犯罪嫌疑人已抓获归案。", "已立案侦查，案件正在侦办中。"),
    CategoryKind.PUBLIC_ORDER: ("已依法查处，对违法行为人给予行政处罚。", "经调查，已对当事人批评教育。"),
    CategoryKind.ACCIDENT: ("已处置完毕，伤者送医，现场已清理。", "已查明原因并责令整改。"),
    CategoryKind.PETITION: ("已书面答复信访人，群众表示理解。", "已协调相关部门解决诉求。"),
    CategoryKind.DISPUTE: ("经调解，双方达成协议，纠纷已化解。", "已引导当事人通过司法途径解决。"),
    CategoryKind.SERVICE: ("已为群众办结，材料齐全。", "已上门服务，事项办理完毕。"),
}
DEFAULT_RESULTS = ("已到现场处理完毕。", "已安排人员整改到位。")
SPOT_RESULTS = ("网格员现场处理完毕。", "已当场协调解决。", "已现场劝导，当事人当即整改。")
CANCEL_REASONS = ("重复上报", "不属于受理范围", "信息不全，无法核实", "群众已自行解决")
RETURN_REASONS = ("不属于本单位职责", "事发地点不在本单位管辖范围", "需由属地镇街先行处置")
PARK_REASONS = ("涉及历史遗留问题，需纳入专项整治计划", "需上级资金支持，暂无法办结", "当事人长期外出，暂无法处理")
EXTEND_REASONS = ("需协调多个部门", "需采购材料", "等待当事人配合")
REWORK_REASONS = ("现场核查未整改到位", "群众反映问题仍然存在")
EVALUATIONS = {1: "群众不满意", 2: "处理较慢", 3: "基本满意", 4: "满意", 5: "非常满意，处理及时"}
DEPARTMENT_SOURCES = ("12345政务服务热线", "110指挥中心", "市长信箱", "数字城管平台")


# --- the working calendar, fast ------------------------------------------------------


class WorkingClock:
    """Working-time arithmetic on epoch seconds for bulk loads: ``add`` gives what
    ``cases.calendar.WorkingCalendar.add`` gives for a positive number of minutes, without
    walking the days (the demo computes a few million deadlines)."""

    def __init__(self, first: datetime.date, last: datetime.date):
        tz = timezone.get_current_timezone()
        exceptions = dict(CalendarDay.objects.filter(date__range=(first, last)).values_list("date", "working"))
        self.periods = []
        for start, end in settings.KAILI_WORKING_HOURS:
            begin, finish = datetime.time.fromisoformat(start), datetime.time.fromisoformat(end)
            self.periods.append((begin.hour * 3600 + begin.minute * 60, finish.hour * 3600 + finish.minute * 60))
        self.midnights, self.working, self.before, self.until = [], [], [], []
        total, day = 0, first
        while day <= last:
            working = exceptions.get(day, day.weekday() < 5)
            self.midnights.append(int(datetime.datetime.combine(day, datetime.time(), tzinfo=tz).timestamp()))
            self.working.append(working)
            self.before.append(total)
            if working:
                total += sum(end - start for start, end in self.periods)
            self.until.append(total)
            day += datetime.timedelta(days=1)

    def worked(self, ts: int) -> int:
        """Working seconds from the first day to ``ts``."""
        i = bisect.bisect_right(self.midnights, ts) - 1
        done = self.before[i]
        if self.working[i]:
            second = ts - self.midnights[i]
            for start, end in self.periods:
                if second > start:
                    done += min(second, end) - start
        return done

    def add(self, ts: int, minutes: int) -> int:
        """The moment ``minutes`` (> 0) working minutes after ``ts``."""
        target = self.worked(ts) + minutes * 60
        i = bisect.bisect_left(self.until, target)
        left = target - self.before[i]
        for start, end in self.periods:
            if left <= end - start:
                return self.midnights[i] + start + left
            left -= end - start
        raise ValueError("working time beyond the calendar")  # pragma: no cover


# --- the tree, the people, the accounts ------------------------------------------------


@dataclass(slots=True)
class Node:
    pk: int
    code: str
    name: str
    kind: str
    tree_id: int
    lft: int
    rght: int
    rural: bool
    place: str  # zone and grid names, for the place of an incident
    centre: tuple | None
    units: tuple = ()  # a grid's units (pks), for the registry people of a grid


def load_nodes() -> tuple[list[Node], list[float]]:
    """The open grids and units with the weight of each (its households; a grid 30% of its
    units', for what is reported on the grid as a whole)."""
    rows = list(
        Grid.objects.active().values(
            "pk", "code", "name", "kind", "parent_id", "tree_id", "lft", "rght", "area_type", "households", "centre"
        )
    )
    by_pk = {row["pk"]: row for row in rows}
    units_of = defaultdict(list)
    for row in rows:
        if row["kind"] == GridKind.UNIT:
            units_of[row["parent_id"]].append(row)
    nodes, weights = [], []
    for row in sorted(rows, key=lambda r: r["code"]):
        if row["kind"] not in (GridKind.GRID, GridKind.UNIT):
            continue
        grid = by_pk.get(row["parent_id"]) if row["kind"] == GridKind.UNIT else row
        grid = grid or row
        zone = by_pk.get(grid["parent_id"]) or {}
        area = row["area_type"] or grid["area_type"] or zone.get("area_type") or AreaType.URBAN
        point = (grid.get("centre") or {}).get("coordinates")
        zone_name = zone.get("name", "")
        grid_place = grid["name"] if grid["name"].startswith(zone_name) else zone_name + grid["name"]
        if row["kind"] == GridKind.UNIT:
            place = zone_name + row["name"] if area == AreaType.URBAN and row is not grid else grid_place
            weight = row["households"] or 0
        else:
            place = grid_place
            weight = 0.3 * sum(unit["households"] or 0 for unit in units_of[row["pk"]]) or 0.3 * (row["households"] or 0)
        nodes.append(
            Node(
                pk=row["pk"],
                code=row["code"],
                name=row["name"],
                kind=row["kind"],
                tree_id=row["tree_id"],
                lft=row["lft"],
                rght=row["rght"],
                rural=area == AreaType.RURAL,
                place=place,
                centre=tuple(point) if point else None,
                units=tuple(unit["pk"] for unit in units_of[row["pk"]]) if row["kind"] == GridKind.GRID else (row["pk"],),
            )
        )
        weights.append(weight)
    if nodes and not any(weights):
        weights = [1.0] * len(nodes)
    return nodes, weights


def registry_people() -> dict[int, list[int]]:
    """Registry person ids by unit."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT unit_id, array_agg(id ORDER BY id) FROM populations_person GROUP BY unit_id")
        return dict(cursor.fetchall())


def covering(ranges, node: Node):
    """The user of the first (tree_id, lft, rght, user pk) range that covers ``node``, or None."""
    for tree_id, lft, rght, pk in ranges:
        if tree_id == node.tree_id and lft <= node.lft and node.rght <= rght:
            return pk
    return None


@dataclass
class Staff:
    """The demo accounts who act in the loop, each with the node range they cover."""

    reporters: list = field(default_factory=list)  # (tree_id, lft, rght, user pk) of grid workers
    centres: list = field(default_factory=list)  # the same for centre staff
    handlers: dict = field(default_factory=dict)  # department pk -> [user pk] of its members
    names: dict = field(default_factory=dict)  # user pk -> str(user)

    def reporter(self, node: Node):
        return covering(self.reporters, node)

    def centre(self, node: Node):
        return covering(self.centres, node)


def load_staff(departments: dict[int, Department]) -> Staff:
    staff = Staff()
    users = {u.username: u for u in User.objects.filter(username__in=[d.username for d in DEMO_USERS], is_active=True)}
    codes = {code for demo in DEMO_USERS for code in demo.codes}
    nodes = {g.code: g for g in Grid.objects.filter(code__in=codes)}
    for demo in DEMO_USERS:
        user = users.get(demo.username)
        target = {roles.GRID_WORKER: staff.reporters, roles.CENTRE_STAFF: staff.centres}.get(demo.role)
        if user is None or target is None:
            continue
        staff.names[user.pk] = str(user)
        for code in demo.codes:
            if code in nodes:
                node = nodes[code]
                target.append((node.tree_id, node.lft, node.rght, user.pk))
    members = Department.members.through.objects.filter(department_id__in=list(departments), user__is_active=True).select_related(
        "user"
    )
    for link in sorted(members, key=lambda m: m.user.username):
        staff.handlers.setdefault(link.department_id, []).append(link.user_id)
        staff.names[link.user_id] = str(link.user)
    return staff


# --- one incident --------------------------------------------------------------------


@dataclass(slots=True)
class Case:
    """An incident being built, with its transitions and people (times in epoch seconds)."""

    category: Category
    node: Node
    source: str
    occurred: int
    reported: int
    urgency: str = Urgency.NORMAL
    pk: int = 0
    number: str = ""
    status: str = ""
    version: int = 0
    title: str = ""
    description: str = ""
    place: str = ""
    latitude: str | None = None
    longitude: str | None = None
    reporter: int | None = None
    reporter_name: str = ""
    department: int | None = None
    handler: int | None = None
    file_due: int | None = None
    dispatch_due: int | None = None
    handle_due: int | None = None
    check_due: int | None = None
    due: int | None = None
    extensions: int = 0
    late: bool = False
    dispatched: int | None = None
    result: str = ""
    check_result: str = ""
    closed: int | None = None
    satisfaction: int | None = None
    evaluation: str = ""
    cleared: bool = False
    cleared_on: datetime.date | None = None
    updated: int = 0
    transitions: list = field(default_factory=list)
    people: list = field(default_factory=list)


class Loop:
    """Takes a case through the steps as ``cases.services`` does: the same fields and
    deadlines per step, one transition each, ``late`` when the step came after the
    deadline it met. Times are drawn so that most steps are on time."""

    def __init__(self, rng: random.Random, clock: WorkingClock, categories: dict[int, Category], departments, staff: Staff):
        self.rng, self.clock, self.categories, self.departments, self.staff = rng, clock, categories, departments, staff
        self.script = None  # times of the steps, when a showcase case dictates them
        self.department_codes = {d.code: d for d in departments.values()}

    # times

    def _scripted(self):
        return next(self.script) if self.script is not None else None

    def timely(self, prev: int, due: int | None, late_share: float, wall: bool = False) -> int:
        """When the next step is taken: before ``due`` mostly, after it for ``late_share``."""
        scripted = self._scripted()
        if scripted is not None:
            return scripted
        rng, clock = self.rng, self.clock
        if due is None or due <= prev:
            return clock.add(prev, rng.randint(5, 120))
        if wall:
            if rng.random() < late_share:
                return due + rng.randint(60, 3600)
            return prev + max(30, int((due - prev) * rng.random() ** 1.5))
        remaining = (clock.worked(due) - clock.worked(prev)) // 60
        if remaining < 1:
            return clock.add(prev, rng.randint(5, 120))
        if rng.random() < late_share:
            return clock.add(due, rng.randint(5, max(10, remaining // 2)))
        return clock.add(prev, 1 + int((remaining - 1) * rng.random() ** 1.5))

    def later(self, prev: int, low_minutes: int, high_minutes: int, working: bool = True) -> int:
        scripted = self._scripted()
        if scripted is not None:
            return scripted
        minutes = self.rng.randint(low_minutes, high_minutes)
        return self.clock.add(prev, minutes) if working else prev + minutes * 60

    def deadline(self, start: int, minutes: int, working: bool = True) -> int:
        return self.clock.add(start, minutes) if working else start + minutes * 60

    def waiting_deadline(self, case: Case, step: str, start: int) -> int:
        category = case.category
        if case.urgency == Urgency.URGENT:
            return self.deadline(start, category.urgent_minutes, working=False)
        return self.deadline(start, category.file_minutes if step == Step.FILE else category.dispatch_minutes)

    # steps

    def step(self, case: Case, step: str, at: int, actor, note: str = "", details=None) -> None:
        rule = STEP_RULES.get(step)
        from_status = case.status
        details = {} if details is None else details
        if rule is None:  # the report
            late, waited = False, case.due
            case.status = Status.REPORTED
        else:
            if from_status not in rule.sources:
                raise ValueError(f"{step} from {from_status}")
            waited = case.due
            late = bool(rule.meets_deadline and waited is not None and at > waited)
            getattr(self, f"_{step}")(case, at, actor, details)
            if rule.target is not None:
                case.status = rule.target
            waited = waited if rule.meets_deadline else None
        case.version += 1
        case.late = case.late or late
        case.updated = at
        case.transitions.append((step, from_status, case.status, actor, at, note, waited, late, details))

    def _file(self, case, at, actor, details):
        case.dispatch_due = self.waiting_deadline(case, Step.DISPATCH, at)
        case.due = case.dispatch_due

    def _cancel(self, case, at, actor, details):
        case.due = None

    def _dispatch(self, case, at, actor, details):
        case.department, case.handler = details.pop("_department"), details.pop("_handler")
        case.dispatched = at
        case.handle_due = self.deadline(at, case.category.handle_minutes)
        case.due = case.handle_due

    def _start(self, case, at, actor, details):
        if case.handler is None:
            case.handler = actor

    def _return(self, case, at, actor, details):
        case.department, case.handler = None, None
        case.dispatch_due = self.waiting_deadline(case, Step.DISPATCH, at)
        case.due = case.dispatch_due

    def _report_back(self, case, at, actor, details):
        if case.handler is None:
            case.handler = actor
        category = case.category
        minutes = category.check_minutes_rural if case.node.rural else category.check_minutes_urban
        case.check_due = self.deadline(at, minutes)
        case.due = case.check_due

    def _check(self, case, at, actor, details):
        case.closed = at
        case.due = None

    def _rework(self, case, at, actor, details):
        case.handle_due = self.deadline(at, case.category.handle_minutes)
        case.due = case.handle_due

    def _park(self, case, at, actor, details):
        case.due = None

    def _extend(self, case, at, actor, details):
        case.handle_due = self.deadline(max(case.handle_due or at, at), details["minutes"])
        case.due = case.handle_due
        case.extensions += 1
        local = datetime.datetime.fromtimestamp(case.handle_due, timezone.get_current_timezone())
        details["until"] = local.isoformat()

    def _evaluate(self, case, at, actor, details):
        case.satisfaction = details["satisfaction"]

    def _solve_on_spot(self, case, at, actor, details):
        case.handler = actor
        case.closed = at
        case.due = None

    def _clear(self, case, at, actor, details):
        case.cleared = True
        case.cleared_on = datetime.datetime.fromtimestamp(at, timezone.get_current_timezone()).date()
        details["cleared_on"] = case.cleared_on.isoformat()

    # the route

    def department_for(self, category: Category) -> Department:
        pk = category.department_id
        if pk is None and category.parent_id:
            pk = self.categories[category.parent_id].department_id
        department = self.departments.get(pk)
        if department is None or not department.is_active:
            code = FALLBACK_DEPARTMENTS.get(category.code, DEFAULT_DEPARTMENT)
            department = self.department_codes.get(code) or next(iter(self.departments.values()))
        return department

    def dispatch(self, case: Case, at: int, centre, department: Department) -> None:
        members = self.staff.handlers.get(department.pk, ())
        handler = members[0] if members and self.rng.random() < 0.5 else None
        details = {
            "department": department.name,
            "handler": self.staff.names.get(handler, "") if handler else "",
            "_department": department.pk,
            "_handler": handler,
        }
        self.step(case, Step.DISPATCH, at, centre, "", details)

    def handler_actor(self, case: Case):
        if case.handler is not None:
            return case.handler
        members = self.staff.handlers.get(case.department, ())
        return members[0] if members else None

    def result_for(self, case: Case) -> str:
        kind = case.category.kind
        choices = RESULTS.get(kind, DEFAULT_RESULTS)
        if kind == CategoryKind.CRIMINAL:
            return choices[0] if case.cleared else choices[1]
        return self.rng.choice(choices)

    def run(self, case: Case, target: str, *, spot=False, rework=False, extend=False, redispatch=False, clears=False):
        """Take ``case`` from its report to ``target``."""
        rng, node = self.rng, case.node
        reporter = case.reporter
        checker = reporter if reporter is not None else self.staff.reporter(node)
        centre = self.staff.centre(node)
        case.file_due = self.waiting_deadline(case, Step.FILE, case.reported)
        case.due = case.file_due
        self.step(case, Step.REPORT, case.reported, reporter)
        if target == Status.REPORTED:
            return
        if spot:
            case.result = rng.choice(SPOT_RESULTS)
            self.step(case, Step.SOLVE_ON_SPOT, self.later(case.reported, 2, 40, working=False), reporter, case.result)
            if target == Status.EVALUATED:
                self.evaluate(case, case.updated, centre if rng.random() < 0.5 else checker)
            return
        urgent = case.urgency == Urgency.URGENT
        if target == Status.CANCELLED:
            if rng.random() < 0.3:
                at = self.timely(case.reported, case.due, LATE_OFFICE, urgent)
                self.step(case, Step.FILE, at, centre, "", {"urgency": case.urgency})
            at = self.timely(case.updated, case.due, LATE_OFFICE, urgent)
            self.step(case, Step.CANCEL, at, centre, rng.choice(CANCEL_REASONS))
            return
        at = self.timely(case.reported, case.due, LATE_OFFICE, urgent)
        self.step(case, Step.FILE, at, centre, "", {"urgency": case.urgency})
        if target == Status.FILED:
            return
        department = self.department_for(case.category)
        self.dispatch(case, self.timely(case.updated, case.due, LATE_OFFICE, urgent), centre, department)
        if target == Status.RETURNED or redispatch:
            details = {"department": department.name, "handler": self.staff.names.get(case.handler, "")}
            at = self.later(case.updated, 10, 240)
            self.step(case, Step.RETURN, at, self.handler_actor(case), rng.choice(RETURN_REASONS), details)
            if target == Status.RETURNED:
                return
            others = [d for d in self.departments.values() if d.pk != department.pk and d.is_active]
            department = rng.choice(others) if others else department
            self.dispatch(case, self.timely(case.updated, case.due, LATE_OFFICE, urgent), centre, department)
        if target == Status.DISPATCHED:
            return
        self.step(case, Step.START, self.later(case.updated, 5, 180), self.handler_actor(case))
        if target == Status.PARKED:
            minutes = case.category.handle_minutes
            at = self.timely(case.updated, case.due, 0.3)
            self.step(case, Step.EXTEND, at, centre, rng.choice(EXTEND_REASONS), {"minutes": minutes})
            self.step(case, Step.PARK, self.timely(case.updated, case.due, 0.5), centre, rng.choice(PARK_REASONS))
            return
        if extend:
            at = self.later(case.updated, 60, max(60, case.category.handle_minutes // 2))
            details = {"minutes": case.category.handle_minutes}
            self.step(case, Step.EXTEND, at, centre, rng.choice(EXTEND_REASONS), details)
        back = self.timely(case.updated, case.due, LATE_HANDLING)
        if clears:
            self.step(case, Step.CLEAR, case.updated + max(1, int((back - case.updated) * rng.uniform(0.2, 0.9))), centre)
        if target == Status.HANDLING and not rework:
            return
        case.result = self.result_for(case)
        self.step(case, Step.REPORT_BACK, back, self.handler_actor(case), case.result)
        if target == Status.REPORTED_BACK:
            return
        if rework:
            case.check_result = rng.choice(REWORK_REASONS)
            self.step(case, Step.REWORK, self.timely(case.updated, case.due, LATE_CHECK), checker, case.check_result)
            if target == Status.HANDLING:
                return
            back = self.timely(case.updated, case.due, LATE_HANDLING)
            self.step(case, Step.REPORT_BACK, back, self.handler_actor(case), case.result)
        case.check_result = "核查属实，同意结案。"
        self.step(case, Step.CHECK, self.timely(case.updated, case.due, LATE_CHECK), checker, case.check_result)
        if target == Status.EVALUATED:
            self.evaluate(case, case.updated, centre if rng.random() < 0.5 else checker)

    def evaluate(self, case: Case, after: int, actor) -> None:
        satisfaction = self.rng.choices((1, 2, 3, 4, 5), SATISFACTION_WEIGHTS)[0]
        case.evaluation = EVALUATIONS[satisfaction]
        at = self.later(after, 10, 3 * 24 * 60, working=False)
        self.step(case, Step.EVALUATE, at, actor, case.evaluation, {"satisfaction": satisfaction})


# --- what to generate ----------------------------------------------------------------


@dataclass
class Plan:
    """The categories to draw from: minors by kind with weights, criminal minors by statistic."""

    by_kind: dict  # kind -> ([Category], [weight])
    criminal: dict  # statistic -> Category
    categories: dict  # pk -> Category (majors too)
    by_code: dict


def load_plan(rng: random.Random) -> Plan:
    categories = {c.pk: c for c in Category.objects.order_by("code")}
    minors = [c for c in categories.values() if c.parent_id is not None and c.is_active]
    by_kind = defaultdict(lambda: ([], []))
    for category in minors:
        if category.kind == CategoryKind.CRIMINAL:
            continue
        weight = MINOR_WEIGHTS.get(category.code) or (rng.randint(1, 6) if category.kind == CategoryKind.SERVICE else 1)
        by_kind[category.kind][0].append(category)
        by_kind[category.kind][1].append(weight)
    criminal = {}
    for category in minors:
        if category.kind == CategoryKind.CRIMINAL and category.statistic in CLEARANCE:
            criminal.setdefault(category.statistic, category)
    missing = set(CLEARANCE) - set(criminal)
    if missing:
        raise ValueError(f"no active criminal category for {sorted(missing)}")
    return Plan(dict(by_kind), criminal, categories, {c.code: c for c in categories.values()})


def apportion(total: int, shares: dict) -> dict:
    """``total`` split by ``shares`` in whole numbers that add up (largest remainder)."""
    weight = sum(shares.values())
    exact = {key: total * share / weight for key, share in shares.items()}
    counts = {key: int(value) for key, value in exact.items()}
    for key in sorted(exact, key=lambda k: counts[k] - exact[k])[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


def year_counts(scale: float) -> dict[int, dict]:
    """Per demo year: the criminal figures and the other incidents by kind."""
    plan = {}
    for year in DEMO_YEARS:
        criminal = CRIMINAL_FIGURES[year]
        others = max(0, round((PER_YEAR - sum(criminal.values())) * scale))
        plan[year] = {"criminal": dict(criminal), "kinds": apportion(others, KIND_SHARES)}
    return plan


def planned_incidents(scale: float) -> int:
    """How many incidents a full load makes at ``scale`` (demo years only)."""
    return sum(sum(y["criminal"].values()) + sum(y["kinds"].values()) for y in year_counts(scale).values())


class Generator:
    def __init__(self, rng, nodes, weights, plan: Plan, loop: Loop, people: dict, names: Names, staff: Staff, tz):
        self.rng, self.nodes, self.plan, self.loop, self.staff, self.tz = rng, nodes, plan, loop, staff, tz
        self.people, self.names = people, names
        self.cum_nodes = list(_accumulate(weights))
        self.worker_names: dict[int, str] = {}
        self.registry: dict[int, list[int]] = {}
        self.calendars: dict[tuple, tuple] = {}

    # when and where

    def moments(self, year: int, count: int, hours) -> list[int]:
        rng = self.rng
        if (year, hours) not in self.calendars:
            start = datetime.date(year, 1, 1)
            days = [start + datetime.timedelta(days=i) for i in range((datetime.date(year + 1, 1, 1) - start).days)]
            cum_days = list(_accumulate([MONTH_WEIGHTS[d.month - 1] for d in days]))
            self.calendars[(year, hours)] = (days, cum_days, list(_accumulate(hours)))
        days, cum_days, cum_hours = self.calendars[(year, hours)]
        picked_days = rng.choices(days, cum_weights=cum_days, k=count)
        picked_hours = rng.choices(range(24), cum_weights=cum_hours, k=count)
        midnight = {}
        result = []
        for day, hour in zip(picked_days, picked_hours, strict=True):
            base = midnight.get(day)
            if base is None:
                base = midnight[day] = int(datetime.datetime.combine(day, datetime.time(), tzinfo=self.tz).timestamp())
            result.append(base + hour * 3600 + rng.randrange(3600))
        return result

    def specs(self, year: int, counts: dict) -> list[tuple]:
        """(reported, occurred, node index, category, source) of a year's incidents."""
        rng, plan = self.rng, self.plan
        wanted = [(plan.criminal[statistic], n) for statistic, n in counts["criminal"].items()]
        for kind, n in counts["kinds"].items():
            if n and kind in plan.by_kind:
                minors, weights = plan.by_kind[kind]
                wanted += Counter(rng.choices(minors, weights, k=n)).items()
        specs = []
        for category, n in sorted(wanted, key=lambda pair: pair[0].code):
            day_time = category.kind in (CategoryKind.NINE_SMALL, CategoryKind.SERVICE, CategoryKind.PETITION)
            occurred = self.moments(year, n, DAY_HOURS if day_time else ANY_HOURS)
            where = rng.choices(range(len(self.nodes)), cum_weights=self.cum_nodes, k=n)
            sources = rng.choices(SOURCES, SOURCE_WEIGHTS[category.kind], k=n)
            for at, node, source in zip(occurred, where, sources, strict=True):
                low, high = REPORT_DELAY[source]
                specs.append((at + rng.randint(low, high), at, node, category, source))
        return specs

    # who and what

    def worker_name(self, node: Node) -> str:
        name = self.worker_names.get(node.pk)
        if name is None:
            name = self.worker_names[node.pk] = self.names.full()
        return name

    def fill(self, case: Case) -> None:
        rng, node, category = self.rng, case.node, case.category
        if category.urgent or rng.random() < 0.03:
            case.urgency = Urgency.URGENT
        spots = RURAL_SPOTS if node.rural else URBAN_SPOTS
        case.place = f"{node.place}{rng.choice(spots)}"[:200]
        if case.source in (Source.PATROL, Source.VIDEO):
            case.reporter = self.staff.reporter(node)
            if case.reporter is None:
                case.reporter_name = f"{self.worker_name(node)}（网格员）" if case.source == Source.PATROL else "综治中心视频巡查"
            if node.centre and rng.random() < 0.7:
                lon, lat = node.centre
                case.longitude = f"{lon + rng.uniform(-0.002, 0.002):.6f}"
                case.latitude = f"{lat + rng.uniform(-0.002, 0.002):.6f}"
        elif case.source == Source.DEPARTMENT:
            case.reporter_name = rng.choice(DEPARTMENT_SOURCES)
        else:
            case.reporter_name = self.names.full()
        who = case.reporter_name if case.source in (Source.WALK_IN, Source.PHONE, Source.WECHAT) else self.names.full()
        templates = (
            TEMPLATES.get(category.code)
            or TEMPLATES.get(category.statistic)
            or TEMPLATES.get(category.kind, TEMPLATES[CategoryKind.OTHER])
        )
        case.description = rng.choice(templates).format(
            place=case.place,
            who=who,
            other=self.names.full(),
            n=rng.randint(2, 60),
            money=rng.choice((300, 800, 1500, 2600, 5000, 12000, 38000)),
            thing=rng.choice(THINGS),
            category=category.name,
        )
        case.title = f"{category.name} · {node.place}"[:100]
        self.involve(case, who)

    def involve(self, case: Case, who: str) -> None:
        rng, kind = self.rng, case.category.kind
        if kind == CategoryKind.CRIMINAL:
            wanted = [(PersonRole.VICTIM, who, 1.0), (PersonRole.SUSPECT, None, 0.35)]
        elif kind == CategoryKind.DISPUTE or case.category.code == "0103":
            wanted = [(PersonRole.PARTY, who, 1.0), (PersonRole.PARTY, None, 1.0)]
        elif kind == CategoryKind.PUBLIC_ORDER:
            wanted = [(PersonRole.PARTY, who, 0.9), (PersonRole.WITNESS, None, 0.2)]
        elif kind == CategoryKind.PETITION:
            wanted = [(PersonRole.REPORTER, who, 1.0)]
        elif kind == CategoryKind.SERVICE:
            wanted = [(PersonRole.PARTY, who, 0.7)]
        elif kind == CategoryKind.ACCIDENT:
            wanted = [(PersonRole.PARTY, who, 0.5)]
        else:
            wanted = [(PersonRole.PARTY, who, 0.15)]
        registry = self.registry.get(case.node.pk)
        if registry is None:
            registry = self.registry[case.node.pk] = [pk for unit in case.node.units for pk in self.people.get(unit, ())]
        for role, name, share in wanted:
            if rng.random() >= share:
                continue
            if role != PersonRole.SUSPECT and registry and rng.random() < 0.6:
                case.people.append((rng.choice(registry), "", role))
            else:
                case.people.append((None, name or self.names.full(), role))

    def target(self, case: Case, end: int) -> tuple[str, dict]:
        """Where the case stands at the end of the demo period, and the detours it took."""
        rng = self.rng
        criminal = case.category.kind == CategoryKind.CRIMINAL
        solved = criminal and CLEARANCE[case.category.statistic] >= 1  # every homicide is solved (命案必破)
        age = (end - case.reported) / 86400
        target = None
        for younger, share, weights in OPEN_BY_AGE:
            if age < younger:
                if rng.random() < share:
                    target = rng.choices(OPEN_TARGETS, weights)[0]
                break
        else:
            if rng.random() < STUCK_SHARE:
                target = rng.choice((Status.HANDLING, Status.RETURNED, Status.REPORTED_BACK))
        if target is None:
            roll = rng.random()
            if roll < CANCELLED_SHARE and not criminal:
                target = Status.CANCELLED
            elif (roll < PARKED_SHARE or CANCELLED_SHARE <= roll < CANCELLED_SHARE + PARKED_SHARE) and not solved:
                target = Status.PARKED
            else:
                target = Status.EVALUATED if rng.random() < EVALUATED_SHARE else Status.CLOSED
        spot = (
            target in (Status.CLOSED, Status.EVALUATED)
            and case.category.kind == CategoryKind.NINE_SMALL
            and case.source == Source.PATROL
            and rng.random() < SOLVED_ON_SPOT_SHARE
        )
        detours = {
            "spot": spot,
            "rework": not spot and rng.random() < REWORK_SHARE,
            "extend": not spot and rng.random() < EXTEND_SHARE,
            "redispatch": not spot and rng.random() < REDISPATCH_SHARE,
            "clears": criminal and target != Status.PARKED and rng.random() < CLEARANCE[case.category.statistic],
        }
        return target, detours


def _accumulate(values):
    total = 0
    for value in values:
        total += value
        yield total


# --- writing -------------------------------------------------------------------------

INCIDENT_COLUMNS = (
    "id", "number", "category_id", "grid_id", "source", "urgency", "status", "version", "title", "description", "place",
    "latitude", "longitude", "occurred_at", "reported_at", "reporter_id", "reporter_name", "client_key", "department_id",
    "handler_id", "file_due_at", "dispatch_due_at", "handle_due_at", "check_due_at", "due_at", "extensions", "late",
    "dispatched_at", "result", "check_result", "closed_at", "satisfaction", "evaluation", "cleared", "cleared_on",
    "dispute_number", "created_at", "updated_at",
)  # fmt: skip
TRANSITION_COLUMNS = ("incident_id", "step", "from_status", "to_status", "actor_id", "at", "note", "due_at", "late", "details")
PERSON_COLUMNS = ("incident_id", "person_id", "name", "role", "note")


def _moment(ts):
    return None if ts is None else datetime.datetime.fromtimestamp(ts, datetime.UTC)


class Writer:
    """COPYs incidents with their transitions and people, a batch at a time."""

    def __init__(self):
        _check_columns(Incident, INCIDENT_COLUMNS)
        _check_columns(IncidentTransition, ("id", *TRANSITION_COLUMNS))
        _check_columns(IncidentPerson, ("id", *PERSON_COLUMNS))
        self.incidents = self.transitions = self.people = 0

    def write(self, cases: list[Case]) -> None:
        if not cases:
            return
        for case, pk in zip(cases, _allocate_ids(Incident, len(cases)), strict=True):
            case.pk = pk
        _copy(Incident, INCIDENT_COLUMNS, (self._incident_row(case) for case in cases))
        transitions = [
            (case.pk, step, from_status, to_status, actor, _moment(at), note, _moment(due), late, _json(details))
            for case in cases
            for step, from_status, to_status, actor, at, note, due, late, details in case.transitions
        ]
        _copy(IncidentTransition, TRANSITION_COLUMNS, transitions)
        people = [(case.pk, person, name, role, "") for case in cases for person, name, role in case.people]
        _copy(IncidentPerson, PERSON_COLUMNS, people)
        self.incidents += len(cases)
        self.transitions += len(transitions)
        self.people += len(people)
        _forget_logged_queries()

    @staticmethod
    def _incident_row(c: Case) -> tuple:
        return (
            c.pk, c.number, c.category.pk, c.node.pk, c.source, c.urgency, c.status, c.version, c.title, c.description,
            c.place, c.latitude, c.longitude, _moment(c.occurred), _moment(c.reported), c.reporter, c.reporter_name, None,
            c.department, c.handler, _moment(c.file_due), _moment(c.dispatch_due), _moment(c.handle_due),
            _moment(c.check_due), _moment(c.due), c.extensions, c.late, _moment(c.dispatched), c.result, c.check_result,
            _moment(c.closed), c.satisfaction, c.evaluation, c.cleared, c.cleared_on, "", _moment(c.reported),
            _moment(c.updated),
        )  # fmt: skip


def _json(details: dict) -> str:
    return json.dumps(details, ensure_ascii=False) if details else "{}"


# --- the whole load ------------------------------------------------------------------


@dataclass
class DemoIncidents:
    created: int
    transitions: int
    people: int
    by_year: dict[int, int]  # created, by year of occurrence (this year's showcase included)
    showcase: int
    incidents: int  # in the database
    criminal: dict[int, dict[str, int]]  # in the database, by year of occurrence and statistic
    cleared: dict[int, int]
    seconds: float

    def change(self, statistic: str | None = None, year: int = 2016) -> float | None:
        """Year-on-year change in percent of the criminal figure (all when ``statistic`` is None)."""

        def figure(y):
            counts = self.criminal.get(y, {})
            return sum(counts.values()) if statistic is None else counts.get(statistic, 0)

        before = figure(year - 1)
        return None if not before else round((figure(year) - before) * 100 / before, 2)


def criminal_figures() -> tuple[dict[int, dict[str, int]], dict[int, int]]:
    """Criminal incidents by local year of occurrence and statistic, and how many were cleared."""
    rows = (
        Incident.objects.filter(category__kind=CategoryKind.CRIMINAL)
        .annotate(year=ExtractYear("occurred_at"))
        .values_list("year", "category__statistic")
        .annotate(n=Count("pk"), cleared=Count("pk", filter=Q(cleared=True)))
        .order_by()
    )
    figures, cleared = defaultdict(dict), Counter()
    for year, statistic, n, done in rows:
        figures[year][statistic] = n
        cleared[year] += done
    return dict(figures), dict(cleared)


def _demo_years_loaded(tz) -> bool:
    start = datetime.datetime(DEMO_YEARS[0], 1, 1, tzinfo=tz)
    end = datetime.datetime(DEMO_YEARS[-1] + 1, 1, 1, tzinfo=tz)
    return Incident.objects.filter(occurred_at__gte=start, occurred_at__lt=end).exists()


def seed_incidents(*, seed: int = 2016, scale: float = DEFAULT_SCALE, progress=no_progress, today=None) -> DemoIncidents:
    """Load the demo incidents at ``scale`` (1 = about 40,000 a year); idempotent."""
    started = time.perf_counter()
    tz = timezone.get_current_timezone()
    if today is None:
        now = int(timezone.now().timestamp())
    else:
        now = int(datetime.datetime.combine(today, datetime.time(16, 0), tzinfo=tz).timestamp())
    rng = random.Random(f"incidents-{seed}")
    created = Counter()
    showcase = 0
    writer = Writer()
    with transaction.atomic():
        nodes, weights = load_nodes()
        if nodes and not _demo_years_loaded(tz):
            departments = {d.pk: d for d in Department.objects.order_by("code")}
            plan = load_plan(rng)
            staff = load_staff(departments)
            last_day = datetime.datetime.fromtimestamp(now, tz).date() + datetime.timedelta(days=400)
            clock = WorkingClock(datetime.date(DEMO_YEARS[0] - 1, 12, 1), last_day)
            loop = Loop(rng, clock, plan.categories, departments, staff)
            generator = Generator(rng, nodes, weights, plan, loop, registry_people(), Names(rng), staff, tz)
            history = _load_history(generator, scale, tz, progress, writer)
            created.update(history)
            showcase = _load_showcase(generator, now, tz, writer)
            created[datetime.datetime.fromtimestamp(now, tz).year] += showcase
        if writer.incidents:
            analyze((Incident, IncidentTransition, IncidentPerson))
        figures, cleared = criminal_figures()
        result = DemoIncidents(
            created=writer.incidents,
            transitions=writer.transitions,
            people=writer.people,
            by_year=dict(sorted(created.items())),
            showcase=showcase,
            incidents=Incident.objects.count(),
            criminal=figures,
            cleared=cleared,
            seconds=time.perf_counter() - started,
        )
        if writer.incidents:
            audit_demo_load(
                "cases.incident",
                "演示数据：事件",
                {
                    "source": f"seed_demo --seed {seed} --scale {scale:g}",
                    "scale": scale,
                    "incidents": writer.incidents,
                    "transitions": writer.transitions,
                    "people": writer.people,
                    "by_year": {str(year): n for year, n in result.by_year.items()},
                    "seconds": round(result.seconds, 1),
                },
            )
    return result


def _load_history(generator: Generator, scale: float, tz, progress, writer: Writer) -> Counter:
    """The demo years: every incident drawn, numbered in order of report, written in batches."""
    loop = generator.loop
    specs = []
    for year, counts in year_counts(scale).items():
        specs += generator.specs(year, counts)
    specs.sort(key=lambda spec: (spec[0], spec[3].code, spec[2]))
    numbers = {}
    for key, n in Counter((generator.nodes[s[2]].code[:6], _year(s[0], tz)) for s in specs).items():
        numbers[key] = iter(reserve_numbers("SJ", key[0], key[1], n))
    end = int(datetime.datetime(DEMO_YEARS[-1] + 1, 1, 1, tzinfo=tz).timestamp())
    created = Counter()

    def drawn():
        for reported, occurred, node_index, category, source in specs:
            node = generator.nodes[node_index]
            case = Case(category=category, node=node, source=source, occurred=occurred, reported=reported)
            case.number = next(numbers[(node.code[:6], _year(reported, tz))])
            generator.fill(case)
            target, detours = generator.target(case, end)
            loop.run(case, target, **detours)
            created[_year(occurred, tz)] += 1
            yield case

    write_in_batches(drawn(), len(specs), writer, progress, "事件")
    return created


def write_in_batches(cases, total: int, writer, progress, label: str) -> None:
    """Write the ``total`` drawn records of ``cases`` (an iterator) BATCH at a time, telling
    ``progress`` after each batch."""
    progress(label, 0, total)
    batch = []
    for index, case in enumerate(cases, start=1):
        batch.append(case)
        if len(batch) >= BATCH:
            writer.write(batch)
            batch = []
            progress(label, index, total)
    writer.write(batch)
    progress(label, total, total)


def _year(ts: int, tz) -> int:
    return datetime.datetime.fromtimestamp(ts, tz).year


def _load_showcase(generator: Generator, now: int, tz, writer: Writer) -> int:
    """Open incidents of this year in each demo grid worker's own grid."""
    loop, staff = generator.loop, generator.staff
    plan = generator.plan
    cases = []
    for tree_id, lft, rght, user in staff.reporters:
        grids = [n for n in generator.nodes if n.kind == GridKind.GRID and n.tree_id == tree_id and lft <= n.lft <= rght]
        if not grids:
            continue
        grid = grids[0]
        units = [n for n in generator.nodes if n.kind == GridKind.UNIT and n.pk in grid.units]
        for index, (code, target, hours, on_unit) in enumerate(SHOWCASE):
            category = plan.by_code.get(code)
            if category is None or not category.is_active:
                continue
            node = units[index % len(units)] if on_unit and units else grid
            reported = now - int(hours * 3600)
            case = Case(category=category, node=node, source=Source.PATROL, occurred=reported - 600, reported=reported)
            generator.fill(case)
            case.reporter, case.reporter_name = user, ""
            steps = {Status.REPORTED: 0, Status.FILED: 1, Status.DISPATCHED: 2, Status.HANDLING: 3, Status.RETURNED: 3}
            count = steps.get(target, 4 if target == Status.REPORTED_BACK else 6)
            gap = (now - 300 - reported) // (count + 2)
            loop.script = iter(reported + gap * (i + 1) for i in range(count + 4))
            try:
                loop.run(case, target)
            finally:
                loop.script = None
            cases.append(case)
    cases.sort(key=lambda c: c.reported)
    for key, n in Counter((c.node.code[:6], _year(c.reported, tz)) for c in cases).items():
        numbers = iter(reserve_numbers("SJ", key[0], key[1], n))
        for case in cases:
            if (case.node.code[:6], _year(case.reported, tz)) == key:
                case.number = next(numbers)
    writer.write(cases)
    return len(cases)

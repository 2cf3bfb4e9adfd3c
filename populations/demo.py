"""Demo registry and programme records at Kaili scale (DOMAIN.md, "Special populations").

Every ten-household unit of the tree gets ``round(households × scale)`` households of two
to four people (at scale 1 about 232 thousand households and 670 thousand residents), with
valid identity numbers (GB 11643, mostly region 522601), Miao, Dong and Han names, phones
for most adults, registered and floating residents and occupations. The six programmes
get members spread over the tree, with the 2016 seed figures at scale 1 (361 guardian care
contracts, 283 people in correction with entrepreneurship support, 612 employed at the
sunshine homes, 167 young people back at school) and their facilities (a rehabilitation
centre for 1,000, 13 children's homes, 17 women's enterprise bases, 6 public-welfare labour
bases...). Past visits leave some members overdue and some due.

This is a bulk load, not a stream of user actions: rows go in with ``bulk_create`` (the
services audit every write, far too slow for 670 thousand rows), identity and phone numbers
are still only stored encrypted, hashed and masked, the due dates come from the one
schedule path (``refresh_all_schedules``), and one audit row records the load. Running it
again adds nothing: a unit that already has households is left alone, and programme
figures count what is already enrolled.
"""

import datetime
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from grids.models import Grid, GridKind
from kaili.audit import audit_record
from kaili.models import AuditAction, User
from kaili.progress import no_progress
from populations.identity import make_identity_number
from populations.imports import last_household_sequences
from populations.models import (
    DETAIL_MODELS,
    AttentionLevel,
    CorrectionCategory,
    CorrectionRecord,
    Diagnosis,
    DrugRehabKind,
    DrugRehabRecord,
    Enrollment,
    EnrollmentStatus,
    ExitReason,
    Facility,
    FacilityKind,
    HealthStatus,
    Household,
    LeftBehindKind,
    LeftBehindRecord,
    MentalHealthRecord,
    Person,
    Placement,
    Programme,
    ProgrammeOfficer,
    Registration,
    Relation,
    ReleasedRecord,
    ReleaseRisk,
    Residence,
    SchoolStatus,
    SupervisionLevel,
    Visit,
    VisitKind,
    VisitMode,
    YouthKind,
    YouthRecord,
    new_doorplate_token,
)
from populations.schedules import RuleBook, add_months, due_state
from populations.services import refresh_all_schedules

DEFAULT_SCALE = 0.02  # `make run` and the tests: ~4.7 thousand households, a couple of seconds
BATCH = 5000
CITY_REGION = "522601"

# --- figures ---------------------------------------------------------------------------

# The 2016 seed figures (DOMAIN.md, "Special populations"), reproduced at scale 1.
CARE_CONTRACTS = 361
ENTREPRENEURSHIP_SUPPORT = 283
SUNSHINE_EMPLOYED = 612
RETURNED_TO_SCHOOL = 167
REHAB_CENTRE_CAPACITY = 1000

# Active members per programme at scale 1. The report gives no totals; these are plausible
# for ~670 thousand residents (severe mental disorders are registered at ~3 per 1,000).
PROGRAMME_SIZES = {
    Programme.MENTAL_HEALTH: 1980,
    Programme.CORRECTION: 640,
    Programme.RELEASED: 450,
    Programme.DRUG_REHAB: 1450,
    Programme.YOUTH: 560,
    Programme.LEFT_BEHIND: 6400,
}
LEFT_BEHIND_SHARES = {LeftBehindKind.CHILD: 0.5, LeftBehindKind.WOMAN: 0.17, LeftBehindKind.ELDERLY: 0.33}
EXITED_SHARE = 0.06  # past members who have left, for the history lists

# (kind, how many, capacities, where): "city" on the root, "town" on towns, "rural" on villages, "zone" on any zone.
FACILITY_PLAN = [
    (FacilityKind.REHAB_CENTRE, 1, (REHAB_CENTRE_CAPACITY,), "city"),
    (FacilityKind.SUNSHINE_HOME, 3, (240, 220, 200), "town"),
    (FacilityKind.LABOUR_BASE, 6, (80,), "town"),
    (FacilityKind.RESETTLEMENT_BASE, 3, (60,), "town"),
    (FacilityKind.SPRING_RAIN_SCHOOL, 1, (300,), "city"),
    (FacilityKind.ELDERLY_UNIVERSITY, 1, (400,), "city"),
    (FacilityKind.CHILDRENS_HOME, 13, (40, 50, 60, 80), "rural"),
    (FacilityKind.WOMENS_BASE, 17, (30, 40, 50, 60), "rural"),
    (FacilityKind.AFTER_SCHOOL_CLUB, 20, (30, 40, 50, 60), "zone"),
]
FACILITY_NAMES = {
    FacilityKind.REHAB_CENTRE: "凯里市戒毒康复中心",
    FacilityKind.SUNSHINE_HOME: "{place}阳光家园",
    FacilityKind.LABOUR_BASE: "{place}公益劳动基地",
    FacilityKind.RESETTLEMENT_BASE: "{place}过渡性安置就业基地",
    FacilityKind.SPRING_RAIN_SCHOOL: "凯里市春雨学校",
    FacilityKind.ELDERLY_UNIVERSITY: "凯里市老年大学",
    FacilityKind.CHILDRENS_HOME: "{place}儿童之家",
    FacilityKind.WOMENS_BASE: "{place}妇女创业基地",
    FacilityKind.AFTER_SCHOOL_CLUB: "{place}“四点半”课堂",
}

# Demo officers (kaili/demo.py) and the programmes they run.
DEMO_DUTIES = {
    "officer": (Programme.DRUG_REHAB,),
    "officer_justice": (Programme.CORRECTION, Programme.RELEASED),
    "officer_care": (Programme.MENTAL_HEALTH, Programme.YOUTH, Programme.LEFT_BEHIND),
}
# Nodes the demo accounts work in: each programme gets a couple of members in each, so
# every demo account has something to open at any scale.
SHOWCASE_CODES = ("522601001001001", "522601002001001")
SHOWCASE_EACH = 2


def scaled(base: int, scale: float) -> int:
    """A figure at ``scale``: proportional, and at least 1 where the figure is not zero."""
    if base <= 0 or scale <= 0:
        return 0
    return max(1, round(base * scale))


def programme_targets(scale: float) -> dict[str, int]:
    """Active members per programme at ``scale``; big enough for the seed figures inside them."""
    targets = {programme: scaled(size, scale) for programme, size in PROGRAMME_SIZES.items()}
    if scale > 0:
        # a programme holds its seed figure and, where the report says "plus others", more
        targets[Programme.MENTAL_HEALTH] = max(targets[Programme.MENTAL_HEALTH], scaled(CARE_CONTRACTS, scale))
        targets[Programme.CORRECTION] = max(targets[Programme.CORRECTION], scaled(ENTREPRENEURSHIP_SUPPORT, scale) + 1)
        targets[Programme.DRUG_REHAB] = max(targets[Programme.DRUG_REHAB], scaled(SUNSHINE_EMPLOYED, scale) + 1)
        targets[Programme.YOUTH] = max(targets[Programme.YOUTH], scaled(RETURNED_TO_SCHOOL, scale) + 1)
    return targets


def seed_figures(scale: float) -> dict[str, int]:
    return {
        "care_contracts": scaled(CARE_CONTRACTS, scale),
        "entrepreneurship_support": scaled(ENTREPRENEURSHIP_SUPPORT, scale),
        "sunshine_employed": scaled(SUNSHINE_EMPLOYED, scale),
        "returned_to_school": scaled(RETURNED_TO_SCHOOL, scale),
    }


# --- names, places, people ---------------------------------------------------------------

# Surnames by ethnic group, most common first (Qiandongnan: Yang, Wu, Long, Pan... among the Miao).
SURNAMES = {
    "06": "杨吴龙潘张王李石顾邰万欧文罗刘陈熊唐宋田蒋",
    "12": "吴杨石龙姜粟陆欧林张王李潘",
    "01": "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗",
}
GIVEN = {
    ("M", "old"): "光明志刚文华国强建军德福金成正勇忠林祥兴海平云贵天宏永昌发富榜老",
    ("M", "young"): "宇杰浩俊辉鹏涛斌亮轩睿晨博航子豪泽铭磊凯翔文明金",
    ("F", "old"): "梅兰花玉秀英芳丽红燕霞娟琴萍珍艳翠春桂凤莲银仙妹",
    ("F", "young"): "婷雪静欣怡雨萱涵佳琪诗悦梓蕊可心晓思紫银花",
}
# GB/T 3304 codes: Kaili is mostly Miao (06), then Han (01) and Dong (12).
ETHNICITY_WEIGHTS = {"06": 62, "01": 22, "12": 9, "09": 2, "25": 2, "37": 2, "15": 1}
# Floating residents come from the other Qiandongnan counties, Guiyang and beyond.
OTHER_REGIONS = (
    "522622", "522623", "522624", "522625", "522626", "522627", "522628", "522629", "522630", "522631", "522632",
    "522633", "522634", "522635", "522636", "520102", "520103", "520111", "522301", "522401", "520201", "430102",
    "450102", "500101", "530102",
)  # fmt: skip
MOBILE_PREFIXES = ("13", "15", "18")
URBAN_WORK = {
    "企业职工": 22,
    "个体工商户": 14,
    "服务业从业人员": 14,
    "事业单位职工": 6,
    "公务员": 4,
    "教师": 4,
    "医护人员": 3,
    "司机": 4,
    "快递员": 3,
    "自由职业": 6,
    "灵活就业": 8,
    "待业": 8,
}
RURAL_WORK = {
    "务农": 42,
    "外出务工": 26,
    "养殖户": 6,
    "个体经营": 6,
    "建筑工人": 6,
    "民族手工艺（银饰、刺绣）": 4,
    "乡村旅游从业人员": 4,
    "村医": 1,
    "乡村教师": 1,
    "待业": 4,
}


def _weighted(mapping: dict) -> tuple[list, list]:
    return list(mapping), list(mapping.values())


class Names:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.surnames = {eth: (list(chars), [len(chars) - i for i in range(len(chars))]) for eth, chars in SURNAMES.items()}

    def surname(self, ethnicity: str) -> str:
        chars, weights = self.surnames.get(ethnicity, self.surnames["06"])
        return self.rng.choices(chars, weights)[0]

    def given(self, sex: str, age: int) -> str:
        pool = GIVEN[(sex, "old" if age >= 40 else "young")]
        first = self.rng.choice(pool)
        return first if self.rng.random() < 0.3 else first + self.rng.choice(pool)

    def full(self, ethnicity: str = "06", sex: str | None = None, age: int = 45) -> str:
        sex = sex or self.rng.choice("MF")
        return self.surname(ethnicity) + self.given(sex, age)


def _born_between(rng: random.Random, today: datetime.date, age: int) -> datetime.date:
    """A birth date that makes someone exactly ``age`` today."""

    def years_before(years: int) -> datetime.date:
        try:
            return today.replace(year=today.year - years)
        except ValueError:  # 29 February
            return today.replace(year=today.year - years, day=28)

    latest = years_before(age)
    earliest = years_before(age + 1) + datetime.timedelta(days=1)
    return earliest + datetime.timedelta(days=rng.randrange((latest - earliest).days + 1))


def _household_shape(rng: random.Random) -> list[tuple[str, int, str]]:
    """(relation, age, sex) of each member: two to four people, mean ~2.9."""
    size = rng.choices((2, 3, 4), (35, 40, 25))[0]
    head_age = int(rng.triangular(22, 89, 50))
    head_sex = "M" if rng.random() < 0.78 else "F"
    members = [(Relation.HEAD, head_age, head_sex)]
    if rng.random() < 0.75:
        spouse_age = min(90, max(20, head_age + (rng.randint(-6, 3) if head_sex == "M" else rng.randint(-3, 6))))
        members.append((Relation.SPOUSE, spouse_age, "F" if head_sex == "M" else "M"))
    while len(members) < size:
        roll = rng.random()
        if head_age <= 52 and roll < 0.15 and head_age + 22 <= 90:
            members.append((Relation.PARENT, rng.randint(head_age + 20, min(90, head_age + 32)), rng.choice("MF")))
        elif head_age >= 58 and roll < 0.55:
            members.append((Relation.GRANDCHILD, rng.randint(0, min(17, head_age - 40)), rng.choice("MF")))
        elif roll > 0.96:
            members.append((Relation.SIBLING, min(90, max(16, head_age + rng.randint(-8, 8))), rng.choice("MF")))
        else:
            age = head_age - rng.randint(20, 36)
            members.append((Relation.CHILD, age if age >= 0 else rng.randint(0, max(0, head_age - 18)), rng.choice("MF")))
    return members


def _occupation(rng: random.Random, age: int, rural: bool, work: tuple[list, list]) -> str:
    if age < 6:
        return "学龄前儿童"
    if age < 16:
        return "学生"
    if age < 19:
        return "学生" if rng.random() < 0.8 else rng.choices(*work)[0]
    if age < 23 and rng.random() < 0.4:
        return "学生"
    if age >= 60:
        if rural:
            return "务农" if age < 75 and rng.random() < 0.6 else "无业"
        return "退休" if rng.random() < 0.8 else "无业"
    return rng.choices(*work)[0]


def _phone(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**9):09d}"


@dataclass(slots=True)
class Resident:
    """What the programme draw needs to know of a new resident (kept for all of them)."""

    pk: int
    unit_id: int
    age: int
    sex: str
    name: str
    ethnicity: str


@dataclass(slots=True)
class UnitInfo:
    pk: int
    code: str
    name: str
    households: int
    rural: bool
    grid_seq: int
    town_id: int | None
    place: str  # town + zone name, for addresses
    showcase: str | None = None


class IdentityNumbers:
    """Unique valid identity numbers: one order-code counter per (region, birth date, sex),
    checked against every number already stored (through the keyed hashes)."""

    def __init__(self, rng: random.Random, used_hashes: set[str]):
        self.rng = rng
        self.used = used_hashes
        self.next_order: dict[tuple, int] = {}

    def assign(self, person: Person, region: str, born: datetime.date, sex: str) -> None:
        key = (region, born, sex)
        sequence = self.next_order.get(key)
        if sequence is None:
            sequence = self.rng.randrange(500)
        for _attempt in range(500):
            person.set_identity_number(make_identity_number(region, born, sequence, sex))
            sequence = (sequence + 1) % 500
            if person.id_number_hash not in self.used:
                self.used.add(person.id_number_hash)
                self.next_order[key] = sequence
                return
        raise ValueError(f"no identity number left for {region} {born} {sex}")


# --- the tree --------------------------------------------------------------------------


def load_units() -> tuple[list[UnitInfo], dict]:
    """Open units in code order, with the names and area type of their grid, zone and town."""
    upper = {
        row["pk"]: row
        for row in Grid.objects.active()
        .exclude(kind=GridKind.UNIT)
        .values("pk", "code", "name", "kind", "area_type", "parent_id", "tree_id", "lft", "rght")
    }

    def ancestor(pk, kind):
        while pk is not None and pk in upper:
            if upper[pk]["kind"] == kind:
                return upper[pk]
            pk = upper[pk]["parent_id"]
        return None

    showcase = [row for row in upper.values() if row["code"] in SHOWCASE_CODES]
    units = []
    for row in (
        Grid.objects.active()
        .filter(kind=GridKind.UNIT)
        .order_by("code")
        .values("pk", "code", "name", "households", "parent_id", "tree_id", "lft")
    ):
        grid = upper.get(row["parent_id"]) or {}
        zone = ancestor(row["parent_id"], GridKind.ZONE) or {}
        town = ancestor(row["parent_id"], GridKind.TOWN) or {}
        grid_code = grid.get("code", "")
        inside = next(
            (s["code"] for s in showcase if s["tree_id"] == row["tree_id"] and s["lft"] <= row["lft"] <= s["rght"]), None
        )
        units.append(
            UnitInfo(
                pk=row["pk"],
                code=row["code"],
                name=row["name"],
                households=row["households"] or 0,
                rural=(grid.get("area_type") or zone.get("area_type")) == "rural",
                grid_seq=int(grid_code[-3:]) if grid_code[-3:].isdigit() else 1,
                town_id=town.get("pk"),
                place=town.get("name", "") + zone.get("name", ""),
                showcase=inside,
            )
        )
    return units, upper


# --- registry --------------------------------------------------------------------------


def households_per_unit(units: list[UnitInfo], scale: float) -> list[tuple[UnitInfo, int]]:
    """``households × scale`` per unit, rounded with the remainder carried on in code order, so
    that the total is the rounded total and a small scale still spreads households over the
    whole tree (at 0.02 about one unit in four has one) instead of rounding every unit to 0."""
    counts, carried, given = [], 0.0, 0
    for unit in units:
        carried += unit.households * scale
        count = min(999, max(0, round(carried) - given))  # the household number has a 3-digit sequence
        given += count
        counts.append((unit, count))
    return counts


def planned_households(scale: float) -> int:
    """How many households a full load of the current tree makes at ``scale``."""
    units, _upper = load_units()
    return sum(count for _unit, count in households_per_unit(units, scale))


@dataclass
class Registry:
    households: int = 0
    people: int = 0
    residents: list[Resident] = field(default_factory=list)


def _forget_logged_queries() -> None:
    # With DEBUG on, Django keeps the text of every query; a bulk INSERT of 5,000 rows is
    # megabytes. Drop it between batches unless someone (a test, a benchmark) is counting.
    if settings.DEBUG and not connection.force_debug_cursor:
        connection.queries_log.clear()


HOUSEHOLD_COLUMNS = (
    "id", "number", "unit_id", "address", "doorplate", "registration", "head_id", "doorplate_token", "created_at", "updated_at",
)  # fmt: skip
PERSON_COLUMNS = (
    "id", "household_id", "unit_id", "name", "id_number_encrypted", "id_number_hash", "id_number_masked", "sex",
    "birth_date", "ethnicity", "phone_encrypted", "phone_hash", "phone_masked", "relation", "residence", "occupation",
    "notes", "created_at", "updated_at",
)  # fmt: skip


def _check_columns(model, columns) -> None:
    # COPY leaves out what it is not given: a new field must be added here, not forgotten.
    expected = {f.column for f in model._meta.concrete_fields}
    if set(columns) != expected:
        raise RuntimeError(f"{model.__name__} columns changed: {sorted(expected ^ set(columns))}")


def _allocate_ids(model, count: int) -> list[int]:
    """``count`` ids from the table's own sequence, so rows can point at each other before COPY."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [row[0] for row in cursor.fetchall()]


def _copy(model, columns, rows) -> None:
    """COPY rows in: several times faster than bulk_create's INSERT for hundreds of thousands of rows."""
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def seed_registry(*, rng: random.Random, units: list[UnitInfo], scale: float, today: datetime.date, progress) -> Registry:
    """Households and people of every unit that has none yet.

    Rows are written with COPY under ids drawn from the tables' sequences, so a household
    names its head as it is written (foreign keys are checked at commit). Identity and
    phone numbers go through ``Person.set_identity_number`` / ``set_phone`` as everywhere.
    """
    _check_columns(Household, HOUSEHOLD_COLUMNS)
    _check_columns(Person, PERSON_COLUMNS)
    filled = set(Household.objects.order_by().values_list("unit_id", flat=True).distinct())
    todo = [(unit, count) for unit, count in households_per_unit(units, scale) if count > 0 and unit.pk not in filled]
    # an empty unit may still have numbered households that have moved away: numbers are never reused
    numbered = last_household_sequences({unit.code for unit, _count in todo})
    todo = [(unit, min(count, 999 - numbered.get(unit.code, 0))) for unit, count in todo]
    registry = Registry()
    total = sum(count for _unit, count in todo)
    if not total:
        return registry
    used = set(Person.objects.values_list("id_number_hash", flat=True))
    numbers = IdentityNumbers(rng, used)
    names = Names(rng)
    ethnicities = _weighted(ETHNICITY_WEIGHTS)
    work = {True: _weighted(RURAL_WORK), False: _weighted(URBAN_WORK)}
    now = timezone.now()
    scratch = Person()  # encrypts, hashes and masks each number; its fields are copied into the row
    households: list[list] = []
    people: list[list] = []  # [None, household index in the batch, ...]
    residents: list[Resident] = []

    def flush():
        household_ids = _allocate_ids(Household, len(households))
        person_ids = _allocate_ids(Person, len(people))
        for household, pk in zip(households, household_ids, strict=True):
            household[0] = pk
        for row, pk, resident in zip(people, person_ids, residents, strict=True):
            row[0], resident.pk = pk, pk
            row[1] = households[row[1]]
            if row[13] == Relation.HEAD:
                row[1][6] = pk
            row[1] = row[1][0]
        _copy(Household, HOUSEHOLD_COLUMNS, households)
        _copy(Person, PERSON_COLUMNS, people)
        registry.households += len(households)
        registry.people += len(people)
        registry.residents.extend(residents)
        households.clear()
        people.clear()
        residents.clear()
        progress("住户与人员", registry.households, total)

    progress("住户与人员", 0, total)
    for unit, count in todo:
        doorplate_number = 0
        first = numbered.get(unit.code, 0) + 1
        for sequence in range(first, first + count):
            floating = rng.random() < (0.04 if unit.rural else 0.18)
            if unit.rural:
                doorplate_number += rng.randint(1, 3)
                doorplate = f"{doorplate_number}号"
                address = f"凯里市{unit.place}{unit.grid_seq}组{doorplate}"
            else:
                doorplate = f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}室"
                address = f"凯里市{unit.place}{unit.name}{doorplate}"
            registration = Registration.RESIDENT_ONLY if floating else Registration.REGISTERED
            index = len(households)
            households.append(
                [
                    None,
                    f"{unit.code}{sequence:03d}",
                    unit.pk,
                    address,
                    doorplate,
                    registration.value,
                    None,
                    new_doorplate_token(),
                    now,
                    now,
                ]
            )
            family_ethnicity = rng.choices(*ethnicities)[0]
            family_name = names.surname(family_ethnicity)
            region = rng.choice(OTHER_REGIONS) if floating else CITY_REGION
            for relation, age, sex in _household_shape(rng):
                # a spouse or a parent may come from another family, another group, another county
                own_family = relation in (Relation.HEAD, Relation.CHILD, Relation.GRANDCHILD, Relation.SIBLING)
                ethnicity = family_ethnicity if own_family or rng.random() < 0.7 else rng.choices(*ethnicities)[0]
                name = (family_name if own_family else names.surname(ethnicity)) + names.given(sex, age)
                from_elsewhere = floating or (relation == Relation.SPOUSE and rng.random() < 0.05)
                born = _born_between(rng, today, age)
                numbers.assign(scratch, region if not from_elsewhere or floating else rng.choice(OTHER_REGIONS), born, sex)
                scratch.set_phone(_phone(rng) if age >= 18 and rng.random() < (0.55 if age >= 75 else 0.92) else "")
                people.append(
                    [
                        None,
                        index,
                        unit.pk,
                        name,
                        scratch.id_number_encrypted,
                        scratch.id_number_hash,
                        scratch.id_number_masked,
                        sex,
                        born,
                        ethnicity,
                        scratch.phone_encrypted,
                        scratch.phone_hash,
                        scratch.phone_masked,
                        relation.value,
                        (Residence.FLOATING if from_elsewhere else Residence.REGISTERED).value,
                        _occupation(rng, age, unit.rural, work[unit.rural]),
                        "",
                        now,
                        now,
                    ]
                )
                residents.append(Resident(0, unit.pk, age, sex, name, ethnicity))
            if len(households) >= BATCH:
                flush()
    flush()
    return registry


# --- facilities ------------------------------------------------------------------------


def seed_facilities(*, rng: random.Random, upper: dict) -> int:
    """The programme facilities, once: a kind that already has its number is left alone."""
    nodes = sorted(upper.values(), key=lambda row: row["code"])
    by_kind = defaultdict(list)
    for row in nodes:
        by_kind[row["kind"]].append(row)
    zones = by_kind[GridKind.ZONE]
    places = {
        "city": by_kind[GridKind.CITY] or by_kind[GridKind.TOWN],
        "town": by_kind[GridKind.TOWN],
        "rural": [z for z in zones if z["area_type"] == "rural"] or zones,
        "zone": zones,
    }
    have = Counter(Facility.objects.values_list("kind", flat=True))
    names = set(Facility.objects.values_list("name", flat=True))
    created = []
    for kind, count, capacities, where in FACILITY_PLAN:
        candidates = places[where] or nodes
        missing = count - have[kind]
        if missing <= 0 or not candidates:
            continue
        picked = rng.sample(candidates, min(missing, len(candidates)))
        picked += [rng.choice(candidates) for _ in range(missing - len(picked))]
        for i, node in enumerate(sorted(picked, key=lambda row: row["code"])):
            name = FACILITY_NAMES[kind].format(place=node["name"])
            serial = 2
            while name in names:
                name = FACILITY_NAMES[kind].format(place=node["name"]) + f"（{serial}）"
                serial += 1
            names.add(name)
            created.append(Facility(grid_id=node["pk"], kind=kind, name=name, capacity=capacities[i % len(capacities)]))
    Facility.objects.bulk_create(created)
    return len(created)


class Places:
    """Free places per facility, handed out near the person (same town first)."""

    def __init__(self, upper: dict):
        occupied = dict(
            Placement.objects.filter(ended_on__isnull=True).values_list("facility").annotate(n=Count("pk")).order_by()
        )
        self.free: dict[str, list[list]] = defaultdict(list)  # kind -> [[facility, town_id, free], ...]
        for facility in Facility.objects.filter(retired_at__isnull=True).order_by("pk"):
            town = self._town_of(facility.grid_id, upper)
            self.free[facility.kind].append([facility, town, facility.capacity - occupied.get(facility.pk, 0)])

    @staticmethod
    def _town_of(pk, upper):
        while pk in upper:
            if upper[pk]["kind"] == GridKind.TOWN:
                return pk
            pk = upper[pk]["parent_id"]
        return None

    def take(self, kind: str, town_id) -> Facility | None:
        slots = [slot for slot in self.free.get(kind, ()) if slot[2] > 0]
        if not slots:
            return None
        near = [slot for slot in slots if slot[1] == town_id]
        slot = near[0] if near else max(slots, key=lambda s: s[2])
        slot[2] -= 1
        return slot[0]


# --- programmes ------------------------------------------------------------------------


@dataclass
class Member:
    """One enrollment to write, with its detail record, placements and visits."""

    resident: Resident
    enrollment: Enrollment
    record: object
    placements: list = field(default_factory=list)
    visits: list = field(default_factory=list)


def _draw(
    rng, pool: list[Resident], count: int, taken: set[int], *, male_share=None, showcase_units=None, showcase_pool=None
) -> list[Resident]:
    """``count`` residents not yet taken: the showcase units' first (from ``showcase_pool``,
    default ``pool``), then anywhere in ``pool`` at random."""
    chosen: list[Resident] = []
    if showcase_units:
        shown = [r for r in showcase_pool or pool if r.unit_id in showcase_units and r.pk not in taken]
        for code in SHOWCASE_CODES:
            here = [r for r in shown if showcase_units[r.unit_id] == code]
            chosen += rng.sample(here, min(SHOWCASE_EACH, len(here), count - len(chosen)))
    picked = {r.pk for r in chosen}
    rest = [r for r in pool if r.pk not in taken and r.pk not in picked]
    need = count - len(chosen)
    if need > 0 and male_share is not None:
        men = [r for r in rest if r.sex == "M"]
        women = [r for r in rest if r.sex == "F"]
        want_men = min(len(men), max(need - len(women), round(need * male_share)))
        chosen += rng.sample(men, want_men) + rng.sample(women, min(len(women), need - want_men))
    elif need > 0:
        chosen += rng.sample(rest, min(need, len(rest)))
    taken.update(r.pk for r in chosen)
    rng.shuffle(chosen)
    return chosen


def _days_ago(today, low, high, rng) -> datetime.date:
    return today - datetime.timedelta(days=rng.randint(low, high))


def _level(rng, programme) -> int:
    if programme == Programme.MENTAL_HEALTH:
        return rng.choices(range(6), (60, 18, 12, 6, 3, 1))[0]
    return rng.choices((1, 2, 3), (55, 30, 15))[0]


def _attention(programme, level) -> str:
    high = level >= 3
    middle = level in (1, 2) if programme == Programme.MENTAL_HEALTH else level == 2
    return AttentionLevel.KEY if high else AttentionLevel.ATTENTION if middle else AttentionLevel.NORMAL


class ProgrammeWriter:
    """Builds enrollments of every programme with plausible details, visits and places."""

    def __init__(self, rng, names: Names, today, units: dict[int, UnitInfo], places: Places, rules: RuleBook):
        self.rng, self.names, self.today, self.units, self.places, self.rules = rng, names, today, units, places, rules
        self.placing = True
        self.earliest_start = 0

    def start(self, low: int, high: int) -> datetime.date:
        """A start date ``low``-``high`` days ago; long enough ago for a forced due state to show."""
        low = max(low, self.earliest_start)
        return _days_ago(self.today, low, max(low, high), self.rng)

    def cadre(self, title=""):
        return self.names.full(self.rng.choice(("06", "06", "06", "01", "12"))) + title

    def member(self, resident: Resident, programme: str, *, active=True, flag=False, kind=None, state=None) -> Member:
        """An enrollment with its record; ``state`` forces "overdue" or "due" (else drawn)."""
        rng, today = self.rng, self.today
        level = _level(rng, programme)
        enrollment = Enrollment(
            person_id=resident.pk,
            programme=programme,
            level=level,
            attention=_attention(programme, level),
            started_on=today,
        )
        # a forced state needs a visit more than one interval (up to 3 months) and 45 days ago
        self.earliest_start = 140 if state else 0
        enrollment.started_on = self.start(120, 6 * 365)
        unit = self.units[resident.unit_id]
        self.placing = active  # people who have left hold no places
        record, places = getattr(self, f"_{programme}")(enrollment, resident, unit, flag=flag and active, kind=kind)
        member = Member(resident, enrollment, record)
        if active:
            member.visits = self.visits(enrollment, state)
            # what refresh_all_schedules would compute, so that its one pass finds it done
            last_by_kind = {}
            for visit in member.visits:
                last_by_kind[visit.kind] = max(visit.visited_on, last_by_kind.get(visit.kind, visit.visited_on))
            enrollment.last_visit_on = max(last_by_kind.values(), default=None)
            enrollment.next_due_on = self.rules.next_due(enrollment, last_by_kind)
            enrollment.overdue = due_state(enrollment.next_due_on, today) == "overdue"
            since = (today - enrollment.started_on).days
            member.placements = [
                Placement(
                    enrollment=enrollment,
                    facility=facility,
                    started_on=enrollment.started_on + datetime.timedelta(days=rng.randint(0, min(90, since))),
                    note=note,
                )
                for facility, note in places
            ]
        else:
            enrollment.status = EnrollmentStatus.EXITED
            latest = today - datetime.timedelta(days=1)
            enrollment.exited_on = max(
                enrollment.started_on, min(latest, enrollment.started_on + datetime.timedelta(days=rng.randint(90, 900)))
            )
            enrollment.exit_reason = rng.choices(
                (ExitReason.COMPLETED, ExitReason.RECOVERED, ExitReason.MOVED, ExitReason.TRANSFERRED, ExitReason.DECEASED),
                (45, 25, 18, 7, 5),
            )[0]
        return member

    def take(self, kind: str, town_id) -> Facility | None:
        return self.places.take(kind, town_id) if self.placing else None

    # each returns (detail record, [(facility, note)])

    def _mental_health(self, enrollment, resident, unit, flag, kind):
        rng = self.rng
        guardian_relation = rng.choice(("父亲", "母亲", "配偶", "子女", "兄弟姐妹"))
        guardian = self.names.full(resident.ethnicity)
        record = MentalHealthRecord(
            enrollment=enrollment,
            diagnosis=rng.choices(Diagnosis.values, (55, 8, 6, 14, 7, 10))[0],
            guardian_name=guardian,
            guardian_relation=guardian_relation,
            manager_guardian=guardian,
            manager_village_cadre=self.cadre(),
            manager_subdistrict_cadre=self.cadre(),
            manager_police=self.cadre("（社区民警）"),
            help_subdistrict=rng.random() < 0.6,
            help_civil_affairs=rng.random() < 0.45,
            help_medical_insurance=rng.random() < 0.8,
        )
        if flag:  # the guardian care contract with reward funding (以奖代补)
            record.contract_signed_on = max(enrollment.started_on, _days_ago(self.today, 30, 700, rng))
            record.contract_reward = Decimal(rng.choice((1200, 1800, 2400)))
            record.help_note = "签订监护人管护合同，按季度考核发放以奖代补资金。"
        return record, []

    def _correction(self, enrollment, resident, unit, flag, kind):
        rng, today = self.rng, self.today
        start = self.start(10, 3 * 365)
        enrollment.started_on = start
        judgment = start - datetime.timedelta(days=rng.randint(3, 9))  # report within 10 days (CCL implementing measures)
        months = rng.choice((6, 8, 12, 18, 24, 36, 48))
        end = add_months(start, months)
        if end <= today:
            end = add_months(today, rng.randint(1, 12))
        enrollment.planned_end_on = end
        category = rng.choices(CorrectionCategory.values, (3, 75, 10, 12))[0]
        record = CorrectionRecord(
            enrollment=enrollment,
            category=category,
            judgment_on=judgment,
            reported_on=start,
            correction_start=start,
            correction_end=end,
            supervision_level=SupervisionLevel.STRICT if rng.random() < 0.2 else SupervisionLevel.ORDINARY,
            fixed_workplace=rng.choice(("个体经营", "务农", "企业务工", "外出务工（已报备）", "待业")),
            fixed_guarantor=self.names.full(resident.ethnicity),
            fixed_officer=self.cadre("（司法所）"),
            fixed_checkin_schedule="每周一到司法所签到" if rng.random() < 0.5 else "每月5日前到司法所报到",
            fixed_study_hours=8,
            fixed_visit_schedule="司法所每月走访1次",
        )
        placements = []
        if rng.random() < 0.35:
            base = self.take(FacilityKind.LABOUR_BASE, unit.town_id)
            if base:
                record.labour_base = base
                placements.append((base, "社区服务（公益劳动）"))
        if flag:
            record.entrepreneurship_support = True
            record.entrepreneurship_note = rng.choice(
                ("小额创业贷款贴息", "养殖技术培训与种苗扶持", "个体经营证照代办", "民族手工艺合作社入股", "电商创业培训")
            )
        return record, placements

    def _released(self, enrollment, resident, unit, flag, kind):
        rng, today = self.rng, self.today
        released = self.start(20, 5 * 365)
        enrollment.started_on = released
        resettled = rng.random() < 0.8
        offence = rng.choices(
            ("盗窃罪", "故意伤害罪", "贩卖毒品罪", "诈骗罪", "寻衅滋事罪", "抢劫罪", "交通肇事罪", "容留他人吸毒罪"),
            (30, 18, 14, 10, 10, 6, 6, 6),
        )[0]
        record = ReleasedRecord(
            enrollment=enrollment,
            offence=offence,
            sentence=f"有期徒刑{rng.randint(1, 10)}年",
            released_from="rehab" if rng.random() < 0.15 else "prison",
            released_on=released,
            risk=rng.choices(ReleaseRisk.values, (60, 30, 10))[0],
            handover_on=released,
            handover_how="必接：司法所、乡镇（街道）和村（居）干部到监所接回",
            pair_justice_office=self.cadre("（司法所）"),
            pair_township=self.cadre(),
            pair_village_cadre=self.cadre(),
        )
        enrollment.level = {"low": 1, "medium": 2, "high": 3}[record.risk]
        enrollment.attention = _attention(Programme.RELEASED, enrollment.level)
        placements = []
        if resettled:
            record.resettled_on = released + datetime.timedelta(days=rng.randint(3, 60))
            record.resettled_on = min(record.resettled_on, today)
            base = self.take(FacilityKind.RESETTLEMENT_BASE, unit.town_id) if rng.random() < 0.3 else None
            if base:
                record.resettlement_how = "过渡性安置基地就业"
                placements.append((base, "过渡性安置就业"))
            else:
                record.resettlement_how = rng.choice(("返乡务农", "企业就业", "自主创业", "外出务工"))
        else:
            record.not_resettled_reason = rng.choice(("本人暂无就业意愿", "身体原因暂不能就业", "正在联系就业岗位"))
        return record, placements

    def _drug_rehab(self, enrollment, resident, unit, flag, kind):
        rng, today = self.rng, self.today
        # Community rehabilitation runs 3 years (Anti-Drug Law art. 33): active ones started within them.
        enrollment.started_on = self.start(20, 3 * 365 - 20)
        enrollment.planned_end_on = add_months(enrollment.started_on, 36)
        record = DrugRehabRecord(
            enrollment=enrollment,
            kind=DrugRehabKind.COMMUNITY_REHAB if rng.random() < 0.6 else DrugRehabKind.COMMUNITY_RECOVERY,
            period_years=3,
            reported_on=enrollment.started_on,
            agreement_on=enrollment.started_on + datetime.timedelta(days=rng.randint(0, 14)),
            counselling=rng.choice(("禁毒社工每月心理辅导1次", "参加家庭支持小组", "个案心理咨询", "")),
        )
        record.agreement_on = min(record.agreement_on, today)
        placements = []
        if flag:
            home = self.take(FacilityKind.SUNSHINE_HOME, unit.town_id)
            if home:
                placements.append((home, rng.choice(("阳光家园车间就业", "阳光家园种养殖基地就业", "阳光家园手工坊就业"))))
        elif rng.random() < 0.3:
            centre = self.take(FacilityKind.REHAB_CENTRE, unit.town_id)
            if centre:
                placements.append((centre, "康复中心集中康复"))
        return record, placements

    def _youth(self, enrollment, resident, unit, flag, kind):
        rng, today = self.rng, self.today
        enrollment.started_on = self.start(30, 2 * 365)
        if flag:
            status = SchoolStatus.RETURNED
        elif resident.age <= 17:
            status = rng.choices((SchoolStatus.SPRING_RAIN, SchoolStatus.DROPPED_OUT, SchoolStatus.IN_SCHOOL), (35, 35, 30))[0]
        else:
            status = rng.choices((SchoolStatus.WORKING, SchoolStatus.DROPPED_OUT), (60, 40))[0]
        record = YouthRecord(
            enrollment=enrollment,
            kind=rng.choices(YouthKind.values, (35, 25, 5, 10, 25))[0],
            family_situation=rng.choice(("父母外出务工，随祖父母生活", "单亲家庭", "父母离异", "家庭经济困难", "父母一方服刑")),
            guardian_name=self.names.full(resident.ethnicity),
            mentor=self.cadre("（春雨工程帮扶人）"),
            school_status=status,
            help_means=rng.choice(("一对一结对帮扶", "心理辅导", "春雨学校帮教", "技能培训", "法治教育")),
        )
        placements = []
        if status == SchoolStatus.RETURNED:
            record.returned_to_school_on = max(enrollment.started_on, _days_ago(today, 10, 300, rng))
            record.progress = "经春雨学校帮教后已复学"
        elif status == SchoolStatus.SPRING_RAIN:
            school = self.take(FacilityKind.SPRING_RAIN_SCHOOL, unit.town_id)
            if school:
                placements.append((school, "春雨学校就读"))
        return record, placements

    def _left_behind(self, enrollment, resident, unit, flag, kind):
        rng = self.rng
        kind = kind or LeftBehindKind.CHILD
        record = LeftBehindRecord(
            enrollment=enrollment,
            kind=kind,
            health=rng.choices(HealthStatus.values, (60, 25, 12, 3))[0],
            paired_cadre=self.cadre("（结对干部）"),
        )
        placements = []
        if kind == LeftBehindKind.CHILD:
            record.needs = rng.choice(("课后学习辅导", "亲情陪伴", "心理关爱", "生活照料"))
            record.help = "结对帮扶，定期走访，亲情电话"
            roll = rng.random()
            facility_kind = FacilityKind.CHILDRENS_HOME if roll < 0.3 else FacilityKind.AFTER_SCHOOL_CLUB if roll < 0.55 else None
            note = "儿童之家托管" if facility_kind == FacilityKind.CHILDRENS_HOME else "“四点半”课堂"
        elif kind == LeftBehindKind.WOMAN:
            record.annual_income = Decimal(rng.randrange(6000, 30000, 500))
            record.needs = rng.choice(("就近就业", "技能培训", "照顾老人和孩子", "创业资金"))
            record.help = "妇女创业基地技能培训"
            facility_kind = FacilityKind.WOMENS_BASE if rng.random() < 0.35 else None
            note = "妇女创业基地就业"
        else:
            record.annual_income = Decimal(rng.randrange(2000, 15000, 500))
            record.needs = rng.choice(("生活照料", "就医", "精神慰藉", "住房修缮"))
            record.help = "结对干部定期探访，协助就医"
            facility_kind = FacilityKind.ELDERLY_UNIVERSITY if rng.random() < 0.12 else None
            note = "老年大学学员"
        if facility_kind:
            facility = self.take(facility_kind, unit.town_id)
            if facility:
                placements.append((facility, note))
        return record, placements

    def visits(self, enrollment: Enrollment, state: str | None = None) -> list[Visit]:
        """Past visits of each of the programme's scheduled kinds, so that about one member in
        eight is overdue, one in eight due within the week, and a few new ones were never visited."""
        state = state or self.rng.choices(("overdue", "due", "new", "ok"), (12, 12, 6, 70))[0]
        made = []
        for kind in sorted(self.rules.scheduled_kinds(enrollment.programme)):
            rule = self.rules.rule_for(enrollment, self.today, kind)
            if rule is not None:
                of_kind = self._visits_of_rule(enrollment, rule, state)
                oldest_first = sorted(of_kind, key=attrgetter("visited_on"))  # they are drawn newest first
                for visit, due_on in self.rules.due_dates(enrollment, rule.visit_kind, oldest_first):
                    visit.due_on = due_on
                made += of_kind
        return made

    def _visits_of_rule(self, enrollment: Enrollment, rule, state: str) -> list[Visit]:
        rng, today = self.rng, self.today
        step = rule.interval_months * 30 + rule.interval_days
        if state == "new":  # never visited yet: only someone enrolled within the interval
            if enrollment.started_on + datetime.timedelta(days=step) > today:
                return []
            state = "ok"
        if state == "overdue":
            last = today - datetime.timedelta(days=step + rng.randint(1, 45))
        elif state == "due":
            last = today - datetime.timedelta(days=max(0, step - rng.randint(0, 6)))
        else:
            last = today - datetime.timedelta(days=rng.randint(0, max(0, step - 10)))
        if last < enrollment.started_on:
            return []
        dates = [last]
        while len(dates) < 4 and dates[-1] - datetime.timedelta(days=step) >= enrollment.started_on:
            dates.append(dates[-1] - datetime.timedelta(days=step + rng.randint(-3, 3)))
        return [self.visit(enrollment, rule.visit_kind, day) for day in dates if day >= enrollment.started_on]

    def visit(self, enrollment, kind, day) -> Visit:
        rng = self.rng
        visit = Visit(enrollment=enrollment, kind=kind, visited_on=day, mode=VisitMode.HOME)
        if kind == VisitKind.FOLLOW_UP and enrollment.programme == Programme.MENTAL_HEALTH:
            visit.level = enrollment.level
            visit.mode = rng.choices((VisitMode.HOME, VisitMode.CLINIC, VisitMode.PHONE), (60, 25, 15))[0]
            stable = enrollment.level == 0
            visit.details = {
                "insight": "partial" if stable else rng.choice(("partial", "none")),
                "sleep": "good" if stable else rng.choice(("fair", "poor")),
                "diet": "good" if stable else "fair",
                "social_function": "fair",
                "medication": "regular" if stable or rng.random() < 0.5 else "intermittent",
                "effect": "improved" if stable else rng.choice(("unchanged", "improved")),
                "risky_behaviours": enrollment.level >= 3,
                "confined": False,
                "hospitalised": False,
            }
        elif kind == VisitKind.DRUG_TEST:
            visit.mode = VisitMode.OFFICE
            visit.result = rng.choices(("negative", "positive", "refused"), (95, 3, 2))[0]
        elif enrollment.programme == Programme.CORRECTION:
            visit.mode = rng.choice((VisitMode.HOME, VisitMode.OFFICE))
        visit.note = "按期走访，情况稳定。" if enrollment.level <= 1 else "已走访，需持续关注。"
        return visit


def _programme_groups(targets: dict[str, int], figures: dict[str, int], existing: dict, existing_flags: dict):
    """(programme, how many, who is eligible, male share, flagged count, left-behind kind) to draw."""
    groups = []

    def missing(programme, want):
        return max(0, want - existing.get(programme, 0))

    flagged_need = {name: max(0, n - existing_flags.get(name, 0)) for name, n in figures.items()}
    mental = missing(Programme.MENTAL_HEALTH, targets[Programme.MENTAL_HEALTH])
    groups.append((Programme.MENTAL_HEALTH, mental, lambda r: r.age >= 16, None, flagged_need["care_contracts"], None))
    correction = missing(Programme.CORRECTION, targets[Programme.CORRECTION])
    groups.append(
        (Programme.CORRECTION, correction, lambda r: 18 <= r.age <= 70, 0.86, flagged_need["entrepreneurship_support"], None)
    )
    released = missing(Programme.RELEASED, targets[Programme.RELEASED])
    groups.append((Programme.RELEASED, released, lambda r: 20 <= r.age <= 70, 0.9, 0, None))
    drug = missing(Programme.DRUG_REHAB, targets[Programme.DRUG_REHAB])
    groups.append((Programme.DRUG_REHAB, drug, lambda r: 18 <= r.age <= 60, 0.85, flagged_need["sunshine_employed"], None))
    youth = missing(Programme.YOUTH, targets[Programme.YOUTH])
    returned = min(youth, flagged_need["returned_to_school"])
    # those back at school are of school age; the rest of the at-risk young people 12-22
    groups.append((Programme.YOUTH, returned, lambda r: 12 <= r.age <= 17, 0.6, returned, None))
    groups.append((Programme.YOUTH, youth - returned, lambda r: 12 <= r.age <= 22, 0.65, 0, None))
    left = missing(Programme.LEFT_BEHIND, targets[Programme.LEFT_BEHIND])
    eligible = {
        LeftBehindKind.CHILD: lambda r: r.age <= 15,
        LeftBehindKind.WOMAN: lambda r: r.sex == "F" and 20 <= r.age <= 59,
        LeftBehindKind.ELDERLY: lambda r: r.age >= 65,
    }
    shares = list(LEFT_BEHIND_SHARES.items())
    counts = [round(left * share) for _kind, share in shares]
    counts[0] += left - sum(counts)
    for (kind, _share), count in zip(shares, counts, strict=True):
        groups.append((Programme.LEFT_BEHIND, count, eligible[kind], None, 0, kind))
    return groups


@dataclass
class Enrolled:
    members: int = 0
    visits: int = 0
    placements: int = 0


def _existing_flags() -> dict[str, int]:
    active = {"enrollment__status": EnrollmentStatus.ACTIVE}
    return {
        "care_contracts": MentalHealthRecord.objects.filter(contract_signed_on__isnull=False, **active).count(),
        "entrepreneurship_support": CorrectionRecord.objects.filter(entrepreneurship_support=True, **active).count(),
        "sunshine_employed": Placement.objects.filter(
            ended_on__isnull=True, facility__kind=FacilityKind.SUNSHINE_HOME, **active
        ).count(),
        "returned_to_school": YouthRecord.objects.filter(school_status=SchoolStatus.RETURNED, **active).count(),
    }


def seed_programmes(
    *, rng: random.Random, residents: list[Resident], units: list[UnitInfo], upper: dict, scale: float, today, progress
) -> Enrolled:
    result = Enrolled()
    if not residents:
        return result
    targets = programme_targets(scale)
    existing = dict(
        Enrollment.objects.active().values_list("programme").annotate(n=Count("pk")).values_list("programme", "n").order_by()
    )
    groups = _programme_groups(targets, seed_figures(scale), existing, _existing_flags())
    unit_by_pk = {unit.pk: unit for unit in units}
    showcase_units = {unit.pk: unit.showcase for unit in units if unit.showcase}
    rural_units = {unit.pk for unit in units if unit.rural}
    writer = ProgrammeWriter(rng, Names(rng), today, unit_by_pk, Places(upper), RuleBook())
    taken: set[int] = set(Enrollment.objects.active().values_list("person_id", flat=True))
    members: list[Member] = []
    total = sum(group[1] for group in groups)
    for programme, count, eligible, male_share, flagged, kind in groups:
        if count <= 0:
            continue
        everyone = pool = [r for r in residents if eligible(r)]
        if programme == Programme.LEFT_BEHIND:  # left behind in the villages, where people leave for work
            rural = [r for r in pool if r.unit_id in rural_units]
            pool = rural if len(rural) >= count else pool
        chosen = _draw(rng, pool, count, taken, male_share=male_share, showcase_units=showcase_units, showcase_pool=everyone)
        showcase_seen: Counter = Counter()
        for index, resident in enumerate(chosen):
            state = None
            code = showcase_units.get(resident.unit_id)
            if code:  # the demo accounts' own areas always show one overdue and one due
                state = ("overdue", "due", None)[min(showcase_seen[code], 2)]
                showcase_seen[code] += 1
            members.append(writer.member(resident, programme, flag=index < flagged, kind=kind, state=state))
            progress("在册人员", len(members), total)
        # people who have left the programme, for the history lists
        exited = round(count * EXITED_SHARE)
        for resident in _draw(rng, pool, exited, taken):
            members.append(writer.member(resident, programme, active=False, kind=kind))
    progress("在册人员", total, total)
    _write_members(members, result)
    return result


def _write_members(members: list[Member], result: Enrolled) -> None:
    # Records, visits and placements were built against unsaved enrollments; bulk_create
    # takes each one's id from its (by then saved) enrollment.
    for start in range(0, len(members), BATCH):
        chunk = members[start : start + BATCH]
        Enrollment.objects.bulk_create([m.enrollment for m in chunk])
        records = defaultdict(list)
        for m in chunk:
            records[type(m.record)].append(m.record)
        for model, rows in records.items():
            model.objects.bulk_create(rows)
        visits = [v for m in chunk for v in m.visits]
        Visit.objects.bulk_create(visits, batch_size=BATCH)
        placements = [p for m in chunk for p in m.placements]
        Placement.objects.bulk_create(placements, batch_size=BATCH)
        result.members += len(chunk)
        result.visits += len(visits)
        result.placements += len(placements)
        _forget_logged_queries()


# --- officers --------------------------------------------------------------------------


def seed_demo_duties() -> int:
    """The programmes the demo officers run (only for demo accounts that exist)."""
    created = 0
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_DUTIES)}
    for username, programmes in DEMO_DUTIES.items():
        if username in users:
            for programme in programmes:
                created += ProgrammeOfficer.objects.get_or_create(user=users[username], programme=programme)[1]
    return created


# --- the whole load --------------------------------------------------------------------


@dataclass
class DemoPopulations:
    households_created: int
    people_created: int
    enrollments_created: int
    visits_created: int
    placements_created: int
    facilities_created: int
    households: int
    people: int
    enrollments: dict[str, int]
    seconds: float


def seed_populations(*, seed: int = 2016, scale: float = DEFAULT_SCALE, progress=no_progress, today=None) -> DemoPopulations:
    """Load the demo registry and programmes at ``scale`` (1 = Kaili); idempotent."""
    started = time.perf_counter()
    today = today or timezone.localdate()
    rng = random.Random(f"populations-{seed}")
    with transaction.atomic():
        units, upper = load_units()
        facilities = seed_facilities(rng=rng, upper=upper)
        registry = seed_registry(rng=rng, units=units, scale=scale, today=today, progress=progress)
        enrolled = seed_programmes(
            rng=rng, residents=registry.residents, units=units, upper=upper, scale=scale, today=today, progress=progress
        )
        seed_demo_duties()
        if enrolled.members:
            progress("更新走访日程", 0, 1)
            refresh_all_schedules(today=today)
            progress("更新走访日程", 1, 1)
        if registry.people or facilities:
            tables = [Household, Person, Enrollment, Visit, Placement, Facility, *DETAIL_MODELS.values()]
            with connection.cursor() as cursor:  # fresh statistics, so the first queries plan well
                cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables))
        counts = dict(
            Enrollment.objects.active().values_list("programme").annotate(n=Count("pk")).values_list("programme", "n").order_by()
        )
        result = DemoPopulations(
            households_created=registry.households,
            people_created=registry.people,
            enrollments_created=enrolled.members,
            visits_created=enrolled.visits,
            placements_created=enrolled.placements,
            facilities_created=facilities,
            households=Household.objects.count(),
            people=Person.objects.count(),
            enrollments={programme: counts.get(programme, 0) for programme in Programme.values},
            seconds=time.perf_counter() - started,
        )
        if registry.people or enrolled.members or facilities:
            audit_record(
                actor=None,
                action=AuditAction.IMPORT,
                object_type="populations.person",
                object_repr="演示数据：人口与特殊人群",
                changes={
                    "source": f"seed_demo --seed {seed} --scale {scale:g}",
                    "scale": scale,
                    "households": registry.households,
                    "people": registry.people,
                    "enrollments": enrolled.members,
                    "visits": enrolled.visits,
                    "placements": enrolled.placements,
                    "facilities": facilities,
                    "seconds": round(result.seconds, 1),
                },
            )
    return result

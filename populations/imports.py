"""Registry files in: CSV or XLSX, one row per person, header ``populations.exports.PEOPLE_HEADER``.

Rows with the same ``household_number`` are one household; rows with a blank number and
the same unit, address and doorplate are one new household (numbered like
``household_create`` does), unless their people are already registered together in one
household with that unit, address and doorplate, which is then the household they mean
(so a file imported twice does not register its households twice). An existing household
number updates that household; an existing identity number updates that person (who must
be in the household the row names); anything else is created.

Every row is checked before anything is written and every bad row is reported with its
line, column and reason; one bad row and nothing is written. The writes happen in one
transaction (bulk inserts and updates, identity and phone numbers encrypted as the
services store them), after the check has run again under the tree lock and row locks on
what the file touches, and leave one audit row with the counts.

The same functions serve ``manage.py import_people`` and the upload page (through a
Celery task, ``populations/import_tasks.py``).
"""

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Q
from django.db.models.functions import Length, Substr
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from grids.imports import RowError
from grids.models import CODE_LENGTH, Grid, GridKind
from grids.services import lock_tree
from kaili import crypto
from kaili.audit import audit_record
from kaili.models import AuditAction
from kaili.progress import CachedProgress, no_progress
from kaili.scope import ADD, CHANGE, VIEW, scope_predicate
from kaili.signals import records_saved_in_bulk
from kaili.tabular import INEXACT, TableFileError, read_table
from populations.exports import PEOPLE_HEADER
from populations.identity import ETHNICITIES, ETHNICITY_BY_NAME, normalise_identity_number, parse_identity_number
from populations.models import Household, PeopleImport, Person, Registration, Relation, Residence, normalise_phone
from populations.services import _clean_person_fields

PROGRESS_STEP = 500
BATCH = 2000
LOOKUP_CHUNK = 5000
UNIT_CODE_LENGTH = CODE_LENGTH[GridKind.UNIT]
HOUSEHOLD_NUMBER_LENGTH = UNIT_CODE_LENGTH + 3  # the unit's code and a three-digit sequence

# The column names of the Chinese template; a few other names registry clerks use too.
HEADER_ALIASES = {
    "户编号": "household_number",
    "单元编码": "unit_code",
    "住址": "address",
    "门牌号": "doorplate",
    "户别": "registration",
    "姓名": "name",
    "身份证号": "identity_number",
    "民族": "ethnicity",
    "联系电话": "phone",
    "与户主关系": "relation",
    "人口类型": "residence",
    "职业": "occupation",
    "备注": "notes",
}
COLUMN_LABELS = {column: alias for alias, column in HEADER_ALIASES.items()}
HEADER_ALIASES |= {"公民身份号码": "identity_number", "身份证号码": "identity_number", "地址": "address", "手机号码": "phone"}

# Words a household register (户口簿) uses for the relation to the head.
RELATION_WORDS = {
    "本人": Relation.HEAD,
    "妻": Relation.SPOUSE,
    "妻子": Relation.SPOUSE,
    "夫": Relation.SPOUSE,
    "丈夫": Relation.SPOUSE,
    "子": Relation.CHILD,
    "女": Relation.CHILD,
    "儿子": Relation.CHILD,
    "女儿": Relation.CHILD,
    "长子": Relation.CHILD,
    "长女": Relation.CHILD,
    "次子": Relation.CHILD,
    "次女": Relation.CHILD,
    "父亲": Relation.PARENT,
    "母亲": Relation.PARENT,
    "孙子": Relation.GRANDCHILD,
    "孙女": Relation.GRANDCHILD,
    "外孙子": Relation.GRANDCHILD,
    "外孙女": Relation.GRANDCHILD,
    "祖父": Relation.GRANDPARENT,
    "祖母": Relation.GRANDPARENT,
    "外祖父": Relation.GRANDPARENT,
    "外祖母": Relation.GRANDPARENT,
    "兄": Relation.SIBLING,
    "弟": Relation.SIBLING,
    "姐": Relation.SIBLING,
    "妹": Relation.SIBLING,
}

# phases as the command's progress bar and the page show them (the grid import's words)
READING, CHECKING, WRITING = gettext_lazy("读取"), gettext_lazy("校验"), gettext_lazy("写入")

# ... and a CSV saved from Excel then shows it as 5.22601E+17.
SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)
NUMBER_COLUMNS = ("household_number", "unit_code", "identity_number", "phone")
# what an error message may show of a cell of these columns (the errors are stored in clear)
MASKS = {"identity_number": crypto.mask_identity_number, "phone": crypto.mask_phone}


class PeopleFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, header)."""


@dataclass
class PersonRow:
    line: int
    household_number: str
    unit_code: str
    address: str
    doorplate: str
    registration: str
    name: str
    identity_number: str
    ethnicity: str
    phone: str
    relation: str
    residence: str
    occupation: str
    notes: str


def error_dict(error: RowError) -> dict:
    """A row error as the page stores it, with the column's name in the Chinese template."""
    return {**error.as_dict(), "label": COLUMN_LABELS.get(error.column, error.column)}


# ---------------------------------------------------------------- reading


def read_people_file(filename: str, data: bytes) -> list[PersonRow]:
    """The rows of a CSV or XLSX registry file; raises ``PeopleFileError`` for an unreadable file."""
    try:
        table = read_table(filename, data, columns=PEOPLE_HEADER, aliases=HEADER_ALIASES)
    except TableFileError as error:
        raise PeopleFileError(str(error)) from error
    return [PersonRow(line=line, **cells) for line, cells in table]


# ---------------------------------------------------------------- choices


def _choice_lookup(choices, words=None) -> dict[str, str]:
    """Code, Chinese label (the default language) and label in the reader's language -> code."""
    lookup = {}
    for code, label in choices:
        lookup[str(label)] = code
    with translation.override(settings.LANGUAGE_CODE):
        for code, label in choices:
            lookup[str(label)] = code
    for code, _label in choices:
        lookup[code] = code
    return lookup | (words or {})


def _ethnicity_lookup() -> dict[str, str]:
    lookup = {code: code for code, _name in ETHNICITIES}
    lookup |= {code.lstrip("0"): code for code, _name in ETHNICITIES}  # Excel drops the leading zero of 06
    lookup |= {name.removesuffix("族"): code for name, code in ETHNICITY_BY_NAME.items() if name.endswith("族")}
    return lookup | ETHNICITY_BY_NAME


def _choices_text(choices) -> str:
    return "、".join(f"{label}（{code}）" for code, label in choices)


# ---------------------------------------------------------------- checking


@dataclass(frozen=True)
class _Unit:
    id: int
    code: str
    kind: str
    retired: bool
    tree_id: int
    lft: int
    rght: int


@dataclass
class _Household:
    """A household as the file has it: its rows, and the existing record it updates, if any."""

    first: PersonRow
    rows: list[PersonRow]
    number: str = ""
    unit: _Unit | None = None
    existing: dict | None = None
    registration: str = ""
    changes: dict = field(default_factory=dict)
    ok: bool = True
    created_id: int | None = None  # a new household's, once written

    @property
    def pk(self) -> int | None:
        return self.existing["id"] if self.existing is not None else self.created_id


@dataclass
class _Person:
    row: PersonRow
    household: _Household
    identity_number: str
    fields: dict
    existing: dict | None = None
    changes: dict = field(default_factory=dict)


@dataclass
class ImportPlan:
    rows: int = 0
    new_households: list[_Household] = field(default_factory=list)
    changed_households: list[_Household] = field(default_factory=list)
    new_people: list[_Person] = field(default_factory=list)
    changed_people: list[_Person] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def has_changes(self) -> bool:
        return bool(self.new_households or self.changed_households or self.new_people or self.changed_people)

    def summary(self) -> dict:
        return {
            "rows": self.rows,
            "households_created": len(self.new_households),
            "households_updated": len(self.changed_households),
            "people_created": len(self.new_people),
            "people_updated": len(self.changed_people),
            "unchanged": self.unchanged,
            "errors": len(self.errors),
        }


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


LENGTHS = {
    "household_number": _max_length(Household, "number"),
    "address": _max_length(Household, "address"),
    "doorplate": _max_length(Household, "doorplate"),
    "name": _max_length(Person, "name"),
    "occupation": _max_length(Person, "occupation"),
}


class _Checker:
    """The checks of one file against the database, collecting every error."""

    def __init__(self, rows: list[PersonRow], *, user, lock: bool, progress):
        self.rows = rows
        self.lock = lock
        self.progress = progress
        self.plan = ImportPlan(rows=len(rows))
        self.registrations = _choice_lookup(Registration.choices)
        self.relations = _choice_lookup(Relation.choices, RELATION_WORDS)
        self.residences = _choice_lookup(Residence.choices)
        self.ethnicities = _ethnicity_lookup()
        # (model, action) -> whether a unit is in the user's scope for it; no user: the
        # command line, run as the system, reaches everything
        self.may = {
            (model, action): scope_predicate(user, model, action) if user is not None else (lambda unit: True)
            for model in (Household, Person)
            for action in (VIEW, ADD, CHANGE)
        }

    def bad(self, row: PersonRow, column: str, message: str) -> None:
        self.plan.errors.append(RowError(row.line, column, message))

    # -- per row, no database

    def check_fields(self, row: PersonRow) -> bool:
        """Checks that need no other row and no database; normalises the row's cells."""
        before = len(self.plan.errors)
        mangled = set()  # cells Excel has changed: reported once, not checked further
        for column in PEOPLE_HEADER:
            value = getattr(row, column)
            if value.startswith(INEXACT):
                setattr(row, column, value.removeprefix(INEXACT))
                mangled.add(column)
                self.bad(
                    row,
                    column,
                    _("单元格是数字，Excel 只保留 15 位有效数字，后几位可能已被改动；请把该列设为文本后重填。"),
                )
            elif column in NUMBER_COLUMNS and SCIENTIFIC.match(value):
                mangled.add(column)
                self.bad(
                    row,
                    column,
                    _("单元格显示为科学计数法（%(value)s），Excel 已丢掉后几位数字；请把该列设为文本后重填。")
                    % {"value": MASKS.get(column, str)(value)},
                )
        for column in ("unit_code", "address", "name", "identity_number"):
            if not getattr(row, column):
                self.bad(row, column, _("缺少必填项。"))
        for column, limit in LENGTHS.items():
            if len(getattr(row, column)) > limit:
                self.bad(row, column, _("不能超过 %(n)d 个字。") % {"n": limit})
        if row.household_number and "household_number" not in mangled and not row.household_number.isdigit():
            self.bad(row, "household_number", _("户编号应为数字。"))
        if row.identity_number and "identity_number" not in mangled:
            row.identity_number = normalise_identity_number(row.identity_number)
            if "*" in row.identity_number:
                self.bad(
                    row,
                    "identity_number",
                    _("身份证号已打码（导出时您不是该人员的责任人员），不能用来导入；请填写完整的身份证号。"),
                )
            else:
                try:
                    parse_identity_number(row.identity_number)
                except ValidationError as error:
                    self.bad(row, "identity_number", error.messages[0])
        if "phone" not in mangled and "*" not in row.phone:  # a masked phone is compared with the record's
            errors = {}
            _clean_person_fields({"phone": row.phone}, errors)  # the services' phone rule and message
            if errors:
                self.bad(row, "phone", errors["phone"])
        # digits only, as Person.set_phone stores and hashes it, so an unchanged phone compares equal
        row.phone = normalise_phone(row.phone)
        self._choice(row, "registration", self.registrations, Registration.choices)
        self._choice(row, "relation", self.relations, Relation.choices)
        self._choice(row, "residence", self.residences, Residence.choices)
        if row.ethnicity:
            code = self.ethnicities.get(row.ethnicity)
            if code is None:
                self.bad(
                    row,
                    "ethnicity",
                    _("民族“%(value)s”不在 GB/T 3304 代码表中，请填写民族名称（如 苗族）或两位代码（如 06）。")
                    % {"value": row.ethnicity},
                )
            else:
                row.ethnicity = code
        return len(self.plan.errors) == before

    def _choice(self, row: PersonRow, column: str, lookup: dict, choices) -> None:
        value = getattr(row, column)
        if not value:
            return  # an empty choice keeps the record's value (a new record takes the default)
        code = lookup.get(value, lookup.get(value.lower()))
        if code is None:
            self.bad(
                row,
                column,
                _("“%(value)s”不是有效选项，应为 %(choices)s 之一。") % {"value": value, "choices": _choices_text(choices)},
            )
        else:
            setattr(row, column, code)

    # -- the database

    def _units(self, codes, ids) -> tuple[dict[str, _Unit], dict[int, _Unit]]:
        columns = ("id", "code", "kind", "retired_at", "tree_id", "lft", "rght")
        units = Grid.objects.filter(Q(code__in=codes) | Q(id__in=ids))
        if self.lock:
            # household_create locks the unit row to number its households: so do we
            units = units.select_for_update().order_by("pk")
        found = [_Unit(row[0], row[1], row[2], row[3] is not None, *row[4:]) for row in units.values_list(*columns)]
        return {unit.code: unit for unit in found}, {unit.id: unit for unit in found}

    def _locked(self, queryset):
        return queryset.select_for_update(of=("self",)).order_by("pk") if self.lock else queryset

    def _people(self, hashes: list[str]) -> dict[str, dict]:
        columns = (
            "id",
            "id_number_hash",
            "household_id",
            "household__number",
            "unit_id",
            "name",
            "ethnicity",
            "phone_hash",
            "phone_masked",
            "relation",
            "residence",
            "occupation",
            "notes",
        )
        found = {}
        for start in range(0, len(hashes), LOOKUP_CHUNK):
            chunk = hashes[start : start + LOOKUP_CHUNK]
            for person in self._locked(Person.objects.filter(id_number_hash__in=chunk)).values(*columns):
                found[person["id_number_hash"]] = person
        return found

    def _households(self, numbers, ids) -> tuple[dict[str, dict], dict[int, dict]]:
        columns = ("id", "number", "unit_id", "address", "doorplate", "registration", "head_id")
        found = list(self._locked(Household.objects.filter(Q(number__in=numbers) | Q(id__in=ids))).values(*columns))
        return {h["number"]: h for h in found}, {h["id"]: h for h in found}

    # -- the whole file

    def run(self) -> ImportPlan:
        rows, plan, progress = self.rows, self.plan, self.progress
        total = len(rows)
        sound: list[PersonRow] = []
        first_line: dict[str, int] = {}
        for index, row in enumerate(rows, start=1):
            row_ok = self.check_fields(row)
            number = row.identity_number
            if number and "*" not in number:
                if number in first_line:
                    self.bad(row, "identity_number", _("身份证号与第 %(line)d 行重复。") % {"line": first_line[number]})
                    row_ok = False
                else:
                    first_line[number] = row.line
            if row_ok:
                sound.append(row)
            if index % PROGRESS_STEP == 0:
                progress(CHECKING, index // 3, total)

        hashes = {row.line: crypto.lookup_hash(row.identity_number) for row in sound}
        people = self._people(list(hashes.values()))
        numbers = {row.household_number for row in rows if row.household_number}
        households_by_number, households_by_id = self._households(numbers, {p["household_id"] for p in people.values()})
        units_by_code, units_by_id = self._units(
            {row.unit_code for row in rows if row.unit_code},
            {h["unit_id"] for h in households_by_id.values()} | {p["unit_id"] for p in people.values()},
        )
        progress(CHECKING, total // 3, total)

        sound_lines = {row.line for row in sound}
        for row in rows:  # rows with errors of their own are not planned: check their unit all the same
            if row.line not in sound_lines and row.unit_code:
                self._check_unit(row, units_by_code.get(row.unit_code))
        groups = self._group(sound)
        claimed: dict[int, _Household] = {}
        for group in groups:
            self._resolve_household(group, people, hashes, households_by_number, households_by_id, units_by_code, units_by_id)
            if group.ok and group.existing is not None:
                other = claimed.get(group.existing["id"])
                if other is not None:
                    for row in group.rows:
                        self.bad(
                            row,
                            "household_number",
                            _("本行人员已登记在户 %(number)s，该户已由第 %(line)d 行导入；请在本行填写户编号 %(number)s。")
                            % {"number": group.existing["number"], "line": other.first.line},
                        )
                    group.ok = False
                else:
                    claimed[group.existing["id"]] = group
        progress(CHECKING, total * 2 // 3, total)

        heads_by_household: dict[int, list[dict]] = {}
        existing_ids = [group.existing["id"] for group in groups if group.ok and group.existing is not None]
        for head in Person.objects.filter(household_id__in=existing_ids, relation=Relation.HEAD).values(
            "id", "name", "household_id"
        ):
            heads_by_household.setdefault(head["household_id"], []).append(head)
        done = 0
        for group in groups:
            group_people = []
            for row in group.rows:
                done += 1
                if done % PROGRESS_STEP == 0:
                    progress(CHECKING, total * 2 // 3 + done // 3, total)
                if not group.ok:
                    continue
                person = self._plan_person(row, group, people.get(hashes[row.line]), units_by_id)
                if person is not None:
                    group_people.append(person)
            self._check_heads(group, group_people, heads_by_household)
            for person in group_people:
                if person.existing is None:
                    plan.new_people.append(person)
                elif person.changes:
                    plan.changed_people.append(person)
                else:
                    plan.unchanged += 1
        self._number_new_households(groups, units_by_code)
        for group in groups:
            if group.ok and group.existing is None:
                plan.new_households.append(group)
            elif group.ok and group.changes:
                plan.changed_households.append(group)
        plan.errors.sort(key=lambda e: (e.line, PEOPLE_HEADER.index(e.column) if e.column in PEOPLE_HEADER else 99))
        progress(CHECKING, total, total)
        return plan

    def _group(self, sound: list[PersonRow]) -> list[_Household]:
        """Rows without errors of their own into households: by number, or by (unit, address,
        doorplate) when the number is blank."""
        groups: dict[tuple, _Household] = {}
        for row in sound:
            key = ("number", row.household_number) if row.household_number else ("new", row.unit_code, row.address, row.doorplate)
            group = groups.get(key)
            if group is None:
                groups[key] = _Household(first=row, rows=[row], number=row.household_number, registration=row.registration)
                continue
            group.rows.append(row)
            for column in ("unit_code", "address", "doorplate", "registration"):
                mine, theirs = getattr(row, column), getattr(group.first, column)
                if column == "registration":
                    # an empty registration cell agrees with any other row's
                    theirs = group.registration
                    if not mine or not theirs:
                        group.registration = theirs or mine
                        continue
                if mine != theirs:
                    self.bad(
                        row,
                        column,
                        _("与第 %(line)d 行同属一户，但%(label)s不同（第 %(line)d 行为“%(value)s”）。")
                        % {"line": group.first.line, "label": COLUMN_LABELS[column], "value": theirs},
                    )
        return list(groups.values())

    def _check_unit(self, row: PersonRow, unit: _Unit | None) -> bool:
        if unit is None:
            self.bad(row, "unit_code", _("单元编码 %(code)s 不存在。") % {"code": row.unit_code})
            return False
        if unit.kind != GridKind.UNIT:
            self.bad(
                row,
                "unit_code",
                _("%(code)s 是%(kind)s，住户只能登记在十户联防单元（三级网格）下。")
                % {"code": unit.code, "kind": GridKind(unit.kind).label},
            )
            return False
        return True

    def _resolve_household(self, group, people, hashes, by_number, by_id, units_by_code, units_by_id) -> None:
        """Which unit and which existing household (if any) the group is, and what changes."""
        first = group.first
        unit = units_by_code.get(first.unit_code)

        def bad_rows(column: str, message: str) -> None:
            for row in group.rows:
                self.bad(row, column, message)
            group.ok = False

        checked = [self._check_unit(row, units_by_code.get(row.unit_code)) for row in group.rows]  # each row reported
        if not all(checked):
            group.ok = False
            return
        group.unit = unit
        if group.number:
            group.existing = by_number.get(group.number)
        else:
            # A blank number: the household its already-registered people live in, when that is
            # this unit, address and doorplate (a file imported twice); a different address
            # is refused below rather than taken for a change of address.
            homes = {people[hashes[row.line]]["household_id"] for row in group.rows if hashes.get(row.line) in people}
            if len(homes) == 1:
                home = by_id[homes.pop()]
                if (home["unit_id"], home["address"], home["doorplate"]) == (unit.id, first.address, first.doorplate):
                    group.existing = home
                    group.number = home["number"]
        existing = group.existing
        if existing is None:
            if group.number and (len(group.number) != HOUSEHOLD_NUMBER_LENGTH or not group.number.startswith(unit.code)):
                bad_rows(
                    "household_number",
                    _("户编号 %(number)s 不存在；新住户的户编号应为单元编码 %(code)s 加三位序号，或留空由系统编号。")
                    % {"number": group.number, "code": unit.code},
                )
                return
            if unit.retired:
                bad_rows("unit_code", _("单元 %(code)s 已撤销，不能再登记新住户。") % {"code": unit.code})
                return
            if not self.may[Household, ADD](unit):
                bad_rows("unit_code", _("单元 %(code)s 不在您的管辖范围内。") % {"code": unit.code})
            return
        current_unit = units_by_id[existing["unit_id"]]
        if not self.may[Household, CHANGE](current_unit):
            if first.household_number:
                bad_rows("household_number", _("户 %(number)s 不在您的管辖范围内。") % {"number": existing["number"]})
            else:
                # found through its people: answer as for a new household there, naming no number
                bad_rows("unit_code", _("单元 %(code)s 不在您的管辖范围内。") % {"code": unit.code})
            return
        changes = group.changes
        for column in ("address", "doorplate"):
            if getattr(first, column) != existing[column]:
                changes[column] = [existing[column], getattr(first, column)]
        if group.registration and group.registration != existing["registration"]:
            changes["registration"] = [existing["registration"], group.registration]
        if unit.id != current_unit.id:
            if unit.retired:
                bad_rows("unit_code", _("单元 %(code)s 已撤销，住户不能迁入。") % {"code": unit.code})
                return
            if not self.may[Household, ADD](unit):
                bad_rows("unit_code", _("单元 %(code)s 不在您的管辖范围内。") % {"code": unit.code})
                return
            changes["unit"] = [current_unit.code, unit.code]
        elif changes and unit.retired:
            self.bad(first, "unit_code", _("单元 %(code)s 已撤销，其住户不能再修改。") % {"code": unit.code})
            group.ok = False

    def _plan_person(self, row: PersonRow, group: _Household, existing: dict | None, units_by_id) -> _Person | None:
        unit = group.unit
        fields = {
            "name": row.name,
            "ethnicity": row.ethnicity,
            "relation": row.relation,
            "residence": row.residence,
            "occupation": row.occupation,
            "notes": row.notes,
            "phone": row.phone,
        }
        person = _Person(row=row, household=group, identity_number=row.identity_number, fields=fields, existing=existing)
        if existing is None:
            if "*" in row.phone:
                self.bad(row, "phone", _("联系电话已打码，请填写完整号码或留空。"))
                return None
            if unit.retired:
                self.bad(row, "unit_code", _("单元 %(code)s 已撤销，不能再登记新人员。") % {"code": unit.code})
                return None
            if not self.may[Person, ADD](unit):
                self.bad(row, "unit_code", _("单元 %(code)s 不在您的管辖范围内。") % {"code": unit.code})
                return None
            fields["ethnicity"] = fields["ethnicity"] or "01"
            fields["relation"] = fields["relation"] or Relation.OTHER
            fields["residence"] = fields["residence"] or Residence.REGISTERED
            return person
        home_unit = units_by_id[existing["unit_id"]]
        if group.existing is None or existing["household_id"] != group.existing["id"]:
            if self.may[Person, VIEW](home_unit):
                message = _("该身份证号已登记在户 %(number)s（%(name)s），与本行的户不符；人员迁户请在人员页面办理。") % {
                    "number": existing["household__number"],
                    "name": existing["name"],
                }
            else:
                message = _("该身份证号已在您管辖范围以外的住户登记。")
            self.bad(row, "identity_number", message)
            return None
        if not self.may[Person, CHANGE](home_unit):
            self.bad(row, "identity_number", _("该人员不在您的管辖范围内。"))
            return None
        for name in ("name", "ethnicity", "relation", "residence", "occupation", "notes"):
            value = fields[name]
            if name in ("ethnicity", "relation", "residence") and not value:
                fields[name] = existing[name]  # an empty choice keeps the value
            elif value != existing[name]:
                person.changes[name] = [existing[name], value]
        phone = row.phone
        if "*" in phone:
            if phone != existing["phone_masked"]:
                self.bad(row, "phone", _("联系电话已打码且与登记的号码不符，请填写完整号码或留空。"))
                return None
        elif crypto.lookup_hash(phone) != existing["phone_hash"]:
            person.changes["phone"] = "（已修改，密文存储）"
        if (person.changes or group.changes) and home_unit.retired:
            self.bad(row, "unit_code", _("单元 %(code)s 已撤销，其人员不能再修改。") % {"code": home_unit.code})
            return None
        return person

    def _check_heads(self, group: _Household, people: list[_Person], heads_by_household: dict[int, list[dict]]) -> None:
        """One head per household, counting the members the file does not list."""
        heads = [p for p in people if p.fields["relation"] == Relation.HEAD]
        for extra in heads[1:]:
            self.bad(
                extra.row,
                "relation",
                _("一户只能有一位户主：第 %(line)d 行（%(name)s）已是户主。")
                % {"line": heads[0].row.line, "name": heads[0].row.name},
            )
        if group.existing is None or not heads:
            return
        new_heads = [p for p in heads if p.existing is None or p.existing["relation"] != Relation.HEAD]
        if not new_heads:
            return  # the file keeps the head it has
        listed = {p.existing["id"] for p in people if p.existing is not None}
        others = [p for p in heads_by_household.get(group.existing["id"], ()) if p["id"] not in listed]
        if others:
            self.bad(
                new_heads[0].row,
                "relation",
                _("户 %(number)s 已有户主 %(name)s（不在本文件中），一户只能有一位户主。")
                % {"number": group.existing["number"], "name": others[0]["name"]},
            )

    def _number_new_households(self, groups: list[_Household], units_by_code: dict[str, _Unit]) -> None:
        """Blank numbers get the unit's next free sequence, as ``household_next_number`` gives."""
        pending = [g for g in groups if g.ok and g.existing is None and not g.number]
        if not pending:
            return
        sequence = last_household_sequences({g.unit.code for g in pending})
        for group in groups:  # numbers the file gives its new households
            if group.ok and group.existing is None and group.number:
                code = group.unit.code
                sequence[code] = max(sequence.get(code, 0), int(group.number[UNIT_CODE_LENGTH:]))
        for group in pending:
            code = group.unit.code
            next_sequence = sequence.get(code, 0) + 1
            if next_sequence > 999:
                for row in group.rows:
                    self.bad(row, "household_number", _("单元 %(code)s 的户编号已用完。") % {"code": code})
                group.ok = False
                continue
            sequence[code] = next_sequence
            group.number = f"{code}{next_sequence:03d}"


def last_household_sequences(codes) -> dict[str, int]:
    """Unit code -> the last sequence numbered under it: ``household_next_number``'s rule
    for many units in one query (units with no number yet are left out).

    Every number with the unit's prefix counts, wherever the household lives now: a
    household that moved to another unit keeps its number, and numbers are never reused.
    """
    last = (
        Household.objects.annotate(prefix=Substr("number", 1, UNIT_CODE_LENGTH), length=Length("number"))
        .filter(prefix__in=codes, length=HOUSEHOLD_NUMBER_LENGTH)
        .values("prefix")
        .annotate(last=Max("number"))
        .values_list("prefix", "last")
    )
    return {code: int(number[UNIT_CODE_LENGTH:]) for code, number in last}


def plan_import(rows: list[PersonRow], *, user=None, progress=no_progress, lock: bool = False) -> ImportPlan:
    """Check every row against the file and the database; nothing is written.

    With ``user``, every household and person the file touches must lie in what the user
    may add to and change; without, the system runs it (the command line) and may touch
    anything. ``lock`` takes row locks on what is read (inside the writing transaction).
    """
    return _Checker(rows, user=user, lock=lock, progress=progress).run()


# ---------------------------------------------------------------- writing


def _write(plan: ImportPlan, *, progress) -> None:
    now = timezone.now()
    total = len(plan.new_households) + len(plan.changed_households) + len(plan.new_people) + len(plan.changed_people)
    done = 0

    for start in range(0, len(plan.new_households), BATCH):
        batch = plan.new_households[start : start + BATCH]
        created = Household.objects.bulk_create(
            Household(
                number=group.number,
                unit_id=group.unit.id,
                address=group.first.address,
                doorplate=group.first.doorplate,
                registration=group.registration or Registration.REGISTERED,
            )
            for group in batch
        )
        for group, household in zip(batch, created, strict=True):
            group.created_id = household.pk
        records_saved_in_bulk.send(sender=Household, instances=created, created=True)
        done += len(batch)
        progress(WRITING, done, total)

    if plan.changed_households:
        households = Household.objects.in_bulk([group.existing["id"] for group in plan.changed_households])
        moved: dict[int, list[int]] = {}
        for group in plan.changed_households:
            household = households[group.existing["id"]]
            for name, (_old, new) in group.changes.items():
                if name == "unit":
                    household.unit_id = group.unit.id
                    moved.setdefault(group.unit.id, []).append(household.pk)
                else:
                    setattr(household, name, new)
            household.updated_at = now
        _bulk_update(Household, list(households.values()), ["address", "doorplate", "registration", "unit", "updated_at"])
        records_saved_in_bulk.send(sender=Household, instances=list(households.values()), created=False)
        for unit_id, household_ids in moved.items():
            # a person's unit is always their household's (populations.models.Person.unit)
            Person.objects.filter(household_id__in=household_ids).update(unit_id=unit_id, updated_at=now)
        done += len(plan.changed_households)
        progress(WRITING, done, total)

    for start in range(0, len(plan.new_people), BATCH):
        batch = []
        for planned in plan.new_people[start : start + BATCH]:
            fields = planned.fields
            person = Person(
                household_id=planned.household.pk,
                unit_id=planned.household.unit.id,
                name=fields["name"],
                ethnicity=fields["ethnicity"],
                relation=fields["relation"],
                residence=fields["residence"],
                occupation=fields["occupation"],
                notes=fields["notes"],
            )
            person.birth_date, person.sex = parse_identity_number(planned.identity_number)
            person.set_identity_number(planned.identity_number)
            person.set_phone(fields["phone"])
            batch.append(person)
        Person.objects.bulk_create(batch)
        records_saved_in_bulk.send(sender=Person, instances=batch, created=True)
        done += len(batch)
        progress(WRITING, done, total)

    if plan.changed_people:
        people = Person.objects.in_bulk([planned.existing["id"] for planned in plan.changed_people])
        changed_fields = {"updated_at"}
        for planned in plan.changed_people:
            person = people[planned.existing["id"]]
            for name in planned.changes:
                if name == "phone":
                    person.set_phone(planned.fields["phone"])
                    changed_fields |= {"phone_encrypted", "phone_hash", "phone_masked"}
                else:
                    setattr(person, name, planned.fields[name])
                    changed_fields.add(name)
            person.updated_at = now
        _bulk_update(Person, list(people.values()), sorted(changed_fields))
        records_saved_in_bulk.send(sender=Person, instances=list(people.values()), created=False)
        done += len(plan.changed_people)
        progress(WRITING, done, total)

    touched = {group.pk for group in plan.new_households} | {p.household.pk for p in plan.new_people + plan.changed_people}
    _set_heads(touched, now)


def _bulk_update(model, objs: list, field_names: list[str]) -> None:
    """``bulk_update`` as one ``UPDATE ... FROM (VALUES ...)`` per batch.

    Django's ``bulk_update`` builds a CASE with one branch per row for every field, which
    costs seconds of Python and SQL at 10,000 rows; a joined VALUES list is one pass.
    """
    if not objs:
        return
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in field_names]
    pk = model._meta.pk
    columns = [pk, *fields]
    names = ", ".join(quote(f.column) for f in columns)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}::{f.db_type(connection)}" for f in fields)
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(objs), BATCH):
        batch = objs[start : start + BATCH]
        params = [f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in batch for f in columns]
        sql = (
            f"UPDATE {quote(model._meta.db_table)} AS t SET {assignments} "
            f"FROM (VALUES {', '.join([row] * len(batch))}) AS v({names}) "
            f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}::{pk.db_type(connection)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _set_heads(household_ids: set[int], now) -> None:
    """Each touched household's head is its member whose relation is head (none: no head)."""
    heads: dict[int, list[int]] = {}
    for household_id, person_id in (
        Person.objects.filter(household_id__in=household_ids, relation=Relation.HEAD)
        .order_by("pk")
        .values_list("household_id", "pk")
    ):
        heads.setdefault(household_id, []).append(person_id)
    changed = []
    for household in Household.objects.filter(pk__in=household_ids).only("pk", "head_id"):
        candidates = heads.get(household.pk, [])
        # a household that already had two heads keeps the one it had
        head = household.head_id if household.head_id in candidates else (candidates[0] if candidates else None)
        if head != household.head_id:
            household.head_id, household.updated_at = head, now
            changed.append(household)
    _bulk_update(Household, changed, ["head", "updated_at"])


def import_people_rows(
    rows: list[PersonRow], *, actor, source: str, dry_run: bool = False, user=None, progress=no_progress
) -> ImportPlan:
    """Check ``rows`` and, unless ``dry_run`` or any row is bad, write them in one transaction.

    The check runs again inside the transaction, under the tree lock (no unit is moved or
    retired meanwhile) and with row locks on the units, households and people the file
    names, so what is written is what was checked against the registry as it is then.
    """
    if dry_run:
        return plan_import(rows, user=user, progress=progress)
    with transaction.atomic():
        lock_tree()
        plan = plan_import(rows, user=user, progress=progress, lock=True)
        if not plan.ok or not plan.has_changes:
            return plan
        _write(plan, progress=progress)
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            object_type="populations.person",
            changes={"source": source, **plan.summary()},
        )
    return plan


def import_people_file(
    filename: str, data: bytes, *, actor, dry_run: bool = False, user=None, progress=no_progress
) -> ImportPlan:
    """Read and import a registry file. ``PeopleFileError`` for an unreadable file; row errors are in the plan."""
    progress(READING, 0, 1)
    rows = read_people_file(filename, data)
    progress(READING, 1, 1)
    return import_people_rows(rows, actor=actor, source=filename, dry_run=dry_run, user=user, progress=progress)


# ---------------------------------------------------------------- the page's uploads


def people_import_run(import_id: int) -> None:
    """Run one uploaded import (dry run or confirmed), recording its outcome on the row.

    The file is dropped once it can no longer be confirmed (imported, refused, failed, or a
    dry run with nothing to import): it holds identity numbers in clear.
    """
    upload = PeopleImport.objects.select_related("created_by").get(pk=import_id)
    if upload.is_finished:
        return  # a redelivered task: the work is done
    PeopleImport.objects.filter(pk=upload.pk).update(status=PeopleImport.Status.RUNNING)
    progress = CachedProgress(upload.progress_key)
    user = upload.created_by  # the uploader's scope bounds what the file may touch
    keep_file = False
    try:
        plan = import_people_file(
            upload.filename, upload.read_content(), actor=user, dry_run=upload.dry_run, user=user, progress=progress
        )
    except PeopleFileError as error:
        status, summary, errors = PeopleImport.Status.INVALID, {}, [{"line": 0, "column": "", "label": "", "message": str(error)}]
    except Exception:
        PeopleImport.objects.filter(pk__in=[upload.pk, upload.confirms_id]).update(content_encrypted=b"")
        PeopleImport.objects.filter(pk=upload.pk).update(status=PeopleImport.Status.FAILED, finished_at=timezone.now())
        raise
    else:
        summary, errors = plan.summary(), [error_dict(e) for e in plan.errors[:1000]]
        if not plan.ok:
            status = PeopleImport.Status.INVALID
        elif upload.dry_run:
            status, keep_file = PeopleImport.Status.VALID, plan.has_changes
        else:
            status = PeopleImport.Status.DONE
    finished = {"status": status, "summary": summary, "errors": errors, "finished_at": timezone.now()}
    if not keep_file:
        PeopleImport.objects.filter(pk__in=[upload.pk, upload.confirms_id]).update(content_encrypted=b"")
    PeopleImport.objects.filter(pk=upload.pk).update(**finished)


def people_import_start(*, actor, filename: str, content: bytes, dry_run: bool = True, confirms=None):
    """Record an upload and queue its run (after commit, so the worker finds the row)."""
    from populations.import_tasks import run_people_import  # the task module imports this one

    upload = PeopleImport(created_by=actor, filename=filename, dry_run=dry_run, confirms=confirms)
    upload.set_content(content)
    upload.save()
    transaction.on_commit(lambda: run_people_import.delay(upload.pk))
    return upload

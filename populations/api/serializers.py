"""Serializers of the registry and programme API.

Read serializers show identity and phone numbers masked, always; the clear numbers are
only written (``identity_number``, ``phone`` are write-only input fields) or read one
person at a time through the audited ``reveal`` action. Input serializers only shape and
type the request: the services validate the domain rules and write.
"""

import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from populations.identity import ETHNICITIES
from populations.models import (
    DETAIL_RELATED_NAMES,
    AttentionLevel,
    Enrollment,
    ExitReason,
    Facility,
    Household,
    Person,
    Placement,
    Programme,
    Registration,
    Relation,
    Residence,
    Visit,
    VisitKind,
    VisitMode,
)
from populations.schedules import due_state

# --- households -------------------------------------------------------------------------


class HouseholdSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    registration_display = serializers.CharField(source="get_registration_display", read_only=True)
    head_name = serializers.CharField(source="head.name", read_only=True, default=None, allow_null=True)
    head_id_number_masked = serializers.CharField(
        source="head.id_number_masked", read_only=True, default=None, allow_null=True, label=_("户主身份证号（脱敏）")
    )
    member_count = serializers.IntegerField(read_only=True, default=None, allow_null=True, label=_("成员数"))

    class Meta:
        model = Household
        fields = [
            "number",
            "unit_code",
            "unit_name",
            "address",
            "doorplate",
            "registration",
            "registration_display",
            "head_name",
            "head_id_number_masked",
            "member_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class HouseholdCreateSerializer(serializers.Serializer):
    unit = serializers.CharField(label=_("十户联防单元编码"))
    address = serializers.CharField(label=_("住址"), max_length=200)
    doorplate = serializers.CharField(label=_("门牌号"), max_length=50, required=False, allow_blank=True, default="")
    # No number: services.household_create numbers the household (unit code plus a sequence).
    registration = serializers.ChoiceField(
        label=_("户别"), choices=Registration.choices, required=False, default=Registration.REGISTERED
    )


class HouseholdUpdateSerializer(serializers.Serializer):
    unit = serializers.CharField(label=_("迁入十户联防单元编码"), required=False)
    address = serializers.CharField(label=_("住址"), max_length=200, required=False)
    doorplate = serializers.CharField(label=_("门牌号"), max_length=50, required=False, allow_blank=True)
    registration = serializers.ChoiceField(label=_("户别"), choices=Registration.choices, required=False)


# --- people -----------------------------------------------------------------------------


class PersonSerializer(serializers.ModelSerializer):
    """A person as every list and detail shows them: identity and phone numbers masked."""

    household_number = serializers.CharField(source="household.number", read_only=True)
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    sex_display = serializers.CharField(source="get_sex_display", read_only=True)
    ethnicity_display = serializers.CharField(source="get_ethnicity_display", read_only=True)
    relation_display = serializers.CharField(source="get_relation_display", read_only=True)
    residence_display = serializers.CharField(source="get_residence_display", read_only=True)

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "household_number",
            "unit_code",
            "unit_name",
            "id_number_masked",
            "phone_masked",
            "sex",
            "sex_display",
            "birth_date",
            "ethnicity",
            "ethnicity_display",
            "relation",
            "relation_display",
            "residence",
            "residence_display",
            "occupation",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PersonWriteSerializer(serializers.Serializer):
    """Create (all required fields) or PATCH (any subset) a person; numbers are write-only."""

    household = serializers.CharField(label=_("户编号"))
    name = serializers.CharField(label=_("姓名"), max_length=64)
    identity_number = serializers.CharField(label=_("身份证号"), max_length=32, write_only=True)
    phone = serializers.CharField(label=_("联系电话"), max_length=20, write_only=True, required=False, allow_blank=True)
    ethnicity = serializers.ChoiceField(label=_("民族"), choices=ETHNICITIES, required=False)
    relation = serializers.ChoiceField(label=_("与户主关系"), choices=Relation.choices, required=False)
    residence = serializers.ChoiceField(label=_("人口类型"), choices=Residence.choices, required=False)
    occupation = serializers.CharField(label=_("职业"), max_length=64, required=False, allow_blank=True)
    notes = serializers.CharField(label=_("备注"), required=False, allow_blank=True)


class PersonSearchSerializer(serializers.Serializer):
    q = serializers.CharField(label=_("姓名、身份证号或电话"), max_length=64)


class PersonRevealSerializer(serializers.Serializer):
    identity_number = serializers.CharField(label=_("身份证号"))
    phone = serializers.CharField(label=_("联系电话"), allow_blank=True)


# --- enrollments ------------------------------------------------------------------------


def detail_values(record) -> dict[str, Any]:
    """A programme detail record as a dict of its own fields (foreign keys by ``<name>_id``,
    the name the services accept back)."""
    if record is None:
        return {}
    values = {}
    for field in record._meta.concrete_fields:
        if field.name in ("id", "enrollment"):
            continue
        value = getattr(record, field.attname)
        # As the input takes them back: dates in ISO form, amounts as exact decimal strings.
        if isinstance(value, datetime.date | Decimal):
            value = value.isoformat() if isinstance(value, datetime.date) else str(value)
        values[field.attname] = value
    return values


def detail_record(enrollment: Enrollment):
    # select_related caches a missing reverse one-to-one as absent: getattr gives None.
    return getattr(enrollment, DETAIL_RELATED_NAMES[enrollment.programme], None)


class EnrollmentSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    person_id_number_masked = serializers.CharField(source="person.id_number_masked", read_only=True)
    unit_code = serializers.CharField(source="person.unit.code", read_only=True)
    programme_display = serializers.CharField(source="get_programme_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    attention_display = serializers.CharField(source="get_attention_display", read_only=True)
    details = serializers.SerializerMethodField(help_text=_("该工程档案的字段"))
    team = serializers.SerializerMethodField(help_text=_("责任团队账号"))
    due_state = serializers.SerializerMethodField(help_text=_("overdue 已逾期，due 7天内到期，空为未到期"))

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "person",
            "person_name",
            "person_id_number_masked",
            "unit_code",
            "programme",
            "programme_display",
            "status",
            "status_display",
            "level",
            "attention",
            "attention_display",
            "started_on",
            "planned_end_on",
            "team",
            "details",
            "next_due_on",
            "overdue",
            "due_state",
            "last_visit_on",
            "exited_on",
            "exit_reason",
            "exit_note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_details(self, enrollment) -> dict[str, Any]:
        return detail_values(detail_record(enrollment))

    def get_team(self, enrollment) -> list[str]:
        return sorted(user.get_username() for user in enrollment.team.all())

    def get_due_state(self, enrollment) -> str:
        return due_state(enrollment.next_due_on, timezone.localdate())


class TeamField(serializers.ListField):
    child = serializers.CharField(max_length=150)

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("责任团队成员：账号或用户 ID"))
        super().__init__(**kwargs)


class EnrollmentCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField(label=_("人员 ID"))
    programme = serializers.ChoiceField(label=_("工程"), choices=Programme.choices)
    started_on = serializers.DateField(label=_("纳入日期"))
    level = serializers.IntegerField(label=_("风险/需求等级"), required=False, default=0, min_value=0)
    attention = serializers.ChoiceField(
        label=_("关注程度"), choices=AttentionLevel.choices, required=False, default=AttentionLevel.NORMAL
    )
    planned_end_on = serializers.DateField(label=_("计划结束日期"), required=False, allow_null=True, default=None)
    team = TeamField(required=False, default=list)
    details = serializers.DictField(label=_("工程档案"), required=False, default=dict)


class EnrollmentUpdateSerializer(serializers.Serializer):
    level = serializers.IntegerField(label=_("风险/需求等级"), required=False, min_value=0)
    attention = serializers.ChoiceField(label=_("关注程度"), choices=AttentionLevel.choices, required=False)
    planned_end_on = serializers.DateField(label=_("计划结束日期"), required=False, allow_null=True)
    team = TeamField(required=False)
    details = serializers.DictField(label=_("工程档案"), required=False)


class EnrollmentExitSerializer(serializers.Serializer):
    # Field names as the service reports its errors (exit_reason, exit_note).
    exited_on = serializers.DateField(label=_("退出日期"))
    exit_reason = serializers.ChoiceField(label=_("退出原因"), choices=ExitReason.choices)
    exit_note = serializers.CharField(label=_("退出说明"), required=False, allow_blank=True, default="")


class ProgrammeCountSerializer(serializers.Serializer):
    programme = serializers.ChoiceField(choices=Programme.choices)
    label = serializers.CharField()
    count = serializers.IntegerField()


class NodeCountsSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    total = serializers.IntegerField(help_text=_("在册人数合计"))
    programmes = ProgrammeCountSerializer(many=True)


class EnrollmentCountsSerializer(serializers.Serializer):
    """Active enrollments per programme under a node and per child node: numbers, no names."""

    node = NodeCountsSerializer()
    children = NodeCountsSerializer(many=True)


# --- visits, facilities, placements -----------------------------------------------------


class VisitSerializer(serializers.ModelSerializer):
    programme = serializers.CharField(source="enrollment.programme", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    mode_display = serializers.CharField(source="get_mode_display", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "enrollment",
            "programme",
            "kind",
            "kind_display",
            "visited_on",
            "mode",
            "mode_display",
            "level",
            "result",
            "hours",
            "details",
            "note",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


class VisitCreateSerializer(serializers.Serializer):
    enrollment = serializers.IntegerField(label=_("在册记录 ID"))
    kind = serializers.ChoiceField(label=_("类型"), choices=VisitKind.choices)
    visited_on = serializers.DateField(label=_("日期"))
    mode = serializers.ChoiceField(label=_("方式"), choices=VisitMode.choices, required=False, default=VisitMode.HOME)
    level = serializers.IntegerField(label=_("评估等级"), required=False, allow_null=True, default=None, min_value=0)
    result = serializers.CharField(label=_("结果"), max_length=32, required=False, allow_blank=True, default="")
    hours = serializers.DecimalField(
        label=_("时数"), max_digits=5, decimal_places=1, required=False, allow_null=True, default=None
    )
    details = serializers.DictField(label=_("表单内容"), required=False, default=dict)
    note = serializers.CharField(label=_("情况记录"), required=False, allow_blank=True, default="")


class FacilitySerializer(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    occupied = serializers.IntegerField(read_only=True, default=None, allow_null=True, label=_("在用名额"))

    class Meta:
        model = Facility
        fields = [
            "id",
            "grid_code",
            "grid_name",
            "kind",
            "kind_display",
            "name",
            "capacity",
            "occupied",
            "address",
            "retired_at",
        ]
        read_only_fields = fields


class PlacementSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="enrollment.person.name", read_only=True)
    programme = serializers.CharField(source="enrollment.programme", read_only=True)
    facility_name = serializers.CharField(source="facility.name", read_only=True)

    class Meta:
        model = Placement
        fields = [
            "id",
            "enrollment",
            "person_name",
            "programme",
            "facility",
            "facility_name",
            "started_on",
            "ended_on",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class PlacementCreateSerializer(serializers.Serializer):
    enrollment = serializers.IntegerField(label=_("在册记录 ID"))
    facility = serializers.IntegerField(label=_("场所 ID"))
    started_on = serializers.DateField(label=_("开始日期"))
    note = serializers.CharField(label=_("说明"), max_length=200, required=False, allow_blank=True, default="")


class PlacementEndSerializer(serializers.Serializer):
    ended_on = serializers.DateField(label=_("结束日期"))
    note = serializers.CharField(label=_("说明"), max_length=200, required=False, allow_blank=True, default="")

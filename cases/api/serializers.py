"""What the incidents API shows and takes.

Reads: a list row, and the case page's detail (people with masked identity numbers only,
attachments as links to the scoped download, the timeline, the deadlines and the steps the
caller may take now). Writes: the report and one small body per step; the views resolve
codes to records and call ``cases.services``, which decide.
"""

import json

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from cases.models import (
    Category,
    Department,
    Incident,
    IncidentAttachment,
    IncidentPerson,
    IncidentTransition,
    PersonRole,
    Source,
    Status,
    Urgency,
)
from cases.services import MAX_BULK_DISPATCH
from cases.workflow import Step, available_steps
from kaili.api.serializers import StatusCountsSerializer, TransitionSerializer, offered_steps

# The API's name for each step: path-style, and "turn-into-dispute" for the transfer.
STEP_ACTIONS = {step.value: step.value.replace("_", "-") for step in Step} | {Step.TRANSFER.value: "turn-into-dispute"}


def step_action_name(step: str) -> str:
    return STEP_ACTIONS.get(step, step)


# --- small pieces -----------------------------------------------------------------------


class CodeNameSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class IncidentCategorySerializer(CodeNameSerializer):
    major_code = serializers.CharField(source="parent.code", read_only=True, default=None, allow_null=True)
    major_name = serializers.CharField(source="parent.name", read_only=True, default=None, allow_null=True)
    kind = serializers.CharField(read_only=True)


class UserBriefSerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return str(user)


# --- reading ----------------------------------------------------------------------------


class IncidentListSerializer(serializers.ModelSerializer):
    """A row of the list: enough to find, sort and open a case."""

    category = IncidentCategorySerializer(read_only=True)
    grid = CodeNameSerializer(read_only=True)
    department = CodeNameSerializer(read_only=True, allow_null=True)
    handler = UserBriefSerializer(read_only=True, allow_null=True)
    reporter = UserBriefSerializer(read_only=True, allow_null=True)
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    urgency_display = serializers.CharField(source="get_urgency_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    overdue = serializers.SerializerMethodField(help_text=_("未办结且已过当前环节时限"))

    class Meta:
        model = Incident
        fields = [
            "number",
            "title",
            "category",
            "grid",
            "source",
            "source_display",
            "urgency",
            "urgency_display",
            "status",
            "status_display",
            "reported_at",
            "occurred_at",
            "due_at",
            "overdue",
            "late",
            "department",
            "handler",
            "reporter",
            "reporter_name",
            "version",
        ]
        read_only_fields = fields

    def get_overdue(self, incident) -> bool:
        now = self.context.get("now") or timezone.now()
        return incident.is_overdue(now)


class IncidentPersonSerializer(serializers.ModelSerializer):
    """Someone involved: a registry person by name and masked identity number (never the
    clear number), or a name as told."""

    name = serializers.SerializerMethodField()
    id_number_masked = serializers.SerializerMethodField(help_text=_("登记人员的脱敏身份证号"))
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = IncidentPerson
        fields = ["id", "person", "name", "id_number_masked", "role", "role_display", "note"]
        read_only_fields = fields

    def get_name(self, involved) -> str:
        return involved.person.name if involved.person_id else involved.name

    def get_id_number_masked(self, involved) -> str | None:
        return involved.person.id_number_masked if involved.person_id else None


class IncidentAttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text=_("下载地址（须能查看该事件）"))
    uploaded_by = serializers.SerializerMethodField()

    class Meta:
        model = IncidentAttachment
        fields = ["id", "kind", "filename", "size", "content_type", "step", "uploaded_by", "uploaded_at", "url"]
        read_only_fields = fields

    def get_url(self, attachment) -> str:
        return reverse("incident-attachment", kwargs={"number": attachment.incident.number, "attachment_id": attachment.pk})

    def get_uploaded_by(self, attachment) -> str | None:
        return str(attachment.uploaded_by) if attachment.uploaded_by_id else None


class IncidentTransitionSerializer(TransitionSerializer):
    steps = Step

    class Meta:
        model = IncidentTransition
        fields = [*TransitionSerializer.STEP_FIELDS, "due_at", "late", "details"]
        read_only_fields = fields


class DeadlinesSerializer(serializers.Serializer):
    file = serializers.DateTimeField(source="file_due_at", allow_null=True, help_text=_("立案时限"))
    dispatch = serializers.DateTimeField(source="dispatch_due_at", allow_null=True, help_text=_("派遣时限"))
    handle = serializers.DateTimeField(source="handle_due_at", allow_null=True, help_text=_("处置时限"))
    check = serializers.DateTimeField(source="check_due_at", allow_null=True, help_text=_("核查时限"))
    current = serializers.DateTimeField(source="due_at", allow_null=True, help_text=_("当前环节时限"))
    extensions = serializers.IntegerField(help_text=_("延期次数"))


class IncidentDetailSerializer(IncidentListSerializer):
    """The case page: the row plus what was reported, who is involved, the files, the
    timeline with its deadlines, the outcome and the caller's next steps."""

    people = IncidentPersonSerializer(many=True, read_only=True)
    attachments = IncidentAttachmentSerializer(many=True, read_only=True)
    transitions = IncidentTransitionSerializer(many=True, read_only=True)
    deadlines = DeadlinesSerializer(source="*", read_only=True)
    available_steps = serializers.SerializerMethodField(help_text=_("当前用户现在可办理的环节（即 POST 的动作名）"))

    class Meta(IncidentListSerializer.Meta):
        fields = [
            *IncidentListSerializer.Meta.fields,
            "description",
            "place",
            "latitude",
            "longitude",
            "people",
            "attachments",
            "transitions",
            "deadlines",
            "dispatched_at",
            "result",
            "check_result",
            "closed_at",
            "satisfaction",
            "evaluation",
            "cleared",
            "cleared_on",
            "dispute_number",
            "available_steps",
        ]
        read_only_fields = fields

    def get_available_steps(self, incident) -> list[str]:
        return offered_steps(self, incident, available_steps, STEP_ACTIONS)


class IncidentCountsSerializer(StatusCountsSerializer):
    """Cases per status over the filtered list, the open ones past their deadline, the total."""

    statuses = Status


# --- writing ----------------------------------------------------------------------------


class InvolvedSerializer(serializers.Serializer):
    person = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("人员库中的人员 ID"))
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=64, help_text=_("未登记人员的姓名"))
    role = serializers.ChoiceField(choices=PersonRole.choices, required=False, default=PersonRole.PARTY)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


@extend_schema_field(InvolvedSerializer(many=True))
class PeopleField(serializers.ListField):
    """A JSON list of people; in a multipart form, the same list as one JSON string."""

    child = InvolvedSerializer()

    def get_value(self, dictionary):
        if html.is_html_input(dictionary):
            return dictionary.get(self.field_name, empty)
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else []
            except ValueError as error:
                raise serializers.ValidationError(_("涉事人员应为 JSON 列表。")) from error
        return super().to_internal_value(data)


class FilesField(serializers.ListField):
    child = serializers.FileField()

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", list)
        super().__init__(**kwargs)


class IncidentCreateSerializer(serializers.Serializer):
    """A report: JSON, or a multipart form with ``photos`` and ``files`` (``people`` then
    as a JSON string)."""

    category = serializers.CharField(max_length=16, help_text=_("小类编码"))
    grid = serializers.CharField(max_length=32, help_text=_("网格或十户联防单元编码"))
    description = serializers.CharField(allow_blank=True, help_text=_("情况描述"))
    occurred_at = serializers.DateTimeField(help_text=_("发生时间（不能晚于现在）"))
    source = serializers.ChoiceField(choices=Source.choices, required=False, default=Source.PATROL)
    urgency = serializers.ChoiceField(
        choices=Urgency.choices, required=False, allow_null=True, default=None, help_text=_("留空按类别默认")
    )
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    place = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    latitude = serializers.FloatField(required=False, allow_null=True, default=None)
    longitude = serializers.FloatField(required=False, allow_null=True, default=None)
    reporter_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=64, help_text=_("来访、来电群众的称呼")
    )
    people = PeopleField(required=False, default=list)
    client_key = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text=_("客户端生成的提交标识；也可用 Idempotency-Key 请求头")
    )
    solved_on_spot = serializers.BooleanField(required=False, default=False, help_text=_("就地解决：上报即结案"))
    result = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("就地解决的处理结果"))
    photos = FilesField(help_text=_("照片（multipart，可多张）"))
    files = FilesField(help_text=_("其他文件（multipart，可多个）"))


class StepSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, help_text=_("读取时的版本；事件已被他人办理则返回 409")
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("意见"))


class FileStepSerializer(StepSerializer):
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False, help_text=_("立案时可调整紧急程度"))


class ReasonStepSerializer(StepSerializer):
    reason = serializers.CharField(allow_blank=True, help_text=_("理由（必填）"))


class ExtendStepSerializer(ReasonStepSerializer):
    minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text=_("延长的工作分钟数，默认按类别处置时限")
    )


class DispatchStepSerializer(StepSerializer):
    department = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("承办单位编码"))
    handler = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("承办人账号"))


class ResultStepSerializer(StepSerializer):
    result = serializers.CharField(allow_blank=True, help_text=_("处置结果（必填）"))
    photos = FilesField(help_text=_("处置照片（multipart，可多张）"))


class EvaluateStepSerializer(StepSerializer):
    satisfaction = serializers.IntegerField(help_text=_("满意度 1-5"))


class ClearStepSerializer(StepSerializer):
    cleared_on = serializers.DateField(required=False, allow_null=True, help_text=_("破案日期，默认今天"))


class BulkDispatchSerializer(serializers.Serializer):
    numbers = serializers.ListField(child=serializers.CharField(max_length=24), allow_empty=False, max_length=MAX_BULK_DISPATCH)
    department = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("承办单位编码"))
    handler = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("承办人账号"))
    note = serializers.CharField(required=False, allow_blank=True, default="")


class BulkRefusalSerializer(serializers.Serializer):
    number = serializers.CharField()
    message = serializers.CharField()


class BulkDispatchResultSerializer(serializers.Serializer):
    dispatched = serializers.ListField(child=serializers.CharField(), help_text=_("已派遣的事件编号"))
    refused = BulkRefusalSerializer(many=True)


# --- the tables -------------------------------------------------------------------------


class CategoryLimitsSerializer(serializers.ModelSerializer):
    """The step limits in minutes (working minutes, except the urgent filing and dispatch)."""

    class Meta:
        model = Category
        fields = [
            "file_minutes",
            "dispatch_minutes",
            "urgent_minutes",
            "handle_minutes",
            "check_minutes_urban",
            "check_minutes_rural",
        ]
        read_only_fields = fields


class CategorySerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", read_only=True, default=None, allow_null=True)
    parent_name = serializers.CharField(source="parent.name", read_only=True, default=None, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    department = CodeNameSerializer(read_only=True, allow_null=True)
    limits = CategoryLimitsSerializer(source="*", read_only=True)

    class Meta:
        model = Category
        fields = [
            "code",
            "name",
            "parent_code",
            "parent_name",
            "kind",
            "kind_display",
            "statistic",
            "urgent",
            "dispute_related",
            "department",
            "limits",
            "is_active",
        ]
        read_only_fields = fields


class DepartmentSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="node.code", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Department
        fields = ["code", "name", "node"]
        read_only_fields = fields

"""What the disputes API shows and takes.

Reads: a list row; the dispute page (parties with masked identity and phone numbers only,
mediators, sessions, agreements with their follow-ups and confirmations, the court's
entrustment, the timeline, the deadline state and the steps the caller may take now); the
court's entrusted mediations and confirmations; the seeded tables. Writes: the registration
and one small body per step, by codes, ranks, ids and usernames; the views resolve them to
records and call ``disputes.services``, which decide.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.api.serializers import CodeNameSerializer, UserBriefSerializer
from disputes import selectors
from disputes.forms import HAND_SOURCES
from disputes.models import (
    Agreement,
    AgreementForm,
    Court,
    Dispute,
    DisputeCategory,
    DisputeParty,
    DisputeScale,
    DisputeTransition,
    EntrustedMediation,
    FollowUp,
    JudicialConfirmation,
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
from disputes.services import MAX_EXTENSION_DAYS, MAX_PARTIES, OTHER_ROUTES
from disputes.workflow import Step, available_steps
from kaili.api.serializers import StatusCountsSerializer, offered_steps
from kaili.api.serializers import TransitionSerializer as BaseTransitionSerializer

# The API's name for each step: the action's path ("record-session").
STEP_ACTIONS = {step.value: step.value.replace("_", "-") for step in Step}


def step_action_name(step: str) -> str:
    return STEP_ACTIONS.get(step, step)


# --- small pieces -----------------------------------------------------------------------


class LineBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediationLine
        fields = ["kind", "name"]
        read_only_fields = fields


class TierBriefSerializer(serializers.ModelSerializer):
    """A rung: ``rank`` (line order × 10 + level, 11–33) is how the API names it."""

    line = serializers.CharField(source="line.kind", read_only=True)
    line_name = serializers.CharField(source="line.name", read_only=True)

    class Meta:
        model = Tier
        fields = ["id", "rank", "line", "line_name", "level", "name", "days"]
        read_only_fields = fields


class BodyBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediationBody
        fields = ["id", "name", "kind"]
        read_only_fields = fields


class DisputeBriefSerializer(serializers.ModelSerializer):
    """The dispute a court record belongs to, and the version to step on."""

    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Dispute
        fields = ["number", "name", "status", "status_display", "due_on", "version"]
        read_only_fields = fields


# --- reading ----------------------------------------------------------------------------


class DisputeListSerializer(serializers.ModelSerializer):
    """A row of the list: enough to find, sort and open a dispute."""

    category = CodeNameSerializer(read_only=True)
    scale = CodeNameSerializer(read_only=True)
    grid = CodeNameSerializer(read_only=True)
    line = LineBriefSerializer(read_only=True, allow_null=True)
    tier = TierBriefSerializer(read_only=True, allow_null=True)
    body = BodyBriefSerializer(read_only=True, allow_null=True)
    registered_by = UserBriefSerializer(read_only=True, allow_null=True)
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    risk_display = serializers.CharField(source="get_risk_display", read_only=True)
    due_flag = serializers.SerializerMethodField(help_text=_("当前时限状态：overdue 已超期，due_soon 即将到期，空为正常"))

    class Meta:
        model = Dispute
        fields = [
            "number",
            "name",
            "category",
            "scale",
            "grid",
            "source",
            "source_display",
            "status",
            "status_display",
            "risk",
            "risk_display",
            "group_risk",
            "passed_upward",
            "people_count",
            "amount",
            "line",
            "tier",
            "body",
            "occurred_on",
            "registered_at",
            "registered_by",
            "due_on",
            "due_flag",
            "late",
            "closed_at",
            "version",
        ]
        read_only_fields = fields

    def get_due_flag(self, dispute) -> str:
        return selectors.due_flag(dispute, self.context.get("today") or timezone.localdate())


class PartySerializer(serializers.ModelSerializer):
    """A party with masked numbers only; the clear identity number is one audited
    ``reveal`` away, for those working the dispute."""

    role_display = serializers.CharField(source="get_role_display", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = DisputeParty
        fields = [
            "id",
            "role",
            "role_display",
            "kind",
            "kind_display",
            "person",
            "name",
            "id_number_masked",
            "phone_masked",
            "sex",
            "ethnicity",
            "address",
        ]
        read_only_fields = fields


class SessionSerializer(serializers.ModelSerializer):
    tier = TierBriefSerializer(read_only=True, allow_null=True)
    mediators = UserBriefSerializer(many=True, read_only=True)
    method_display = serializers.CharField(source="get_method_display", read_only=True)
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)

    class Meta:
        model = MediationSession
        fields = [
            "id",
            "tier",
            "held_on",
            "place",
            "method",
            "method_display",
            "mediators",
            "attendance",
            "notes",
            "outcome",
            "outcome_display",
            "recorded_at",
        ]
        read_only_fields = fields


class FollowUpSerializer(serializers.ModelSerializer):
    visited_by = UserBriefSerializer(read_only=True)
    performance_display = serializers.CharField(source="get_performance_display", read_only=True)

    class Meta:
        model = FollowUp
        fields = ["id", "visited_on", "performance", "performance_display", "satisfaction", "note", "visited_by"]
        read_only_fields = fields


class ConfirmationSerializer(serializers.ModelSerializer):
    court = CodeNameSerializer(read_only=True)
    result_display = serializers.CharField(source="get_result_display", read_only=True)

    class Meta:
        model = JudicialConfirmation
        fields = [
            "id",
            "court",
            "applied_on",
            "applicants",
            "accept_due",
            "accepted_on",
            "ruling_due",
            "ruled_on",
            "result",
            "result_display",
            "reason",
            "late",
        ]
        read_only_fields = fields


class AgreementSerializer(serializers.ModelSerializer):
    tier = TierBriefSerializer(read_only=True, allow_null=True)
    body = BodyBriefSerializer(read_only=True, allow_null=True)
    form_display = serializers.CharField(source="get_form_display", read_only=True)
    performance_display = serializers.CharField(source="get_performance_display", read_only=True)
    follow_ups = FollowUpSerializer(many=True, read_only=True)
    confirmations = ConfirmationSerializer(many=True, read_only=True)

    class Meta:
        model = Agreement
        fields = [
            "id",
            "tier",
            "body",
            "form",
            "form_display",
            "reached_on",
            "terms",
            "amount",
            "performance_due",
            "parties_signed",
            "mediator_signed",
            "signed_on",
            "sealed_on",
            "effective_on",
            "performance",
            "performance_display",
            "enforceable",
            "superseded",
            "follow_ups",
            "confirmations",
        ]
        read_only_fields = fields


class EntrustedBriefSerializer(serializers.ModelSerializer):
    court = CodeNameSerializer(read_only=True)
    body = BodyBriefSerializer(read_only=True)
    referral_display = serializers.CharField(source="get_referral_display", read_only=True)
    result_display = serializers.CharField(source="get_result_display", read_only=True)

    class Meta:
        model = EntrustedMediation
        fields = [
            "id",
            "court",
            "court_case_number",
            "referral",
            "referral_display",
            "procedure",
            "body",
            "received_on",
            "due_on",
            "extensions",
            "result",
            "result_display",
            "result_note",
            "returned_on",
        ]
        read_only_fields = fields


class TransitionSerializer(BaseTransitionSerializer):
    steps = Step
    tier = serializers.SerializerMethodField()

    class Meta:
        model = DisputeTransition
        fields = [*BaseTransitionSerializer.STEP_FIELDS, "tier", "due_on", "late", "details"]
        read_only_fields = fields

    def get_tier(self, transition) -> str | None:
        return str(transition.tier) if transition.tier_id else None


class DisputeDetailSerializer(DisputeListSerializer):
    """The dispute page: the row plus what was registered, who is involved, the mediation
    so far, the court's part, the timeline and the caller's next steps."""

    incident = serializers.CharField(source="incident.number", read_only=True, default=None, allow_null=True)
    parties = PartySerializer(many=True, read_only=True)
    mediators = UserBriefSerializer(many=True, read_only=True)
    sessions = SessionSerializer(many=True, read_only=True)
    agreements = AgreementSerializer(many=True, read_only=True, help_text=_("全部协议（含司法确认被驳回后失效的）"))
    entrusted = serializers.SerializerMethodField(help_text=_("法院委派/委托调解；无则为 null"))
    transitions = TransitionSerializer(many=True, read_only=True)
    available_steps = serializers.SerializerMethodField(help_text=_("当前用户现在可办理的环节（即 POST 的动作名）"))

    class Meta(DisputeListSerializer.Meta):
        fields = [
            *DisputeListSerializer.Meta.fields,
            "place",
            "summary",
            "units_involved",
            "incident",
            "accepted_at",
            "tier_started_on",
            "extensions",
            "escalations",
            "closing_note",
            "other_routes",
            "satisfaction",
            "parties",
            "mediators",
            "sessions",
            "agreements",
            "entrusted",
            "transitions",
            "available_steps",
        ]
        read_only_fields = fields

    @extend_schema_field(EntrustedBriefSerializer(allow_null=True))
    def get_entrusted(self, dispute) -> dict | None:
        entrusted = getattr(dispute, "entrusted", None)
        return EntrustedBriefSerializer(entrusted).data if entrusted is not None else None

    def get_available_steps(self, dispute) -> list[str]:
        return offered_steps(self, dispute, available_steps, STEP_ACTIONS)


class DisputeCountsSerializer(StatusCountsSerializer):
    """Disputes per status over the filtered list, the open ones past their deadline, the total."""

    statuses = Status


class SupervisionRowSerializer(serializers.Serializer):
    """Open disputes at one tier (null: not yet triaged), by deadline state and age."""

    tier = TierBriefSerializer(allow_null=True)
    total = serializers.IntegerField()
    overdue = serializers.IntegerField(help_text=_("已超期"))
    due_soon = serializers.IntegerField(help_text=_("即将到期"))
    over_30 = serializers.IntegerField(help_text=_("登记超过 30 天"))
    over_90 = serializers.IntegerField(help_text=_("登记超过 90 天"))


class RevealSerializer(serializers.Serializer):
    id_number = serializers.CharField(allow_blank=True, help_text=_("完整证件号码；人员库人员请在人员库查看"))
    person = serializers.IntegerField(allow_null=True, help_text=_("人员库人员 ID"))


# --- writing ----------------------------------------------------------------------------


class PartyInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=PartyRole.choices, required=False, default=PartyRole.APPLICANT)
    kind = serializers.ChoiceField(choices=PartyKind.choices, required=False, default=PartyKind.PERSON)
    person = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("人员库中的人员 ID"))
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=100, help_text=_("姓名或单位名称"))
    id_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=32, help_text=_("证件号码"))
    sex = serializers.CharField(required=False, allow_blank=True, default="", max_length=1)
    ethnicity = serializers.CharField(required=False, allow_blank=True, default="", max_length=2)
    address = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)


class RegistrationSerializer(serializers.Serializer):
    """What a dispute is registered with, by whoever registers it."""

    name = serializers.CharField(allow_blank=True, max_length=100, help_text=_("纠纷名称"))
    category = serializers.CharField(max_length=16, help_text=_("纠纷类别编码"))
    scale = serializers.CharField(required=False, allow_blank=True, default="", max_length=16, help_text=_("规模编码，默认一般"))
    grid = serializers.CharField(max_length=17, help_text=_("村（社区）、网格或十户联防单元编码"))
    summary = serializers.CharField(allow_blank=True, help_text=_("纠纷简要情况"))
    occurred_on = serializers.DateField(help_text=_("发生日期（不能晚于今天）"))
    place = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True, default=None)
    people_count = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("默认为当事人数"))
    group_risk = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text=_("群体性纠纷风险；留空按涉及人数（5 人及以上）")
    )
    risk = serializers.ChoiceField(choices=Risk.choices, required=False, default=Risk.LOW)
    units_involved = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    parties = PartyInputSerializer(many=True, required=False, default=list, max_length=MAX_PARTIES)


class DisputeCreateSerializer(RegistrationSerializer):
    # incidents and courts register through their own paths, which link the record
    source = serializers.ChoiceField(choices=HAND_SOURCES, required=False, default=Source.SCREENING)
    client_key = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text=_("客户端生成的提交标识；也可用 Idempotency-Key 请求头")
    )


class StepSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, help_text=_("读取时的版本；纠纷已被他人办理则返回 409")
    )


class NoteStepSerializer(StepSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("意见"))


class MediatorsField(serializers.ListField):
    """Mediators by username (or user id)."""

    child = serializers.CharField(max_length=150)

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        kwargs.setdefault("help_text", _("调解员账号（或用户 ID）"))
        super().__init__(**kwargs)


class AssignmentSerializer(NoteStepSerializer):
    """Where the dispute is mediated: a tier (by ``tier`` rank or ``tier_id``), a body,
    mediators and the deadline (default: the tier's days)."""

    tier = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("调解层级（11–33）"))
    tier_id = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("调解层级 ID"))
    body = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("调解组织 ID"))
    mediators = MediatorsField()
    due_on = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("调解期限，默认按层级天数"))


class TriageSerializer(AssignmentSerializer):
    risk = serializers.ChoiceField(choices=Risk.choices, required=False, allow_null=True, default=None)
    scale = serializers.CharField(required=False, allow_null=True, default=None, max_length=16, help_text=_("规模编码"))


class SessionStepSerializer(StepSerializer):
    held_on = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("调解日期，默认今天"))
    place = serializers.CharField(allow_blank=True, max_length=200, help_text=_("调解地点"))
    method = serializers.ChoiceField(choices=Method.choices, required=False, default=Method.ORDINARY)
    attendance = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("参加人员"))
    notes = serializers.CharField(allow_blank=True, help_text=_("调解记录"))
    outcome = serializers.ChoiceField(choices=Outcome.choices, help_text=_("调解结果"))
    mediators = MediatorsField(help_text=_("主持调解的调解员账号，默认为记录人"))


class EscalateSerializer(StepSerializer):
    reason = serializers.CharField(allow_blank=True, help_text=_("本级调解不成的原因（必填）"))
    tier = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("应为下一层级（可不填）"))
    body = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("调解组织 ID"))
    mediators = MediatorsField()
    due_on = serializers.DateField(required=False, allow_null=True, default=None)


class ExtendSerializer(StepSerializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_EXTENSION_DAYS, help_text=_("延长天数"))
    reason = serializers.CharField(allow_blank=True, help_text=_("延期理由（必填）"))
    consent = serializers.BooleanField(required=False, default=False, help_text=_("双方当事人同意延期"))


class AgreementStepSerializer(StepSerializer):
    form = serializers.ChoiceField(choices=AgreementForm.choices, help_text=_("书面或口头"))
    reached_on = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("达成日期，默认今天"))
    terms = serializers.CharField(allow_blank=True, help_text=_("协议内容"))
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True, default=None)
    performance_due = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("履行期限"))
    parties_signed = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    mediator_signed = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    signed_on = serializers.DateField(required=False, allow_null=True, default=None)
    sealed_on = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("书面协议的盖章日期"))


class ConfirmationStepSerializer(NoteStepSerializer):
    court = serializers.CharField(max_length=32, help_text=_("人民法院编码"))
    applied_on = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("申请日期，默认今天"))
    applicants = serializers.CharField(allow_blank=True, max_length=300, help_text=_("共同申请人"))


class RulingSerializer(NoteStepSerializer):
    result = serializers.ChoiceField(
        choices=Ruling.choices, help_text=_("pending 为已受理待裁定；not_accepted 不予受理；confirmed 确认有效；rejected 驳回")
    )
    accepted_on = serializers.DateField(required=False, allow_null=True, default=None)
    ruled_on = serializers.DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("不予受理或驳回的理由"))
    then = serializers.ChoiceField(
        choices=[("mediation", _("重新调解")), ("litigation", _("向法院起诉"))],
        required=False,
        allow_null=True,
        default=None,
        help_text=_("驳回后的去向"),
    )


class FollowUpStepSerializer(StepSerializer):
    visited_on = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("回访日期，默认今天"))
    performance = serializers.ChoiceField(choices=Performance.choices, help_text=_("履行情况"))
    satisfaction = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("满意度 1-5"))
    note = serializers.CharField(allow_blank=True, help_text=_("回访情况"))


class CloseSerializer(NoteStepSerializer):
    unresolved = serializers.BooleanField(required=False, default=False, help_text=_("未化解结案"))
    routes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(OTHER_ROUTES.items())),
        required=False,
        default=list,
        help_text=_("已告知当事人的其他途径（未化解结案必填）"),
    )


class WithdrawSerializer(StepSerializer):
    reason = serializers.CharField(allow_blank=True, help_text=_("撤回理由（必填）"))


# --- the court's records ----------------------------------------------------------------


class EntrustedMediationSerializer(EntrustedBriefSerializer):
    dispute = DisputeBriefSerializer(read_only=True)

    class Meta(EntrustedBriefSerializer.Meta):
        fields = [*EntrustedBriefSerializer.Meta.fields, "dispute"]
        read_only_fields = fields


class EntrustSerializer(RegistrationSerializer):
    """A case a court refers (pre-filing, 30 days) or entrusts (after filing: 15 days
    ordinary procedure, 7 simple) to mediation."""

    court = serializers.CharField(max_length=32, help_text=_("人民法院编码"))
    court_case_number = serializers.CharField(allow_blank=True, max_length=64, help_text=_("法院案号"))
    referral = serializers.ChoiceField(choices=Referral.choices)
    procedure = serializers.ChoiceField(choices=Procedure.choices, required=False, allow_blank=True, default="")
    body = serializers.IntegerField(help_text=_("受托调解组织 ID"))
    mediators = MediatorsField()
    received_on = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("收案日期，默认今天"))


class AgreementBriefSerializer(serializers.ModelSerializer):
    """The agreement a court is asked to confirm."""

    class Meta:
        model = Agreement
        fields = ["id", "form", "reached_on", "effective_on", "terms", "amount", "superseded"]
        read_only_fields = fields


class JudicialConfirmationSerializer(ConfirmationSerializer):
    dispute = DisputeBriefSerializer(source="agreement.dispute", read_only=True)
    agreement = AgreementBriefSerializer(read_only=True)

    class Meta(ConfirmationSerializer.Meta):
        fields = [*ConfirmationSerializer.Meta.fields, "dispute", "agreement"]
        read_only_fields = fields


# --- the tables -------------------------------------------------------------------------


class DisputeCategorySerializer(serializers.ModelSerializer):
    incident_category = serializers.CharField(source="incident_category.code", read_only=True, default=None, allow_null=True)

    class Meta:
        model = DisputeCategory
        fields = ["code", "name", "incident_category", "sort", "is_active"]
        read_only_fields = fields


class DisputeScaleSerializer(serializers.ModelSerializer):
    class Meta:
        model = DisputeScale
        fields = ["code", "name", "sort", "is_active"]
        read_only_fields = fields


class LineTierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "rank", "level", "name", "days"]
        read_only_fields = fields


class MediationLineSerializer(serializers.ModelSerializer):
    tiers = LineTierSerializer(many=True, read_only=True)

    class Meta:
        model = MediationLine
        fields = ["kind", "name", "order", "tiers"]
        read_only_fields = fields


class MediationBodySerializer(serializers.ModelSerializer):
    line = LineBriefSerializer(read_only=True)
    tier = TierBriefSerializer(read_only=True, allow_null=True)
    node = CodeNameSerializer(read_only=True, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    categories = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    members = serializers.SerializerMethodField(help_text=_("可指派为调解员的成员"))

    class Meta:
        model = MediationBody
        fields = ["id", "name", "kind", "kind_display", "line", "tier", "node", "categories", "members", "is_active"]
        read_only_fields = fields

    @extend_schema_field(UserBriefSerializer(many=True))
    def get_members(self, body) -> list:
        # the view says whose members the caller may list (disputes.api.views.members_in_reach)
        shown = self.context.get("members_shown")
        if shown is not None and not shown(body):
            return []
        return UserBriefSerializer(body.members.all(), many=True).data


class CourtSerializer(serializers.ModelSerializer):
    node = CodeNameSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Court
        fields = ["code", "name", "node", "is_active"]
        read_only_fields = fields

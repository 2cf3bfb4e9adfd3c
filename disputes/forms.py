"""Forms of the dispute pages.

The forms check shape only (required fields, choices, dates); the rules of the "132"
flow live in ``disputes.services``, whose ``ValidationError`` is put back on the form's
fields by ``kaili.forms.apply_service_errors``. Choices that depend on the user or the
dispute (grids, registry people, mediators in reach) are given to the form by the view.
"""

import json
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from cases.forms import NewRecordForm, StepForm, first_grid_code
from disputes.models import (
    AgreementForm,
    LineKind,
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
)
from disputes.services import MAX_EXTENSION_DAYS, MAX_PARTIES, OTHER_ROUTES, Party
from disputes.workflow import Step
from kaili.forms import YES_NO, search_field, status_filter
from kaili.forms import QueueFilterForm as BaseQueueFilterForm
from kaili.forms import blank_choice as _blank
from kaili.forms import required_message as _required
from populations.identity import ETHNICITIES
from populations.models import Sex

# Sources a person registers by hand; incidents and courts come through their own paths.
HAND_SOURCES = [(value, label) for value, label in Source.choices if value not in (Source.INCIDENT, Source.COURT)]


def date_field(label, *, required=True, message=None, **kwargs):
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": message or format_lazy(_("请填写{}。"), label), "invalid": _("日期格式应为 年-月-日。")},
        **kwargs,
    )


def money_field(label) -> forms.DecimalField:
    """An optional sum in yuan, to the fen."""
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        error_messages={"invalid": _("金额应为数字。"), "min_value": _("金额不能为负数。")},
    )


def text_area(label, *, required=False, message="", rows=3, max_length=None):
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": rows}),
        error_messages=_required(message) if message else None,
    )


def _picked(choices: dict, value, message):
    """The object behind a posted choice key (the choices were built from these objects)."""
    if value in (None, ""):
        return None
    if value not in choices:
        raise ValidationError(message)
    return choices[value]


# --- registration -----------------------------------------------------------------------

PARTY_FIELDS = ("role", "kind", "person", "name", "id_number", "sex", "ethnicity", "address", "phone")


class RegisterForm(NewRecordForm):
    """A dispute as a grid worker registers it on a phone; ``full`` adds what the centre
    records (scale, source, amount, units involved, the group-risk flag). The party rows
    are posted as parallel lists (``party_role``, ``party_name``...) and cleaned into
    ``services.Party``; their service errors land on the ``parties`` field."""

    name = forms.CharField(
        label=_("纠纷名称"),
        max_length=100,
        error_messages={"required": _("请填写纠纷名称。"), "max_length": _("纠纷名称不超过 100 字。")},
        widget=forms.TextInput(attrs={"placeholder": _("如：张李两家排水沟纠纷")}),
    )
    category = forms.ChoiceField(
        label=_("纠纷类别"),
        error_messages={"required": _("请选择纠纷类别。"), "invalid_choice": _("纠纷类别“%(value)s”不存在或已停用。")},
    )
    grid = forms.ChoiceField(
        label=_("所属网格"),
        error_messages={"required": _("请选择纠纷所在网格。"), "invalid_choice": _("网格“%(value)s”不在您的管辖范围内。")},
    )
    occurred_on = date_field(_("发生日期"))
    place = forms.CharField(label=_("发生地点"), max_length=200, required=False)
    summary = text_area(_("纠纷简要情况"), required=True, message=_("请填写纠纷简要情况。"), rows=5)
    people_count = forms.IntegerField(
        label=_("涉及人数"),
        required=False,
        min_value=1,
        max_value=100000,
        help_text=_("不填按当事人数计；5 人及以上标记为群体性纠纷风险。"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "invalid": _("涉及人数应为整数。"),
            "min_value": _("涉及人数至少为 1。"),
            "max_value": _("涉及人数不超过 100000。"),
        },
    )
    risk = forms.ChoiceField(label=_("风险等级"), choices=Risk.choices, initial=Risk.LOW)
    # the centre's fields
    scale = forms.ChoiceField(label=_("纠纷规模"), required=False)
    source = forms.ChoiceField(label=_("来源"), choices=HAND_SOURCES, initial=Source.SCREENING)
    amount = money_field(_("涉及金额（元）"))
    units_involved = forms.CharField(label=_("涉及单位"), max_length=300, required=False)
    group_risk = forms.ChoiceField(
        label=_("群体性纠纷风险"),
        required=False,
        choices=[("", _("按涉及人数判断")), ("true", _("是")), ("false", _("否"))],
    )
    # Carries the service's errors about the party rows (rendered above the rows).
    parties = forms.CharField(required=False, widget=forms.HiddenInput)

    CENTRE_FIELDS = ("scale", "source", "amount", "units_involved", "group_risk")

    def __init__(self, *args, scales=(), full=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.scales = {scale.code: scale for scale in scales}
        self.full = full
        self.fields["category"].choices = [*_blank(_("请选择类别")), *((c.code, c.name) for c in self.categories.values())]
        if full:
            self.fields["scale"].choices = [(code, scale.name) for code, scale in self.scales.items()]
        else:
            for name in self.CENTRE_FIELDS:
                del self.fields[name]
        self.party_rows: list[dict] = []

    def clean_scale(self):
        return self.scales.get(self.cleaned_data["scale"])

    def clean(self):
        cleaned = super().clean()
        cleaned["party_list"] = self._clean_parties()
        return cleaned

    def _clean_parties(self) -> list[Party]:
        """The party rows: a registry person (``party_person``, shown masked) or a person or
        organisation by name with an identity document; rows left empty are dropped."""
        if not self.is_bound:
            return []
        columns = {name: self.data.getlist(f"party_{name}") for name in PARTY_FIELDS}
        count = len(columns["role"])
        if any(len(values) != count for values in columns.values()):
            self.add_error("parties", _("当事人的填写不完整，请刷新页面后重试。"))
            return []
        if count > MAX_PARTIES:
            self.add_error("parties", _("当事人最多 %(count)d 位，其余请写入简要情况。") % {"count": MAX_PARTIES})
            return []
        wanted = {int(pk) for pk in columns["person"] if pk.strip().isdigit()}
        found = {}
        if wanted and self.people_queryset is not None:
            found = {person.pk: person for person in self.people_queryset.filter(pk__in=wanted)}
        parties = []
        for index in range(count):
            row = {name: columns[name][index].strip() for name in PARTY_FIELDS}
            if not (row["person"] or row["name"] or row["id_number"]):
                continue
            person = None
            if row["person"]:
                person = found.get(int(row["person"])) if row["person"].isdigit() else None
                if person is None:
                    self.add_error("parties", _("第 %(n)d 位当事人不在您可查看的人员范围内。") % {"n": index + 1})
                    continue
            row["person"] = person
            self.party_rows.append(row)
            parties.append(
                Party(
                    role=row["role"],
                    kind=row["kind"] or PartyKind.PERSON,
                    person=person,
                    name="" if person else row["name"],
                    id_number="" if person else row["id_number"],
                    sex=row["sex"],
                    ethnicity=row["ethnicity"],
                    address=row["address"],
                    phone="" if person else row["phone"],
                )
            )
        return parties

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {
            "client_key": data["client_key"],
            "name": data["name"],
            "category": data["category"],
            "grid": data["grid"],
            "occurred_on": data["occurred_on"],
            "place": data["place"],
            "summary": data["summary"],
            "people_count": data["people_count"],
            "risk": data["risk"],
            "parties": data["party_list"],
        }
        if self.full:
            arguments.update(
                scale=data["scale"],
                source=data["source"],
                amount=data["amount"],
                units_involved=data["units_involved"],
                group_risk={"true": True, "false": False}.get(data["group_risk"]),
            )
        return arguments


def new_register_initial(grids) -> dict:
    return {
        "client_key": uuid.uuid4(),
        "grid": first_grid_code(grids),
        "occurred_on": timezone.localdate(),
        "risk": Risk.LOW,
        "source": Source.SCREENING,
    }


PARTY_CHOICES = {
    "roles": PartyRole.choices,
    "kinds": PartyKind.choices,
    "sexes": Sex.choices,
    "ethnicities": ETHNICITIES,
}


# --- steps on the dispute page ----------------------------------------------------------


class AssignmentMixin(forms.Form):
    """Line and tier, body, mediators and deadline: the choice made at triage, routing and
    escalation. ``tiers``, ``bodies`` and ``mediators`` (label, [users]) come from the view."""

    tier = forms.ChoiceField(label=_("调解层级"), error_messages={"required": _("请选择调解层级。")})
    body = forms.ChoiceField(label=_("调解组织"), required=False)
    mediators = forms.MultipleChoiceField(
        label=_("调解员"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("可多选（电脑按住 Ctrl 键）；指派了调解组织时可不选。"),
        error_messages={"invalid_choice": _("“%(value)s”不是可指派的调解员。")},
    )
    due_on = date_field(_("调解期限"), required=False, help_text=_("不填按所选层级的调解时限计算。"))

    def __init__(self, *args, tiers=(), bodies=(), mediators=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.tier_objects = {str(tier.pk): tier for tier in tiers}
        self.body_objects = {str(body.pk): body for body in bodies}
        self.mediator_objects = {}
        groups = []
        for label, users in mediators:
            options = []
            for user in users:
                self.mediator_objects[str(user.pk)] = user
                options.append((str(user.pk), f"{user}（{user.username}）" if user.full_name else user.username))
            groups.append((label, options))
        if "tier" in self.fields:
            self.fields["tier"].choices = [*_blank(_("请选择层级")), *_grouped_by_line(tiers, _tier_label)]
            # The deadline a tier gives, for dispute-step.js to fill in the date.
            self.fields["tier"].widget.attrs["data-tier-days"] = json.dumps({str(t.pk): t.days for t in tiers})
        self.fields["body"].choices = [*_blank(_("（不指定组织）")), *_grouped_by_line(bodies, str)]
        self.fields["mediators"].choices = groups

    def clean_tier(self):
        return _picked(self.tier_objects, self.cleaned_data["tier"], _("调解层级不存在。"))

    def clean_body(self):
        return _picked(self.body_objects, self.cleaned_data["body"], _("调解组织不存在或已停用。"))

    def clean_mediators(self):
        return [self.mediator_objects[pk] for pk in self.cleaned_data["mediators"]]


def _tier_label(tier) -> str:
    return _("%(name)s（%(days)d 天）") % {"name": tier.name, "days": tier.days}


def _grouped_by_line(items, label) -> list:
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(item.line.name, []).append((str(item.pk), label(item)))
    return list(groups.items())


class TriageStepForm(AssignmentMixin, StepForm):
    risk = forms.ChoiceField(label=_("风险等级"), choices=Risk.choices)
    scale = forms.ChoiceField(label=_("纠纷规模"), required=False)
    note = text_area(_("研判意见"), rows=2)

    def __init__(self, *args, scales=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.scale_objects = {scale.code: scale for scale in scales}
        self.fields["scale"].choices = [(code, scale.name) for code, scale in self.scale_objects.items()]

    def clean_scale(self):
        return self.scale_objects.get(self.cleaned_data["scale"])


class RouteStepForm(AssignmentMixin, StepForm):
    note = text_area(_("指派说明"), rows=2)


class EscalateStepForm(AssignmentMixin, StepForm):
    """The tier is the next rung (the service decides it); body, mediators and deadline may
    change with it."""

    reason = text_area(_("升级原因"), required=True, message=_("升级须说明本级调解不成的原因。"), rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["tier"]
        self.fields["mediators"].help_text = _("不选则保留原调解员。")
        self.order_fields(["reason"])


class SessionStepForm(StepForm):
    held_on = date_field(_("调解日期"))
    place = forms.CharField(label=_("调解地点"), max_length=200, error_messages=_required(_("请填写调解地点。")))
    method = forms.ChoiceField(label=_("调解方法"), choices=Method.choices, initial=Method.ORDINARY)
    attendance = forms.CharField(label=_("参加人员"), max_length=500, required=False)
    notes = text_area(_("调解记录"), required=True, message=_("请填写调解记录。"))
    outcome = forms.ChoiceField(
        label=_("调解结果"),
        choices=[*_blank(_("请选择")), *Outcome.choices],
        error_messages=_required(_("请选择调解结果。")),
    )


class ExtendStepForm(StepForm):
    days = forms.IntegerField(
        label=_("延长天数"),
        min_value=1,
        max_value=MAX_EXTENSION_DAYS,
        error_messages={
            "required": _("请填写延长天数。"),
            "invalid": _("延长天数应为整数。"),
            "min_value": _("延长天数至少为 1 天。"),
            "max_value": _("延长天数不超过 %(limit_value)s 天。"),
        },
    )
    reason = text_area(_("延期理由"), required=True, message=_("请说明延期理由。"), rows=2)
    consent = forms.BooleanField(label=_("双方当事人同意延期"), required=False)


class AgreementStepForm(StepForm):
    form = forms.ChoiceField(
        label=_("协议形式"),
        choices=AgreementForm.choices,
        widget=forms.RadioSelect,
        error_messages=_required(_("请选择协议形式（书面或口头）。")),
    )
    reached_on = date_field(_("达成日期"))
    terms = text_area(_("协议内容"), required=True, message=_("请填写协议内容。"), rows=4)
    amount = money_field(_("协议金额（元）"))
    performance_due = date_field(_("履行期限"), required=False)
    parties_signed = forms.CharField(label=_("当事人签名"), max_length=300, required=False, help_text=_("书面协议必填"))
    mediator_signed = forms.CharField(label=_("调解员签名"), max_length=100, required=False, help_text=_("书面协议必填"))
    signed_on = date_field(_("签名日期"), required=False)
    sealed_on = date_field(_("调委会盖章日期"), required=False, help_text=_("书面协议必填：签名并盖章后生效"))


class ConfirmationStepForm(StepForm):
    court = forms.ChoiceField(label=_("人民法院"), error_messages=_required(_("请选择受理司法确认的人民法院。")))
    applied_on = date_field(_("申请日期"))
    applicants = forms.CharField(
        label=_("共同申请人"),
        max_length=300,
        help_text=_("须由双方当事人共同申请"),
        error_messages=_required(_("司法确认须由双方当事人共同申请，请填写申请人。")),
    )
    note = text_area(_("说明"), rows=2)

    def __init__(self, *args, courts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.court_objects = {str(court.pk): court for court in courts}
        self.fields["court"].choices = [(pk, court.name) for pk, court in self.court_objects.items()]

    def clean_court(self):
        return _picked(self.court_objects, self.cleaned_data["court"], _("人民法院不存在或已停用。"))


RULING_LABELS = {Ruling.PENDING: _("受理（待裁定）")}


class RulingStepForm(StepForm):
    result = forms.ChoiceField(
        label=_("裁定结果"),
        choices=[(value, RULING_LABELS.get(value, label)) for value, label in Ruling.choices],
        error_messages=_required(_("请选择裁定结果。")),
    )
    accepted_on = date_field(_("受理日期"), required=False)
    ruled_on = date_field(_("裁定日期"), required=False)
    reason = text_area(_("不予受理或驳回的理由"), rows=2)
    then = forms.ChoiceField(
        label=_("驳回后"),
        required=False,
        choices=[("mediation", _("重新调解")), ("litigation", _("向法院起诉（未化解结案）"))],
    )


class FollowUpStepForm(StepForm):
    visited_on = date_field(_("回访日期"))
    performance = forms.ChoiceField(
        label=_("履行情况"),
        choices=[*_blank(_("请选择")), *((v, label) for v, label in Performance.choices if v != Performance.PENDING)],
        error_messages=_required(_("请选择履行情况。")),
    )
    satisfaction = forms.TypedChoiceField(
        label=_("当事人满意度"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[*_blank(_("未评价")), *((n, format_lazy(_("{} 分"), n)) for n in range(5, 0, -1))],
    )
    note = text_area(_("回访情况"), required=True, message=_("请填写回访情况。"), rows=2)


class CloseStepForm(StepForm):
    unresolved = forms.BooleanField(label=_("未化解结案"), required=False)
    routes = forms.MultipleChoiceField(
        label=_("已告知当事人的其他途径"),
        required=False,
        choices=list(OTHER_ROUTES.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("未化解结案时必选"),
    )
    note = text_area(_("结案说明"), rows=2)


class WithdrawStepForm(StepForm):
    reason = text_area(_("撤回理由"), required=True, message=_("撤回须说明理由（如申请人撤回申请）。"), rows=2)


STEP_FORMS = {
    Step.TRIAGE: TriageStepForm,
    Step.ROUTE: RouteStepForm,
    Step.RECORD_SESSION: SessionStepForm,
    Step.ESCALATE: EscalateStepForm,
    Step.EXTEND: ExtendStepForm,
    Step.RECORD_AGREEMENT: AgreementStepForm,
    Step.APPLY_CONFIRMATION: ConfirmationStepForm,
    Step.RECORD_RULING: RulingStepForm,
    Step.FOLLOW_UP: FollowUpStepForm,
    Step.CLOSE: CloseStepForm,
    Step.WITHDRAW: WithdrawStepForm,
}


class RevealForm(forms.Form):
    party = forms.IntegerField(widget=forms.HiddenInput)


# --- lists ------------------------------------------------------------------------------


class QueueFilterForm(BaseQueueFilterForm):
    """The centre's board filters; ``filter_params`` turns them into the
    ``DisputeFilterSet`` data the board, its counts and the export all use."""

    q = search_field(_("编号、名称、简要情况或地点"))
    status = status_filter(Status)
    line = forms.ChoiceField(label=_("调解防线"), required=False, choices=[*_blank(_("全部防线")), *LineKind.choices])
    tier = forms.ChoiceField(label=_("调解层级"), required=False)
    category = forms.ChoiceField(label=_("纠纷类别"), required=False)
    overdue = forms.ChoiceField(label=_("已超期"), required=False, choices=YES_NO)
    open = forms.ChoiceField(label=_("未结案"), required=False, choices=YES_NO)
    source = forms.ChoiceField(label=_("来源"), required=False, choices=[*_blank(_("全部来源")), *Source.choices])
    registered_from = date_field(_("登记日期起"), required=False)
    registered_to = date_field(_("登记日期止"), required=False)
    occurred_from = date_field(_("发生日期起"), required=False)
    occurred_to = date_field(_("发生日期止"), required=False)

    field_order = ["q", "status", "line", "tier", "category"]  # then the area, then the rest
    TEXT_PARAMS = ("q", "line", "tier", "category", "overdue", "open", "source")
    DATE_PARAMS = ("registered_from", "registered_to", "occurred_from", "occurred_to")
    DATE_RANGES = (("registered_from", "registered_to"), ("occurred_from", "occurred_to"))

    def __init__(self, *args, categories=(), tiers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [*_blank(_("全部类别")), *((c.code, c.name) for c in categories)]
        tier_groups: dict[str, list] = {}
        for tier in tiers:
            tier_groups.setdefault(tier.line.name, []).append((str(tier.rank), tier.name))
        self.fields["tier"].choices = [*_blank(_("全部层级")), *tier_groups.items()]


# --- the court's page -------------------------------------------------------------------


class EntrustForm(forms.Form):
    """A case a court refers (before filing) or entrusts (after filing) to mediation."""

    court = forms.ChoiceField(label=_("委托法院"), error_messages=_required(_("请选择委托法院。")))
    court_case_number = forms.CharField(
        label=_("法院案号"),
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("如：（2026）黔2601民初123号")}),
        error_messages=_required(_("请填写法院案号。")),
    )
    referral = forms.ChoiceField(label=_("委派/委托"), choices=Referral.choices)
    procedure = forms.ChoiceField(
        label=_("审理程序"),
        required=False,
        choices=[*_blank(_("（诉前委派不填）")), *Procedure.choices],
        help_text=_("立案后委托：普通程序 15 日、简易程序 7 日；诉前委派 30 日。"),
    )
    body = forms.ChoiceField(label=_("受托调解组织"), error_messages=_required(_("请选择受托调解组织。")))
    grid = forms.CharField(
        label=_("纠纷所在网格编码"),
        max_length=17,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "522601001001001"}),
        error_messages=_required(_("请填写纠纷所在网格编码。")),
    )
    name = forms.CharField(label=_("纠纷名称"), max_length=100, error_messages=_required(_("请填写纠纷名称。")))
    category = forms.ChoiceField(label=_("纠纷类别"), error_messages=_required(_("请选择纠纷类别。")))
    occurred_on = date_field(_("发生日期"))
    summary = text_area(_("案件简要情况"), required=True, message=_("请填写案件简要情况。"), rows=3)
    applicant = forms.CharField(label=_("原告（申请人）"), max_length=100, error_messages=_required(_("请填写原告（申请人）。")))
    respondent = forms.CharField(label=_("被告（被申请人）"), max_length=100, required=False)

    def __init__(self, *args, courts=(), bodies=(), categories=(), grids=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.court_objects = {str(court.pk): court for court in courts}
        self.body_objects = {str(body.pk): body for body in bodies}
        self.categories = {category.code: category for category in categories}
        self.grid_lookup = grids
        self.fields["court"].choices = [(pk, court.name) for pk, court in self.court_objects.items()]
        self.fields["body"].choices = [*_blank(_("请选择")), *_grouped_by_line(bodies, str)]
        self.fields["category"].choices = [*_blank(_("请选择类别")), *((c.code, c.name) for c in categories)]

    def clean_court(self):
        return _picked(self.court_objects, self.cleaned_data["court"], _("人民法院不存在或已停用。"))

    def clean_body(self):
        return _picked(self.body_objects, self.cleaned_data["body"], _("调解组织不存在或已停用。"))

    def clean_category(self):
        return _picked(self.categories, self.cleaned_data["category"], _("纠纷类别不存在或已停用。"))

    def clean_grid(self):
        code = self.cleaned_data["grid"].strip()
        node = self.grid_lookup(code) if self.grid_lookup else None
        if node is None:
            raise ValidationError(_("网格 %(code)s 不存在或不在您的管辖范围内。") % {"code": code})
        return node

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        parties = [Party(role=PartyRole.APPLICANT, name=data["applicant"])]
        if data["respondent"]:
            parties.append(Party(role=PartyRole.RESPONDENT, name=data["respondent"]))
        return {
            "court": data["court"],
            "court_case_number": data["court_case_number"],
            "referral": data["referral"],
            "procedure": data["procedure"],
            "body": data["body"],
            "grid": data["grid"],
            "name": data["name"],
            "category": data["category"],
            "occurred_on": data["occurred_on"],
            "summary": data["summary"],
            "parties": parties,
        }

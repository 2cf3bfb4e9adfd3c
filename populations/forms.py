"""Forms of the registry and programme pages.

The forms check shape only (required, lengths, choices); the rules live in
``populations.services``, whose ``ValidationError`` is put back on the form's fields by
``apply_service_errors`` so a phone user sees each message next to its field.
"""

from django import forms
from django.forms import modelform_factory
from django.utils.translation import gettext_lazy as _

from kaili.forms import blank_choice as _blank
from kaili.forms import required_message as _required
from kaili.scope import VIEW
from populations.identity import ETHNICITIES
from populations.models import (
    DETAIL_MODELS,
    AttentionLevel,
    EnrollmentStatus,
    ExitReason,
    Facility,
    FacilityKind,
    Programme,
    Registration,
    Relation,
    Residence,
    VisitKind,
    VisitMode,
)
from populations.schedules import DRUG_TEST_RESULTS, MENTAL_HEALTH_FLAGS, MENTAL_HEALTH_FOLLOW_UP


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# Risk assessment levels of the 2018 work norm for severe mental disorders (DOMAIN.md).
MENTAL_HEALTH_LEVELS = [
    (0, _("0 级：无符合以下 1-5 级中的任何行为")),
    (1, _("1 级：口头威胁，喊叫，但没有打砸行为")),
    (2, _("2 级：打砸行为，局限在家里，针对财物，能被劝说制止")),
    (3, _("3 级：明显打砸行为，不分场合，针对财物，不能接受劝说而停止")),
    (4, _("4 级：持续打砸行为，不分场合，针对财物或人，包括自伤、自杀")),
    (5, _("5 级：持械针对人的任何暴力行为，或纵火、爆炸等行为")),
]
OTHER_LEVELS = [(1, _("1 低")), (2, _("2 中")), (3, _("3 高")), (0, _("0 未评定"))]

FOLLOW_UP_LABELS = {
    "insight": _("自知力"),
    "sleep": _("睡眠情况"),
    "diet": _("饮食情况"),
    "social_function": _("社会功能"),
    "medication": _("服药依从性"),
    "effect": _("治疗效果"),
}

DUE_CHOICES = [("", _("全部")), ("overdue", _("已逾期")), ("due", _("7 日内到期"))]


def level_choices(programme: str):
    return MENTAL_HEALTH_LEVELS if programme == Programme.MENTAL_HEALTH else OTHER_LEVELS


# --- filters ----------------------------------------------------------------------------


class UnderField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("网格编码（含全部下级）"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 17)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "522601001001"}))
        super().__init__(**kwargs)


class HouseholdFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("住址、门牌号或户编号")}),
    )
    under = UnderField()
    registration = forms.ChoiceField(label=_("户别"), required=False, choices=[*_blank(_("全部户别")), *Registration.choices])


class PersonFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("姓名，或完整的身份证号、手机号")}),
    )
    under = UnderField()


class EnrollmentFilterForm(forms.Form):
    programme = forms.ChoiceField(label=_("工程"), required=False, choices=[*_blank(_("全部工程")), *Programme.choices])
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[(EnrollmentStatus.ACTIVE, _("在册")), (EnrollmentStatus.EXITED, _("已退出")), ("all", _("全部状态"))],
    )
    level = forms.TypedChoiceField(
        label=_("等级"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[*_blank(_("全部等级")), *[(n, n) for n in range(6)]],
    )
    attention = forms.ChoiceField(
        label=_("关注程度"), required=False, choices=[*_blank(_("全部关注程度")), *AttentionLevel.choices]
    )
    due = forms.ChoiceField(label=_("走访期限"), required=False, choices=DUE_CHOICES)
    under = UnderField()


class CountsNodeForm(forms.Form):
    node = forms.ChoiceField(label=_("区域"))

    def __init__(self, *args, nodes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].choices = [(node.code, f"{node.name}（{node.code}）") for node in nodes]


# --- registry ---------------------------------------------------------------------------


class HouseholdForm(forms.Form):
    address = forms.CharField(label=_("住址"), max_length=200, error_messages=_required(_("请填写住址。")))
    doorplate = forms.CharField(label=_("门牌号"), max_length=50, required=False)
    registration = forms.ChoiceField(label=_("户别"), choices=Registration.choices)


class PersonForm(forms.Form):
    """A new member of a household."""

    name = forms.CharField(label=_("姓名"), max_length=64, error_messages=_required(_("请填写姓名。")))
    identity_number = forms.CharField(
        label=_("身份证号"),
        max_length=20,
        error_messages=_required(_("请填写 18 位身份证号。")),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    ethnicity = forms.ChoiceField(label=_("民族"), choices=ETHNICITIES, initial="01")
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices, initial=Relation.OTHER)
    residence = forms.ChoiceField(label=_("人口类型"), choices=Residence.choices)
    occupation = forms.CharField(label=_("职业"), max_length=64, required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PersonEditForm(PersonForm):
    """Changes to a person. The numbers are never sent to the browser in clear, so their
    fields start empty and an empty field leaves the stored number as it is."""

    field_order = ["name", "identity_number", "phone", "clear_phone", "ethnicity", "relation", "residence", "occupation", "notes"]
    clear_phone = forms.BooleanField(label=_("删除联系电话"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identity_number"].required = False
        self.fields["identity_number"].help_text = _("不修改请留空。")
        self.fields["phone"].help_text = _("不修改请留空。")

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        clear_phone = data.pop("clear_phone", False)
        if not data.get("identity_number"):
            data.pop("identity_number", None)
        if clear_phone:
            data["phone"] = ""
        elif not data.get("phone"):
            data.pop("phone", None)
        return data


class OfficerDutiesForm(forms.Form):
    """The programmes one programme officer runs (the security admin's page)."""

    user = forms.ModelChoiceField(label=_("专干"), queryset=None, error_messages={"invalid_choice": _("该账号不是在用的专干。")})
    programmes = forms.MultipleChoiceField(label=_("负责的工程"), choices=Programme.choices, required=False)

    def __init__(self, *args, officers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = officers


class RevealForm(forms.Form):
    reason = forms.CharField(label=_("查看事由"), max_length=200, required=False)


# --- programmes -------------------------------------------------------------------------


class ProgrammeChoiceForm(forms.Form):
    programme = forms.ChoiceField(label=_("工程"), error_messages=_required(_("请选择工程。")))

    def __init__(self, *args, programmes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].choices = [*_blank(_("请选择")), *[(p, Programme(p).label) for p in programmes]]


class EnrollmentForm(forms.Form):
    """The fields every programme shares; the programme's own come from ``detail_form_class``."""

    started_on = forms.DateField(label=_("纳入日期"), widget=_date_input(), error_messages=_required(_("请填写纳入日期。")))
    level = forms.TypedChoiceField(label=_("风险/需求等级"), coerce=int)
    attention = forms.ChoiceField(label=_("关注程度"), choices=AttentionLevel.choices)
    planned_end_on = forms.DateField(
        label=_("计划结束日期"),
        required=False,
        widget=_date_input(),
        help_text=_("社区戒毒、社区矫正可留空，按期限或矫正终止日期自动计算。"),
    )
    join_team = forms.BooleanField(label=_("我加入责任团队"), required=False, initial=True)

    def __init__(self, *args, programme: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = level_choices(programme)
        if programme == Programme.MENTAL_HEALTH:
            self.fields["level"].label = _("危险性评估等级")


def available_facilities(user, unit, kinds=None):
    """Facilities a person living in ``unit`` may be placed in, as seen by ``user``: those in
    the user's scope and those on the unit's own path up the tree (a city's rehabilitation
    centre serves every village), open ones only."""
    serves_unit = Facility.objects.filter(grid__tree_id=unit.tree_id, grid__lft__lte=unit.lft, grid__rght__gte=unit.rght)
    facilities = (Facility.objects.restrict(user, VIEW) | serves_unit).filter(retired_at__isnull=True)
    if kinds:
        facilities = facilities.filter(kind__in=kinds)
    return facilities.order_by("kind", "name")


def detail_form_class(programme: str):
    """A ModelForm over the programme's detail record (every field but the enrollment)."""
    model = DETAIL_MODELS[programme]
    date_fields = [f.name for f in model._meta.concrete_fields if f.get_internal_type() == "DateField"]
    return modelform_factory(model, exclude=["enrollment"], widgets={name: _date_input() for name in date_fields})


def detail_form(programme: str, *, user, unit, data=None, prefix="detail"):
    form = detail_form_class(programme)(data=data, prefix=prefix)
    if "labour_base" in form.fields:
        form.fields["labour_base"].queryset = available_facilities(user, unit, kinds=[FacilityKind.LABOUR_BASE])
    return form


class VisitForm(forms.Form):
    """A visit, follow-up, check-in or test; the mental-health follow-up form and the drug
    test result appear for the programmes that need them."""

    kind = forms.ChoiceField(label=_("类型"), choices=VisitKind.choices)
    visited_on = forms.DateField(label=_("日期"), widget=_date_input(), error_messages=_required(_("请填写走访日期。")))
    mode = forms.ChoiceField(label=_("方式"), choices=VisitMode.choices, initial=VisitMode.HOME)
    level = forms.TypedChoiceField(label=_("评估等级"), coerce=int, empty_value=None, required=False)
    result = forms.ChoiceField(label=_("尿检结果"), required=False)
    hours = forms.DecimalField(label=_("时数"), required=False, min_value=0, max_digits=5, decimal_places=1)
    note = forms.CharField(label=_("情况记录"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, programme: str, scheduled_kind: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.programme = programme
        if scheduled_kind:
            self.fields["kind"].initial = scheduled_kind
        self.fields["level"].choices = [*_blank(_("本次不评估")), *level_choices(programme)]
        if programme == Programme.MENTAL_HEALTH:
            self.fields["level"].label = _("危险性评估（随访必填）")
            for name, choices in MENTAL_HEALTH_FOLLOW_UP.items():
                self.fields[name] = forms.ChoiceField(
                    label=FOLLOW_UP_LABELS[name], required=False, choices=[*_blank(_("请选择")), *choices.items()]
                )
            for name, label in MENTAL_HEALTH_FLAGS.items():
                self.fields[name] = forms.BooleanField(label=label, required=False)
        if programme == Programme.DRUG_REHAB:
            self.fields["result"].choices = [*_blank(_("非尿检不填")), *DRUG_TEST_RESULTS.items()]
        else:
            del self.fields["result"]
        if programme != Programme.CORRECTION:
            del self.fields["hours"]
        else:
            self.fields["hours"].help_text = _("集中学习、公益劳动须填写。")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {name: data[name] for name in ("kind", "visited_on", "mode", "level", "note")}
        arguments["result"] = data.get("result") or ""
        arguments["hours"] = data.get("hours")
        details = {}
        if self.programme == Programme.MENTAL_HEALTH and data["kind"] == VisitKind.FOLLOW_UP:
            details = {name: data.get(name, "") for name in MENTAL_HEALTH_FOLLOW_UP}
            details.update({name: bool(data.get(name)) for name in MENTAL_HEALTH_FLAGS})
        arguments["details"] = details
        return arguments


class ExitForm(forms.Form):
    exited_on = forms.DateField(label=_("退出日期"), widget=_date_input(), error_messages=_required(_("请填写退出日期。")))
    exit_reason = forms.ChoiceField(
        label=_("退出原因"), choices=[*_blank(_("请选择")), *ExitReason.choices], error_messages=_required(_("请选择退出原因。"))
    )
    exit_note = forms.CharField(label=_("退出说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PlacementStartForm(forms.Form):
    facility = forms.ModelChoiceField(
        label=_("场所"),
        queryset=Facility.objects.none(),
        empty_label=_("请选择"),
        error_messages=_required(_("请选择场所。")),
    )
    started_on = forms.DateField(label=_("开始日期"), widget=_date_input(), error_messages=_required(_("请填写开始日期。")))
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities


class PlacementEndForm(forms.Form):
    ended_on = forms.DateField(label=_("结束日期"), widget=_date_input(), error_messages=_required(_("请填写结束日期。")))
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

"""The forms of the dashboard's report pages: the villages' assessment list and the
assessor's entries for one village and year."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.assessment import FIRST_YEAR, STATES
from dashboard.models import VillageAssessment
from dashboard.queries import DashboardQuery


def check_year(year: int) -> int:
    this_year = timezone.localdate().year
    if year > this_year:
        raise forms.ValidationError(
            _("年度 %(year)d 尚未到来：只能查看或评定 %(this)d 年及以前。") % {"year": year, "this": this_year}, code="future"
        )
    if year < FIRST_YEAR:
        raise forms.ValidationError(_("年度应不早于 %(first)d 年。") % {"first": FIRST_YEAR}, code="too_early")
    return year


class AssessmentListQuery(DashboardQuery):
    """``?node=&year=&state=``: the villages under a node the user may open, for a year."""

    year = forms.IntegerField(label=_("年度"), required=False)
    state = forms.ChoiceField(label=_("评定结果"), required=False, choices=[("", _("全部")), *STATES.items()])

    def clean_year(self) -> int:
        year = self.cleaned_data.get("year")
        return timezone.localdate().year if year is None else check_year(year)


YES_NO_UNSET = [("", _("未评定")), ("true", _("是")), ("false", _("否"))]


def _tri_state(label) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO_UNSET,
        coerce=lambda value: value == "true",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


class AssessmentForm(forms.Form):
    """What the assessor enters for a village and year; the items the data decides are
    not here (``dashboard.assessment``)."""

    has_venue = _tri_state(_("有场所"))
    has_funding = _tri_state(_("有经费"))
    has_mechanism = _tri_state(_("有机制"))
    other_item = forms.CharField(
        label=_("第五无内容"),
        max_length=50,
        required=False,
        help_text=_("由评定人确定的第五项“无”，如“无越级上访”。"),
    )
    no_other = _tri_state(_("第五无是否达到"))
    note = forms.CharField(label=_("评定说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    @classmethod
    def for_assessment(cls, assessment: VillageAssessment | None, data=None) -> "AssessmentForm":
        if assessment is None:
            other = VillageAssessment._meta.get_field("other_item").default
            return cls(data, initial={"other_item": other})
        initial = {
            name: ("" if getattr(assessment, name) is None else str(getattr(assessment, name)).lower())
            for name in ("has_venue", "has_funding", "has_mechanism", "no_other")
        }
        return cls(data, initial={**initial, "other_item": assessment.other_item, "note": assessment.note})

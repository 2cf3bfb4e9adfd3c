"""What a dashboard request asks for: a node the user may open and a period.

Pages and the API read ``?node=<code>&period=<code>`` through ``DashboardQuery``; a node
outside the user's scope is refused exactly like a node that does not exist, so that a
code cannot be probed.
"""

from django import forms
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from dashboard import metrics as m
from dashboard import selectors
from dashboard.periods import KINDS, YEAR, Period
from grids.models import Grid


class DashboardQuery(forms.Form):
    node = forms.CharField(label=_("区域编码"), required=False, max_length=17)
    period = forms.CharField(label=_("统计期"), required=False, max_length=7)
    metrics = forms.CharField(label=_("指标"), required=False, max_length=2000)

    def __init__(self, data, *, user, action: str = "view", default_kind: str = YEAR, **kwargs):
        super().__init__(data, **kwargs)
        self.user = user
        self.action = action
        self.default_kind = default_kind

    def clean_node(self) -> Grid:
        code = (self.cleaned_data.get("node") or "").strip()
        if not code:
            node = selectors.home_node(self.user, self.action)
            if node is None:
                raise forms.ValidationError(_("您没有可查看统计的区域。"), code="no_scope")
            return node
        node = selectors.nodes_for(self.user, self.action).filter(code=code).first()
        if node is None:
            raise forms.ValidationError(_("区域“%(code)s”不存在或不在您的管辖范围内。") % {"code": code}, code="not_found")
        return node

    def clean_period(self) -> Period:
        code = (self.cleaned_data.get("period") or "").strip()
        today = timezone.localdate()
        if not code:
            return Period.current(self.default_kind if self.default_kind in KINDS else YEAR, today)
        period = Period.parse(code)
        if period.start > today:
            raise forms.ValidationError(
                _("统计期 %(period)s 尚未开始，没有可统计的数据。") % {"period": period.label}, code="future"
            )
        return period

    def clean_metrics(self) -> list[str]:
        text = (self.cleaned_data.get("metrics") or "").strip()
        if not text:
            return []
        keys = [key.strip() for key in text.split(",") if key.strip()]
        # the statistic keys the catalogue names, or an admin added and the roll-up counted
        known = set(m.METRICS) | set(self.layout.get(m.INCIDENTS, ()))
        unknown = [key for key in keys if key not in known]
        if unknown:
            raise forms.ValidationError(_("未知的指标：%(keys)s。") % {"keys": "、".join(unknown[:10])}, code="unknown_metric")
        return list(dict.fromkeys(keys))

    @cached_property
    def layout(self) -> dict[str, list[str]]:
        """The statistics' layouts, read once for the request (the caller reads with it too)."""
        return selectors.layouts()

    def first_error(self) -> tuple[str, str]:
        """(field, message) of the first error, for a refusal that names the field."""
        for field, errors in self.errors.items():
            return field, errors[0]
        return "", ""

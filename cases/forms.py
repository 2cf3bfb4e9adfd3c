"""Forms of the incident pages.

The forms check shape only (required, lengths, choices, that a photo is an image); the
rules of the loop live in ``cases.services``, whose ``ValidationError`` is put back on the
form's fields by ``apply_service_errors`` so a phone user sees each message next to its
field. Choices that depend on the user (the grids they may report in, the registry people
they may name) are given to the form by the view.
"""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.calendar import working_day_minutes
from cases.models import PersonRole, Source, Status, Urgency
from cases.services import MAX_BULK_DISPATCH, MAX_EXTENSION_MINUTES, MAX_FILES, MAX_PHOTOS, Involved, Upload
from kaili.attachments import check_file, check_photo
from kaili.forms import YES_NO, search_field, status_filter
from kaili.forms import QueueFilterForm as BaseQueueFilterForm
from kaili.forms import blank_choice as _blank
from kaili.forms import required_message as _required

LOCAL_DATETIME = "%Y-%m-%dT%H:%M"


# --- uploads ----------------------------------------------------------------------------


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented pattern); cleans to a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def photo_field(label=None):
    return MultipleFileField(
        label=label or _("现场照片"),
        widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
        help_text=_("可拍照或多选，最多 %(count)d 张，每张不超过 10 MB。照片无法保存在草稿中，提交失败时请重新选择。")
        % {"count": MAX_PHOTOS},
    )


def _checked_photos(files) -> list[Upload]:
    if len(files) > MAX_PHOTOS:
        raise ValidationError(_("最多上传 %(count)d 张照片。") % {"count": MAX_PHOTOS})
    for upload in files:
        try:
            check_photo(upload, "photos")
        except ValidationError as error:
            raise ValidationError(error.message_dict["photos"]) from error
    return [Upload(file=upload, kind="photo") for upload in files]


def _checked_files(files) -> list[Upload]:
    if len(files) > MAX_FILES:
        raise ValidationError(_("最多上传 %(count)d 个文件。") % {"count": MAX_FILES})
    for upload in files:
        try:
            check_file(upload, "files")
        except ValidationError as error:
            raise ValidationError(error.message_dict["files"]) from error
    return [Upload(file=upload, kind="file") for upload in files]


# --- the report -------------------------------------------------------------------------


def category_groups(categories) -> list:
    """Minor categories grouped under their major one, for a select with optgroups."""
    groups: dict[str, list] = {}
    for category in categories:
        groups.setdefault(category.parent.name, []).append((category.code, category.name))
    return list(groups.items())


def grid_choices(nodes) -> list:
    """Grids first, each followed by its units (indented): the list is in tree order."""
    return [(node.code, f"{'　└ ' if node.kind == 'unit' else ''}{node.name}（{node.code}）") for node in nodes]


def first_grid_code(nodes) -> str:
    """The node a new record's form preselects: the first grid of the list, else its first node."""
    nodes = list(nodes)
    first = next((node for node in nodes if node.kind == "grid"), nodes[0] if nodes else None)
    return first.code if first else ""


class NewRecordForm(forms.Form):
    """What the forms that create a record share (the incident report, the dispute
    registration): the client key, a ``category`` and a ``grid`` picked by code among the
    ``categories`` and ``grids`` the view offers, and the registry ``people`` (a queryset)
    the user may name."""

    client_key = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, categories=(), grids=(), people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = {category.code: category for category in categories}
        self.grids = {node.code: node for node in grids}
        self.people_queryset = people
        self.fields["grid"].choices = grid_choices(self.grids.values())

    def clean_category(self):
        return self.categories[self.cleaned_data["category"]]

    def clean_grid(self):
        return self.grids[self.cleaned_data["grid"]]


class ReportForm(NewRecordForm):
    """The grid worker's report. ``categories`` (minor, with their major loaded), ``grids``
    (the reportable nodes in the user's scope) and ``people`` (the registry people the user
    may see, as a queryset) come from the view."""

    category = forms.ChoiceField(
        label=_("事件类别"),
        error_messages={
            "required": _("请选择事件类别。"),
            "invalid_choice": _("事件类别“%(value)s”不存在或已停用。"),
        },
    )
    grid = forms.ChoiceField(
        label=_("所属网格"),
        error_messages={
            "required": _("请选择所属网格。"),
            "invalid_choice": _("网格“%(value)s”不在您的管辖范围内。"),
        },
    )
    source = forms.ChoiceField(label=_("来源"), choices=Source.choices, initial=Source.PATROL)
    urgency = forms.ChoiceField(label=_("紧急程度"), required=False, choices=[*_blank(_("按类别默认")), *Urgency.choices])
    occurred_at = forms.DateTimeField(
        label=_("发生时间"),
        input_formats=[LOCAL_DATETIME, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_DATETIME),
        error_messages={"required": _("请填写发生时间。"), "invalid": _("发生时间格式不正确。")},
    )
    title = forms.CharField(label=_("标题"), max_length=100, required=False, help_text=_("可不填，默认取描述的前 30 字。"))
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    latitude = forms.DecimalField(
        label=_("纬度"),
        required=False,
        max_digits=9,
        decimal_places=6,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        error_messages={"invalid": _("纬度应为数字。")},
    )
    longitude = forms.DecimalField(
        label=_("经度"),
        required=False,
        max_digits=9,
        decimal_places=6,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        error_messages={"invalid": _("经度应为数字。")},
    )
    description = forms.CharField(
        label=_("情况描述"),
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages=_required(_("请填写情况描述。")),
    )
    reporter_name = forms.CharField(label=_("反映人"), max_length=64, required=False, help_text=_("来访、来电群众的称呼"))
    photos = photo_field()
    files = MultipleFileField(label=_("其他文件"), help_text=_("文档、录音、视频等，最多 %(count)d 个。") % {"count": MAX_FILES})
    solved_on_spot = forms.BooleanField(label=_("已就地解决"), required=False)
    result = forms.CharField(
        label=_("处理结果"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("勾选“已就地解决”时必填。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [*_blank(_("请选择类别")), *category_groups(self.categories.values())]
        self.involved_rows: list[dict] = []

    def clean_description(self):
        value = self.cleaned_data["description"].strip()
        if not value:
            raise ValidationError(_("请填写情况描述。"))
        return value

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        # The service allows a phone clock a few minutes ahead; a time in the future is a mistake.
        from cases.services import CLOCK_SKEW

        if value > timezone.now() + CLOCK_SKEW:
            raise ValidationError(_("发生时间不能晚于现在。"))
        return value

    def clean_photos(self):
        return _checked_photos(self.cleaned_data["photos"])

    def clean_files(self):
        return _checked_files(self.cleaned_data["files"])

    def clean(self):
        cleaned = super().clean()
        cleaned["people"] = self._clean_people()
        if cleaned.get("solved_on_spot") and not (cleaned.get("result") or "").strip():
            self.add_error("result", _("就地解决须填写处理结果。"))
        return cleaned

    def _clean_people(self) -> list[Involved]:
        """The rows of the people list: a registry person (``involved_person``, shown masked)
        or a name as told (``involved_name``), each with a role."""
        if not self.is_bound:
            return []
        ids = self.data.getlist("involved_person")
        names = self.data.getlist("involved_name")
        roles = self.data.getlist("involved_role")
        if not (len(ids) == len(names) == len(roles)):
            self.add_error(None, _("涉事人员的填写不完整，请刷新页面后重试。"))
            return []
        wanted = {int(pk) for pk in ids if pk.strip().isdigit()}
        found = {}
        if wanted and self.people_queryset is not None:
            found = {person.pk: person for person in self.people_queryset.filter(pk__in=wanted)}
        involved, valid_roles = [], set(PersonRole.values)
        for index, (pk, name, role) in enumerate(zip(ids, names, roles, strict=True), start=1):
            pk, name = pk.strip(), name.strip()
            if not pk and not name:
                continue
            person = None
            if pk:
                person = found.get(int(pk)) if pk.isdigit() else None
                if person is None:
                    self.add_error(None, _("第 %(n)d 位涉事人员不在您可查看的人员范围内。") % {"n": index})
                    continue
            if role not in valid_roles:
                self.add_error(None, _("第 %(n)d 位涉事人员：请选择身份。") % {"n": index})
                role = PersonRole.PARTY
            self.involved_rows.append({"person": person, "name": "" if person else name, "role": role})
            involved.append(Involved(person=person, name="" if person else name[:64], role=role))
        return involved

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "category": data["category"],
            "grid": data["grid"],
            "description": data["description"],
            "occurred_at": data["occurred_at"],
            "source": data["source"],
            "urgency": data["urgency"] or None,
            "title": data["title"],
            "place": data["place"],
            "latitude": data["latitude"],
            "longitude": data["longitude"],
            "reporter_name": data["reporter_name"],
            "people": data["people"],
            "uploads": [*data["photos"], *data["files"]],
            "client_key": data["client_key"],
            "solved_on_spot": data["solved_on_spot"],
            "result": data["result"],
        }


def new_report_initial(grids) -> dict:
    return {
        "client_key": uuid.uuid4(),
        "grid": first_grid_code(grids),
        "source": Source.PATROL,
        "occurred_at": timezone.localtime().replace(second=0, microsecond=0),
    }


# --- steps on the case page -------------------------------------------------------------


class StepForm(forms.Form):
    """Every step form posts the case version the page showed: a case moved on by someone
    else meanwhile is refused as a conflict instead of being overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def payload(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}


def _note(label=None, required=False, message=""):
    return forms.CharField(
        label=label or _("意见"),
        required=required,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=_required(message) if message else None,
    )


class FileStepForm(StepForm):
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Urgency.choices)
    note = _note()


class CancelStepForm(StepForm):
    reason = _note(_("注销理由"), True, _("注销须说明理由。"))


class DispatchStepForm(StepForm):
    department = forms.ModelChoiceField(
        label=_("承办单位"),
        queryset=None,
        required=False,
        empty_label=_("（不指定单位，直接派给承办人）"),
        error_messages={"invalid_choice": _("承办单位不存在或已停用。")},
    )
    handler = forms.ChoiceField(label=_("承办人（可选）"), required=False)
    note = _note(_("派遣意见"))

    def __init__(self, *args, departments=None, members=(), **kwargs):
        """``members``: (department, user) pairs of the active departments, for the handler
        select grouped by department."""
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        groups: dict[str, list] = {}
        self.members = {}
        for department, user in members:
            groups.setdefault(department.name, []).append((str(user.pk), str(user)))
            self.members[str(user.pk)] = user
        self.fields["handler"].choices = [*_blank(_("（不指定）")), *groups.items()]
        self.fields["handler"].error_messages["invalid_choice"] = _("承办人不是任何承办单位的人员。")

    def clean_handler(self):
        value = self.cleaned_data["handler"]
        return self.members.get(value) if value else None


class StartStepForm(StepForm):
    note = _note(_("签收说明"))


class ReturnStepForm(StepForm):
    reason = _note(_("退回理由"), True, _("退回须说明理由（例如不属于本单位职责）。"))


class ReportBackStepForm(StepForm):
    result = _note(_("处置结果"), True, _("请填写处置结果。"))
    photos = photo_field(_("处置后照片"))

    def clean_photos(self):
        return _checked_photos(self.cleaned_data["photos"])

    def payload(self) -> dict:
        return {"result": self.cleaned_data["result"], "uploads": self.cleaned_data["photos"]}


class CheckStepForm(StepForm):
    note = _note(_("核查意见"))


class ReworkStepForm(StepForm):
    reason = _note(_("返工原因"), True, _("返工须说明核查发现的问题。"))


class ParkStepForm(StepForm):
    reason = _note(_("挂账说明"), True, _("挂账须书面说明无法办结的原因。"))


class ExtendStepForm(StepForm):
    amount = forms.IntegerField(
        label=_("延长"),
        min_value=1,
        error_messages={
            "required": _("请填写延长多少。"),
            "min_value": _("延长时长至少为 1。"),
            "invalid": _("延长时长应为整数。"),
        },
    )
    unit = forms.ChoiceField(label=_("单位"), choices=[("day", _("工作日")), ("hour", _("工作小时"))], initial="day")
    reason = _note(_("延期理由"), True, _("延期须说明理由。"))

    def clean(self):
        data = super().clean()
        if data.get("amount") and data.get("unit"):
            per_unit = working_day_minutes() if data["unit"] == "day" else 60
            data["minutes"] = data["amount"] * per_unit
            if data["minutes"] > MAX_EXTENSION_MINUTES:
                days = MAX_EXTENSION_MINUTES // working_day_minutes()
                self.add_error("amount", _("一次延期最多 %(days)d 个工作日。") % {"days": days})
        return data

    def payload(self) -> dict:
        return {"minutes": self.cleaned_data["minutes"], "reason": self.cleaned_data["reason"]}


class EvaluateStepForm(StepForm):
    satisfaction = forms.TypedChoiceField(
        label=_("满意度"),
        coerce=int,
        choices=[(n, n) for n in range(1, 6)],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择满意度。"), "invalid_choice": _("满意度应为 1 到 5 分。")},
    )
    note = _note(_("评价意见"))


class SolveOnSpotStepForm(StepForm):
    result = _note(_("处理结果"), True, _("就地解决须填写处理结果。"))


class ClearStepForm(StepForm):
    cleared_on = forms.DateField(
        label=_("破案日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("请填写破案日期。"), "invalid": _("破案日期格式不正确。")},
    )
    note = _note(_("说明"))


class TransferStepForm(StepForm):
    note = _note(_("说明"))


STEP_FORMS = {
    "file": FileStepForm,
    "cancel": CancelStepForm,
    "dispatch": DispatchStepForm,
    "start": StartStepForm,
    "return": ReturnStepForm,
    "report_back": ReportBackStepForm,
    "check": CheckStepForm,
    "rework": ReworkStepForm,
    "park": ParkStepForm,
    "extend": ExtendStepForm,
    "evaluate": EvaluateStepForm,
    "solve_on_spot": SolveOnSpotStepForm,
    "clear": ClearStepForm,
    "transfer": TransferStepForm,
}


# --- lists ------------------------------------------------------------------------------


class MineFilterForm(forms.Form):
    status = status_filter(Status)


class QueueFilterForm(BaseQueueFilterForm):
    """The centre's queue filters; ``filter_params`` turns them into the
    ``IncidentFilterSet`` data the page, the counts and the export all use."""

    q = search_field(_("编号、标题、描述或地点"))
    status = status_filter(Status)
    category = forms.ChoiceField(label=_("类别"), required=False)
    overdue = forms.ChoiceField(label=_("已超时"), required=False, choices=YES_NO)
    urgency = forms.ChoiceField(label=_("紧急程度"), required=False, choices=[*_blank(_("全部")), *Urgency.choices])
    source = forms.ChoiceField(label=_("来源"), required=False, choices=[*_blank(_("全部来源")), *Source.choices])
    reported_from = forms.DateField(
        label=_("上报日期起"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("日期格式不正确。")},
    )
    reported_to = forms.DateField(
        label=_("上报日期止"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("日期格式不正确。")},
    )

    field_order = ["q", "status", "category"]  # then the area, then the rest
    TEXT_PARAMS = ("q", "category", "overdue", "urgency", "source")
    DATE_PARAMS = ("reported_from", "reported_to")
    DATE_RANGES = (("reported_from", "reported_to"),)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        groups: dict[tuple, list] = {}
        for category in categories:
            major = category.parent
            groups.setdefault((major.code, major.name), []).append((category.code, category.name))
        self.fields["category"].choices = [*_blank(_("全部类别"))] + [
            (name, [(code, _("（全部）%(name)s") % {"name": name}), *minors]) for (code, name), minors in groups.items()
        ]


class BulkDispatchForm(DispatchStepForm):
    """The queue's bulk dispatch: the chosen cases, to one department or person."""

    version = None

    def numbers(self) -> list[str]:
        """The ticked case numbers, at most ``MAX_BULK_DISPATCH`` (as the API)."""
        ticked = [number.strip()[:32] for number in self.data.getlist("incidents")]
        return [number for number in ticked if number][:MAX_BULK_DISPATCH]


class PersonLookupForm(forms.Form):
    q = forms.CharField(max_length=64, error_messages=_required(_("请输入姓名或身份证号。")))

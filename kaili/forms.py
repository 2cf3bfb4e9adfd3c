from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kaili.models import AuditAction


def required_message(message) -> dict:
    """``error_messages`` for a required field."""
    return {"required": message}


def blank_choice(label) -> list:
    return [("", label)]


def apply_service_errors(error: ValidationError, form, detail_form=None) -> None:
    """Put a service's ``ValidationError`` on the form fields it names (``details.<name>``
    goes to ``detail_form``, a programme's detail form); anything else goes to the top of
    ``form``."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        name = key.removeprefix("details.")
        if key.startswith("details.") and detail_form is not None and name in detail_form.fields:
            detail_form.add_error(name, messages)
        elif name in form.fields:
            form.add_error(name, messages)
        else:
            form.add_error(None, messages)


YES_NO = [("", _("全部")), ("true", _("是")), ("false", _("否"))]


def search_field(placeholder) -> forms.CharField:
    """A list's free-text search box."""
    return forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": placeholder}),
    )


def status_filter(statuses) -> forms.ChoiceField:
    """A list's status select over the ``statuses`` choices, "all" first."""
    return forms.ChoiceField(label=_("状态"), required=False, choices=[*blank_choice(_("全部状态")), *statuses.choices])


class QueueFilterForm(forms.Form):
    """What the record queues' filter forms share (cases, disputes): the area, a select down
    to the zones (``nodes``: (node, depth) from the view) or a grid code typed in, and
    ``filter_params``, the filters as the filterset data the queue, its counts and the
    export all use. Subclasses name their ``TEXT_PARAMS``, ``DATE_PARAMS`` and the
    (start, end) ``DATE_RANGES`` that must not run backwards; their ``field_order`` puts
    the area where it belongs."""

    under = forms.ChoiceField(label=_("区域"), required=False)
    code = forms.CharField(
        label=_("或网格编码"),
        required=False,
        max_length=17,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "522601001001"}),
    )

    TEXT_PARAMS: tuple[str, ...] = ()
    DATE_PARAMS: tuple[str, ...] = ()
    DATE_RANGES: tuple[tuple[str, str], ...] = ()

    def __init__(self, *args, nodes=(), **kwargs):
        super().__init__(*args, **kwargs)
        under = [(node.code, f"{'　' * depth}{node.name}") for node, depth in nodes]
        asked = (self.data.get("under") or "").strip() if self.is_bound else ""
        if asked and asked not in {code for code, _label in under}:
            # A subtree below the zones (a link from another page): kept, shown by its code.
            under.append((asked, asked))
        self.fields["under"].choices = [*blank_choice(_("全部辖区")), *under]

    def clean(self):
        cleaned = super().clean()
        for start, end in self.DATE_RANGES:
            if cleaned.get(start) and cleaned.get(end) and cleaned[start] > cleaned[end]:
                self.add_error(end, _("结束日期不能早于开始日期。"))
        return cleaned

    def filter_params(self, *, with_status: bool = True) -> dict:
        """The filters as plain strings (an export job and its audit row keep them)."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        params = {name: data[name].strip() for name in self.TEXT_PARAMS if data.get(name)}
        under = (data.get("code") or "").strip() or data.get("under")
        if under:
            params["under"] = under
        params.update({name: data[name].isoformat() for name in self.DATE_PARAMS if data.get(name)})
        if with_status and data.get("status"):
            params["status"] = [data["status"]]
        return params


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("账号或密码错误。连续失败 5 次，账号或地址将被锁定 15 分钟。"),
        "inactive": _("该账号已停用，请联系系统管理员。"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("账号")
        self.fields["password"].label = _("密码")
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})


class TotpForm(forms.Form):
    otp_token = forms.CharField(
        label=_("动态口令"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True, "pattern": "[0-9]*"}
        ),
        error_messages={"required": _("请输入身份验证器上显示的 6 位动态口令。")},
    )


class AuditSearchForm(forms.Form):
    user = forms.CharField(label=_("账号"), required=False)
    object = forms.CharField(label=_("对象（类型或标识）"), required=False)
    action = forms.ChoiceField(label=_("操作"), required=False, choices=[("", _("全部")), *AuditAction.choices])
    start = forms.DateTimeField(label=_("起始时间"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(label=_("截止时间"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("起始时间不能晚于截止时间。"))
        return data


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("账号"), max_length=150)
    full_name = forms.CharField(label=_("姓名"), max_length=64, required=False)
    organisation = forms.CharField(label=_("单位"), max_length=128, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    password1 = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("确认密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return data


class GrantForm(forms.Form):
    role = forms.ChoiceField(label=_("角色"))
    codes = forms.CharField(
        label=_("网格编码"),
        required=False,
        help_text=_("多个编码用空格或逗号分隔；安全管理员、安全审计员不填。"),
        widget=forms.TextInput(attrs={"placeholder": "522601001001"}),
    )

    def __init__(self, *args, **kwargs):
        from kaili.roles import ROLES

        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(name, role.label) for name, role in ROLES.items()]

    def cleaned_codes(self) -> list[str]:
        return [code for code in self.cleaned_data.get("codes", "").replace(",", " ").replace("，", " ").split() if code]


class PasswordResetForm(forms.Form):
    password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

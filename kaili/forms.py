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

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kaili.models import User
from kaili.roles import ROLES
from kaili.selectors import user_grants


class RoleGrantSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=list(ROLES), label=_("角色"))
    label = serializers.CharField(read_only=True)
    codes = serializers.ListField(child=serializers.CharField(max_length=17), required=False, default=list, label=_("网格编码"))


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "organisation", "email", "is_active", "roles", "last_login", "date_joined"]
        read_only_fields = ["id", "username", "is_active", "roles", "last_login", "date_joined"]

    def get_roles(self, user) -> list[dict]:
        return user_grants(user)


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, label=_("账号"))
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, label=_("密码"))
    full_name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    organisation = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    roles = RoleGrantSerializer(many=True, required=False, default=list)


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, label=_("新密码"))


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("账号"))
    password = serializers.CharField(style={"input_type": "password"}, label=_("密码"))
    otp_token = serializers.CharField(required=False, allow_blank=True, label=_("动态口令（特权角色必填）"))


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class StatusCountsSerializer(serializers.Serializer):
    """Records per status (one field per value of ``statuses``), the open ones past their
    deadline, the total."""

    statuses: type | None = None

    total = serializers.IntegerField()
    overdue = serializers.IntegerField()

    def get_fields(self):
        fields = super().get_fields()
        for status in self.statuses:
            fields[status.value] = serializers.IntegerField(label=status.label)
        return fields


# A step of a record's workflow (``steps``: the workflow's Step choices) with its label, the
# statuses before and after with theirs, and who took it; subclasses give the model and
# fields. A comment, not a docstring: the subclasses' schema would inherit it.
class TransitionSerializer(serializers.ModelSerializer):
    steps: type | None = None
    # The fields every workflow's transitions start with, in this order.
    STEP_FIELDS = ["step", "label", "from_status", "from_status_display", "to_status", "to_status_display", "actor", "at", "note"]

    label = serializers.SerializerMethodField()
    from_status_display = serializers.CharField(source="get_from_status_display", read_only=True)
    to_status_display = serializers.CharField(source="get_to_status_display", read_only=True)
    actor = serializers.SerializerMethodField()

    def get_label(self, transition) -> str:
        return str(self.steps(transition.step).label) if transition.step in self.steps.values else transition.step

    def get_actor(self, transition) -> str | None:
        return str(transition.actor) if transition.actor_id else None


def offered_steps(serializer, record, available_steps, action_names: dict) -> list[str]:
    """The steps the caller may take on ``record`` now (``available_steps(user, record)``),
    by the names of their API actions; none without a request."""
    request = serializer.context.get("request")
    if request is None:
        return []
    return [action_names.get(step, step) for step in available_steps(request.user, record)]

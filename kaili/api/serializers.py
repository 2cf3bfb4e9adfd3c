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

from django.contrib.auth import authenticate
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from kaili import services
from kaili.api.errors import error_response
from kaili.api.serializers import (
    PasswordSerializer,
    RoleGrantSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserCreateSerializer,
    UserSerializer,
)
from kaili.export_views import export_file_response, job_progress, own_jobs
from kaili.filtersets import UserFilterSet
from kaili.models import ExportJob, User
from kaili.roles import requires_two_factor
from kaili.selectors import user_list
from kaili.two_factor import verify_totp


class UserPermission(permissions.DjangoModelPermissions):
    """Model permissions, with reading gated too and roles needing ``kaili.assign_role``."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    # Actions of the security admin, not of the system admin who manages accounts.
    action_permissions = {"grant": "kaili.assign_role", "revoke": "kaili.assign_role", "unlock": "axes.delete_accessattempt"}

    def has_permission(self, request, view):
        needed = self.action_permissions.get(getattr(view, "action", None))
        if needed:
            return request.user.is_authenticated and request.user.has_perm(needed)
        return super().has_permission(request, view)


class UserViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Accounts (admin only): create, list, change role and grants, deactivate."""

    queryset = User.objects.all()
    serializer_class = UserSerializer
    permission_classes = [permissions.IsAuthenticated, UserPermission]
    filterset_class = UserFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["username", "date_joined", "last_login"]

    def get_queryset(self):
        return user_list()

    def respond_with(self, user, http_status=status.HTTP_200_OK) -> Response:
        return Response(UserSerializer(user_list().get(pk=user.pk)).data, status=http_status)

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def create(self, request, *args, **kwargs):
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        roles = values.pop("roles")
        if roles and not request.user.has_perm("kaili.assign_role"):
            return error_response(
                "permission_denied", _("角色须由安全管理员分配：请先创建账号，不带 roles。"), status.HTTP_403_FORBIDDEN
            )
        with transaction.atomic():
            user = services.user_create(actor=request.user, **values)
            for grant in roles:
                services.user_grant_role(actor=request.user, user=user, role=grant["role"], codes=grant["codes"])
        return self.respond_with(user, status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = services.user_update(actor=self.request.user, user=serializer.instance, **serializer.validated_data)
        serializer.instance = user_list().get(pk=serializer.instance.pk)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self.respond_with(services.user_deactivate(actor=request.user, user=self.get_object()))

    @extend_schema(request=PasswordSerializer, responses=UserSerializer)
    @action(detail=True, methods=["post"], url_path="set-password")
    def set_password(self, request, pk=None):
        """Set a new password for a user who lost theirs (system admin)."""
        data = PasswordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_set_password(actor=request.user, user=self.get_object(), password=data.validated_data["password"])
        return self.respond_with(user)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        """Lift a lockout after failed sign-ins (security admin)."""
        return self.respond_with(services.user_unlock(actor=request.user, user=self.get_object()))

    @extend_schema(request=RoleGrantSerializer, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def grant(self, request, pk=None):
        """Give the user a role on grid nodes (added to existing grants)."""
        data = RoleGrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_grant_role(actor=request.user, user=self.get_object(), **data.validated_data)
        return self.respond_with(user)

    @extend_schema(request=RoleGrantSerializer, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Withdraw a role on the given nodes, or entirely when no codes are given."""
        data = RoleGrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_revoke_role(
            actor=request.user,
            user=self.get_object(),
            role=data.validated_data["role"],
            codes=data.validated_data["codes"] or None,
        )
        return self.respond_with(user)


class TokenView(APIView):
    """Exchange username, password (and TOTP code for privileged roles) for an API token."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer)
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request, username=data.validated_data["username"], password=data.validated_data["password"]
        )
        if getattr(request._request, "axes_locked_out", False):
            return error_response("account_locked", _("连续登录失败 5 次，账号或地址已锁定 15 分钟。"), status.HTTP_403_FORBIDDEN)
        if user is None:
            return error_response("invalid_credentials", _("账号或密码错误。"), status.HTTP_401_UNAUTHORIZED)
        if requires_two_factor(user):
            code = data.validated_data.get("otp_token", "").strip()
            if not code:
                return error_response(
                    "two_factor_required", _("该角色须提供动态口令（otp_token）。"), status.HTTP_401_UNAUTHORIZED
                )
            if verify_totp(user, code) is None:
                return error_response("invalid_otp", _("动态口令错误或已过期。"), status.HTTP_401_UNAUTHORIZED)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


EXPORT_PROGRESS = inline_serializer(
    "ExportJobProgress",
    {
        "id": serializers.IntegerField(),
        "status": serializers.CharField(help_text="pending / running / done / failed"),
        "status_display": serializers.CharField(),
        "finished": serializers.BooleanField(),
        "phase": serializers.CharField(),
        "done": serializers.IntegerField(),
        "total": serializers.IntegerField(),
        "percent": serializers.IntegerField(),
        "rows": serializers.IntegerField(allow_null=True),
        "download_url": serializers.CharField(),
        "page_url": serializers.CharField(),
    },
)


class ExportJobViewSet(viewsets.GenericViewSet):
    """The caller's own queued exports: progress, then the file. Anyone else's is not found."""

    queryset = ExportJob.objects.none()  # for the schema; get_queryset is the owner's jobs
    permission_classes = [permissions.IsAuthenticated]
    filter_backends = []
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return own_jobs(self.request.user)

    def perform_content_negotiation(self, request, force=False):
        # The download answers with the file whatever the client accepts.
        return super().perform_content_negotiation(request, force=force or self.action == "download")

    @extend_schema(responses=EXPORT_PROGRESS)
    def retrieve(self, request, pk=None):
        job = self.get_object()
        links = {
            "download_url": reverse("exportjob-download", kwargs={"pk": job.pk}),
            "page_url": reverse("export-detail", kwargs={"pk": job.pk}),
        }
        return Response({**job_progress(job), **links})

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The finished file (404 until it is written)."""
        return export_file_response(self.get_object())

"""The base of every scoped API endpoint: the grid scope is applied here, once; and what
the record APIs (cases, disputes) share: client keys, one POST action per workflow step."""

import uuid

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kaili.scope import ADD, CHANGE, DELETE, EXPORT, VIEW, user_can

ACTION_FOR_VIEW = {
    "list": VIEW,
    "retrieve": VIEW,
    "create": ADD,
    "update": CHANGE,
    "partial_update": CHANGE,
    "destroy": DELETE,
    "export": EXPORT,
}


class ScopedPermission(permissions.BasePermission):
    """Allowed when the user may do the action on the model somewhere in their scope.

    Whether the particular record is in scope is the queryset's business: a record out of
    scope is simply not found (404), exactly like a missing one.
    """

    message = "您没有执行此操作的权限。"

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) and user_can(
            request.user, view.queryset.model, view.scope_action()
        )


class ScopedViewSetMixin:
    """Restricts ``queryset`` to the user's grid scope for the action being performed."""

    permission_classes = [permissions.IsAuthenticated, ScopedPermission]
    # Extra @action names map to a scope action here (e.g. {"rename": CHANGE}).
    scope_actions: dict[str, str] = {}

    def scope_action(self) -> str:
        name = getattr(self, "action", None) or "list"
        return self.scope_actions.get(name) or ACTION_FOR_VIEW.get(name, VIEW)

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, self.scope_action())


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ServiceWriteMixin:
    """Writes call one function of the app's ``services`` (not DRF's model mixins, which
    save through the serializer) and answer with the record as the list shows it."""

    def validated(self, serializer_class, *, partial: bool = False) -> dict:
        data = serializer_class(data=self.request.data, partial=partial)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)

    def written(self, record, status_code=status.HTTP_200_OK) -> Response:
        # Read back through ``queryset`` (its joins and annotations) and not the write's
        # scope: the service has checked it, and someone the write takes out of the record's
        # scope (a member leaving an enrollment's team) still gets the answer.
        return Response(self.get_serializer(self.queryset.get(pk=record.pk)).data, status=status_code)


def parse_client_key(value) -> uuid.UUID | None:
    """A record's client key (``client_key`` or the ``Idempotency-Key`` header); a 400 when
    it is not a UUID."""
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip())
    except ValueError as error:
        raise exceptions.ValidationError({"client_key": [_("提交标识应为 UUID。")]}) from error


def step_action(name: str, step: str, serializer_class, url_path: str, doc: str, responses):
    """One POST action taking ``step`` (through the viewset's ``take_step``) on the record
    addressed by number, answering ``responses``."""

    def take(self, request, number=None):
        return self.take_step(step, serializer_class)

    take.__name__ = take.__qualname__ = name
    take.__doc__ = doc
    take = action(detail=True, methods=["post"], url_path=url_path, url_name=url_path, filter_backends=[])(take)
    return extend_schema(request=serializer_class, responses=responses)(take)

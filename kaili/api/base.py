"""The base of every scoped API endpoint: the grid scope is applied here, once."""

from rest_framework import permissions, viewsets

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

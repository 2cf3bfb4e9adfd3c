"""The base of every scoped page: the same grid scope as the API, applied once."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied

from kaili.scope import VIEW, user_can


class ScopedViewMixin(LoginRequiredMixin):
    """Class-based views over a scoped model: the queryset is restricted to the user's scope.

    A user who may not do ``scope_action`` on the model anywhere gets 403; a record outside
    their scope is not in the queryset and so answers 404, like a missing one.
    """

    scope_action = VIEW

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not user_can(request.user, self.model, self.scope_action):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, self.scope_action)

from kaili.navigation import menu_links
from kaili.roles import ROLES, requires_two_factor, user_role_names


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    awaiting_second_factor = requires_two_factor(user) and not user.is_verified()
    return {
        # Before the second factor every page but sign-in is closed: offer no links yet.
        "menu_links": [] if awaiting_second_factor else menu_links(user),
        "role_labels": [ROLES[name].label for name in sorted(user_role_names(user), key=list(ROLES).index)],
    }

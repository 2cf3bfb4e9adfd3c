from kaili.navigation import menu_links
from kaili.roles import ROLES, user_role_names


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "menu_links": menu_links(user),
        "role_labels": [ROLES[name].label for name in sorted(user_role_names(user), key=list(ROLES).index)],
    }

"""The roles of DOMAIN.md as Django groups, and what each may do.

A role's group permissions say *what* its holders may do; a grant of the role on a grid
node (``grids.GridUserObjectPermission`` with permission ``grids.role_<name>``) says
*where*. System admin, security admin and auditor are kept apart (三员分立): none holds
another's permissions. Later apps extend ``ROLE_PERMISSIONS`` for their own models.
"""

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

GRID_WORKER = "grid_worker"
UNIT_HEAD = "unit_head"
CENTRE_STAFF = "centre_staff"
MEDIATOR = "mediator"
PROGRAMME_OFFICER = "programme_officer"
LEADER = "leader"
DEPARTMENT = "department"
SYSTEM_ADMIN = "system_admin"
SECURITY_ADMIN = "security_admin"
AUDITOR = "auditor"


@dataclass(frozen=True)
class Role:
    name: str
    label: str
    permissions: tuple[str, ...]
    grid_scoped: bool = True
    requires_two_factor: bool = False


REGISTRY_VIEW = ("populations.view_household", "populations.view_person")
REGISTRY_EDIT = (
    *REGISTRY_VIEW,
    "populations.add_household",
    "populations.change_household",
    "populations.add_person",
    "populations.change_person",
)
REGISTRY_EXPORT = ("populations.export_household", "populations.export_person")
# Which programmes' enrollments a holder sees is narrowed further in
# populations.models.EnrollmentQuerySet.restrict (an officer's own programmes, a grid
# worker's left-behind people, a responsible team's own people).
PROGRAMME_WORK = (
    "populations.view_enrollment",
    "populations.add_enrollment",
    "populations.change_enrollment",
    "populations.export_enrollment",
    "populations.count_enrollment",
    "populations.view_visit",
    "populations.add_visit",
    "populations.view_placement",
    "populations.add_placement",
    "populations.change_placement",
    "populations.view_facility",
)

CATEGORY_VIEW = ("cases.view_category", "cases.view_department")
INCIDENT_REPORT = ("cases.view_incident", "cases.add_incident", *CATEGORY_VIEW)
# The centre files, dispatches, parks and supervises; where a case lies is the grid scope.
INCIDENT_CENTRE = (*INCIDENT_REPORT, "cases.change_incident", "cases.export_incident")
CASE_TABLES = (
    "cases.view_category",
    "cases.add_category",
    "cases.change_category",
    "cases.view_department",
    "cases.add_department",
    "cases.change_department",
    "cases.view_calendarday",
    "cases.add_calendarday",
    "cases.change_calendarday",
    "cases.delete_calendarday",
)

DISPUTE_TABLES_VIEW = (
    "disputes.view_disputecategory",
    "disputes.view_disputescale",
    "disputes.view_mediationline",
    "disputes.view_tier",
    "disputes.view_mediationbody",
    "disputes.view_court",
)
DISPUTE_REPORT = ("disputes.view_dispute", "disputes.add_dispute", *DISPUTE_TABLES_VIEW)
# Mediating (sessions, agreements, follow-up visits) is for the dispute's own mediators;
# this permission says where a user may be assigned as one and may pay follow-up visits.
DISPUTE_MEDIATE = (*DISPUTE_REPORT, "disputes.mediate_dispute")
DISPUTE_CENTRE = (*DISPUTE_MEDIATE, "disputes.change_dispute", "disputes.export_dispute")
DISPUTE_TABLES = (
    *DISPUTE_TABLES_VIEW,
    "disputes.add_disputecategory",
    "disputes.change_disputecategory",
    "disputes.add_disputescale",
    "disputes.change_disputescale",
    "disputes.change_mediationline",
    "disputes.change_tier",
    "disputes.add_mediationbody",
    "disputes.change_mediationbody",
    "disputes.add_court",
    "disputes.change_court",
)

# The dashboard: leaders and the centre read and export the statistics of their area; the
# centre's staff assess the villages' five haves and five nones; the system admin watches
# the roll-up's runs and may start a rebuild.
DASHBOARD_VIEW = ("dashboard.view_statistic", "dashboard.export_statistic", "dashboard.view_villageassessment")
VILLAGE_ASSESSMENT = ("dashboard.add_villageassessment", "dashboard.change_villageassessment")
ROLLUP_ADMIN = ("dashboard.view_rolluprun", "dashboard.rebuild_statistic")

ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role(
            GRID_WORKER,
            _("网格员"),
            (
                "grids.view_grid",
                *REGISTRY_EDIT,
                "populations.view_enrollment",
                "populations.view_visit",
                "populations.add_visit",
                *INCIDENT_REPORT,
                "cases.check_incident",
                *DISPUTE_MEDIATE,
            ),
        ),
        Role(UNIT_HEAD, _("十户长"), ("grids.view_grid", *REGISTRY_VIEW, *CATEGORY_VIEW)),
        Role(
            CENTRE_STAFF,
            _("综治中心工作人员"),
            (
                "grids.view_grid",
                "grids.export_grid",
                *REGISTRY_VIEW,
                *REGISTRY_EXPORT,
                "populations.count_enrollment",
                *INCIDENT_CENTRE,
                *DISPUTE_CENTRE,
                *DASHBOARD_VIEW,
                *VILLAGE_ASSESSMENT,
            ),
        ),
        Role(MEDIATOR, _("调解员"), ("grids.view_grid", *REGISTRY_VIEW, *DISPUTE_MEDIATE)),
        Role(
            PROGRAMME_OFFICER,
            _("专干"),
            ("grids.view_grid", *REGISTRY_VIEW, "populations.export_person", *PROGRAMME_WORK),
        ),
        Role(
            LEADER,
            _("领导"),
            (
                "grids.view_grid",
                "grids.export_grid",
                "populations.count_enrollment",
                "cases.view_incident",
                "cases.export_incident",
                *CATEGORY_VIEW,
                "disputes.view_dispute",
                "disputes.export_dispute",
                *DISPUTE_TABLES_VIEW,
                *DASHBOARD_VIEW,
            ),
            requires_two_factor=True,
        ),
        Role(
            DEPARTMENT,
            _("部门（接口）"),
            ("grids.view_grid", "grids.export_grid", *REGISTRY_EDIT, *REGISTRY_EXPORT, *INCIDENT_REPORT, *DISPUTE_REPORT),
        ),
        Role(
            SYSTEM_ADMIN,
            _("系统管理员"),
            (
                "grids.view_grid",
                "grids.add_grid",
                "grids.change_grid",
                "grids.delete_grid",
                "grids.export_grid",
                "kaili.view_user",
                "kaili.add_user",
                "kaili.change_user",
                *REGISTRY_EDIT,
                "populations.view_facility",
                "populations.add_facility",
                "populations.change_facility",
                "populations.view_schedulerule",
                "populations.change_schedulerule",
                *CASE_TABLES,
                *DISPUTE_TABLES,
                *ROLLUP_ADMIN,
            ),
            requires_two_factor=True,
        ),
        Role(
            SECURITY_ADMIN,
            _("安全管理员"),
            (
                "kaili.view_user",
                "kaili.assign_role",
                "axes.view_accessattempt",
                "axes.delete_accessattempt",
                "populations.view_programmeofficer",
                "populations.add_programmeofficer",
                "populations.delete_programmeofficer",
            ),
            grid_scoped=False,
            requires_two_factor=True,
        ),
        Role(
            AUDITOR,
            _("安全审计员"),
            ("kaili.view_auditentry", "kaili.export_auditentry", "kaili.view_auditcheck"),
            grid_scoped=False,
            requires_two_factor=True,
        ),
    )
}

# The three separated administrator roles (三员分立): one account may hold only one of them.
SEPARATED_ADMIN_ROLES = frozenset({SYSTEM_ADMIN, SECURITY_ADMIN, AUDITOR})


def role_grant_codename(role_name: str) -> str:
    return f"role_{role_name}"


def role_label(role_name: str) -> str:
    role = ROLES.get(role_name)
    return str(role.label) if role else role_name


def user_role_names(user) -> set[str]:
    """The role names a user holds, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_kaili_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._kaili_roles = cached
    return cached


def requires_two_factor(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or any(ROLES[name].requires_two_factor for name in user_role_names(user))


def _permission(label: str) -> Permission:
    app_label, codename = label.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def sync_roles() -> None:
    """Create the role groups and set their permissions to exactly ``ROLE_PERMISSIONS``."""
    for role in ROLES.values():
        group, _created = Group.objects.get_or_create(name=role.name)
        group.permissions.set([_permission(label) for label in role.permissions])


def sync_roles_after_migrate(sender, **kwargs):
    # Our post_migrate runs before that of apps listed after kaili, so make sure every
    # app's permissions exist first (create_permissions is idempotent).
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    sync_roles()

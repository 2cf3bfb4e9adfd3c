"""What each role finds on its home page and in the menu.

Entries name URL patterns; an entry whose page a later app has not built yet is left out
rather than shown as a dead link.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from kaili import roles
from kaili.roles import ROLES, user_role_names


@dataclass(frozen=True)
class Link:
    label: str
    url_name: str
    description: str = ""
    permission: str = ""


ROLE_LINKS: dict[str, tuple[Link, ...]] = {
    roles.GRID_WORKER: (
        Link(_("我的网格"), "grids:tree", _("查看负责的网格、十户联防单元")),
        Link(_("上报事件"), "cases:report", _("巡查发现的隐患、纠纷、小事务")),
        Link(_("我的上报"), "cases:mine", _("上报事件的办理进度与核查")),
        Link(_("登记纠纷"), "disputes:register", _("排查发现的矛盾纠纷，手机登记")),
        Link(_("我的纠纷"), "disputes:mine", _("登记和调解的纠纷、到期提醒")),
        Link(_("住户与人员"), "populations:households", _("网格内住户、人员信息采集与更新")),
        Link(_("走访任务"), "populations:worklist", _("留守人员等到期、逾期的走访")),
    ),
    roles.UNIT_HEAD: (
        Link(_("本单元"), "grids:tree", _("十户联防单元与住户")),
        Link(_("住户"), "populations:households", _("本单元住户与成员")),
    ),
    roles.CENTRE_STAFF: (
        Link(_("网格树"), "grids:tree", _("辖区网格")),
        Link(_("事件受理"), "cases:queue", _("受理、立案、派遣、督办")),
        Link(_("矛盾纠纷"), "disputes:queue", _("“132”调解研判与调度")),
        Link(_("纠纷督办"), "disputes:supervision", _("各防线、各层级调解进度与超期")),
        Link(_("人员查询"), "populations:persons", _("辖区人员检索与导出")),
        Link(_("特殊人群统计"), "populations:programmes", _("六大工程在册人数")),
        Link(_("统计驾驶舱"), "dashboard:home", _("三升三降、同比环比、五有五无评定")),
    ),
    roles.MEDIATOR: (Link(_("我的调解"), "disputes:mine", _("调解案件与协议")),),
    roles.PROGRAMME_OFFICER: (
        Link(_("特殊人群"), "populations:programmes", _("六大工程在册人员与走访")),
        Link(_("走访任务"), "populations:worklist", _("到期、逾期的随访、走访、尿检")),
        Link(_("人员查询"), "populations:persons", _("辖区人员检索")),
    ),
    roles.LEADER: (
        Link(_("领导驾驶舱"), "dashboard:home", _("三升三降、同比环比、逐级下钻")),
        Link(_("纠纷督办"), "disputes:supervision", _("矛盾纠纷调解进度与超期（只读）")),
        Link(_("辖区网格"), "grids:tree", _("网格树与导出")),
        Link(_("特殊人群统计"), "populations:programmes", _("六大工程在册人数（不含姓名）")),
    ),
    roles.DEPARTMENT: (Link(_("接口文档"), "api-docs", _("数据共享接口与令牌")),),
    roles.SYSTEM_ADMIN: (
        Link(_("账号管理"), "account-list", _("新建、停用账号，重置密码")),
        Link(_("网格树"), "grids:tree", _("逐级查看网格、户数与边界")),
        Link(_("网格列表"), "grids:list", _("网格检索与导出")),
        Link(_("网格导入"), "grids:import", _("上传 CSV/Excel，先校验后导入")),
        Link(_("人口导入"), "populations:import", _("住户与人员批量导入，先校验后导入")),
        Link(_("管理后台"), "admin:grids_grid_changelist", _("拖动调整网格树，迁移、合并、拆分、撤销")),
        Link(_("接口文档"), "api-docs", _("全部接口与令牌")),
    ),
    roles.SECURITY_ADMIN: (
        Link(_("角色与授权"), "account-list", _("分配角色和网格范围，解除登录锁定")),
        Link(_("专干分工"), "populations:officer-duties", _("各专干负责的特殊人群工程")),
        Link(_("接口文档"), "api-docs", _("全部接口与令牌")),
    ),
    roles.AUDITOR: (Link(_("审计日志"), "audit-log", _("按账号、对象、操作、时间检索并导出")),),
}


# Members of a handling department (cases.Department.members) work the cases dispatched to
# it; they may hold no role at all, so their link follows the membership, not a role.
DEPARTMENT_LINKS: tuple[Link, ...] = (Link(_("承办事件"), "cases:department", _("派给本单位或本人的事件：签收、反馈、退回")),)


# Court accounts (disputes.Court.members) and members of a mediation body
# (disputes.MediationBody.members) may hold no role either.
COURT_LINKS: tuple[Link, ...] = (Link(_("委托调解"), "disputes:entrusted", _("委派、委托调解与司法确认申请")),)
MEDIATION_BODY_LINKS: tuple[Link, ...] = (Link(_("我的调解"), "disputes:mine", _("本组织调解的纠纷、到期提醒")),)


def _department_member(user, *, asked_already: bool = False) -> bool:
    """Whether ``user`` works cases for a department. With ``asked_already`` (the menu on
    every page) only users with no role pay the query; for the others the answer is used
    when the page already read it (every incident page does), so other pages' query
    budgets stay as they are. The home page always asks."""
    from cases.models import user_department_ids

    if asked_already and user_role_names(user):
        return bool(getattr(user, "_kaili_case_departments", None))
    return bool(user_department_ids(user))


def _court_account(user, *, asked_already: bool = False) -> bool:
    """Whether ``user`` works for a court; ``asked_already`` as for departments."""
    from disputes.models import user_court_ids

    if asked_already and user_role_names(user):
        return bool(getattr(user, "_kaili_courts", None))
    return bool(user_court_ids(user))


def _body_member(user) -> bool:
    """Members of a mediation body who hold no role (the roles that mediate have their own link)."""
    from disputes.models import MediationBody

    if user_role_names(user):
        return False
    return MediationBody.members.through.objects.filter(user_id=user.pk, mediationbody__is_active=True).exists()


def _membership_links(user, *, asked_already: bool = False) -> list[tuple[str, tuple[Link, ...]]]:
    """(section title, links) for what the user works through a membership, not a role."""
    sections = []
    if _department_member(user, asked_already=asked_already):
        sections.append((_("承办单位"), DEPARTMENT_LINKS))
    if _court_account(user, asked_already=asked_already):
        sections.append((_("人民法院"), COURT_LINKS))
    if _body_member(user):
        sections.append((_("调解组织"), MEDIATION_BODY_LINKS))
    return sections


def _resolved(links):
    for link in links:
        try:
            yield {"label": link.label, "url": reverse(link.url_name), "description": link.description}
        except NoReverseMatch:
            continue


def home_sections(user) -> list[dict]:
    from grids.models import GridUserObjectPermission

    granted: dict[str, list] = {}
    grants = GridUserObjectPermission.objects.filter(user=user, permission__codename__startswith="role_")
    for grant in grants.select_related("permission", "content_object").order_by("content_object__code"):
        granted.setdefault(grant.permission.codename.removeprefix("role_"), []).append(grant.content_object)
    sections = [
        {"role": ROLES[name].label, "links": list(_resolved(ROLE_LINKS.get(name, ()))), "scope": granted.get(name, [])}
        for name in sorted(user_role_names(user), key=list(ROLES).index)
    ]
    for title, membership_links in _membership_links(user):
        links = list(_resolved(membership_links))
        if links:
            sections.append({"role": title, "links": links, "scope": []})
    return sections


def menu_links(user) -> list[dict]:
    seen, links = set(), []
    for name in sorted(user_role_names(user), key=list(ROLES).index):
        for link in _resolved(ROLE_LINKS.get(name, ())):
            if link["url"] not in seen:
                seen.add(link["url"])
                links.append(link)
    for _title, membership_links in _membership_links(user, asked_already=True):
        for link in _resolved(membership_links):
            if link["url"] not in seen:
                seen.add(link["url"])
                links.append(link)
    return links

"""Accounts: creation, roles and grants, deactivation. Each write is audited."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from kaili.audit import audit_record
from kaili.models import AuditAction, User
from kaili.roles import ROLES, SEPARATED_ADMIN_ROLES, role_grant_codename, role_label, user_role_names
from kaili.scope import forget_cached_scope


def _validate_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError(
            {"role": _("角色“%(role)s”不存在。可用角色：%(roles)s") % {"role": role, "roles": "、".join(ROLES)}}
        )


def _nodes_for_codes(codes: Iterable[str]):
    from grids.models import Grid

    codes = list(dict.fromkeys(code.strip() for code in codes if code.strip()))
    nodes = {grid.code: grid for grid in Grid.objects.filter(code__in=codes)}
    missing = [code for code in codes if code not in nodes]
    if missing:
        raise ValidationError({"codes": _("网格编码不存在：%(codes)s") % {"codes": "、".join(missing)}})
    retired = [code for code in codes if nodes[code].is_retired]
    if retired:
        raise ValidationError({"codes": _("网格已撤销，不能授权：%(codes)s") % {"codes": "、".join(retired)}})
    return [nodes[code] for code in codes]


@transaction.atomic
def user_create(*, actor, username: str, password: str, full_name: str = "", organisation: str = "", email: str = "") -> User:
    username = username.strip()
    if not username:
        raise ValidationError({"username": _("账号不能为空。")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("账号“%(username)s”已存在。") % {"username": username}})
    user = User(username=username, full_name=full_name, organisation=organisation, email=email)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(actor=actor, action=AuditAction.CREATE, obj=user, changes={"username": username, "full_name": full_name})
    return user


@transaction.atomic
def user_update(
    *, actor, user: User, full_name: str | None = None, organisation: str | None = None, email: str | None = None
) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    changes = {}
    for field, value in (("full_name", full_name), ("organisation", organisation), ("email", email)):
        if value is not None and getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)
    if changes:
        user.full_clean(exclude=["password"])
        user.save(update_fields=list(changes))
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=user, changes=changes)
    return user


@transaction.atomic
def user_set_password(*, actor, user: User, password: str) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action=AuditAction.UPDATE, obj=user, changes={"password": "changed"})
    return user


@transaction.atomic
def user_unlock(*, actor, user: User) -> User:
    """Lift a lockout after repeated failed sign-ins (security admin)."""
    from axes.utils import reset

    removed = reset(username=user.get_username())
    audit_record(actor=actor, action=AuditAction.UPDATE, obj=user, changes={"unlocked": True, "attempts_cleared": removed})
    return user


@transaction.atomic
def user_deactivate(*, actor, user: User) -> User:
    from rest_framework.authtoken.models import Token

    user = User.objects.select_for_update().get(pk=user.pk)
    if actor is not None and actor.pk == user.pk:
        raise ValidationError(_("不能停用自己的账号。"))
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        Token.objects.filter(user=user).delete()
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=user, changes={"is_active": [True, False]})
    return user


@transaction.atomic
def user_grant_role(*, actor, user: User, role: str, codes: Iterable[str] = ()) -> User:
    """Give ``user`` the role ``role`` on the nodes ``codes`` (added to what they have)."""
    _validate_role(role)
    user = User.objects.select_for_update().get(pk=user.pk)
    definition = ROLES[role]
    codes = list(codes)
    held = user_role_names(user)
    if role in SEPARATED_ADMIN_ROLES and (held & SEPARATED_ADMIN_ROLES) - {role}:
        raise ValidationError(
            {
                "role": _("系统管理员、安全管理员、安全审计员须由不同账号担任（三员分立），该账号已是%(other)s。")
                % {"other": "、".join(role_label(r) for r in (held & SEPARATED_ADMIN_ROLES))}
            }
        )
    if definition.grid_scoped and not codes:
        raise ValidationError({"codes": _("角色“%(role)s”须指定至少一个网格编码。") % {"role": definition.label}})
    if not definition.grid_scoped and codes:
        raise ValidationError({"codes": _("角色“%(role)s”不按网格授权，请不要填写网格编码。") % {"role": definition.label}})
    nodes = _nodes_for_codes(codes)
    user.groups.add(Group.objects.get(name=role))
    permission = Permission.objects.get(content_type__app_label="grids", codename=role_grant_codename(role)) if nodes else None
    for node in nodes:
        assign_perm(permission, user, node)
    forget_cached_scope(user)
    audit_record(actor=actor, action=AuditAction.GRANT, obj=user, changes={"role": role, "codes": [n.code for n in nodes]})
    return user


@transaction.atomic
def user_revoke_role(*, actor, user: User, role: str, codes: Iterable[str] | None = None) -> User:
    """Withdraw grants of ``role`` on ``codes``; with no codes, withdraw the role entirely."""
    from grids.models import GridUserObjectPermission

    _validate_role(role)
    user = User.objects.select_for_update().get(pk=user.pk)
    codename = role_grant_codename(role)
    if codes:
        for node in _nodes_for_codes(codes):
            remove_perm(f"grids.{codename}", user, node)
        remaining = GridUserObjectPermission.objects.filter(user=user, permission__codename=codename).exists()
    else:
        GridUserObjectPermission.objects.filter(user=user, permission__codename=codename).delete()
        remaining = False
    if not remaining:
        user.groups.remove(Group.objects.get(name=role))
    forget_cached_scope(user)
    audit_record(actor=actor, action=AuditAction.REVOKE, obj=user, changes={"role": role, "codes": list(codes or [])})
    return user

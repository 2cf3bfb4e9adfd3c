"""The grid tree: city → town → zone (一级网格) → grid (二级网格) → unit (十户联防)."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from mptt.managers import TreeManager
from mptt.models import MPTTModel, TreeForeignKey
from mptt.querysets import TreeQuerySet

from kaili.models import FileImport
from kaili.roles import ROLES, role_grant_codename
from kaili.scope import ScopedQuerySet


class GridKind(models.TextChoices):
    CITY = "city", _("市")
    TOWN = "town", _("镇/街道")
    ZONE = "zone", _("一级网格（村/社区）")
    GRID = "grid", _("二级网格")
    UNIT = "unit", _("三级网格（十户联防）")


class AreaType(models.TextChoices):
    URBAN = "urban", _("城镇")
    RURAL = "rural", _("农村")


# DOMAIN.md, "Grid codes": the parent kind each kind sits under, and its code length.
PARENT_KIND = {
    GridKind.CITY: None,
    GridKind.TOWN: GridKind.CITY,
    GridKind.ZONE: GridKind.TOWN,
    GridKind.GRID: GridKind.ZONE,
    GridKind.UNIT: GridKind.GRID,
}
CHILD_KIND = {parent: kind for kind, parent in PARENT_KIND.items() if parent is not None}
CODE_LENGTH = {
    GridKind.CITY: 6,
    GridKind.TOWN: 9,
    GridKind.ZONE: 12,
    GridKind.GRID: 15,
    GridKind.UNIT: 17,
}
KINDS_WITH_AREA_TYPE = {GridKind.ZONE, GridKind.GRID}
DIGITS = re.compile(r"^\d+$")


class GridQuerySet(TreeQuerySet, ScopedQuerySet):
    grid_path = ""  # a Grid is its own node

    def active(self):
        return self.filter(retired_at__isnull=True)


class GridManager(TreeManager.from_queryset(GridQuerySet)):
    pass


class Grid(MPTTModel):
    code = models.CharField(_("编码"), max_length=17, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("层级"), max_length=8, choices=GridKind.choices)
    parent = TreeForeignKey(
        "self", verbose_name=_("上级"), on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    area_type = models.CharField(_("城乡类型"), max_length=8, choices=AreaType.choices, blank=True)
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    boundary = models.JSONField(_("边界（GeoJSON）"), null=True, blank=True)
    centre = models.JSONField(_("中心点（GeoJSON Point）"), null=True, blank=True)
    retired_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("并入"), on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = GridManager()

    class MPTTMeta:
        parent_attr = "parent"

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]
        indexes = [models.Index(fields=["tree_id", "lft"], name="grid_tree_lft_idx")]
        permissions = [("export_grid", _("可导出网格"))] + [
            (role_grant_codename(role.name), _("授权范围：%(role)s") % {"role": role.label})
            for role in ROLES.values()
            if role.grid_scoped
        ]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    def clean(self):
        errors = {}
        expected_parent_kind = PARENT_KIND.get(self.kind)
        parent = self.parent
        if self.kind == GridKind.CITY and parent is not None:
            errors["parent"] = _("市级节点不能有上级。")
        elif self.kind != GridKind.CITY:
            if parent is None:
                errors["parent"] = _("%(kind)s必须有上级节点。") % {"kind": self.get_kind_display()}
            elif parent.kind != expected_parent_kind:
                errors["parent"] = _("%(kind)s只能位于%(parent)s之下，不能位于%(actual)s之下。") % {
                    "kind": self.get_kind_display(),
                    "parent": GridKind(expected_parent_kind).label,
                    "actual": parent.get_kind_display(),
                }
        length = CODE_LENGTH.get(self.kind)
        if length and (len(self.code) != length or not DIGITS.match(self.code)):
            errors["code"] = _("%(kind)s编码应为 %(n)d 位数字。") % {"kind": self.get_kind_display(), "n": length}
        if self.kind in KINDS_WITH_AREA_TYPE and not self.area_type:
            errors["area_type"] = _("一级、二级网格须注明城镇或农村。")
        if self.kind not in KINDS_WITH_AREA_TYPE and self.area_type:
            errors["area_type"] = _("只有一级、二级网格区分城镇或农村。")
        if self.households is not None and self.kind != GridKind.UNIT:
            errors["households"] = _("只有三级网格（十户联防）填写户数，上级户数由下级汇总。")
        if errors:
            raise ValidationError(errors)


class GridUserObjectPermission(UserObjectPermissionBase):
    """A user's grant of a role on a node (direct foreign key, indexable by the scope query)."""

    content_object = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="user_grants")

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("网格授权")
        verbose_name_plural = _("网格授权")


class GridGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="group_grants")

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = _("网格组授权")
        verbose_name_plural = _("网格组授权")


class GridEvent(models.Model):
    """A node's history: created, renamed, moved, merged, retired. Never rewritten."""

    class Kind(models.TextChoices):
        CREATED = "created", _("创建")
        RENAMED = "renamed", _("更名")
        UPDATED = "updated", _("修改")
        MOVED = "moved", _("迁移")
        MERGED = "merged", _("合并")
        SPLIT = "split", _("拆分")
        RETIRED = "retired", _("撤销")

    grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("事件"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    detail = models.JSONField(_("详情"), default=dict)

    class Meta:
        verbose_name = _("网格变更记录")
        verbose_name_plural = _("网格变更记录")
        ordering = ["grid", "at", "id"]

    def __str__(self):
        return f"{self.grid_id} {self.kind} {self.at:%Y-%m-%d}"


class GridImport(FileImport):
    """One upload of a grid file through the page: a dry run, then (once confirmed) the import."""

    progress_prefix = "grids:import"

    content = models.BinaryField(_("文件内容"))

    class Meta(FileImport.Meta):
        verbose_name = _("网格导入")
        verbose_name_plural = _("网格导入")

"""The dashboard's statistics, the runs that keep them, and the villages' assessments."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from grids.models import Grid
from kaili.scope import ScopedQuerySet


class StatisticQuerySet(ScopedQuerySet):
    grid_path = "node"


class Statistic(models.Model):
    """The values of one family of metrics (``dashboard.metrics``) for one node of the
    tree over one period. ``figures[i]`` is the value of the family's i-th metric in its
    ``StatisticLayout``, so a value is found by (node, period, metric), the metric's key
    naming its family. (An array, not a row per metric: the full rebuild writes a tenth
    of the rows, and builds each in a fraction of the time a JSON object takes.)

    A node's values cover its whole subtree (nodes merged into it hang in its subtree).
    A row whose counts are all zero is not stored, and a rate is NULL where its
    denominator is zero ("nothing to measure", not 0%). Written only by ``dashboard.rollup``.
    """

    pk = models.CompositePrimaryKey("node", "period", "family")
    # No database constraint: the roll-up replaces the whole table at once and owns its
    # consistency; a deleted node's rows go with it (CASCADE in Django).
    node = models.ForeignKey(Grid, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+")
    period = models.CharField(_("统计期"), max_length=7)
    family = models.CharField(_("指标类"), max_length=16)
    figures = ArrayField(models.FloatField(null=True), verbose_name=_("数值"))

    objects = StatisticQuerySet.as_manager()

    class Meta:
        verbose_name = _("统计数据")
        verbose_name_plural = _("统计数据")
        permissions = [("export_statistic", _("可导出统计数据"))]
        default_permissions = ("view",)
        # An incremental run reads and rewrites a family's rows of a few periods.
        indexes = [models.Index(fields=["family", "period"], name="statistic_family_period")]

    def __str__(self):
        return f"{self.node_id} {self.period} {self.family}"


class StatisticLayout(models.Model):
    """The metric keys of a family in the order of ``Statistic.figures``; rewritten by
    the roll-up when the keys change (an admin added a category's statistic key)."""

    family = models.CharField(_("指标类"), max_length=16, primary_key=True)
    keys = ArrayField(models.CharField(max_length=48), verbose_name=_("指标"))

    class Meta:
        verbose_name = _("统计指标顺序")
        verbose_name_plural = _("统计指标顺序")
        default_permissions = ()

    def __str__(self):
        return self.family


class RollupRun(models.Model):
    """One run of the roll-up: a full rebuild, an incremental update or a consistency check."""

    class Kind(models.TextChoices):
        FULL = "full", _("全量重算")
        INCREMENTAL = "incremental", _("增量更新")
        CHECK = "check", _("一致性核查")

    class Status(models.TextChoices):
        RUNNING = "running", _("进行中")
        SUCCEEDED = "succeeded", _("成功")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    families = models.JSONField(_("指标类"), default=list, blank=True)
    periods = models.JSONField(_("统计期"), default=list, blank=True, help_text=_("空表示全部统计期"))
    cells = models.PositiveIntegerField(_("计算数值数"), default=0)
    rows = models.PositiveIntegerField(_("写入行数"), default=0, help_text=_("新增、修改和删除的统计行"))
    mismatches = models.PositiveIntegerField(_("不一致数"), default=0)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    task_id = models.CharField(_("任务编号"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("统计运行记录")
        verbose_name_plural = _("统计运行记录")
        ordering = ["-started_at", "-id"]
        default_permissions = ("view",)
        permissions = [("rebuild_statistic", _("可立即重算统计"))]
        indexes = [models.Index(fields=["status", "-finished_at"], name="rolluprun_status_finished")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def progress_key(self) -> str:
        return f"dashboard:rollup:{self.pk}"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class VillageAssessmentQuerySet(ScopedQuerySet):
    grid_path = "zone"


class VillageAssessment(models.Model):
    """An assessor's yearly assessment of a village or community (一级网格) against the
    "five haves, five nones" 五有五无 (DOMAIN.md, "The dashboard"). The items the data can
    decide are computed (``dashboard.assessment``); these are the ones it cannot."""

    zone = models.ForeignKey(Grid, verbose_name=_("村/社区"), on_delete=models.PROTECT, related_name="assessments")
    year = models.PositiveSmallIntegerField(_("年度"))
    has_venue = models.BooleanField(_("有场所"), null=True, blank=True)
    has_funding = models.BooleanField(_("有经费"), null=True, blank=True)
    has_mechanism = models.BooleanField(_("有机制"), null=True, blank=True)
    no_other = models.BooleanField(_("第五无（评定人认定）"), null=True, blank=True)
    other_item = models.CharField(_("第五无内容"), max_length=50, default="无越级上访", blank=True)
    note = models.TextField(_("评定说明"), blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("评定人"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    assessed_at = models.DateTimeField(_("评定时间"), auto_now=True)

    objects = VillageAssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("五有五无评定")
        verbose_name_plural = _("五有五无评定")
        ordering = ["zone__code", "-year"]
        constraints = [models.UniqueConstraint(fields=["zone", "year"], name="assessment_once_per_village_year")]

    def __str__(self):
        return f"{self.zone.name} {self.year}"


class PendingMark(models.Model):
    """A family of metrics whose records changed in a month (``month`` empty: in any
    month), written in the same transaction as the change; the incremental roll-up drains
    these, so no change is lost when the broker or the worker is down for a while."""

    family = models.CharField(max_length=16)
    month = models.CharField(max_length=7, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("待更新统计")
        verbose_name_plural = _("待更新统计")
        default_permissions = ()

    def __str__(self):
        return f"{self.family} {self.month or '*'}"

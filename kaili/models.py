"""Accounts and the audit trail shared by every app."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person (or a department's API client) with one or more roles.

    Roles are Django groups (``kaili.roles``); where a role applies is a grant on a grid
    node (``grids.GridUserObjectPermission``). Accounts are deactivated, never deleted,
    because audit rows keep pointing at them.
    """

    full_name = models.CharField(_("姓名"), max_length=64, blank=True)
    organisation = models.CharField(_("单位"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        permissions = [("assign_role", _("可分配角色与授权范围"))]

    def __str__(self):
        return self.full_name or self.username


class AuditAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    TRANSITION = "transition", _("状态变更")
    READ_SENSITIVE = "read_sensitive", _("查看敏感信息")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    GRANT = "grant", _("授权")
    REVOKE = "revoke", _("撤销授权")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")
    DENIED = "denied", _("拒绝")


class AuditEntry(models.Model):
    """One append-only, hash-chained row per security-relevant event.

    The database refuses UPDATE and DELETE on this table (a trigger, see migration 0002),
    and each row carries a keyed hash of its content and of the row before it, so that
    ``manage.py audit_verify`` detects a row changed or removed behind the application.
    """

    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(_("账号"), max_length=150, blank=True, db_index=True)
    action = models.CharField(_("操作"), max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True, db_index=True)
    object_id = models.CharField(_("对象标识"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    outcome = models.CharField(_("结果"), max_length=16, choices=AuditOutcome.choices)
    changes = models.JSONField(_("内容"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]
        permissions = [("export_auditentry", _("可导出审计记录"))]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action} {self.object_type}:{self.object_id}"


class AuditCheck(models.Model):
    """The result of one verification of the audit chain (command or nightly task)."""

    ran_at = models.DateTimeField(_("校验时间"), auto_now_add=True)
    ok = models.BooleanField(_("完整"))
    rows_checked = models.PositiveIntegerField(_("校验行数"))
    last_id = models.BigIntegerField(_("最后一行"), null=True)
    last_hash = models.CharField(max_length=64, blank=True)
    problem = models.TextField(_("问题"), blank=True)

    class Meta:
        verbose_name = _("审计校验")
        verbose_name_plural = _("审计校验")
        ordering = ["-ran_at"]

    def __str__(self):
        return f"{self.ran_at:%Y-%m-%d %H:%M} {'完整' if self.ok else '异常'}"


class FileImport(models.Model):
    """One upload of a file through an import page: a dry run, then (once confirmed) the import.

    The concrete imports (``grids.GridImport``, ``populations.PeopleImport``) add where the
    file's content is kept and name the cache keys of their task's progress.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("进行中")
        VALID = "valid", _("校验通过，待确认")
        INVALID = "invalid", _("有错误，未写入")
        DONE = "done", _("已导入")
        FAILED = "failed", _("失败")

    FINISHED = (Status.VALID, Status.INVALID, Status.DONE, Status.FAILED)
    # the start of ``progress_key``, e.g. "grids:import"
    progress_prefix = ""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    filename = models.CharField(_("文件名"), max_length=200)
    dry_run = models.BooleanField(_("仅校验"), default=True)
    confirms = models.ForeignKey(
        "self", verbose_name=_("确认的校验"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.PENDING)
    summary = models.JSONField(_("结果汇总"), default=dict)
    errors = models.JSONField(_("错误行"), default=list)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress_key(self) -> str:
        # the upload time too: ids restart in a fresh database, a shared cache does not
        return f"{self.progress_prefix}:{self.pk}:{self.created_at:%Y%m%d%H%M%S%f}:progress"


class NumberSequence(models.Model):
    """The last number handed out under a key such as ``SJ-522601-2026``
    (``kaili.numbering``): readable record numbers without gaps from a race."""

    key = models.CharField(max_length=64, unique=True)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("编号序列")
        verbose_name_plural = _("编号序列")

    def __str__(self):
        return f"{self.key}: {self.last}"


class ExportJob(models.Model):
    """A large export run by a Celery task (``kaili.exports``): its progress is polled by
    the page, and the file is downloaded by the person who asked for it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("导出内容"), max_length=64)
    params = models.JSONField(_("筛选条件"), default=dict, blank=True)
    file_format = models.CharField(_("格式"), max_length=8)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.PENDING)
    rows = models.PositiveIntegerField(_("行数"), null=True, blank=True)
    file = models.FileField(_("文件"), upload_to="exports/%Y/%m/", blank=True)
    filename = models.CharField(_("文件名"), max_length=200, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def progress_key(self) -> str:
        return f"kaili:export:{self.pk}:{self.created_at:%Y%m%d%H%M%S%f}:progress"

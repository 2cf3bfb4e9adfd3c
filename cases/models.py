"""Incidents (事件) and the seven-step loop that closes them.

Grid workers report what they find on their rounds; the governance centre files (立案) or
cancels (注销) each report, dispatches it (派遣) to a department or a person, the handler
reports back (反馈), the reporter checks on site (核查) and the case closes (结案) and is
evaluated (评价). ``cases.workflow`` holds the steps and who may take them; every step is
an ``IncidentTransition`` row. Deadlines are counted on the working calendar
(``cases.calendar``) from the category's limits.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Grid
from kaili.scope import VIEW, ScopedQuerySet, grid_scope_condition


class CategoryKind(models.TextChoices):
    NINE_SMALL = "nine_small", _("九小工作")
    SERVICE = "service", _("服务事项")
    CRIMINAL = "criminal", _("刑事案件")
    PUBLIC_ORDER = "public_order", _("治安案件")
    ACCIDENT = "accident", _("安全事故")
    PETITION = "petition", _("信访")
    DISPUTE = "dispute", _("矛盾纠纷")
    OTHER = "other", _("其他")


class Department(models.Model):
    """A handling department (承办单位): a bureau, a town office, a village committee.

    Its members see and work the cases dispatched to it, wherever those lie in the tree.
    """

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    node = models.ForeignKey(
        Grid,
        verbose_name=_("所属层级"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="departments",
        help_text=_("镇街、村居的承办单位填所属节点；市直部门留空"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("承办人员"), blank=True, related_name="case_departments"
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("承办单位")
        verbose_name_plural = _("承办单位")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Category(models.Model):
    """A two-level category (major / minor) with its handling department and time limits.

    Limits in minutes are working minutes on the calendar, except for urgent incidents,
    whose filing and dispatch limits run on the clock (an urgent report at night cannot
    wait for the morning).
    """

    code = models.CharField(_("编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("大类"), on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=CategoryKind.choices)
    # A stable key for statistics that survives an admin renaming the category
    # (robbery, theft, homicide, fraud, drug...).
    statistic = models.CharField(_("统计口径"), max_length=32, blank=True, db_index=True)
    department = models.ForeignKey(
        Department, verbose_name=_("默认承办单位"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    urgent = models.BooleanField(_("紧急类"), default=False)
    dispute_related = models.BooleanField(_("可转为矛盾纠纷"), default=False)
    file_minutes = models.PositiveIntegerField(_("立案时限（分钟）"), default=30)
    dispatch_minutes = models.PositiveIntegerField(_("派遣时限（分钟）"), default=30)
    urgent_minutes = models.PositiveIntegerField(_("紧急立案、派遣时限（分钟）"), default=10)
    handle_minutes = models.PositiveIntegerField(_("处置时限（工作分钟）"), default=5 * 8 * 60)
    check_minutes_urban = models.PositiveIntegerField(_("核查时限·城镇（分钟）"), default=60)
    check_minutes_rural = models.PositiveIntegerField(_("核查时限·农村（分钟）"), default=120)
    sort = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("事件类别")
        verbose_name_plural = _("事件类别")
        ordering = ["sort", "code"]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.parent_id is None:
            return
        if self.parent.parent_id is not None:
            raise ValidationError({"parent": _("类别只有大类、小类两级，“%(name)s”已是小类。") % {"name": self.parent.name}})
        if self.pk and self.children.exists():
            raise ValidationError({"parent": _("“%(name)s”下有小类，不能改为小类。") % {"name": self.name}})
        if self.code and not self.code.startswith(self.parent.code):
            raise ValidationError({"code": _("小类编码应以大类编码 %(code)s 开头。") % {"code": self.parent.code}})


class CalendarDay(models.Model):
    """An exception to the working week: a holiday on a weekday, or a make-up working day
    (调休) on a weekend."""

    date = models.DateField(_("日期"), unique=True)
    working = models.BooleanField(_("上班"), help_text=_("勾选：调休上班日；不勾选：节假日"))
    name = models.CharField(_("名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.name}"


class Source(models.TextChoices):
    PATROL = "patrol", _("网格员巡查")
    WALK_IN = "walk_in", _("群众来访")
    PHONE = "phone", _("电话")
    WECHAT = "wechat", _("微信平台")
    DEPARTMENT = "department", _("部门数据")
    VIDEO = "video", _("视频巡查")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")


class Status(models.TextChoices):
    REPORTED = "reported", _("已上报")
    FILED = "filed", _("已立案")
    DISPATCHED = "dispatched", _("已派遣")
    HANDLING = "handling", _("处置中")
    REPORTED_BACK = "reported_back", _("已反馈")
    CLOSED = "closed", _("已结案")
    EVALUATED = "evaluated", _("已评价")
    CANCELLED = "cancelled", _("已注销")
    RETURNED = "returned", _("已退回")
    PARKED = "parked", _("已挂账")
    TRANSFERRED = "transferred", _("已转矛盾纠纷")


OPEN_STATUSES = (
    Status.REPORTED,
    Status.FILED,
    Status.DISPATCHED,
    Status.HANDLING,
    Status.REPORTED_BACK,
    Status.RETURNED,
)
FINISHED_STATUSES = (Status.CLOSED, Status.EVALUATED, Status.CANCELLED, Status.PARKED, Status.TRANSFERRED)


def user_department_ids(user) -> set[int]:
    """The departments whose cases ``user`` handles; one query, cached on the user."""
    cached = getattr(user, "_kaili_case_departments", None)
    if cached is None:
        cached = set(
            Department.members.through.objects.filter(user_id=user.pk, department__is_active=True).values_list(
                "department_id", flat=True
            )
        )
        user._kaili_case_departments = cached
    return cached


def incident_access(user, action: str, prefix: str = "") -> Q:
    """The condition on incidents (reached through ``prefix``) under which ``user`` may do
    ``action`` on them: the grid scope of their roles, and for reading also the cases they
    reported, handle themselves or that were dispatched to one of their departments.

    A narrow scope is a list of node ids on the incident's own column (``grid_scope_condition``),
    so that the OR with reporter, handler and department is answered from the incident's indexes.
    """
    condition = grid_scope_condition(user, Incident, action, f"{prefix}grid")
    if condition is None:
        return Q()
    if action == VIEW and user is not None and user.is_authenticated and user.is_active:
        condition |= Q(**{f"{prefix}reporter": user}) | Q(**{f"{prefix}handler": user})
        departments = user_department_ids(user)
        if departments:
            condition |= Q(**{f"{prefix}department_id__in": sorted(departments)})
    return condition


class IncidentQuerySet(ScopedQuerySet):
    grid_path = "grid"

    def restrict(self, user, action: str = VIEW):
        return self.filter(incident_access(user, action))

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now):
        return self.filter(status__in=OPEN_STATUSES, due_at__lt=now)


# SJ-<division>-<year>-<sequence>, kaili.numbering
NUMBER_PATTERN = r"SJ-\d{6}-\d{4}-\d{6,9}"


class Incident(models.Model):
    number = models.CharField(_("事件编号"), max_length=24, unique=True)
    category = models.ForeignKey(Category, verbose_name=_("类别"), on_delete=models.PROTECT, related_name="incidents")
    grid = models.ForeignKey(Grid, verbose_name=_("所属网格"), on_delete=models.PROTECT, related_name="incidents")
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.PATROL)
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.REPORTED)
    # Bumped by every step: a page or API client that read version 3 and acts after someone
    # else moved the case on is told the case changed.
    version = models.PositiveIntegerField(_("版本"), default=1)
    title = models.CharField(_("标题"), max_length=100, blank=True)
    description = models.TextField(_("情况描述"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    occurred_at = models.DateTimeField(_("发生时间"))
    reported_at = models.DateTimeField(_("上报时间"), db_index=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上报人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reporter_name = models.CharField(_("反映人"), max_length=64, blank=True, help_text=_("来访、来电群众的称呼"))
    client_key = models.UUIDField(_("客户端提交标识"), null=True, blank=True, editable=False)
    department = models.ForeignKey(
        Department, verbose_name=_("承办单位"), on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("承办人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Deadlines of the steps; ``due_at`` is the deadline of the step the case waits for now
    # (empty when it waits for nobody), so "overdue" is one indexed comparison.
    file_due_at = models.DateTimeField(_("立案时限"), null=True, blank=True)
    dispatch_due_at = models.DateTimeField(_("派遣时限"), null=True, blank=True)
    handle_due_at = models.DateTimeField(_("处置时限"), null=True, blank=True)
    check_due_at = models.DateTimeField(_("核查时限"), null=True, blank=True)
    due_at = models.DateTimeField(_("当前环节时限"), null=True, blank=True, db_index=True)
    extensions = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    late = models.BooleanField(_("曾超时"), default=False, help_text=_("有环节在时限之后才办理"))
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    result = models.TextField(_("处置结果"), blank=True)
    check_result = models.TextField(_("核查意见"), blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True, db_index=True)
    satisfaction = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    evaluation = models.TextField(_("评价意见"), blank=True)
    cleared = models.BooleanField(_("已破案"), default=False)
    cleared_on = models.DateField(_("破案日期"), null=True, blank=True)
    dispute_number = models.CharField(_("转入纠纷编号"), max_length=24, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        ordering = ["-reported_at", "-id"]
        permissions = [
            ("export_incident", _("可导出事件")),
            ("check_incident", _("可核查事件")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reporter", "client_key"], name="incident_once_per_client_key"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="incident_satisfaction_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["grid", "-reported_at"], name="incident_grid_reported"),
            models.Index(fields=["status", "-reported_at"], name="incident_status_reported"),
            models.Index(fields=["reporter", "-reported_at"], name="incident_reporter_reported"),
            models.Index(fields=["department", "status"], name="incident_department_status"),
            # The centre's counts per status over a town answered from the index alone.
            models.Index(
                fields=["grid", "status"],
                include=["due_at", "reporter", "handler", "department"],
                name="incident_grid_status",
            ),
            models.Index(fields=["category", "reported_at"], name="incident_category_reported"),
            # The dashboard's roll-up of one month's incidents (by date of occurrence) reads this range.
            models.Index(fields=["occurred_at"], name="incident_occurred"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < now


class PersonRole(models.TextChoices):
    PARTY = "party", _("当事人")
    VICTIM = "victim", _("受害人")
    SUSPECT = "suspect", _("嫌疑人")
    WITNESS = "witness", _("证人")
    REPORTER = "reporter", _("反映人")
    OTHER = "other", _("其他")


class IncidentPerson(models.Model):
    """Someone involved: a registry person (shown masked) or a name as told."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="people")
    person = models.ForeignKey(
        "populations.Person", verbose_name=_("登记人员"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("姓名"), max_length=64, blank=True)
    role = models.CharField(_("身份"), max_length=16, choices=PersonRole.choices, default=PersonRole.PARTY)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("涉事人员")
        verbose_name_plural = _("涉事人员")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(person__isnull=False) | ~Q(name=""), name="incident_person_named"),
        ]

    def __str__(self):
        return self.person.name if self.person_id else self.name


def attachment_path(instance, filename: str) -> str:
    # By upload month, not the incident's: files are stored before their incident row exists.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"incidents/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}.{suffix[:8]}"


class IncidentAttachment(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo", _("照片")
        FILE = "file", _("文件")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices, default=Kind.PHOTO)
    file = models.FileField(_("文件"), upload_to=attachment_path)
    filename = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    step = models.CharField(_("环节"), max_length=16, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["id"]

    def __str__(self):
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class IncidentTransition(models.Model):
    """One step of the loop: who moved the case from which state to which, when and why."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="transitions")
    step = models.CharField(_("环节"), max_length=16)
    from_status = models.CharField(_("原状态"), max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("办理人"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(_("时间"))
    note = models.TextField(_("意见"), blank=True)
    due_at = models.DateTimeField(_("本环节时限"), null=True, blank=True)
    late = models.BooleanField(_("超时办理"), default=False)
    details = models.JSONField(_("内容"), default=dict, blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="incident_transition_at")]

    def __str__(self):
        return f"{self.incident_id} {self.step} {self.from_status}→{self.to_status}"

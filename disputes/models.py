"""Disputes (矛盾纠纷) and the "132" mediation mechanism that resolves them.

One platform (the centre triages, dispatches and supervises), three lines of mediation
(people's, administrative, judicial) with three tiers each, and two levers (judicial
confirmation of an agreement, mediation entrusted by a court). The lines, tiers, bodies,
categories and scales are admin-editable tables seeded from DOMAIN.md
(``disputes.catalogue``). ``disputes.workflow`` holds the steps and who may take them;
every step is a ``DisputeTransition`` row.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.utils.translation import gettext_lazy as _

from grids.models import Grid
from kaili import crypto
from kaili.scope import VIEW, ScopedQuerySet, grid_scope_condition

# MD-<division>-<year>-<sequence>, kaili.numbering
NUMBER_PATTERN = r"MD-\d{6}-\d{4}-\d{6,9}"


class DisputeCategory(models.Model):
    """纠纷类别 (GB/T 31000): 婚姻家庭, 邻里, 房屋宅基地, ..."""

    code = models.CharField(_("编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    incident_category = models.ForeignKey(
        "cases.Category",
        verbose_name=_("对应事件类别"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("事件转为纠纷时按此对应类别"),
    )
    sort = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("纠纷类别")
        verbose_name_plural = _("纠纷类别")
        ordering = ["sort", "code"]

    def __str__(self):
        return self.name


class DisputeScale(models.Model):
    """纠纷规模: 一般 / 较大 / 重大."""

    code = models.CharField(_("编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    sort = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("纠纷规模")
        verbose_name_plural = _("纠纷规模")
        ordering = ["sort", "code"]

    def __str__(self):
        return self.name


class LineKind(models.TextChoices):
    PEOPLE = "people", _("人民调解")
    ADMINISTRATIVE = "administrative", _("行政调解")
    JUDICIAL = "judicial", _("司法调解")


class MediationLine(models.Model):
    """One of the three lines of defence 三道防线, in the order a dispute climbs them."""

    kind = models.CharField(_("类型"), max_length=16, choices=LineKind.choices, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    order = models.PositiveSmallIntegerField(_("顺序"), unique=True)

    class Meta:
        verbose_name = _("调解防线")
        verbose_name_plural = _("调解防线")
        ordering = ["order"]

    def __str__(self):
        return self.name


class Tier(models.Model):
    """A rung of a line's ladder ("three small lines"), with its time limit in days."""

    line = models.ForeignKey(MediationLine, verbose_name=_("防线"), on_delete=models.PROTECT, related_name="tiers")
    level = models.PositiveSmallIntegerField(_("级别"), help_text=_("1–3，逐级上升"))
    name = models.CharField(_("名称"), max_length=30)
    days = models.PositiveSmallIntegerField(_("调解时限（天）"), default=30)
    # line order * 10 + level: the escalation order over all nine tiers in one column.
    rank = models.PositiveSmallIntegerField(_("升级顺序"), unique=True, editable=False)

    class Meta:
        verbose_name = _("调解层级")
        verbose_name_plural = _("调解层级")
        ordering = ["rank"]
        constraints = [models.UniqueConstraint(fields=["line", "level"], name="tier_once_per_line_level")]

    def __str__(self):
        return f"{self.line.name}·{self.name}"

    def save(self, *args, **kwargs):
        self.rank = self.line.order * 10 + self.level
        super().save(*args, **kwargs)


class BodyKind(models.TextChoices):
    COMMITTEE = "committee", _("人民调解委员会")
    INDUSTRY = "industry", _("行业性专业性调委会")
    DEPARTMENT = "department", _("行政机关")
    COURT = "court", _("人民法院")
    STUDIO = "studio", _("个人调解工作室")


class MediationBody(models.Model):
    """An organisation that mediates within a line: a village committee, an industry
    committee (e.g. medical disputes), a bureau, a court. Its members may be assigned as
    mediators of the disputes routed to it."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=BodyKind.choices)
    line = models.ForeignKey(MediationLine, verbose_name=_("防线"), on_delete=models.PROTECT, related_name="bodies")
    tier = models.ForeignKey(Tier, verbose_name=_("层级"), on_delete=models.PROTECT, null=True, blank=True, related_name="bodies")
    node = models.ForeignKey(
        Grid, verbose_name=_("所在区域"), on_delete=models.PROTECT, null=True, blank=True, related_name="mediation_bodies"
    )
    categories = models.ManyToManyField(DisputeCategory, verbose_name=_("专门调处的类别"), blank=True, related_name="bodies")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("调解员"), blank=True, related_name="mediation_bodies"
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("调解组织")
        verbose_name_plural = _("调解组织")
        ordering = ["line__order", "name"]

    def __str__(self):
        return self.name


class Court(models.Model):
    """A people's court. Its members (court accounts) entrust mediation to the platform,
    follow it and rule on judicial confirmations."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    node = models.ForeignKey(
        Grid,
        verbose_name=_("辖区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="courts",
        help_text=_("法院管辖的区域；不填为全市"),
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("法院账号"), blank=True, related_name="courts")
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("人民法院")
        verbose_name_plural = _("人民法院")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Source(models.TextChoices):
    SCREENING = "screening", _("网格员排查")
    WALK_IN = "walk_in", _("群众来访")
    HOTLINE = "hotline", _("热线电话")
    INCIDENT = "incident", _("事件转入")
    COURT = "court", _("法院委派/委托")
    PETITION = "petition", _("信访部门转交")
    DEPARTMENT = "department", _("部门移交")


class Risk(models.TextChoices):
    LOW = "low", _("低")
    MEDIUM = "medium", _("中")
    HIGH = "high", _("高")


class Status(models.TextChoices):
    REGISTERED = "registered", _("待研判")
    MEDIATING = "mediating", _("调解中")
    FAILED = "failed", _("本级调解不成")
    AGREED = "agreed", _("已达成协议")
    CONFIRMING = "confirming", _("司法确认中")
    RESOLVED = "resolved", _("已化解结案")
    UNRESOLVED = "unresolved", _("未化解结案")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_STATUSES = (Status.REGISTERED, Status.MEDIATING, Status.FAILED, Status.AGREED, Status.CONFIRMING)
CLOSED_STATUSES = (Status.RESOLVED, Status.UNRESOLVED, Status.WITHDRAWN)
# A group dispute (群体性纠纷) risk: this many people or more.
GROUP_SIZE = 5


def user_court_ids(user) -> set[int]:
    """The courts whose accounts ``user`` holds; one query, cached on the user."""
    cached = getattr(user, "_kaili_courts", None)
    if cached is None:
        cached = set()
        if user is not None and user.is_authenticated:
            cached = set(
                Court.members.through.objects.filter(user_id=user.pk, court__is_active=True).values_list("court_id", flat=True)
            )
        user._kaili_courts = cached
    return cached


def _mediation_links(user) -> tuple[list[int], list[int]]:
    """(disputes ``user`` is a mediator of, bodies ``user`` is a member of), one query."""
    assigned = Dispute.mediators.through.objects.filter(user_id=user.pk).annotate(kind=Value("d"))
    # a body switched off no longer lends its members the disputes routed to it
    member = MediationBody.members.through.objects.filter(user_id=user.pk, mediationbody__is_active=True).annotate(
        kind=Value("b")
    )
    rows = assigned.values_list("kind", "dispute_id").union(member.values_list("kind", "mediationbody_id"), all=True)
    mediated, bodies = [], []
    for kind, pk in rows:
        (mediated if kind == "d" else bodies).append(pk)
    return sorted(mediated), sorted(bodies)


def dispute_access(user, action: str, prefix: str = "") -> Q:
    """The condition on disputes (reached through ``prefix``) under which ``user`` may do
    ``action``: the grid scope of their roles, and for reading also the disputes they
    registered, mediate, or that a court they work for entrusted or is asked to confirm."""
    condition = grid_scope_condition(user, Dispute, action, f"{prefix}grid")
    if condition is None:
        return Q()
    if action == VIEW and user is not None and user.is_authenticated and user.is_active:
        # Constant id lists, not EXISTS subqueries: with constants PostgreSQL ORs index
        # scans together; with a subquery it scans the whole table (a grid worker's list
        # 290 ms -> a few ms at 100,000 disputes).
        condition |= Q(**{f"{prefix}registered_by": user})
        mediated, bodies = _mediation_links(user)
        if mediated:
            condition |= Q(**{f"{prefix}pk__in": mediated})
        # the members of the body a dispute is routed to mediate it (workflow.is_mediator)
        if bodies:
            condition |= Q(**{f"{prefix}body_id__in": bodies})
        courts = user_court_ids(user)
        if courts:
            asked = {
                *EntrustedMediation.objects.filter(court_id__in=courts).values_list("dispute_id", flat=True),
                *JudicialConfirmation.objects.filter(court_id__in=courts).values_list("agreement__dispute_id", flat=True),
            }
            if asked:
                condition |= Q(**{f"{prefix}pk__in": sorted(asked)})
    return condition


class DisputeQuerySet(ScopedQuerySet):
    grid_path = "grid"

    def restrict(self, user, action: str = VIEW):
        return self.filter(dispute_access(user, action))

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, today):
        return self.filter(status__in=OPEN_STATUSES, due_on__lt=today)


class Dispute(models.Model):
    number = models.CharField(_("纠纷编号"), max_length=24, unique=True)
    name = models.CharField(_("纠纷名称"), max_length=100)
    category = models.ForeignKey(DisputeCategory, verbose_name=_("纠纷类别"), on_delete=models.PROTECT, related_name="disputes")
    scale = models.ForeignKey(DisputeScale, verbose_name=_("纠纷规模"), on_delete=models.PROTECT, related_name="disputes")
    grid = models.ForeignKey(Grid, verbose_name=_("所属网格"), on_delete=models.PROTECT, related_name="disputes")
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.SCREENING)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.REGISTERED)
    # Bumped by every step: a step taken on a version the actor did not see is refused.
    version = models.PositiveIntegerField(_("版本"), default=1)
    occurred_on = models.DateField(_("发生日期"))
    place = models.CharField(_("发生地点"), max_length=200, blank=True)
    summary = models.TextField(_("纠纷简要情况"))
    amount = models.DecimalField(_("涉及金额（元）"), max_digits=14, decimal_places=2, null=True, blank=True)
    people_count = models.PositiveIntegerField(_("涉及人数"), default=2)
    group_risk = models.BooleanField(_("群体性纠纷风险"), default=False, help_text=_("涉及 5 人及以上时默认标记，可修改"))
    risk = models.CharField(_("风险等级"), max_length=8, choices=Risk.choices, default=Risk.LOW)
    units_involved = models.CharField(_("涉及单位"), max_length=300, blank=True)
    registered_at = models.DateTimeField(_("登记时间"), db_index=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        null=True,
        related_name="disputes_registered",
    )
    client_key = models.UUIDField(_("客户端提交标识"), null=True, blank=True, editable=False)
    incident = models.OneToOneField(
        "cases.Incident", verbose_name=_("来源事件"), on_delete=models.PROTECT, null=True, blank=True, related_name="dispute"
    )
    # Where it is being mediated now.
    line = models.ForeignKey(
        MediationLine, verbose_name=_("调解防线"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tier = models.ForeignKey(Tier, verbose_name=_("调解层级"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    body = models.ForeignKey(
        MediationBody, verbose_name=_("调解组织"), on_delete=models.PROTECT, null=True, blank=True, related_name="disputes"
    )
    mediators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("调解员"), blank=True, related_name="disputes_mediated"
    )
    accepted_at = models.DateTimeField(_("受理（研判）时间"), null=True, blank=True)
    tier_started_on = models.DateField(_("本级调解开始日期"), null=True, blank=True)
    # The date the dispute waits for now (triage, mediation at this tier, ruling,
    # follow-up), so "overdue" is one indexed comparison.
    due_on = models.DateField(_("当前时限"), null=True, blank=True, db_index=True)
    extensions = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    late = models.BooleanField(_("曾超时"), default=False)
    escalations = models.PositiveSmallIntegerField(_("升级次数"), default=0)
    passed_upward = models.BooleanField(_("矛盾上交"), default=False, help_text=_("已升级出村（社区）人民调解"))
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True, db_index=True)
    closing_note = models.TextField(_("结案说明"), blank=True)
    other_routes = models.JSONField(_("已告知的其他途径"), default=list, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("当事人满意度"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = DisputeQuerySet.as_manager()

    class Meta:
        verbose_name = _("矛盾纠纷")
        verbose_name_plural = _("矛盾纠纷")
        ordering = ["-registered_at", "-id"]
        permissions = [
            ("export_dispute", _("可导出矛盾纠纷")),
            ("mediate_dispute", _("可调解矛盾纠纷")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["registered_by", "client_key"], name="dispute_once_per_client_key"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="dispute_satisfaction_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["grid", "-registered_at"], name="dispute_grid_registered"),
            models.Index(fields=["status", "-registered_at"], name="dispute_status_registered"),
            models.Index(fields=["grid", "status"], include=["due_on", "tier"], name="dispute_grid_status"),
            models.Index(fields=["category", "registered_at"], name="dispute_category_registered"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today) -> bool:
        return self.is_open and self.due_on is not None and self.due_on < today

    @property
    def agreement(self):
        """The agreement in force (None before one is reached, or after a court refused to
        confirm it and mediation resumed)."""
        if "_agreement" not in self.__dict__:
            prefetched = getattr(self, "_prefetched_objects_cache", {}).get("agreements")
            if prefetched is not None:
                self.__dict__["_agreement"] = next((a for a in prefetched if not a.superseded), None)
            else:
                self.__dict__["_agreement"] = self.agreements.select_related("tier__line").filter(superseded=False).first()
        return self.__dict__["_agreement"]

    def forget_agreement(self) -> None:
        self.__dict__.pop("_agreement", None)


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("申请人")
    RESPONDENT = "respondent", _("被申请人")
    THIRD_PARTY = "third_party", _("第三人")


class PartyKind(models.TextChoices):
    PERSON = "person", _("自然人")
    ORGANISATION = "organisation", _("单位")


class DisputeParty(models.Model):
    """A main party (主要当事人): a registry person, a person told by name with their
    identity document, or an organisation. Numbers are stored as in the registry:
    encrypted, a keyed hash for exact search, and masked for display."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(_("身份"), max_length=16, choices=PartyRole.choices)
    kind = models.CharField(_("类型"), max_length=16, choices=PartyKind.choices, default=PartyKind.PERSON)
    person = models.ForeignKey(
        "populations.Person",
        verbose_name=_("人员库人员"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dispute_parties",
    )
    name = models.CharField(_("姓名/单位名称"), max_length=100)
    id_number_encrypted = models.TextField(_("证件号码（密文）"), blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    id_number_masked = models.CharField(_("证件号码"), max_length=32, blank=True, editable=False)
    sex = models.CharField(_("性别"), max_length=1, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=2, blank=True)
    address = models.CharField(_("住址"), max_length=200, blank=True)
    phone_encrypted = models.TextField(_("联系电话（密文）"), blank=True, editable=False)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True, editable=False)

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")
        ordering = ["dispute", "id"]

    def __str__(self):
        return f"{self.get_role_display()} {self.name}"

    @property
    def identity_number(self) -> str:
        return crypto.decrypt(self.id_number_encrypted)

    def set_identity_number(self, value: str) -> None:
        self.id_number_encrypted = crypto.encrypt(value)
        self.id_number_hash = crypto.lookup_hash(value)
        self.id_number_masked = crypto.mask_identity_number(value)

    def set_phone(self, value: str) -> None:
        self.phone_encrypted = crypto.encrypt(value)
        self.phone_masked = crypto.mask_phone(value)


class Method(models.TextChoices):
    EXPERT = "expert", _("专家调解")
    INDUSTRY = "industry", _("行业调解")
    FIVE_ELDERS = "five_elders", _("五老调解")
    FOLK_CUSTOM = "folk_custom", _("民俗调解")
    MOBILE = "mobile", _("流动调解")
    JOINT = "joint", _("联动调解")
    ORDINARY = "ordinary", _("一般调解")


class Outcome(models.TextChoices):
    AGREEMENT = "agreement", _("达成协议")
    PARTIAL = "partial", _("部分达成")
    FAILED = "failed", _("调解不成")
    WITHDRAWN = "withdrawn", _("申请人撤回")


class MediationSession(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="sessions")
    tier = models.ForeignKey(Tier, verbose_name=_("调解层级"), on_delete=models.PROTECT, null=True, related_name="+")
    held_on = models.DateField(_("调解日期"))
    place = models.CharField(_("调解地点"), max_length=200)
    method = models.CharField(_("调解方法"), max_length=16, choices=Method.choices, default=Method.ORDINARY)
    mediators = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("调解员"), blank=True, related_name="+")
    attendance = models.TextField(_("参加人员"), blank=True)
    notes = models.TextField(_("调解记录"))
    outcome = models.CharField(_("调解结果"), max_length=16, choices=Outcome.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调解记录")
        verbose_name_plural = _("调解记录")
        ordering = ["dispute", "held_on", "id"]

    def __str__(self):
        return f"{self.dispute.number} {self.held_on}"


class AgreementForm(models.TextChoices):
    WRITTEN = "written", _("书面协议")
    ORAL = "oral", _("口头协议")


class Performance(models.TextChoices):
    PENDING = "pending", _("待履行")
    PERFORMING = "performing", _("履行中")
    PERFORMED = "performed", _("已履行")
    BREACHED = "breached", _("未履行")


class Agreement(models.Model):
    """调解协议. A written agreement takes effect when every party and the mediator have
    signed and the committee has sealed it; an oral one the day it is reached."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="agreements")
    tier = models.ForeignKey(Tier, verbose_name=_("调解层级"), on_delete=models.PROTECT, null=True, related_name="+")
    body = models.ForeignKey(
        MediationBody, verbose_name=_("调解组织"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    form = models.CharField(_("协议形式"), max_length=8, choices=AgreementForm.choices)
    reached_on = models.DateField(_("达成日期"))
    terms = models.TextField(_("协议内容"))
    amount = models.DecimalField(_("协议金额（元）"), max_digits=14, decimal_places=2, null=True, blank=True)
    performance_due = models.DateField(_("履行期限"), null=True, blank=True)
    parties_signed = models.CharField(_("当事人签名"), max_length=300, blank=True)
    mediator_signed = models.CharField(_("调解员签名"), max_length=100, blank=True)
    signed_on = models.DateField(_("签名日期"), null=True, blank=True)
    sealed_on = models.DateField(_("调委会盖章日期"), null=True, blank=True)
    effective_on = models.DateField(_("生效日期"))
    performance = models.CharField(_("履行情况"), max_length=16, choices=Performance.choices, default=Performance.PENDING)
    enforceable = models.BooleanField(_("经司法确认具有强制执行力"), default=False)
    superseded = models.BooleanField(_("已失效"), default=False, help_text=_("司法确认被驳回后重新调解"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调解协议")
        verbose_name_plural = _("调解协议")
        ordering = ["dispute", "recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dispute"], condition=Q(superseded=False), name="agreement_one_current_per_dispute")
        ]

    def __str__(self):
        return f"{self.dispute.number} {self.get_form_display()}"


class FollowUp(models.Model):
    """回访: how the agreement is being performed."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="follow_ups")
    visited_on = models.DateField(_("回访日期"))
    performance = models.CharField(_("履行情况"), max_length=16, choices=Performance.choices)
    satisfaction = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    note = models.TextField(_("回访情况"))
    visited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        ordering = ["agreement", "visited_on", "id"]

    def __str__(self):
        return f"{self.visited_on} {self.get_performance_display()}"


class Ruling(models.TextChoices):
    PENDING = "pending", _("待裁定")
    NOT_ACCEPTED = "not_accepted", _("不予受理")
    CONFIRMED = "confirmed", _("确认有效")
    REJECTED = "rejected", _("驳回申请")


class JudicialConfirmation(models.Model):
    """司法确认: the parties jointly ask a court, within 30 days of the agreement taking
    effect, to confirm it; the court decides on acceptance within 3 days and rules within
    15. A confirmed agreement is enforceable; a refusal sends the parties back to mediation
    or to court."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="confirmations")
    court = models.ForeignKey(Court, verbose_name=_("人民法院"), on_delete=models.PROTECT, related_name="confirmations")
    applied_on = models.DateField(_("申请日期"))
    applicants = models.CharField(_("共同申请人"), max_length=300)
    accept_due = models.DateField(_("受理期限"))
    accepted_on = models.DateField(_("受理日期"), null=True, blank=True)
    ruling_due = models.DateField(_("裁定期限"), null=True, blank=True)
    ruled_on = models.DateField(_("裁定日期"), null=True, blank=True)
    result = models.CharField(_("结果"), max_length=16, choices=Ruling.choices, default=Ruling.PENDING)
    reason = models.TextField(_("理由"), blank=True)
    late = models.BooleanField(_("法院超期"), default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("司法确认")
        verbose_name_plural = _("司法确认")
        ordering = ["agreement", "applied_on", "id"]

    def __str__(self):
        return f"{self.court} {self.applied_on} {self.get_result_display()}"


class Referral(models.TextChoices):
    PRE_FILING = "pre_filing", _("诉前委派调解")
    AFTER_FILING = "after_filing", _("立案后委托调解")


class Procedure(models.TextChoices):
    ORDINARY = "ordinary", _("普通程序")
    SIMPLE = "simple", _("简易程序")


class EntrustedResult(models.TextChoices):
    PENDING = "pending", _("调解中")
    SETTLED = "settled", _("调解成功")
    FAILED = "failed", _("调解不成")
    WITHDRAWN = "withdrawn", _("已撤回")


class EntrustedMediation(models.Model):
    """A case a court refers before filing (委派, 30 days) or entrusts after filing (委托,
    15 days ordinary procedure, 7 days simple), extendable with both parties' consent.
    The result goes back to the court when the dispute closes."""

    dispute = models.OneToOneField(Dispute, on_delete=models.CASCADE, related_name="entrusted")
    court = models.ForeignKey(Court, verbose_name=_("委托法院"), on_delete=models.PROTECT, related_name="entrusted")
    court_case_number = models.CharField(_("法院案号"), max_length=64)
    referral = models.CharField(_("委派/委托"), max_length=16, choices=Referral.choices)
    procedure = models.CharField(_("审理程序"), max_length=16, choices=Procedure.choices, blank=True)
    body = models.ForeignKey(MediationBody, verbose_name=_("受托调解组织"), on_delete=models.PROTECT, related_name="entrusted")
    received_on = models.DateField(_("收案日期"))
    due_on = models.DateField(_("调解期限"))
    extensions = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    result = models.CharField(_("调解结果"), max_length=16, choices=EntrustedResult.choices, default=EntrustedResult.PENDING)
    result_note = models.TextField(_("结果说明"), blank=True)
    returned_on = models.DateField(_("结果回复法院日期"), null=True, blank=True)
    entrusted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("委托调解")
        verbose_name_plural = _("委托调解")
        ordering = ["-received_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["court", "court_case_number"], name="entrusted_once_per_court_case")]

    def __str__(self):
        return f"{self.court.name} {self.court_case_number}"


class DisputeTransition(models.Model):
    """One step taken on a dispute."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="transitions")
    step = models.CharField(_("环节"), max_length=24)
    from_status = models.CharField(_("原状态"), max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("办理人"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(_("时间"))
    note = models.TextField(_("意见"), blank=True)
    tier = models.ForeignKey(Tier, verbose_name=_("调解层级"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    due_on = models.DateField(_("本环节时限"), null=True, blank=True)
    late = models.BooleanField(_("超时办理"), default=False)
    details = models.JSONField(_("内容"), default=dict, blank=True)

    class Meta:
        verbose_name = _("纠纷办理记录")
        verbose_name_plural = _("纠纷办理记录")
        ordering = ["dispute", "at", "id"]
        indexes = [models.Index(fields=["dispute", "at"], name="dispute_transition_at")]

    def __str__(self):
        return f"{self.dispute.number} {self.step}"

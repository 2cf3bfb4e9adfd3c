"""The resident registry (households, people) and the six special-population programmes.

A household belongs to a ten-household unit; a person belongs to a household and carries
the household's unit as ``unit`` so that every scoped list of people is one join to the
tree. Identity and phone numbers are stored encrypted, as a keyed search hash and masked
(``kaili/crypto.py``); nothing here holds them in clear.

Programmes share ``Enrollment`` (who, which programme, level, team, schedule, exit); each
programme keeps its own fields in a one-to-one detail record (DOMAIN.md, "Programme
rules"). Visits, check-ins, follow-ups and tests are ``Visit`` rows; places in facilities
are ``Placement`` rows, refused beyond the facility's capacity.
"""

import re
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from grids.models import Grid
from kaili import crypto
from kaili.models import FileImport
from kaili.scope import (
    VIEW,
    Everything,
    ScopedQuerySet,
    permission_for,
    reachable_ranges,
    role_permissions,
    role_ranges,
    scope_filter,
)
from populations.identity import ETHNICITIES


def new_doorplate_token() -> str:
    return secrets.token_urlsafe(16)


class Registration(models.TextChoices):
    REGISTERED = "registered", _("户籍户")
    RESIDENT_ONLY = "resident_only", _("常住非户籍户")


class HouseholdQuerySet(ScopedQuerySet):
    grid_path = "unit"


class Household(models.Model):
    """A household (户) of a ten-household unit, with its doorplate QR code (二维码门牌)."""

    number = models.CharField(_("户编号"), max_length=20, unique=True, help_text=_("单元编码加三位序号"))
    unit = models.ForeignKey(Grid, verbose_name=_("十户联防单元"), on_delete=models.PROTECT, related_name="household_records")
    address = models.CharField(_("住址"), max_length=200)
    doorplate = models.CharField(_("门牌号"), max_length=50, blank=True)
    registration = models.CharField(_("户别"), max_length=16, choices=Registration.choices, default=Registration.REGISTERED)
    head = models.ForeignKey("Person", verbose_name=_("户主"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The doorplate QR code carries this token only: it identifies nothing without signing in.
    doorplate_token = models.CharField(max_length=32, default=new_doorplate_token, editable=False)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        ordering = ["number"]
        permissions = [("export_household", _("可导出住户"))]
        # Exact-match columns as constraints and plain indexes: a unique=True / db_index=True
        # text field would also get a pattern (LIKE) index that nothing here uses.
        constraints = [models.UniqueConstraint(fields=["doorplate_token"], name="household_doorplate_token_unique")]

    def __str__(self):
        return f"{self.number} {self.address}"


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    GRANDPARENT = "grandparent", _("祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    OTHER = "other", _("其他")


class Residence(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    FLOATING = "floating", _("流动人口")


def normalise_phone(value: str) -> str:
    """Digits only, so ``0855-8221234`` and ``0855 8221234`` are stored and found alike."""
    return re.sub(r"[\s-]", "", value or "")


class PersonQuerySet(ScopedQuerySet):
    grid_path = "unit"

    def with_identity_number(self, value: str):
        from populations.identity import normalise_identity_number

        return self.filter(id_number_hash=crypto.lookup_hash(normalise_identity_number(value)))

    def with_phone(self, value: str):
        return self.filter(phone_hash=crypto.lookup_hash(normalise_phone(value)))


class Person(models.Model):
    household = models.ForeignKey(Household, verbose_name=_("所属住户"), on_delete=models.PROTECT, related_name="members")
    # Always the household's unit (kept by the services): scoping people is one join to the tree.
    unit = models.ForeignKey(Grid, verbose_name=_("十户联防单元"), on_delete=models.PROTECT, related_name="person_records")
    name = models.CharField(_("姓名"), max_length=64)
    id_number_encrypted = models.TextField(_("身份证号（密文）"), editable=False)
    id_number_hash = models.CharField(max_length=64, editable=False)
    id_number_masked = models.CharField(_("身份证号"), max_length=18, editable=False)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, editable=False)
    birth_date = models.DateField(_("出生日期"), editable=False)
    ethnicity = models.CharField(_("民族"), max_length=2, choices=ETHNICITIES, default="01")
    phone_encrypted = models.TextField(_("联系电话（密文）"), blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True, editable=False)
    relation = models.CharField(_("与户主关系"), max_length=16, choices=Relation.choices, default=Relation.OTHER)
    residence = models.CharField(_("人口类型"), max_length=16, choices=Residence.choices, default=Residence.REGISTERED)
    occupation = models.CharField(_("职业"), max_length=64, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["household__number", "id"]
        permissions = [("export_person", _("可导出人员"))]
        # See Household.Meta: exact-match hash columns without pattern indexes.
        constraints = [models.UniqueConstraint(fields=["id_number_hash"], name="person_identity_number_once")]
        indexes = [models.Index(fields=["unit", "name"]), models.Index(fields=["phone_hash"], name="person_phone_hash")]

    def __str__(self):
        return f"{self.name}（{self.id_number_masked}）"

    @property
    def identity_number(self) -> str:
        """The clear identity number. Callers showing it must audit the read
        (``populations.services.person_reveal``)."""
        return crypto.decrypt(self.id_number_encrypted)

    @property
    def phone(self) -> str:
        return crypto.decrypt(self.phone_encrypted)

    def set_identity_number(self, value: str) -> None:
        self.id_number_encrypted = crypto.encrypt(value)
        self.id_number_hash = crypto.lookup_hash(value)
        self.id_number_masked = crypto.mask_identity_number(value)

    def set_phone(self, value: str) -> None:
        value = normalise_phone(value)
        self.phone_encrypted = crypto.encrypt(value)
        self.phone_hash = crypto.lookup_hash(value)
        self.phone_masked = crypto.mask_phone(value)

    def age_on(self, day) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


class Programme(models.TextChoices):
    MENTAL_HEALTH = "mental_health", _("安宁工程")
    CORRECTION = "correction", _("矫治工程")
    RELEASED = "released", _("回归工程")
    DRUG_REHAB = "drug_rehab", _("阳光康复工程")
    YOUTH = "youth", _("春雨工程")
    LEFT_BEHIND = "left_behind", _("雨露工程")


def level_range(programme: str) -> range:
    """Mental health grades risk 0-5 (the 2018 work norm); the others 0-3 (none to high)."""
    return range(0, 6) if programme == Programme.MENTAL_HEALTH else range(0, 4)


PROGRAMME_SUBJECTS = {
    Programme.MENTAL_HEALTH: _("严重精神障碍患者"),
    Programme.CORRECTION: _("社区矫正对象"),
    Programme.RELEASED: _("刑满释放及解除强制隔离戒毒人员"),
    Programme.DRUG_REHAB: _("社区戒毒社区康复人员"),
    Programme.YOUTH: _("重点青少年"),
    Programme.LEFT_BEHIND: _("留守儿童、妇女、老人"),
}


class ProgrammeOfficer(models.Model):
    """Which programme a programme officer (专干) runs; where is their role grant on the tree."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("专干"), on_delete=models.CASCADE, related_name="programme_duties"
    )
    programme = models.CharField(_("工程"), max_length=16, choices=Programme.choices)

    class Meta:
        verbose_name = _("专干负责的工程")
        verbose_name_plural = _("专干负责的工程")
        constraints = [models.UniqueConstraint(fields=["user", "programme"], name="programme_officer_once")]

    def __str__(self):
        return f"{self.user} · {self.get_programme_display()}"


def officer_programmes(user) -> set[str]:
    """The programmes a programme officer runs; cached on the user for the request."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_kaili_programmes", None)
    if cached is None:
        cached = set(ProgrammeOfficer.objects.filter(user=user).values_list("programme", flat=True))
        user._kaili_programmes = cached
    return cached


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    EXITED = "exited", _("已退出")


class AttentionLevel(models.TextChoices):
    """关注程度 (DOMAIN.md: every programme record carries one)."""

    NORMAL = "normal", _("一般关注")
    ATTENTION = "attention", _("关注")
    KEY = "key", _("重点关注")


class ExitReason(models.TextChoices):
    COMPLETED = "completed", _("期满/达到目标")
    RECOVERED = "recovered", _("康复/情况好转")
    MOVED = "moved", _("迁出辖区")
    TRANSFERRED = "transferred", _("转入其他工程")
    DECEASED = "deceased", _("死亡")
    REOFFENDED = "reoffended", _("重新违法犯罪收监")
    OTHER = "other", _("其他")


class EnrollmentQuerySet(ScopedQuerySet):
    """Enrollments are narrower than the grid scope (DOMAIN.md, "Privacy"): within the
    subtrees where a role grants the action, a programme officer reaches only the
    programmes they run, a grid worker only left-behind people (whom they visit), and a
    member of an enrollment's responsible team reaches that enrollment."""

    grid_path = "person__unit"

    def active(self):
        return self.filter(status=EnrollmentStatus.ACTIVE)

    def restrict(self, user, action: str = VIEW):
        return self.filter(enrollment_access(user, action))


def enrollment_access(user, action: str, prefix: str = "") -> Q:
    """The condition on enrollments (reached through ``prefix``, e.g. ``"enrollment__"``)
    under which ``user`` may do ``action`` on them."""
    from kaili import roles

    unit_path = f"{prefix}person__unit"
    permission = f"populations.{action}_enrollment"
    ranges = reachable_ranges(user, permission)
    if isinstance(ranges, Everything):
        return Q()
    if not ranges:
        return Q(pk__in=[])
    held = role_permissions(user)
    condition = Q(pk__in=[])
    if permission in held.get(roles.PROGRAMME_OFFICER, ()):
        duties = officer_programmes(user)
        if duties:
            condition |= scope_filter(role_ranges(user, roles.PROGRAMME_OFFICER), unit_path) & Q(
                **{f"{prefix}programme__in": duties}
            )
    if permission in held.get(roles.GRID_WORKER, ()):
        condition |= scope_filter(role_ranges(user, roles.GRID_WORKER), unit_path) & Q(
            **{f"{prefix}programme": Programme.LEFT_BEHIND}
        )
    on_team = Enrollment.team.through.objects.filter(user=user).values("enrollment_id")
    condition |= scope_filter(ranges, unit_path) & Q(**{f"{prefix}pk__in": on_team})
    return condition


class Enrollment(models.Model):
    """A person enrolled in one programme: the shape the six programmes share."""

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="enrollments")
    programme = models.CharField(_("工程"), max_length=16, choices=Programme.choices, db_index=True)
    status = models.CharField(
        _("状态"), max_length=8, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE, db_index=True
    )
    attention = models.CharField(_("关注程度"), max_length=12, choices=AttentionLevel.choices, default=AttentionLevel.NORMAL)
    level = models.PositiveSmallIntegerField(
        _("风险/需求等级"), default=0, help_text=_("安宁工程为危险性评估 0-5 级；其他工程 1 低、2 中、3 高。")
    )
    started_on = models.DateField(_("纳入日期"))
    planned_end_on = models.DateField(_("计划结束日期"), null=True, blank=True)
    team = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("责任团队"), blank=True, related_name="responsible_enrollments"
    )
    next_due_on = models.DateField(_("下次走访/随访日期"), null=True, blank=True, db_index=True)
    overdue = models.BooleanField(_("已逾期"), default=False, db_index=True)
    last_visit_on = models.DateField(_("最近走访日期"), null=True, blank=True)
    exited_on = models.DateField(_("退出日期"), null=True, blank=True)
    exit_reason = models.CharField(_("退出原因"), max_length=16, choices=ExitReason.choices, blank=True)
    exit_note = models.TextField(_("退出说明"), blank=True)
    created_at = models.DateTimeField(_("纳入登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("在册人员")
        verbose_name_plural = _("在册人员")
        ordering = ["-started_on", "-id"]
        permissions = [
            ("export_enrollment", _("可导出在册人员")),
            ("count_enrollment", _("可查看特殊人群统计")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "programme"], condition=Q(status="active"), name="one_active_enrollment_per_programme"
            ),
            models.CheckConstraint(
                condition=Q(status="active") | Q(exited_on__isnull=False), name="exited_enrollment_has_exit_date"
            ),
        ]
        indexes = [models.Index(fields=["programme", "status", "next_due_on"])]

    def __str__(self):
        return f"{self.get_programme_display()} · {self.person.name}"


# --- programme detail records (DOMAIN.md, "Programme rules") ---------------------------


class ProgrammeDetail(models.Model):
    """A programme's own fields, one-to-one with its enrollment."""

    class Meta:
        abstract = True

    def __str__(self):
        return str(self.enrollment)


class Diagnosis(models.TextChoices):
    SCHIZOPHRENIA = "schizophrenia", _("精神分裂症")
    SCHIZOAFFECTIVE = "schizoaffective", _("分裂情感性障碍")
    PARANOID = "paranoid", _("偏执性精神病")
    BIPOLAR = "bipolar", _("双相（情感）障碍")
    EPILEPSY = "epilepsy", _("癫痫所致精神障碍")
    INTELLECTUAL = "intellectual", _("精神发育迟滞伴发精神障碍")


class MentalHealthRecord(ProgrammeDetail):
    """安宁工程: "four manage, three help" (四管三帮) and the guardian care contract."""

    enrollment = models.OneToOneField(Enrollment, on_delete=models.CASCADE, related_name="mental_health")
    diagnosis = models.CharField(_("诊断"), max_length=16, choices=Diagnosis.choices)
    guardian_name = models.CharField(_("监护人"), max_length=64, blank=True)
    guardian_relation = models.CharField(_("监护人关系"), max_length=32, blank=True)
    contract_signed_on = models.DateField(_("管护合同签订日期"), null=True, blank=True)
    contract_reward = models.DecimalField(_("以奖代补金额（元/年）"), max_digits=9, decimal_places=2, null=True, blank=True)
    manager_guardian = models.CharField(_("管：监护人"), max_length=64, blank=True)
    manager_village_cadre = models.CharField(_("管：村（居）干部"), max_length=64, blank=True)
    manager_subdistrict_cadre = models.CharField(_("管：乡镇（街道）干部"), max_length=64, blank=True)
    manager_police = models.CharField(_("管：民警"), max_length=64, blank=True)
    help_subdistrict = models.BooleanField(_("帮：乡镇（街道）帮扶"), default=False)
    help_civil_affairs = models.BooleanField(_("帮：民政救助"), default=False)
    help_medical_insurance = models.BooleanField(_("帮：医保报销"), default=False)
    help_note = models.TextField(_("帮扶说明"), blank=True)

    class Meta:
        verbose_name = _("安宁工程档案")
        verbose_name_plural = _("安宁工程档案")


class CorrectionCategory(models.TextChoices):
    """The four statutory kinds (Community Correction Law 2019, art. 2)."""

    SURVEILLANCE = "surveillance", _("管制")
    PROBATION = "probation", _("缓刑")
    PAROLE = "parole", _("假释")
    OUTSIDE_PRISON = "outside_prison", _("暂予监外执行")


class SupervisionLevel(models.TextChoices):
    STRICT = "strict", _("严管")
    ORDINARY = "ordinary", _("普管")


class CorrectionRecord(ProgrammeDetail):
    """矫治工程: the correction file and the "six fixed" plan (六定)."""

    enrollment = models.OneToOneField(Enrollment, on_delete=models.CASCADE, related_name="correction")
    category = models.CharField(_("矫正类别"), max_length=16, choices=CorrectionCategory.choices)
    judgment_on = models.DateField(_("判决（裁定、决定）生效日期"), null=True, blank=True)
    reported_on = models.DateField(_("报到日期"), null=True, blank=True)
    correction_start = models.DateField(_("矫正起始日期"))
    correction_end = models.DateField(_("矫正终止日期"))
    supervision_level = models.CharField(
        _("管理等级"), max_length=8, choices=SupervisionLevel.choices, default=SupervisionLevel.ORDINARY
    )
    fixed_workplace = models.CharField(_("定：工作单位"), max_length=128, blank=True)
    fixed_guarantor = models.CharField(_("定：保证人"), max_length=64, blank=True)
    fixed_officer = models.CharField(_("定：责任人"), max_length=64, blank=True)
    fixed_checkin_schedule = models.CharField(_("定：报到（签到）安排"), max_length=128, blank=True)
    fixed_study_hours = models.PositiveSmallIntegerField(_("定：每月学习时数"), default=8)
    fixed_visit_schedule = models.CharField(_("定：走访安排"), max_length=128, blank=True)
    labour_base = models.ForeignKey(
        "Facility", verbose_name=_("公益劳动基地"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entrepreneurship_support = models.BooleanField(_("创业扶持"), default=False)
    entrepreneurship_note = models.CharField(_("扶持内容"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("矫治工程档案")
        verbose_name_plural = _("矫治工程档案")


class ReleaseRisk(models.TextChoices):
    LOW = "low", _("低")
    MEDIUM = "medium", _("中")
    HIGH = "high", _("高")


class ReleasedRecord(ProgrammeDetail):
    """回归工程: release, hand-over (必接), resettlement and the "3+1" pairing."""

    enrollment = models.OneToOneField(Enrollment, on_delete=models.CASCADE, related_name="released")
    offence = models.CharField(_("原罪名"), max_length=100)
    sentence = models.CharField(_("原判刑期"), max_length=64, blank=True)
    released_from = models.CharField(
        _("释放类型"),
        max_length=16,
        choices=[("prison", _("刑满释放")), ("rehab", _("解除强制隔离戒毒"))],
        default="prison",
    )
    released_on = models.DateField(_("释放日期"))
    risk = models.CharField(_("风险评估"), max_length=8, choices=ReleaseRisk.choices, default=ReleaseRisk.LOW)
    handover_on = models.DateField(_("衔接日期"), null=True, blank=True)
    handover_how = models.CharField(_("衔接方式"), max_length=100, blank=True)
    resettled_on = models.DateField(_("安置日期"), null=True, blank=True)
    resettlement_how = models.CharField(_("安置方式"), max_length=100, blank=True)
    not_resettled_reason = models.CharField(_("未安置原因"), max_length=200, blank=True)
    pair_justice_office = models.CharField(_("3+1：司法所"), max_length=64, blank=True)
    pair_township = models.CharField(_("3+1：乡镇（街道）"), max_length=64, blank=True)
    pair_village_cadre = models.CharField(_("3+1：村（居）干部"), max_length=64, blank=True)
    reoffended = models.BooleanField(_("重新犯罪"), default=False)
    reoffended_on = models.DateField(_("重新犯罪日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("回归工程档案")
        verbose_name_plural = _("回归工程档案")


class DrugRehabKind(models.TextChoices):
    COMMUNITY_REHAB = "rehab", _("社区戒毒")
    COMMUNITY_RECOVERY = "recovery", _("社区康复")


class DrugRehabRecord(ProgrammeDetail):
    """阳光康复工程: community rehabilitation / recovery (Anti-Drug Law 2008, art. 33, 48)."""

    enrollment = models.OneToOneField(Enrollment, on_delete=models.CASCADE, related_name="drug_rehab")
    kind = models.CharField(_("类型"), max_length=8, choices=DrugRehabKind.choices)
    period_years = models.PositiveSmallIntegerField(_("期限（年）"), default=3)
    reported_on = models.DateField(_("报到日期"), null=True, blank=True)
    agreement_on = models.DateField(_("协议签订日期"), null=True, blank=True)
    counselling = models.TextField(_("心理咨询与辅导"), blank=True)

    class Meta:
        verbose_name = _("阳光康复工程档案")
        verbose_name_plural = _("阳光康复工程档案")


class YouthKind(models.TextChoices):
    IDLE = "idle", _("闲散青少年")
    BAD_BEHAVIOUR = "bad_behaviour", _("有不良行为青少年")
    VAGRANT = "vagrant", _("流浪乞讨未成年人")
    PRISONERS_CHILD = "prisoners_child", _("服刑人员未成年子女")
    LEFT_BEHIND_PROBLEM = "left_behind", _("农村留守儿童中的问题青少年")


class SchoolStatus(models.TextChoices):
    IN_SCHOOL = "in_school", _("在校")
    DROPPED_OUT = "dropped_out", _("辍学")
    SPRING_RAIN = "spring_rain", _("春雨学校就读")
    RETURNED = "returned", _("已复学")
    WORKING = "working", _("已就业")


class YouthRecord(ProgrammeDetail):
    """春雨工程: at-risk young people, help-education and the Spring Rain school."""

    enrollment = models.OneToOneField(Enrollment, on_delete=models.CASCADE, related_name="youth")
    kind = models.CharField(_("类型"), max_length=16, choices=YouthKind.choices)
    family_situation = models.CharField(_("家庭情况"), max_length=200, blank=True)
    guardian_name = models.CharField(_("监护人"), max_length=64, blank=True)
    mentor = models.CharField(_("帮扶人"), max_length=64, blank=True)
    school_status = models.CharField(_("就学状况"), max_length=16, choices=SchoolStatus.choices)
    help_means = models.CharField(_("帮扶手段"), max_length=200, blank=True)
    progress = models.TextField(_("帮扶进展"), blank=True)
    returned_to_school_on = models.DateField(_("复学日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("春雨工程档案")
        verbose_name_plural = _("春雨工程档案")


class LeftBehindKind(models.TextChoices):
    CHILD = "child", _("留守儿童")
    WOMAN = "woman", _("留守妇女")
    ELDERLY = "elderly", _("留守老人")


class HealthStatus(models.TextChoices):
    GOOD = "good", _("健康")
    FAIR = "fair", _("一般")
    ILL = "ill", _("患病")
    DISABLED = "disabled", _("残疾")


class LeftBehindRecord(ProgrammeDetail):
    """雨露工程: left-behind children, women and elderly (三留守) and their cadre pairing."""

    enrollment = models.OneToOneField(Enrollment, on_delete=models.CASCADE, related_name="left_behind")
    kind = models.CharField(_("类型"), max_length=8, choices=LeftBehindKind.choices)
    health = models.CharField(_("健康状况"), max_length=8, choices=HealthStatus.choices, default=HealthStatus.GOOD)
    annual_income = models.DecimalField(_("年收入（元）"), max_digits=10, decimal_places=2, null=True, blank=True)
    needs = models.TextField(_("困难与需求"), blank=True)
    paired_cadre = models.CharField(_("结对帮扶干部"), max_length=64, blank=True)
    help = models.TextField(_("帮扶措施"), blank=True)

    class Meta:
        verbose_name = _("雨露工程档案")
        verbose_name_plural = _("雨露工程档案")


DETAIL_MODELS = {
    Programme.MENTAL_HEALTH: MentalHealthRecord,
    Programme.CORRECTION: CorrectionRecord,
    Programme.RELEASED: ReleasedRecord,
    Programme.DRUG_REHAB: DrugRehabRecord,
    Programme.YOUTH: YouthRecord,
    Programme.LEFT_BEHIND: LeftBehindRecord,
}
DETAIL_RELATED_NAMES = {programme: model.enrollment.field.related_query_name() for programme, model in DETAIL_MODELS.items()}


# --- visits, facilities, placements, schedules ------------------------------------------


class VisitKind(models.TextChoices):
    FOLLOW_UP = "follow_up", _("随访")
    CHECK_IN = "check_in", _("报到签到")
    VISIT = "visit", _("走访")
    DRUG_TEST = "drug_test", _("尿检")
    COUNSELLING = "counselling", _("心理辅导")
    STUDY = "study", _("集中学习")
    LABOUR = "labour", _("公益劳动")
    HEALTH_REPORT = "health_report", _("病情报告")


class VisitMode(models.TextChoices):
    CLINIC = "clinic", _("门诊")
    HOME = "home", _("入户")
    PHONE = "phone", _("电话")
    OFFICE = "office", _("到所报到")
    ON_SITE = "on_site", _("现场")


class VisitQuerySet(ScopedQuerySet):
    """A visit is reached with its enrollment: the action on visits in the grid scope, and
    the enrollment visible under the programme rules."""

    grid_path = "enrollment__person__unit"

    def restrict(self, user, action: str = VIEW):
        return super().restrict(user, action).filter(enrollment_access(user, VIEW, "enrollment__"))


class Visit(models.Model):
    """One follow-up, check-in, visit, test or session recorded against an enrollment.

    ``details`` holds the fields of the programme's own form (the mental-health follow-up
    form, a drug test's method...), checked by ``populations.schedules.VISIT_FORMS``.
    ``due_on`` keeps the due date the visit answered (``RuleBook.due_after``), so that
    "due" and "done on time" can be counted per period without replaying the schedule.
    """

    enrollment = models.ForeignKey(Enrollment, verbose_name=_("在册人员"), on_delete=models.PROTECT, related_name="visits")
    kind = models.CharField(_("类型"), max_length=16, choices=VisitKind.choices)
    visited_on = models.DateField(_("日期"), db_index=True)
    due_on = models.DateField(
        _("应访日期"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_(
            "本次走访应答的到期日：同一在册人员同类走访的上一次（早于本次日期），没有则为纳入日期，"
            "加上该日适用的走访频次间隔；该类走访没有频次规则时为空。"
        ),
    )
    mode = models.CharField(_("方式"), max_length=8, choices=VisitMode.choices, default=VisitMode.HOME)
    level = models.PositiveSmallIntegerField(_("评估等级"), null=True, blank=True)
    result = models.CharField(_("结果"), max_length=32, blank=True)
    hours = models.DecimalField(_("时数"), max_digits=5, decimal_places=1, null=True, blank=True)
    details = models.JSONField(_("表单内容"), default=dict, blank=True)
    note = models.TextField(_("情况记录"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("走访随访记录")
        verbose_name_plural = _("走访随访记录")
        ordering = ["-visited_on", "-id"]

    def __str__(self):
        return f"{self.visited_on} {self.get_kind_display()}"


class FacilityKind(models.TextChoices):
    REHAB_CENTRE = "rehab_centre", _("戒毒康复中心")
    LABOUR_BASE = "labour_base", _("公益劳动基地")
    RESETTLEMENT_BASE = "resettlement_base", _("过渡性安置基地")
    SUNSHINE_HOME = "sunshine_home", _("阳光家园")
    SPRING_RAIN_SCHOOL = "spring_rain_school", _("春雨学校")
    CHILDRENS_HOME = "childrens_home", _("儿童之家")
    AFTER_SCHOOL_CLUB = "after_school_club", _("“四点半”课堂")
    WOMENS_BASE = "womens_base", _("妇女创业基地")
    ELDERLY_UNIVERSITY = "elderly_university", _("老年大学")


class FacilityQuerySet(ScopedQuerySet):
    """Facilities in the user's subtrees, and for viewing (and placing people in) also
    those on the nodes above them: the city's rehabilitation centre serves every zone."""

    grid_path = "grid"

    def restrict(self, user, action: str = VIEW):
        if action != VIEW:
            return super().restrict(user, action)
        ranges = reachable_ranges(user, permission_for(self.model, action))
        if isinstance(ranges, Everything):
            return self
        above = Q(pk__in=[])
        for node_range in ranges:
            above |= Q(grid__tree_id=node_range.tree_id, grid__lft__lte=node_range.lft, grid__rght__gte=node_range.rght)
        return self.filter(scope_filter(ranges, self.grid_path) | above)


class Facility(models.Model):
    grid = models.ForeignKey(Grid, verbose_name=_("所在网格"), on_delete=models.PROTECT, related_name="facilities")
    kind = models.CharField(_("类型"), max_length=20, choices=FacilityKind.choices, db_index=True)
    name = models.CharField(_("名称"), max_length=100)
    capacity = models.PositiveIntegerField(_("容量"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    objects = FacilityQuerySet.as_manager()

    class Meta:
        verbose_name = _("场所")
        verbose_name_plural = _("场所")
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name


class PlacementQuerySet(ScopedQuerySet):
    grid_path = "enrollment__person__unit"

    def restrict(self, user, action: str = VIEW):
        return super().restrict(user, action).filter(enrollment_access(user, VIEW, "enrollment__"))

    def current(self):
        return self.filter(ended_on__isnull=True)


class Placement(models.Model):
    """A place for an enrolled person in a facility (a bed, a job, a school place)."""

    enrollment = models.ForeignKey(Enrollment, verbose_name=_("在册人员"), on_delete=models.PROTECT, related_name="placements")
    facility = models.ForeignKey(Facility, verbose_name=_("场所"), on_delete=models.PROTECT, related_name="placements")
    started_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = PlacementQuerySet.as_manager()

    class Meta:
        verbose_name = _("安置/就业/入学")
        verbose_name_plural = _("安置/就业/入学")
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "facility"], condition=Q(ended_on__isnull=True), name="one_current_placement_per_facility"
            )
        ]

    def __str__(self):
        return f"{self.facility} · {self.enrollment.person.name}"


class ScheduleBasis(models.TextChoices):
    LEVEL = "level", _("按风险/需求等级")
    YEAR = "year", _("按在册年度")
    SUPERVISION = "supervision", _("按管理等级")
    CATEGORY = "category", _("按矫正类别")
    ANY = "any", _("统一")


class ScheduleRule(models.Model):
    """How often an enrolled person is followed up, visited or tested (admin-editable).

    A rule applies to the programme's enrollments whose key (risk level, programme year,
    supervision level 1 strict / 2 ordinary, or correction category 1 管制 / 2 缓刑 / 3 假释 /
    4 暂予监外执行) lies in ``key_from..key_to``. A programme may keep several schedules at
    once, one per kind of visit (a visit and a monthly health report, say): the first
    matching rule of each kind applies, and the earliest of their due dates is the next.
    """

    programme = models.CharField(_("工程"), max_length=16, choices=Programme.choices)
    basis = models.CharField(_("依据"), max_length=12, choices=ScheduleBasis.choices)
    key_from = models.PositiveSmallIntegerField(_("起"), default=0)
    key_to = models.PositiveSmallIntegerField(_("止"), default=0)
    visit_kind = models.CharField(_("事项"), max_length=16, choices=VisitKind.choices)
    interval_months = models.PositiveSmallIntegerField(_("间隔（月）"), default=0)
    interval_days = models.PositiveSmallIntegerField(_("间隔（天）"), default=0)
    note = models.CharField(_("依据说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("走访随访频次")
        verbose_name_plural = _("走访随访频次")
        ordering = ["programme", "basis", "key_from"]
        constraints = [
            models.CheckConstraint(condition=Q(key_from__lte=models.F("key_to")), name="schedule_key_range"),
            models.CheckConstraint(condition=Q(interval_months__gt=0) | Q(interval_days__gt=0), name="schedule_has_interval"),
        ]

    def __str__(self):
        return f"{self.get_programme_display()} {self.key_from}-{self.key_to}"


# --- registry imports (populations/imports.py) ------------------------------------------


class PeopleImport(FileImport):
    """One upload of a registry file through the page: a dry run, then (once confirmed) the import.

    The file holds identity and phone numbers in clear, so it is kept encrypted like the
    fields it fills, and dropped once the import is done or refused.
    """

    progress_prefix = "populations:import"

    content_encrypted = models.BinaryField(_("文件内容（密文）"), default=bytes, editable=False)

    class Meta(FileImport.Meta):
        verbose_name = _("人口导入")
        verbose_name_plural = _("人口导入")
        constraints = [
            # a dry run is confirmed once, however often the button is pressed
            models.UniqueConstraint(fields=["confirms"], condition=Q(confirms__isnull=False), name="people_import_confirmed_once")
        ]

    def set_content(self, data: bytes) -> None:
        self.content_encrypted = crypto.field_cipher().encrypt(data) if data else b""

    def read_content(self) -> bytes:
        token = bytes(self.content_encrypted)
        return crypto.field_cipher().decrypt(token) if token else b""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cases.demo import DEFAULT_SCALE as INCIDENT_SCALE
from cases.demo import seed_incidents
from dashboard import marks
from dashboard.services import run_full_rebuild
from disputes.demo import seed_disputes
from grids.demo import seed_demo_tree
from grids.models import GridKind
from kaili.demo import DEMO_PASSWORD, seed_demo_users
from kaili.progress import ProgressBar, no_progress
from kaili.roles import role_label
from populations.demo import DEFAULT_SCALE, seed_populations
from populations.models import Programme


class Command(BaseCommand):
    help = (
        "生成演示数据：凯里市规模的网格树（18 个镇街、199 个一级网格、1,255 个二级网格及十户联防单元）、"
        "各角色演示账号，按 --scale 比例生成的住户、人员和六大工程在册人员，以及 2015-2017 年的事件"
        "（刑事案件按 2016 年种子数据，不随比例变化），各村（社区）人民调解委员会和 2015-2017 年的矛盾纠纷"
        "（2015 年 3,041 件、2016 年 2,238 件）；可重复运行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2016, help="随机种子（相同种子生成相同数据）")
        parser.add_argument(
            "--scale",
            type=float,
            default=DEFAULT_SCALE,
            help=f"人口规模（1 = 凯里全市约 23 万户、67 万人，每年约 4 万件事件；默认 {DEFAULT_SCALE:g}，生成较快）",
        )
        parser.add_argument(
            "--incident-scale",
            type=float,
            default=INCIDENT_SCALE,
            help=f"事件规模（1 = 每年约 4 万件；默认 {INCIDENT_SCALE:g}；刑事案件始终按种子数据，不随比例变化）",
        )
        parser.add_argument("--no-incidents", action="store_true", help="不生成演示事件")
        parser.add_argument("--no-disputes", action="store_true", help="不生成演示矛盾纠纷")

    def handle(
        self, *args, seed, scale, verbosity, incident_scale=INCIDENT_SCALE, no_incidents=False, no_disputes=False, **options
    ):
        if not 0 <= scale <= 50:
            raise CommandError("--scale 应在 0 到 50 之间。")
        if not 0 <= incident_scale <= 50:
            raise CommandError("--incident-scale 应在 0 到 50 之间。")
        progress = ProgressBar(self.stdout) if verbosity > 0 else no_progress
        # The statistics are rebuilt once at the end rather than after every record.
        with marks.paused():
            with transaction.atomic():
                tree = seed_demo_tree(seed=seed, progress=progress)
                users = seed_demo_users(seed=seed)
            people = seed_populations(seed=seed, scale=scale, progress=progress)
            incidents = None if no_incidents else seed_incidents(seed=seed, scale=incident_scale, progress=progress)
            disputes = None if no_disputes else seed_disputes(seed=seed, progress=progress)
        statistics = run_full_rebuild(progress=progress)
        counts = "，".join(f"{GridKind(kind).label} {n:,}" for kind, n in tree.nodes_by_kind.items())
        self.stdout.write(
            self.style.SUCCESS(f"网格树：新建 {tree.created} 个节点。现有 {counts}；户数合计 {tree.households:,}。")
        )
        enrolled = "，".join(f"{Programme(p).label} {n:,}" for p, n in people.enrollments.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"人口（比例 {scale:g}）：新建住户 {people.households_created:,} 户、人员 {people.people_created:,} 人、"
                f"在册 {people.enrollments_created:,} 人次、场所 {people.facilities_created} 个，用时 {people.seconds:.1f} 秒。"
                f"现有住户 {people.households:,} 户、人员 {people.people:,} 人；在册：{enrolled}。"
            )
        )
        if incidents is not None:
            self.stdout.write(self.style.SUCCESS(incidents_line(incidents, incident_scale)))
        if disputes is not None:
            self.stdout.write(self.style.SUCCESS(disputes_line(disputes)))
        self.stdout.write(self.style.SUCCESS(f"驾驶舱统计：全量重算 {statistics.cells:,} 行，用时 {statistics.seconds:.1f} 秒。"))
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for row in users:
            if row.get("department"):
                label = f"承办人（{row['department']}）"
            elif row.get("court"):
                label = f"法院账号（{row['court']}）"
            else:
                label = role_label(row["role"])
            line = f"  {row['username']:<14} {label}  {row['codes']}"
            if row["totp_secret"]:
                line += f"  [双因素密钥 {row['totp_secret']}，请添加到身份验证器]"
            self.stdout.write(line)


def incidents_line(result, scale: float) -> str:
    years = "、".join(f"{year} 年 {n:,} 件" for year, n in result.by_year.items())
    line = (
        f"事件（比例 {scale:g}）：新建 {result.created:,} 件"
        + (f"（{years}）" if years else "")
        + f"、办理记录 {result.transitions:,} 条、涉事人员 {result.people:,} 人次，用时 {result.seconds:.1f} 秒。"
        f"现有事件 {result.incidents:,} 件"
    )
    criminal = result.criminal.get(2016)
    if criminal and result.change() is not None:
        parts = []
        for statistic, label in (("robbery", "两抢"), ("theft", "盗窃"), ("homicide", "命案")):
            change = result.change(statistic)
            parts.append(f"{label} {criminal.get(statistic, 0):,} 起" + ("" if change is None else f"（{change:+.2f}%）"))
        line += f"；2016 年刑事案件 {sum(criminal.values()):,} 起，同比 {result.change():+.2f}%，其中" + "、".join(parts)
    return line + "。"


def disputes_line(result) -> str:
    years = "、".join(f"{year} 年 {n:,} 件" for year, n in result.by_year.items())
    line = (
        f"矛盾纠纷：新建村（社区）人民调解委员会 {result.committees:,} 个、调解员账号 {result.accounts:,} 个；"
        f"新建纠纷 {result.created:,} 件"
        + (f"（{years}）" if years else "")
        + f"、当事人 {result.parties:,} 人次、调解记录 {result.sessions:,} 条、调解协议 {result.agreements:,} 份、"
        f"办理记录 {result.transitions:,} 条，用时 {result.seconds:.1f} 秒。现有纠纷 {result.disputes:,} 件"
    )
    change = result.change(2016)
    if change is not None:
        line += f"；2016 年登记 {result.registered[2016]:,} 件，同比 {change:+.2f}%"
        rate = result.resolution_rate(2016)
        if rate is not None:
            line += f"，化解率 {rate:.1f}%"
    return line + "。"

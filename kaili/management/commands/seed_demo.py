from django.core.management.base import BaseCommand
from django.db import transaction

from grids.demo import seed_demo_tree
from grids.models import GridKind
from kaili.demo import DEMO_PASSWORD, seed_demo_users
from kaili.progress import ProgressBar, no_progress
from kaili.roles import role_label


class Command(BaseCommand):
    help = (
        "生成演示数据：凯里市规模的网格树（18 个镇街、199 个一级网格、1,255 个二级网格及十户联防单元）"
        "和各角色演示账号；可重复运行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2016, help="随机种子（相同种子生成相同数据）")

    def handle(self, *args, seed, verbosity, **options):
        progress = ProgressBar(self.stdout) if verbosity > 0 else no_progress
        with transaction.atomic():
            tree = seed_demo_tree(seed=seed, progress=progress)
            users = seed_demo_users(seed=seed)
        counts = "，".join(f"{GridKind(kind).label} {n:,}" for kind, n in tree.nodes_by_kind.items())
        self.stdout.write(
            self.style.SUCCESS(f"网格树：新建 {tree.created} 个节点。现有 {counts}；户数合计 {tree.households:,}。")
        )
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for row in users:
            line = f"  {row['username']:<14} {role_label(row['role'])}  {row['codes']}"
            if row["totp_secret"]:
                line += f"  [双因素密钥 {row['totp_secret']}，请添加到身份验证器]"
            self.stdout.write(line)

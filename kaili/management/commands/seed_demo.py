from django.core.management.base import BaseCommand
from django.db import transaction

from grids.demo import seed_demo_tree
from kaili.demo import DEMO_PASSWORD, seed_demo_users
from kaili.roles import role_label


class Command(BaseCommand):
    help = "生成演示数据（网格树与各角色演示账号），可重复运行。"

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2016, help="随机种子（相同种子生成相同数据）")

    def handle(self, *args, seed, **options):
        with transaction.atomic():
            tree = seed_demo_tree(seed=seed)
            users = seed_demo_users(seed=seed)
        self.stdout.write(self.style.SUCCESS(f"网格树：新建 {tree.nodes} 个节点（根节点 {tree.city}）。"))
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for row in users:
            line = f"  {row['username']:<14} {role_label(row['role'])}  {row['codes']}"
            if row["totp_secret"]:
                line += f"  [双因素密钥 {row['totp_secret']}，请添加到身份验证器]"
            self.stdout.write(line)

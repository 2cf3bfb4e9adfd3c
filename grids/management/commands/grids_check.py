from django.core.management.base import BaseCommand, CommandError

from grids.integrity import tree_faults
from grids.models import Grid


class Command(BaseCommand):
    help = "检查网格树的完整性：左右值与上级关系一致，层级与编码符合规则；有问题时以非零状态退出。"

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=200, help="最多列出多少条问题（默认 200）")

    def handle(self, *args, limit, **options):
        faults = tree_faults()
        if not faults:
            self.stdout.write(self.style.SUCCESS(f"网格树完好：{Grid.objects.count()} 个节点，未发现问题。"))
            return
        for fault in faults[:limit]:
            self.stderr.write(f"{fault.code}: {fault.message}")
        if len(faults) > limit:
            self.stderr.write(f"……另有 {len(faults) - limit} 条未列出。")
        raise CommandError(f"网格树有 {len(faults)} 处问题。")

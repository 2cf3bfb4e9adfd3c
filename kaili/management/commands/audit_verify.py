import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from kaili.audit import audit_verify_and_store
from kaili.models import AuditEntry


class Command(BaseCommand):
    help = "校验审计日志的哈希链；发现篡改或删除时以非零状态退出。"

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, **options):
        total = AuditEntry.objects.count()
        with tqdm(total=total, unit="行", disable=options["no_progress"] or not sys.stderr.isatty()) as bar:
            report, _check = audit_verify_and_store(progress=lambda n: bar.update(1))
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"审计日志完整：已校验 {report.rows_checked} 行。"))
            return
        self.stderr.write(self.style.ERROR(f"审计日志被篡改：{report.problem}（此前 {report.rows_checked} 行完好）"))
        sys.exit(1)

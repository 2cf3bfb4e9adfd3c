import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from dashboard import metrics as m
from dashboard import services
from dashboard.models import RollupRun
from dashboard.periods import FIRST_YEAR, month_range
from dashboard.rollup import Marks, rollup
from kaili.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "重算领导驾驶舱的统计数据（与 Celery 任务同一段代码）。不带参数：处理待更新的标记；"
        "--full：全量重算；--since 日期：重算该日所在月份起的各月及其季度、年度；--check：抽样核对。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="全量重算所有统计")
        parser.add_argument("--since", help="从该日期（YYYY-MM-DD）所在月份起重算，至本月")
        parser.add_argument("--check", action="store_true", help="抽样比对已存数值与直接计数")
        parser.add_argument("--sample", type=int, default=200, help="--check 抽样的行数（默认 200）")

    def handle(self, *args, full, since, check, sample, **options):
        if sum(bool(flag) for flag in (full, since, check)) > 1:
            raise CommandError("--full、--since、--check 只能选一个。")
        if sample < 1 or sample > 100_000:
            raise CommandError("--sample 应在 1 到 100000 之间。")
        if check:
            run = services.run_consistency_check(sample=sample)
            style = self.style.SUCCESS if not run.mismatches else self.style.ERROR
            self.stdout.write(style(f"核对 {run.cells:,} 个数值，不一致 {run.mismatches} 个。"))
            for mismatch in run.detail.get("mismatches", [])[:20]:
                self.stdout.write(f"  {mismatch}")
            return
        if full:
            run = services.run_full_rebuild(progress=ProgressBar(self.stdout))
            self._report(run)
            return
        if since:
            try:
                day = datetime.date.fromisoformat(since)
            except ValueError:
                raise CommandError(f"--since 应为 YYYY-MM-DD 格式的日期：{since}") from None
            today = timezone.localdate()
            if day > today:
                raise CommandError("--since 不能晚于今天。")
            if day.year < FIRST_YEAR:
                raise CommandError(f"--since 不能早于 {FIRST_YEAR} 年（更早的月份用 --full 重算）。")
            marks = Marks()
            months = [period.code for period in month_range(day, today)]
            for family in m.FLOW_FAMILIES:
                marks.add(family, months)
            for family in m.SNAPSHOT_FAMILIES:
                marks.add(family)
            run = services._start(RollupRun.Kind.INCREMENTAL)
            run.families, run.periods = sorted(marks.families), [months[0], months[-1]]
            try:
                with transaction.atomic():
                    result = rollup(marks, progress=ProgressBar(self.stdout))
            except Exception as error:
                services._finish(run, error=error)
                raise
            self._report(services._finish(run, result))
            return
        run = services.run_pending()
        if run is None:
            self.stdout.write("没有待更新的统计。")
        else:
            self._report(run)

    def _report(self, run: RollupRun) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"{run.get_kind_display()}完成：计算 {run.cells:,} 行，写入 {run.rows:,} 行，用时 {run.seconds:.1f} 秒。"
            )
        )

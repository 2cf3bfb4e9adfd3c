from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from grids.imports import GridFileError, import_grid_file
from kaili.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "从 CSV 或 XLSX 文件导入网格（表头 code,name,kind,parent_code,area_type,households）。"
        "新编码新增，已有编码更新（上级变化即迁移），文件中没有的编码不动；任何一行有错则全部不写入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV 或 XLSX 文件")
        parser.add_argument("--dry-run", action="store_true", help="只校验并报告将做的变更，不写入")

    def handle(self, *args, file, dry_run, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{file}")
        try:
            plan = import_grid_file(path.name, path.read_bytes(), actor=None, dry_run=dry_run, progress=ProgressBar(self.stdout))
        except GridFileError as error:
            raise CommandError(str(error)) from error
        summary = plan.summary()
        if not plan.ok:
            for error in plan.errors:
                self.stderr.write(f"第 {error.line} 行 {error.column}: {error.message}")
            raise CommandError(f"{len(plan.errors)} 处错误，未写入任何数据。")
        verb = "将" if dry_run else "已"
        self.stdout.write(
            self.style.SUCCESS(
                f"共 {summary['rows']} 行：{verb}新增 {summary['created']}，{verb}更新 {summary['updated']}，"
                f"{verb}迁移 {summary['moved']}，无变化 {summary['unchanged']}。" + ("（仅校验，未写入）" if dry_run else "")
            )
        )

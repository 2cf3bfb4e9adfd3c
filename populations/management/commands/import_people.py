from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kaili.progress import ProgressBar
from populations.imports import COLUMN_LABELS, PeopleFileError, import_people_file


class Command(BaseCommand):
    help = (
        "从 CSV 或 XLSX 文件导入住户和人员（每行一人，表头见 README“Registry import and export”）。"
        "户编号已存在则更新该户，身份证号已登记则更新该人员，否则新增；任何一行有错则全部不写入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV 或 XLSX 文件")
        parser.add_argument("--dry-run", action="store_true", help="只校验并报告将做的变更，不写入")
        parser.add_argument("--user", help="以该账号导入：只能触及其管辖范围（不填则以系统身份导入，不受范围限制）")

    def handle(self, *args, file, dry_run, user, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{file}")
        account = None
        if user:
            account = get_user_model().objects.filter(username=user, is_active=True).first()
            if account is None:
                raise CommandError(f"账号不存在或已停用：{user}")
        try:
            plan = import_people_file(
                path.name, path.read_bytes(), actor=account, dry_run=dry_run, user=account, progress=ProgressBar(self.stdout)
            )
        except PeopleFileError as error:
            raise CommandError(str(error)) from error
        if not plan.ok:
            for error in plan.errors:
                label = COLUMN_LABELS.get(error.column, error.column)
                self.stderr.write(f"第 {error.line} 行 {error.column}（{label}）: {error.message}")
            raise CommandError(f"{len(plan.errors)} 处错误，未写入任何数据。")
        s = plan.summary()
        verb = "将" if dry_run else "已"
        self.stdout.write(
            self.style.SUCCESS(
                f"共 {s['rows']} 行：住户{verb}新增 {s['households_created']}、{verb}更新 {s['households_updated']}；"
                f"人员{verb}新增 {s['people_created']}、{verb}更新 {s['people_updated']}、无变化 {s['unchanged']}。"
                + ("（仅校验，未写入）" if dry_run else "")
            )
        )

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from grids.exports import EXPORT_FORMATS
from grids.filtersets import GridFilterSet
from grids.models import Grid


class Command(BaseCommand):
    help = "把网格树导出为导入所用的格式（CSV 或 XLSX，按文件扩展名）；不给文件名则把 CSV 写到标准输出。"

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="输出文件（.csv 或 .xlsx）；省略则输出 CSV 到标准输出")
        parser.add_argument("--include-retired", action="store_true", help="包括已撤销、已并入的网格")
        parser.add_argument("--under", help="只导出该编码的网格及其下级")

    def handle(self, *args, file, include_retired, under, **options):
        if under and not Grid.objects.filter(code=under).exists():
            raise CommandError(f"网格编码不存在：{under}")
        filters = {"under": under or "", **({"include_retired": "true"} if include_retired else {})}
        grids = GridFilterSet(filters, queryset=Grid.objects.all()).qs
        file_format = Path(file).suffix.lower().lstrip(".") if file else "csv"
        if file_format not in EXPORT_FORMATS:
            raise CommandError("文件扩展名须为 .csv 或 .xlsx。")
        render, _content_type = EXPORT_FORMATS[file_format]
        content = render(grids)
        if file:
            Path(file).write_bytes(content)
            self.stdout.write(self.style.SUCCESS(f"已导出 {grids.count()} 个网格到 {file}。"))
        else:
            self.stdout.write(content.decode("utf-8-sig"), ending="")

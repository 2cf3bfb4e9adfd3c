"""The grid file format shared by import and export: CSV or XLSX with one header."""

import csv
import io

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook

from kaili.audit import audit_record
from kaili.models import AuditAction

EXPORT_HEADER = ["code", "name", "kind", "parent_code", "area_type", "households"]


def grid_rows(grids):
    for grid in grids.select_related("parent").order_by("code"):
        yield [
            grid.code,
            grid.name,
            grid.kind,
            grid.parent.code if grid.parent_id else "",
            grid.area_type,
            "" if grid.households is None else grid.households,
        ]


def grids_to_csv(grids) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    writer.writerows(grid_rows(grids))
    # A BOM so that Excel on Chinese Windows opens the UTF-8 file correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def grids_to_xlsx(grids) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("grids")
    sheet.append(EXPORT_HEADER)
    for row in grid_rows(grids):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_FORMATS = {
    "csv": (grids_to_csv, "text/csv; charset=utf-8"),
    "xlsx": (grids_to_xlsx, XLSX_CONTENT_TYPE),
}


def grid_export_response(*, actor, grids, file_format: str, filters: dict) -> HttpResponse:
    """The file download of ``grids`` (already scoped and filtered), audited as an export."""
    render, content_type = EXPORT_FORMATS[file_format]
    audit_record(
        actor=actor, action=AuditAction.EXPORT, object_type="grids.grid", changes={"format": file_format, "filters": filters}
    )
    response = HttpResponse(render(grids), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="grids-{timezone.localdate():%Y%m%d}.{file_format}"'
    return response

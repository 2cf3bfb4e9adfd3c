"""The grid file format shared by import and export: CSV or XLSX with one header."""

from django.http import HttpResponse
from django.utils import timezone

from kaili.audit import audit_record
from kaili.models import AuditAction
from kaili.tabular import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, table_to_csv, table_to_xlsx

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
    return table_to_csv(EXPORT_HEADER, grid_rows(grids))


def grids_to_xlsx(grids) -> bytes:
    return table_to_xlsx(EXPORT_HEADER, grid_rows(grids), "grids")


EXPORT_FORMATS = {
    "csv": (grids_to_csv, CSV_CONTENT_TYPE),
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

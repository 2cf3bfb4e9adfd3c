"""The grid file format shared by import and export: CSV or XLSX with one header."""

import csv
import io

from openpyxl import Workbook

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

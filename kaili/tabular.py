"""Reading the CSV and XLSX files that people upload (grid and registry imports).

CSV may be UTF-8 (with or without BOM) or GBK/GB18030, as Excel on Chinese Windows saves
it. A number long enough that Excel has already rounded it (more than 15 significant
digits, e.g. a 17-digit unit code or an 18-digit identity number typed as a number) comes
back marked with ``INEXACT`` so the import can refuse it with a clear message.
"""

import csv
import io
from collections.abc import Iterator

from django.utils.translation import gettext as _

MAX_FILE_BYTES = 20 * 1024 * 1024
# Excel keeps 15 significant digits: a longer number typed into a cell comes back changed.
EXACT_NUMBER_DIGITS = 15
INEXACT = "\x00inexact:"


class TableFileError(ValueError):
    """The file as a whole cannot be read (format, size, encoding, header)."""


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores typed-in codes, counts and phones as numbers
    return str(value).strip()


def _xlsx_cell(value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 10**EXACT_NUMBER_DIGITS:
        return f"{INEXACT}{int(value)}"
    return cell_text(value)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")  # what Excel on Chinese Windows saves as "CSV"
        except UnicodeDecodeError as error:
            raise TableFileError(_("无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV。")) from error


def _csv_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    for values in reader:
        yield reader.line_num, [cell_text(v) for v in values]


def _xlsx_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several unrelated types for a bad file
        raise TableFileError(_("无法读取 Excel 文件：%(error)s") % {"error": error}) from error
    sheet = workbook.worksheets[0]
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield number, [_xlsx_cell(v) for v in values]
    workbook.close()


def read_table(filename: str, data: bytes, *, columns: list[str], aliases: dict[str, str]) -> list[tuple[int, dict]]:
    """``(line number, {column: text})`` for each non-empty row after the header.

    The header must name exactly ``columns`` (in any order), each in English or by one of
    its ``aliases`` (Chinese names); raises ``TableFileError`` otherwise.
    """
    if len(data) > MAX_FILE_BYTES:
        raise TableFileError(_("文件超过 %(mb)d MB。") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
    name = filename.lower()
    if name.endswith(".csv"):
        lines = _csv_lines(data)
    elif name.endswith(".xlsx"):
        lines = _xlsx_lines(data)
    else:
        raise TableFileError(_("只支持 CSV 或 XLSX（Excel）文件。"))
    header = None
    rows = []
    for number, values in lines:
        if not any(values):
            continue
        if header is None:
            header = [aliases.get(v.strip(), v.strip().lower()) for v in values]
            while header and not header[-1]:
                header.pop()
            missing = [c for c in columns if c not in header]
            unknown = [c for c in header if c not in columns]
            if missing or unknown or len(set(header)) != len(header):
                raise TableFileError(
                    _("第 %(line)d 行表头应为 %(expected)s（缺少：%(missing)s；多出：%(unknown)s）。")
                    % {
                        "line": number,
                        "expected": ",".join(columns),
                        "missing": ",".join(missing) or _("无"),
                        "unknown": ",".join(unknown) or _("无"),
                    }
                )
            continue
        cells = dict(zip(header, values + [""] * (len(header) - len(values)), strict=False))
        rows.append((number, {column: cells.get(column, "") for column in columns}))
    if header is None:
        raise TableFileError(_("文件是空的。"))
    return rows


# --- writing ----------------------------------------------------------------------------

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def table_to_csv(header: list[str], rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    # A BOM so that Excel on Chinese Windows opens the UTF-8 file correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def table_to_xlsx(header: list[str], rows, sheet_name: str = "data") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_file(header: list[str], rows, file_format: str, sheet_name: str = "data") -> tuple[bytes, str]:
    """The rows as a CSV or XLSX file, with its content type."""
    if file_format == "xlsx":
        return table_to_xlsx(header, rows, sheet_name), XLSX_CONTENT_TYPE
    return table_to_csv(header, rows), CSV_CONTENT_TYPE

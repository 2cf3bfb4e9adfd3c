"""What the export tests of the record apps share: a file answer read as rows, the audit
rows of exports, a queued export's answer and its downloaded file."""

import csv
import io

from openpyxl import load_workbook

from kaili.models import AuditAction, AuditEntry, ExportJob


def csv_table(response, filename: str) -> list[list[str]]:
    """The rows of a CSV answer, a file named ``filename``-<date>.csv."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(f'attachment; filename="{filename}-')
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list]:
    """The rows of an XLSX answer."""
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def exports_audited(object_type: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type=object_type).order_by("id"))


def queued_export(response, *, kind: str, params: dict) -> tuple[ExportJob, dict]:
    """The job of ``kind`` a 202 answer queued with ``params``, and the answer: where to
    follow the job and fetch its file."""
    assert response.status_code == 202, response.content
    body = response.json()
    job = ExportJob.objects.get(pk=body["job"])
    assert body == {
        "job": job.pk,
        "status": "pending",
        "progress_url": f"/api/exports/{job.pk}/",
        "download_url": f"/api/exports/{job.pk}/download/",
        "page_url": f"/exports/{job.pk}/",
    }
    assert job.params == params and job.kind == kind
    return job, body


def downloaded_csv(api, url: str) -> tuple[str, list[list[str]]]:
    """A finished job's CSV file as ``api``'s user downloads it: its text and its rows."""
    download = api.get(url)
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    return content, list(csv.reader(io.StringIO(content)))

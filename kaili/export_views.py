"""A queued export's page (progress bar, then the download link), its progress as JSON,
and its file. Only the person who asked for an export sees it."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render

from kaili.files import private_file_response
from kaili.models import ExportJob
from kaili.uploads import progress_of


def own_jobs(user):
    return ExportJob.objects.filter(created_by=user)


def job_progress(job: ExportJob) -> dict:
    progress = progress_of(job)
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "finished": job.is_finished,
        "phase": progress.get("phase", ""),
        "done": progress.get("done", 0),
        "total": progress.get("total", 0),
        "percent": 100 if job.is_finished else progress.get("percent", 0),
        "rows": job.rows,
    }


@login_required
def export_detail(request, pk):
    job = get_object_or_404(own_jobs(request.user), pk=pk)
    return render(request, "kaili/export_detail.html", {"job": job, "progress": job_progress(job)})


@login_required
def export_progress(request, pk):
    job = get_object_or_404(own_jobs(request.user), pk=pk)
    return JsonResponse(job_progress(job))


def export_file_response(job: ExportJob):
    if job.status != ExportJob.Status.DONE:
        raise Http404
    return private_file_response(job.file, filename=job.filename)


@login_required
def export_download(request, pk):
    return export_file_response(get_object_or_404(own_jobs(request.user), pk=pk))

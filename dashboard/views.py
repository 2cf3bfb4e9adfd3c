"""The leaders' dashboard page (issue 7); written by the pages helper."""

from django.http import Http404


def home(request):
    raise Http404


def node_search(request):
    raise Http404

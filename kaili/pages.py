"""What the server-rendered pages of every app share: personal data never cached, the tab
bar of an app's pages, and list queries without their page number."""

from django.shortcuts import render
from django.urls import reverse


def no_store(response):
    # Personal data: neither the browser nor a proxy keeps a copy (PIPL; DOMAIN.md, "Privacy").
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def query_without(request, *names) -> str:
    """The request's query string without ``page`` (and ``names``), for links that keep
    the filters."""
    query = request.GET.copy()
    for name in ("page", *names):
        query.pop(name, None)
    return query.urlencode()


def tab_links(namespace: str, links: list[tuple[str, str]], current: str) -> list[dict]:
    """``(url name, label)`` pairs of an app's pages as the tab bar shows them."""
    return [{"url": reverse(f"{namespace}:{name}"), "label": label, "current": name == current} for name, label in links]


def render_page(request, template: str, context: dict, *, tabs: list[dict], status: int = 200):
    context["section_links"] = tabs
    return no_store(render(request, template, context, status=status))

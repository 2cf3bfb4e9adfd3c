"""What the API and page tests of the record apps (cases, disputes) share when they read:
the numbers a list answers with, the queries a read costs, the body of a page."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def listed_numbers(api, path: str, **params) -> list[str]:
    """The record numbers on the first page of the list at ``path`` (a 200)."""
    response = api.get(path, params)
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


def queries(api, path: str, **params) -> int:
    """How many queries a read of ``path`` (a 200) costs."""
    with CaptureQueriesContext(connection) as captured:
        assert api.get(path, params).status_code == 200
    return len(captured)


def queries_after_warm_up(api, *paths: str) -> list[int]:
    """The queries of a read of each of ``paths``, once a first read of the first has warmed
    the caches (session, scope, catalogue)."""
    queries(api, paths[0])
    return [queries(api, path) for path in paths]


def body_of(response, status=200) -> str:
    """A page's HTML, once its status is the one expected."""
    assert response.status_code == status, (response.status_code, response.content[:800])
    return response.content.decode()

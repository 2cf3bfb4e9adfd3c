import pytest

pytestmark = pytest.mark.django_db


def test_openapi_schema_and_docs_are_served_locally(client, tree, user_factory):
    from kaili import roles

    client.force_login(user_factory("worker", roles.GRID_WORKER, [tree.zone_a]))
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/grids/", "/api/grids/{code}/", "/api/grids/export/", "/api/users/", "/api/auth/token/"} <= set(paths)
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "//cdn" not in docs and "https://" not in docs.split("<body")[0]


def test_errors_share_one_shape(api, tree):
    response = api.post("/api/auth/token/", {"username": ""}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == {"username", "password"}


def test_schema_generates_without_warnings(tmp_path):
    """Unresolved names and enum collisions show as warnings; deploy checks treat them as errors."""
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yml"))

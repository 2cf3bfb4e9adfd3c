"""A user of one zone cannot list, read, change, delete or export another zone's records."""

import csv
import io

import pytest

from kaili import roles
from tests.factories import force_verified

pytestmark = pytest.mark.django_db


def listed_codes(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["code"] for row in response.json()["results"]}


def exported_codes(response) -> set[str]:
    assert response.status_code == 200, response.content
    text = response.content.decode("utf-8-sig")
    return {row["code"] for row in csv.DictReader(io.StringIO(text))}


@pytest.fixture
def worker_a(tree, user_factory):
    return user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a])


@pytest.fixture
def admin_a(tree, user_factory):
    """A system admin whose grant covers zone A only: may change there, nowhere else."""
    return user_factory("admin_a", roles.SYSTEM_ADMIN, [tree.zone_a], totp=True)


class TestApi:
    def test_grid_worker_lists_only_their_zone(self, api, tree, worker_a):
        api.force_authenticate(worker_a)
        assert listed_codes(api.get("/api/grids/")) == {tree.zone_a.code, tree.grid_a.code, tree.unit_a.code}

    def test_grid_worker_cannot_read_another_zone(self, api, tree, worker_a):
        api.force_authenticate(worker_a)
        assert api.get(f"/api/grids/{tree.zone_a.code}/").status_code == 200
        missing = api.get("/api/grids/522601009009/")
        out_of_scope = api.get(f"/api/grids/{tree.zone_b.code}/")
        assert out_of_scope.status_code == missing.status_code == 404
        assert out_of_scope.json() == missing.json()

    def test_grid_worker_cannot_search_into_another_zone(self, api, tree, worker_a):
        api.force_authenticate(worker_a)
        assert listed_codes(api.get("/api/grids/", {"q": tree.zone_b.code})) == set()
        assert listed_codes(api.get("/api/grids/", {"q": "营盘坡"})) == set()
        assert listed_codes(api.get("/api/grids/", {"parent": tree.t1.code})) == {tree.zone_a.code}

    def test_grid_worker_cannot_change_delete_or_export(self, api, tree, worker_a):
        api.force_authenticate(worker_a)
        for code in (tree.zone_a.code, tree.zone_b.code):
            assert api.patch(f"/api/grids/{code}/", {"name": "改名"}, format="json").status_code == 403
            assert api.delete(f"/api/grids/{code}/").status_code in {403, 405}
        assert api.get("/api/grids/export/").status_code == 403
        tree.zone_b.refresh_from_db()
        assert tree.zone_b.name == "营盘坡社区"

    def test_admin_of_zone_a_changes_zone_a_but_zone_b_is_not_found(self, api, tree, admin_a):
        api.force_authenticate(admin_a)
        assert api.patch(f"/api/grids/{tree.zone_a.code}/", {"name": "北京路社区（新）"}, format="json").status_code == 200
        response = api.patch(f"/api/grids/{tree.zone_b.code}/", {"name": "不该改"}, format="json")
        assert response.status_code == 404
        tree.zone_b.refresh_from_db()
        assert tree.zone_b.name == "营盘坡社区"

    def test_export_holds_only_the_callers_scope(self, api, tree, admin_a, user_factory):
        api.force_authenticate(admin_a)
        assert exported_codes(api.get("/api/grids/export/", {"format": "csv"})) == {
            tree.zone_a.code,
            tree.grid_a.code,
            tree.unit_a.code,
        }
        leader = user_factory("leader_t1", roles.LEADER, [tree.t1])
        api.force_authenticate(leader)
        exported = exported_codes(api.get("/api/grids/export/"))
        assert tree.zone_b.code in exported and tree.zone_c.code not in exported

    def test_xlsx_export(self, api, tree, admin_a):
        from openpyxl import load_workbook

        api.force_authenticate(admin_a)
        response = api.get("/api/grids/export/", {"format": "xlsx"})
        assert response.status_code == 200
        rows = list(load_workbook(io.BytesIO(response.content)).active.values)
        assert rows[0] == ("code", "name", "kind", "parent_code", "area_type", "households")
        assert {row[0] for row in rows[1:]} == {tree.zone_a.code, tree.grid_a.code, tree.unit_a.code}
        assert api.get("/api/grids/export/", {"format": "pdf"}).json()["error"]["code"] == "invalid_format"

    def test_town_leader_sees_all_zones_below_it_and_city_leader_everything(self, api, tree, user_factory):
        town_leader = user_factory("leader_t1", roles.LEADER, [tree.t1])
        api.force_authenticate(town_leader)
        zones = listed_codes(api.get("/api/grids/", {"kind": "zone"}))
        assert zones == {tree.zone_a.code, tree.zone_b.code}
        city_leader = user_factory("leader_city", roles.LEADER, [tree.city])
        api.force_authenticate(city_leader)
        assert listed_codes(api.get("/api/grids/", {"kind": "zone"})) == {tree.zone_a.code, tree.zone_b.code, tree.zone_c.code}

    def test_anonymous_gets_nothing(self, api, tree):
        assert api.get("/api/grids/").status_code in {401, 403}

    def test_list_query_count_does_not_grow_with_rows(self, api, tree, user_factory, django_assert_max_num_queries):
        leader = user_factory("leader_city", roles.LEADER, [tree.city])
        api.force_authenticate(leader)
        with django_assert_max_num_queries(6):
            response = api.get("/api/grids/")
        assert response.json()["count"] == 11


class TestPages:
    def test_grid_worker_lists_and_reads_only_their_zone(self, client, tree, worker_a):
        client.force_login(worker_a)
        page = client.get("/grids/")
        assert page.status_code == 200
        body = page.content.decode()
        assert tree.zone_a.code in body and tree.zone_b.code not in body
        assert client.get(f"/grids/{tree.zone_a.code}/").status_code == 200
        assert client.get(f"/grids/{tree.zone_b.code}/").status_code == 404
        assert client.get("/grids/522601009009/").status_code == 404

    def test_grid_worker_cannot_search_or_export_another_zone(self, client, tree, worker_a):
        client.force_login(worker_a)
        body = client.get("/grids/", {"q": "营盘坡"}).content.decode()
        assert tree.zone_b.code not in body
        assert client.get("/grids/export/").status_code == 403

    def test_page_export_is_scoped(self, client, tree, user_factory):
        from openpyxl import load_workbook

        leader = user_factory("leader_t1", roles.LEADER, [tree.t1], totp=True)
        force_verified(client, leader)
        exported = exported_codes(client.get("/grids/export/"))
        assert tree.zone_b.code in exported and tree.zone_c.code not in exported
        workbook = load_workbook(io.BytesIO(client.get("/grids/export/", {"format": "xlsx"}).content))
        assert {row[0] for row in list(workbook.active.values)[1:]} == exported
        assert client.get("/grids/export/", {"format": "pdf"}).status_code == 400

    def test_home_page_shows_the_role_and_its_scope(self, client, tree, worker_a):
        client.force_login(worker_a)
        body = client.get("/").content.decode()
        assert "网格员" in body and tree.zone_a.name in body and tree.zone_b.name not in body

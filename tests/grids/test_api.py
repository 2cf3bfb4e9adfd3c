"""The grid API: tree reads within scope, breadcrumbs above it, operations for system admins."""

import pytest

from grids.integrity import tree_faults
from grids.models import Grid, GridEvent
from grids.services import grid_merge
from kaili import roles
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_a(tree):
    return make_user("worker_a", roles.GRID_WORKER, [tree.zone_a])


@pytest.fixture
def town_admin(tree):
    """A system admin of town T1 only."""
    return make_user("t1_admin", roles.SYSTEM_ADMIN, [tree.t1], totp=True)


@pytest.fixture
def city_admin(tree):
    return make_user("city_admin", roles.SYSTEM_ADMIN, [tree.city], totp=True)


def codes(response):
    assert response.status_code == 200, response.content
    body = response.json()
    return [row["code"] for row in (body["results"] if isinstance(body, dict) else body)]


def test_roots_children_and_totals_follow_the_grant(api, tree, worker_a):
    api.force_authenticate(worker_a)
    roots = api.get("/api/grids/roots/").json()
    assert [r["code"] for r in roots] == [tree.zone_a.code]
    assert roots[0]["children_count"] == 1 and roots[0]["households_total"] == 12
    assert codes(api.get(f"/api/grids/{tree.zone_a.code}/children/")) == [tree.grid_a.code]
    assert api.get(f"/api/grids/{tree.zone_b.code}/children/").status_code == 404


def test_ancestors_give_names_above_the_grant_for_breadcrumbs_only(api, tree, worker_a):
    api.force_authenticate(worker_a)
    crumbs = api.get(f"/api/grids/{tree.unit_a.code}/ancestors/").json()
    assert [c["name"] for c in crumbs] == ["凯里市", "大十字街道", "北京路社区", "北京路第1网格"]
    assert set(crumbs[0]) == {"code", "name", "kind"}
    assert api.get(f"/api/grids/{tree.t1.code}/").status_code == 404  # the town itself stays closed


def test_filters_kind_parent_code_q_and_retired(api, tree, city_admin):
    api.force_authenticate(city_admin)
    assert codes(api.get("/api/grids/", {"kind": "zone"})) == [tree.zone_a.code, tree.zone_b.code, tree.zone_c.code]
    assert codes(api.get("/api/grids/", {"parent": tree.t1.code})) == [tree.zone_a.code, tree.zone_b.code]
    assert codes(api.get("/api/grids/", {"code": "522601101"})) == [tree.t2.code, tree.zone_c.code, tree.grid_c.code]
    assert codes(api.get("/api/grids/", {"q": "营盘坡", "kind": "zone"})) == [tree.zone_b.code]
    grid_merge(actor=None, source=tree.zone_b, target=tree.zone_a)
    assert tree.zone_b.code not in codes(api.get("/api/grids/", {"kind": "zone"}))
    assert codes(api.get("/api/grids/", {"retired": "true"})) == [tree.zone_b.code]
    merged = api.get(f"/api/grids/{tree.zone_b.code}/").json()
    assert merged["is_retired"] and merged["merged_into_code"] == tree.zone_a.code


def test_history_tells_where_a_node_came_from(api, tree, city_admin):
    api.force_authenticate(city_admin)
    assert api.post(f"/api/grids/{tree.zone_b.code}/move/", {"parent": tree.t2.code}, format="json").status_code == 200
    history = api.get(f"/api/grids/{tree.zone_b.code}/history/").json()
    assert [h["kind"] for h in history] == ["moved", "created"]
    assert history[0]["detail"]["from"] == tree.t1.code and history[0]["actor"] == "city_admin"
    assert history[0]["text"] == ["从 大十字街道（522601001） 迁至 三棵树镇（522601101）"]


def test_admin_creates_with_a_given_or_allocated_code(api, tree, town_admin):
    api.force_authenticate(town_admin)
    response = api.post(
        "/api/grids/", {"parent": tree.grid_a.code, "name": "2号楼", "kind": "unit", "households": 14}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["code"] == "52260100100100102"
    refused = api.post(
        "/api/grids/", {"parent": tree.zone_c.code, "name": "x", "kind": "grid", "area_type": "rural"}, format="json"
    )
    assert refused.status_code == 400 and "管辖范围" in refused.json()["error"]["message"]


def test_operations_for_admins_with_clear_refusals(api, tree, city_admin):
    api.force_authenticate(city_admin)
    wrong_kind = api.post(f"/api/grids/{tree.zone_a.code}/move/", {"parent": tree.zone_b.code}, format="json")
    assert wrong_kind.status_code == 400 and "只能位于镇/街道之下" in wrong_kind.json()["error"]["message"]
    under_itself = api.post(f"/api/grids/{tree.zone_a.code}/move/", {"parent": tree.grid_a.code}, format="json")
    assert under_itself.status_code == 400
    merged = api.post(f"/api/grids/{tree.zone_b.code}/merge/", {"into": tree.zone_a.code}, format="json")
    assert merged.status_code == 200 and merged.json()["code"] == tree.zone_a.code
    split = api.post(
        f"/api/grids/{tree.zone_a.code}/split/",
        {"parts": [{"name": "营盘坡东社区", "children": [tree.grid_b.code]}]},
        format="json",
    )
    assert split.status_code == 201, split.content
    new_code = split.json()[0]["code"]
    assert Grid.objects.get(code=tree.grid_b.code).parent.code == new_code
    retire = api.post(f"/api/grids/{tree.unit_a.code}/retire/", {"reason": "拆迁"}, format="json")
    assert retire.status_code == 200 and retire.json()["is_retired"]
    assert api.delete(f"/api/grids/{tree.zone_c.code}/").status_code == 400  # has a child
    assert api.delete(f"/api/grids/{tree.unit_b.code}/").status_code == 204
    assert tree_faults() == []


def test_town_admin_cannot_restructure_outside_the_town(api, tree, town_admin):
    api.force_authenticate(town_admin)
    before = list(Grid.objects.values_list("code", "parent_id", "lft", "rght"))
    assert api.post(f"/api/grids/{tree.zone_c.code}/move/", {"parent": tree.t1.code}, format="json").status_code == 404
    moving_out = api.post(f"/api/grids/{tree.zone_a.code}/move/", {"parent": tree.t2.code}, format="json")
    assert moving_out.status_code == 400 and "管辖范围" in moving_out.json()["error"]["message"]
    assert api.post(f"/api/grids/{tree.zone_a.code}/merge/", {"into": tree.zone_c.code}, format="json").status_code == 400
    assert api.post(f"/api/grids/{tree.zone_c.code}/retire/", {}, format="json").status_code == 404
    assert api.delete(f"/api/grids/{tree.grid_c.code}/").status_code == 404
    assert list(Grid.objects.values_list("code", "parent_id", "lft", "rght")) == before
    assert not GridEvent.objects.exclude(kind="created").exists()


def test_grid_workers_cannot_restructure(api, tree, worker_a):
    api.force_authenticate(worker_a)
    assert api.post(f"/api/grids/{tree.zone_a.code}/move/", {"parent": tree.t2.code}, format="json").status_code == 403
    assert api.post("/api/grids/", {"parent": tree.grid_a.code, "name": "x", "kind": "unit"}, format="json").status_code == 403
    assert api.post(f"/api/grids/{tree.unit_a.code}/retire/", {}, format="json").status_code == 403


def test_children_query_count_does_not_grow_with_children(api, tree, city_admin, django_assert_max_num_queries):
    from grids.services import grid_create

    for n in range(10):
        grid_create(actor=None, name=f"楼{n}", kind="unit", parent=tree.grid_a, households=10 + n % 5)
    api.force_authenticate(city_admin)
    with django_assert_max_num_queries(8):
        response = api.get(f"/api/grids/{tree.grid_a.code}/children/")
    assert response.json()["count"] == 11


def test_under_follows_the_tree_not_the_code_prefix(api, tree, city_admin):
    api.force_authenticate(city_admin)
    grid_merge(actor=None, source=tree.zone_c, target=tree.zone_a)  # zone C (a T2 code) now hangs under zone A
    under_a = codes(api.get("/api/grids/", {"under": tree.zone_a.code, "include_retired": "1"}))
    assert under_a == sorted([tree.zone_a.code, tree.grid_a.code, tree.unit_a.code, tree.zone_c.code, tree.grid_c.code])
    exported = api.get("/api/grids/export/", {"under": tree.zone_a.code}).content.decode("utf-8-sig")
    assert tree.grid_c.code in exported and tree.zone_b.code not in exported
    assert codes(api.get("/api/grids/", {"under": "522601999999"})) == []

"""The tree page: roots in scope only, lazy levels, a bounded number of queries."""

import pytest

from grids.models import GridKind
from grids.services import SplitPart, grid_create, grid_merge, grid_move, grid_retire, grid_split
from kaili import roles

pytestmark = pytest.mark.django_db

TREE_URL = "/grids/tree/"


@pytest.fixture
def worker_a(tree, user_factory):
    return user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a])


def body_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def part(body: str, start: str, end: str) -> str:
    """The stretch of the page from ``start`` to the next ``end``."""
    begin = body.index(start)
    return body[begin : body.index(end, begin)]


def tree_of(body: str) -> str:
    return part(body, 'id="grid-tree"', 'id="grid-tree-strings"')


def crumbs_of(body: str) -> str:
    return part(body, 'class="breadcrumb', "</nav>")


class TestRoots:
    def test_zone_worker_sees_their_zone_with_counts_and_no_other_zone(self, client, tree, worker_a):
        client.force_login(worker_a)
        body = tree_of(body_of(client.get(TREE_URL)))
        assert tree.zone_a.name in body and tree.zone_a.code in body
        assert "下级 1" in body and "户数 12" in body
        for other in (tree.zone_b, tree.zone_c, tree.t1, tree.city):
            assert f'data-code="{other.code}"' not in body and other.name not in body
        # Only the first level is rendered: the rest comes from the API when opened.
        assert tree.grid_a.code not in body
        assert 'aria-expanded="false"' in body and f'aria-controls="tree-children-{tree.zone_a.code}"' in body

    def test_town_worker_sees_the_town_as_one_root(self, client, tree, user_factory):
        client.force_login(user_factory("worker_t1", roles.GRID_WORKER, [tree.t1]))
        body = tree_of(body_of(client.get(TREE_URL)))
        assert tree.t1.code in body and "下级 2" in body and "户数 23" in body
        assert f'data-code="{tree.zone_a.code}"' not in body and tree.t2.name not in body

    def test_the_page_loads_its_own_script_and_data_only(self, client, tree, worker_a):
        client.force_login(worker_a)
        body = body_of(client.get(TREE_URL))
        assert '<script src="/static/js/grid-tree.js" defer>' in body
        assert 'id="grid-tree-strings" type="application/json"' in body
        assert "http://" not in body.replace("http://www.w3.org", "") and "https://" not in body

    def test_no_role_is_forbidden_and_anonymous_is_sent_to_sign_in(self, client, tree, user_factory):
        assert client.get(TREE_URL).url.startswith("/accounts/login/")
        client.force_login(user_factory("nobody"))
        assert client.get(TREE_URL).status_code == 403


class TestOpenAtNode:
    def test_breadcrumb_and_children_of_a_node(self, client, tree, user_factory):
        client.force_login(user_factory("worker_t1", roles.GRID_WORKER, [tree.t1]))
        body = body_of(client.get(TREE_URL, {"code": tree.zone_a.code}))
        crumbs = crumbs_of(body)
        # City first; the city is outside the scope: its name shows, without a link.
        assert crumbs.index(tree.city.name) < crumbs.index(tree.t1.name) < crumbs.index(tree.zone_a.name)
        assert f'?code={tree.city.code}"' not in crumbs and f'?code={tree.t1.code}"' in crumbs
        assert 'aria-current="page">北京路社区' in crumbs
        assert f'href="/grids/{tree.grid_a.code}/"' in tree_of(body)

    def test_out_of_scope_node_is_not_found_like_a_missing_one(self, client, tree, worker_a):
        client.force_login(worker_a)
        assert client.get(TREE_URL, {"code": tree.zone_b.code}).status_code == 404
        assert client.get(TREE_URL, {"code": tree.t1.code}).status_code == 404
        assert client.get(TREE_URL, {"code": "522601009009"}).status_code == 404

    def test_retired_children_are_sent_hidden_until_asked_for(self, client, tree, user_factory):
        spare = grid_create(actor=None, name="待撤销网格", kind=GridKind.GRID, parent=tree.zone_a, area_type="urban")
        grid_retire(actor=None, grid=spare, reason="无住户")
        client.force_login(user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a]))
        body = body_of(client.get(TREE_URL, {"code": tree.zone_a.code}))
        assert spare.code in body and "tree-wrap hide-retired" in body and "已撤销" in body
        shown = body_of(client.get(TREE_URL, {"code": tree.zone_a.code, "retired": "1"}))
        assert "tree-wrap hide-retired" not in shown and 'id="tree-show-retired" checked' in shown

    def test_merged_node_says_where_it_went(self, client, tree, user_factory):
        grid_merge(actor=None, source=tree.zone_b, target=tree.zone_a)
        client.force_login(user_factory("worker_t1", roles.GRID_WORKER, [tree.t1]))
        body = body_of(client.get(TREE_URL, {"code": tree.zone_a.code, "retired": "1"}))
        assert f"已并入 {tree.zone_a.code}" in body
        # Its unit moved with its grid: the zone now totals both units.
        assert "户数 23" in body


class TestSearchWithoutScript:
    def test_search_finds_in_scope_with_path(self, client, tree, user_factory):
        client.force_login(user_factory("worker_t1", roles.GRID_WORKER, [tree.t1]))
        body = body_of(client.get(TREE_URL, {"q": "营盘坡"}))
        assert "找到 3 个网格" in body
        assert f"?code={tree.zone_b.code}" in body and f"?code={tree.unit_b.code}" in body
        assert "凯里市 › 大十字街道 › 营盘坡社区 › 营盘坡第1网格" in body

    def test_search_does_not_reach_another_zone(self, client, tree, worker_a):
        client.force_login(worker_a)
        body = body_of(client.get(TREE_URL, {"q": "营盘坡"}))
        assert "没有找到匹配的网格。" in body and tree.zone_b.code not in body
        assert "没有找到匹配的网格。" in body_of(client.get(TREE_URL, {"q": tree.zone_b.code}))


class TestMap:
    def test_map_data_only_where_boundaries_exist(self, client, tree, user_factory):
        from grids.services import grid_update

        client.force_login(user_factory("worker_t1", roles.GRID_WORKER, [tree.t1]))
        assert 'id="grid-map"' not in body_of(client.get(TREE_URL, {"code": tree.t1.code}))
        square = {"type": "Polygon", "coordinates": [[[107.9, 26.5], [108.0, 26.5], [108.0, 26.6], [107.9, 26.6], [107.9, 26.5]]]}
        grid_update(actor=None, grid=tree.zone_a, boundary=square)
        body = body_of(client.get(TREE_URL, {"code": tree.t1.code}))
        assert 'id="grid-map"' in body and 'id="grid-map-data"' in body and "/static/js/grid-map.js" in body


class TestQueryBudget:
    # Session, user, roles, grants, role permissions, then the page's own reads (roots; or
    # node, breadcrumbs, children; a single root's children for the map; search and its
    # paths) and the session's touch-up.
    PAGE_BUDGET = 12

    def test_page_queries_do_not_grow_with_children(self, client, tree, user_factory, django_assert_max_num_queries):
        client.force_login(user_factory("staff_city", roles.CENTRE_STAFF, [tree.city]))
        with django_assert_max_num_queries(self.PAGE_BUDGET):
            body_of(client.get(TREE_URL, {"code": tree.grid_a.code}))
        for number in range(2, 32):
            grid_create(actor=None, name=f"北京路1-{number}十户联防", kind=GridKind.UNIT, parent=tree.grid_a, households=10)
        with django_assert_max_num_queries(self.PAGE_BUDGET):
            body = body_of(client.get(TREE_URL, {"code": tree.grid_a.code}))
        assert tree_of(body).count('class="tree-node"') == 1 + 31 and "户数 312" in body  # the grid and its units

    def test_roots_and_search_stay_within_budget(self, client, tree, user_factory, django_assert_max_num_queries):
        client.force_login(user_factory("staff_city", roles.CENTRE_STAFF, [tree.city]))
        with django_assert_max_num_queries(self.PAGE_BUDGET):
            body_of(client.get(TREE_URL))
        for number in range(2, 32):
            grid_create(actor=None, name=f"北京路1-{number}十户联防", kind=GridKind.UNIT, parent=tree.grid_a, households=10)
        # One more query counts the matches once there are more than the page shows.
        with django_assert_max_num_queries(self.PAGE_BUDGET + 1):
            body = body_of(client.get(TREE_URL, {"q": "北京路"}))
        assert "仅显示前 20 个" in body


class TestDetailPage:
    def test_detail_shows_totals_status_and_readable_history(self, client, tree, user_factory):
        grid_move(actor=None, grid=tree.grid_b, new_parent=tree.zone_a)
        grid_merge(actor=None, source=tree.zone_b, target=tree.zone_a)
        client.force_login(user_factory("worker_t1", roles.GRID_WORKER, [tree.t1]))
        moved = body_of(client.get(f"/grids/{tree.grid_b.code}/"))
        assert f"从 营盘坡社区（{tree.zone_b.code}） 迁至 北京路社区（{tree.zone_a.code}）" in moved
        merged = body_of(client.get(f"/grids/{tree.zone_b.code}/"))
        assert "已并入" in merged and f'href="/grids/{tree.zone_a.code}/"' in merged
        assert f"并入 北京路社区（{tree.zone_a.code}）" in merged
        target = body_of(client.get(f"/grids/{tree.zone_a.code}/"))
        assert f"合并了 营盘坡社区（{tree.zone_b.code}）" in target
        assert "户数合计" in target and "<dd>23</dd>" in target

    def test_split_and_retire_read_as_words(self, client, tree, user_factory):
        second = grid_create(actor=None, name="北京路第2网格", kind=GridKind.GRID, parent=tree.zone_a, area_type="urban")
        [east] = grid_split(actor=None, grid=tree.zone_a, parts=[SplitPart(name="北京路东社区", children=[second.code])])
        spare = grid_create(actor=None, name="空网格", kind=GridKind.GRID, parent=tree.zone_a, area_type="urban")
        grid_retire(actor=None, grid=spare, reason="无住户")
        client.force_login(user_factory("worker_t1", roles.GRID_WORKER, [tree.t1]))
        split = body_of(client.get(f"/grids/{tree.zone_a.code}/"))
        assert f"拆分出 北京路东社区（{east.code}）" in split
        assert f"北京路东社区（{east.code}） 接收：北京路第2网格（{second.code}）" in split
        assert f"由 北京路社区（{tree.zone_a.code}） 拆分而来" in body_of(client.get(f"/grids/{east.code}/"))
        retired = body_of(client.get(f"/grids/{spare.code}/"))
        assert "撤销原因：无住户" in retired and "已撤销" in retired

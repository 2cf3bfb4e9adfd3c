"""The tree page in a real browser at phone width (360 x 740): lazy levels, search, map."""

import os
from pathlib import Path

import pytest

from grids.models import GridKind
from grids.services import grid_create, grid_retire, grid_update
from kaili import roles
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("KAILI_SCREENSHOTS", "var"))


def box(west, south, east, north) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def town_worker(tree, user_factory):
    """A grid worker granted on town T1, which holds zones A and B."""
    return user_factory("worker_t1", roles.GRID_WORKER, [tree.t1], full_name="王芳")


def row(page, grid):
    return page.locator(f'li.tree-node[data-code="{grid.code}"] > .tree-row')


def assert_fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_tree_opens_level_by_level_and_search_opens_a_node(live_server, phone, tree, town_worker):
    from playwright.sync_api import expect

    children_requests = []
    phone.on("request", lambda request: children_requests.append(request.url) if "/children/" in request.url else None)
    sign_in(phone, live_server, "worker_t1")
    phone.goto(f"{live_server.url}/grids/tree/")

    # The first level comes with the page; nothing below it has been asked for yet.
    town = row(phone, tree.t1)
    expect(town).to_contain_text("大十字街道")
    expect(town).to_contain_text("下级 2")
    expect(town).to_contain_text("户数 23")
    expect(phone.locator(f'li.tree-node[data-code="{tree.zone_a.code}"]')).to_have_count(0)
    assert children_requests == []

    toggle = phone.get_by_role("button", name="大十字街道的下级")
    assert toggle.bounding_box()["height"] >= 44 and toggle.bounding_box()["width"] >= 44
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(row(phone, tree.zone_a)).to_contain_text("下级 1")
    expect(row(phone, tree.zone_a)).to_contain_text("户数 12")
    expect(row(phone, tree.zone_b)).to_contain_text("户数 11")
    assert children_requests == [f"{live_server.url}/api/grids/{tree.t1.code}/children/?include_retired=1&page_size=500"]

    # One level further down, again only when asked.
    phone.get_by_role("button", name="北京路社区的下级").click()
    expect(row(phone, tree.grid_a)).to_contain_text("户数 12")
    phone.get_by_role("button", name="北京路第1网格的下级").click()
    expect(row(phone, tree.unit_a)).to_contain_text("北京路1-1十户联防")
    assert len(children_requests) == 3
    # Closing and reopening a level does not fetch it again.
    toggle.click()
    expect(row(phone, tree.zone_a)).to_be_hidden()
    toggle.click()
    expect(row(phone, tree.zone_a)).to_be_visible()
    assert len(children_requests) == 3
    assert_fits_the_phone(phone)
    phone.screenshot(path=str(SCREENSHOTS / "grid-tree-360.png"), full_page=True)

    # Search by name: the matches come with their place in the tree.
    phone.get_by_role("searchbox", name="搜索网格").fill("营盘坡")
    phone.get_by_role("button", name="搜索", exact=True).click()
    results = phone.get_by_role("region", name="搜索结果")
    expect(results.get_by_role("status")).to_have_text("找到 3 个网格")
    zone_b_result = results.locator(f'a[href$="?code={tree.zone_b.code}"]')
    expect(zone_b_result).to_contain_text("凯里市 › 大十字街道")
    assert_fits_the_phone(phone)
    zone_b_result.click()

    # Opened at the chosen node: breadcrumbs above, its children below.
    phone.wait_for_url(f"{live_server.url}/grids/tree/?code={tree.zone_b.code}")
    expect(phone.get_by_role("heading", level=1)).to_have_text("营盘坡社区")
    crumbs = phone.get_by_role("navigation", name="位置")
    expect(crumbs.get_by_role("link", name="大十字街道")).to_be_visible()
    expect(crumbs.get_by_text("凯里市")).to_be_visible()
    expect(row(phone, tree.grid_b)).to_contain_text("户数 11")
    assert_fits_the_phone(phone)


def test_map_draws_the_node_and_its_children(live_server, phone, tree, town_worker):
    from playwright.sync_api import expect

    grid_update(actor=None, grid=tree.t1, boundary=box(107.95, 26.55, 108.05, 26.62))
    grid_update(actor=None, grid=tree.zone_a, boundary=box(107.95, 26.55, 108.00, 26.62))
    grid_update(
        actor=None,
        grid=tree.zone_b,
        boundary=box(108.00, 26.55, 108.05, 26.62),
        centre={"type": "Point", "coordinates": [108.025, 26.585]},
    )
    sign_in(phone, live_server, "worker_t1")
    phone.goto(f"{live_server.url}/grids/tree/?code={tree.t1.code}")

    figure = phone.locator("#grid-map")
    expect(figure.locator("svg")).to_have_count(1)
    expect(figure.locator("path.grid-map-child")).to_have_count(2)
    expect(figure.locator("path.grid-map-node")).to_have_count(1)
    expect(figure.locator("text.grid-map-label")).to_have_text(["北京路社区", "营盘坡社区"])
    # Alternate colours, and the map keeps within the phone.
    assert figure.locator("path.grid-map-child.is-even").count() == figure.locator("path.grid-map-child.is-odd").count() == 1
    assert figure.locator("svg").bounding_box()["width"] <= 360
    assert_fits_the_phone(phone)
    phone.screenshot(path=str(SCREENSHOTS / "grid-map-360.png"), full_page=True)

    figure.locator(f'path[data-code="{tree.zone_a.code}"]').click()
    phone.wait_for_url(f"{live_server.url}/grids/tree/?code={tree.zone_a.code}")
    # Zone A has a boundary, its grid none: the zone is drawn as the outline only.
    expect(phone.locator("#grid-map path.grid-map-node")).to_have_count(1)
    expect(phone.locator("#grid-map path.grid-map-child")).to_have_count(0)


def test_a_failed_level_says_so_and_retries(live_server, phone, tree, town_worker):
    from playwright.sync_api import expect

    sign_in(phone, live_server, "worker_t1")
    phone.goto(f"{live_server.url}/grids/tree/")
    phone.route("**/children/**", lambda route: route.abort())
    phone.get_by_role("button", name="大十字街道的下级").click()
    expect(phone.get_by_role("alert")).to_contain_text("加载失败，请检查网络后重试。")
    phone.unroute("**/children/**")
    phone.get_by_role("button", name="重试").click()
    expect(row(phone, tree.zone_a)).to_contain_text("户数 12")
    expect(phone.get_by_role("alert")).to_have_count(0)


def test_retired_nodes_are_hidden_until_asked_for(live_server, phone, tree, town_worker):
    from playwright.sync_api import expect

    spare = grid_create(actor=None, name="旧网格", kind=GridKind.GRID, parent=tree.zone_a, area_type="urban")
    grid_retire(actor=None, grid=spare, reason="并片调整")
    sign_in(phone, live_server, "worker_t1")
    phone.goto(f"{live_server.url}/grids/tree/")
    phone.get_by_role("button", name="大十字街道的下级").click()
    phone.get_by_role("button", name="北京路社区的下级").click()
    expect(row(phone, tree.grid_a)).to_be_visible()
    expect(row(phone, spare)).to_be_hidden()
    phone.get_by_label("显示已撤销/已并入").check()
    expect(row(phone, spare)).to_be_visible()
    expect(row(phone, spare)).to_contain_text("已撤销")
    assert phone.url.endswith("?retired=1")

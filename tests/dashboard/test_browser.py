"""The dashboard in a real browser at a desk (1366 x 900): a city leader signs in with the
second factor, sees the six cards and the charts drawn (a screenshot, and canvases that
are not blank), sorts the children table, finds a village by search, and drills down from
the city to a town, a village and a grid by clicking the children table and the map."""

import pytest
from django_otp.oath import totp

from grids.services import grid_update
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK = {"width": 1366, "height": 900}


def current_code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def sign_in_with_second_factor(page, live_server, user, next_path: str) -> None:
    """The login page, then the TOTP page (leaders must pass both), landing on ``next_path``."""
    page.goto(f"{live_server.url}{next_path}")
    page.wait_for_url(f"{live_server.url}/accounts/login/**")
    page.get_by_label("账号").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/accounts/two-factor/**")
    page.get_by_label("动态口令").fill(current_code(user.totpdevice_set.get()))
    page.get_by_role("button", name="验证").click()
    page.wait_for_url(f"{live_server.url}{next_path}")


def square(x: float, y: float, size: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


@pytest.fixture
def mapped(figures):
    """The small tree with boundaries: towns side by side, their villages and grids inside."""
    tree = figures
    for node, shape in (
        (tree.city, square(107.8, 26.4, 0.4)),
        (tree.t1, square(107.8, 26.4, 0.2)),
        (tree.t2, square(108.0, 26.4, 0.2)),
        (tree.zone_a, square(107.8, 26.4, 0.1)),
        (tree.zone_b, square(107.9, 26.4, 0.1)),
        (tree.zone_c, square(108.0, 26.4, 0.1)),
        (tree.grid_a, square(107.8, 26.4, 0.05)),
        (tree.grid_b, square(107.9, 26.4, 0.05)),
        (tree.grid_c, square(108.0, 26.4, 0.05)),
    ):
        grid_update(actor=None, grid=node, boundary=shape)
    return tree


@pytest.fixture
def desk_page(browser):
    context = browser.new_context(viewport=DESK, locale="zh-CN")
    page = context.new_page()
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith(("http://localhost", "http://127.0.0.1", "data:", "blob:"))
            else None
        ),
    )
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert outside == [], f"the page called outside the site: {outside}"
    assert errors == [], f"script errors: {errors}"


# Each chart's canvas against a blank canvas of the same size, and the share of its sampled
# pixels that are painted (not transparent).
CANVAS_CHECK = """
() => Array.from(document.querySelectorAll('.chart')).map((chart) => {
  const canvas = chart.querySelector('canvas');
  if (!canvas) return { id: chart.id, canvas: false };
  const blank = document.createElement('canvas');
  blank.width = canvas.width;
  blank.height = canvas.height;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0, sampled = 0;
  for (let i = 3; i < pixels.length; i += 4 * 97) { sampled += 1; if (pixels[i] > 0) painted += 1; }
  return {
    id: chart.id,
    canvas: true,
    width: canvas.width,
    height: canvas.height,
    differs: canvas.toDataURL() !== blank.toDataURL(),
    painted: painted / sampled,
  };
})
"""


def wait_for_charts(page) -> None:
    page.wait_for_function(
        "() => { const charts = document.querySelectorAll('.chart');"
        " return charts.length > 0 && Array.from(charts).every((c) => c.dataset.rendered === 'true'); }"
    )


def children_codes(page) -> list[str]:
    return page.locator("#children tbody tr").evaluate_all("(rows) => rows.map((row) => row.dataset.code)")


def test_a_city_leader_sees_the_cards_and_charts_and_drills_down_to_a_grid(live_server, desk_page, viewers, mapped, tmp_path):
    from playwright.sync_api import expect

    page, tree = desk_page, mapped
    sign_in_with_second_factor(page, live_server, viewers.city_leader, "/dashboard/?period=2016")

    # --- the city: six cards, charts drawn -------------------------------------------------
    expect(page.locator("h1")).to_contain_text(tree.city.name)
    cards = page.locator("article.dash-card")
    expect(cards).to_have_count(6)
    for card in cards.all():
        expect(card).to_be_visible()
    expect(page.locator('article[data-metric="sum.criminal_public_order"] strong')).to_have_text("4")
    # Three up on the first row, three down on the second.
    tops = [round(box["y"]) for box in (card.bounding_box() for card in cards.all())]
    assert tops[0] == tops[1] == tops[2] < tops[3] == tops[4] == tops[5]

    wait_for_charts(page)
    page.screenshot(path=str(tmp_path / "dashboard-city-1366.png"), full_page=True)
    assert (tmp_path / "dashboard-city-1366.png").stat().st_size > 50_000
    charts = page.evaluate(CANVAS_CHECK)
    ids = {chart["id"] for chart in charts}
    assert {"chart-trend-counts", "chart-trend-rates", "chart-criminal", "chart-map"} <= ids
    for chart in charts:
        assert chart["canvas"], chart
        assert chart["width"] > 200 and chart["height"] > 200, chart
        assert chart["differs"], chart
        assert chart["painted"] > 0.01, chart
    assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]

    # --- the children table sorts by a column, "—" last either way ------------------------
    assert children_codes(page) == [tree.t1.code, tree.t2.code]
    page.get_by_role("button", name="刑事治安发案 数值").click()
    assert children_codes(page) == [tree.t2.code, tree.t1.code]  # 1 before 3
    page.get_by_role("button", name="刑事治安发案 数值").click()
    assert children_codes(page) == [tree.t1.code, tree.t2.code]
    page.get_by_role("button", name="刑事破案率 数值").click()
    assert children_codes(page)[-1] == tree.t2.code  # no criminal incident in T2: unmeasured
    page.get_by_role("button", name="刑事破案率 数值").click()
    assert children_codes(page)[-1] == tree.t2.code

    # --- the search finds a village of the city ------------------------------------------------
    page.get_by_label("搜索区域").fill("南花")
    results = page.locator("#dash-search-results a")
    expect(results).to_have_count(2)
    expect(results.first).to_contain_text(tree.zone_c.name)
    page.get_by_label("搜索区域").press("Escape")

    # --- the map: coloured by another metric without a reload; a click on T2 opens T2 ---------
    before = page.evaluate("document.querySelector('#chart-map canvas').toDataURL()")
    page.get_by_label("着色指标").select_option(label="刑事破案率")
    page.wait_for_url(f"{live_server.url}/dashboard/?period=2016&metric=rate.clearance")
    page.wait_for_function("(before) => document.querySelector('#chart-map canvas').toDataURL() !== before", arg=before)
    page.get_by_label("着色指标").select_option(label="刑事治安发案")
    point = page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById('chart-map'));
          return chart.convertToPixel({ seriesIndex: 0 }, [108.1, 26.5]);  // the middle of town T2
        }"""
    )
    page.locator("#chart-map").click(position={"x": point[0], "y": point[1]})
    # The region links carry the map's metric (switched back and forth above) down.
    page.wait_for_url(f"{live_server.url}/dashboard/?node={tree.t2.code}&period=2016&metric=sum.criminal_public_order")
    expect(page.locator("h1")).to_contain_text(tree.t2.name)
    page.go_back()
    page.wait_for_url(f"{live_server.url}/dashboard/?period=2016&metric=sum.criminal_public_order")

    # --- drilling down through the children table --------------------------------------------
    for node, children in ((tree.t1, [tree.zone_a, tree.zone_b]), (tree.zone_a, [tree.grid_a])):
        page.locator("#children").get_by_role("link", name=node.name).click()
        page.wait_for_url(f"{live_server.url}/dashboard/?node={node.code}&period=2016")
        expect(page.locator("h1")).to_contain_text(node.name)
        expect(cards).to_have_count(6)
        assert children_codes(page) == [child.code for child in children]
        wait_for_charts(page)

    page.locator("#children").get_by_role("link", name=tree.grid_a.name).click()
    page.wait_for_url(f"{live_server.url}/dashboard/?node={tree.grid_a.code}&period=2016")
    expect(page.locator("h1")).to_contain_text(tree.grid_a.name)
    expect(page.locator("[data-no-children]")).to_contain_text("网格为最小统计单元")
    # Grid A: unit A's two thefts of 2016, against three in 2015.
    now, before = 2, 3
    expect(page.locator('article[data-metric="sum.criminal_public_order"] strong')).to_have_text(str(now))
    expect(page.locator('article[data-metric="sum.criminal_public_order"] [data-change="year-on-year"]')).to_contain_text(
        f"\u2212{abs(now - before) / before * 100:.2f}%"
    )
    crumbs = page.locator(".dash-crumbs a")
    expect(crumbs).to_have_text([tree.city.name, tree.t1.name, tree.zone_a.name])
    wait_for_charts(page)
    page.screenshot(path=str(tmp_path / "dashboard-grid-1366.png"), full_page=True)
    for chart in page.evaluate(CANVAS_CHECK):
        assert chart["canvas"] and chart["differs"], chart

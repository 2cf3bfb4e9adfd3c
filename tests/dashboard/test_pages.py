"""The leaders' dashboard page: the six cards with 同比 and 环比, the children table to drill
into, the period picker and its errors, scope (404 outside, 403 without a dashboard),
the node search, and a page cost that does not grow with the data.

The ``figures`` fixture (tests/dashboard/conftest.py) made, in each of 2015 and 2016:
thefts in unit A (3 in 2015, 2 in 2016; the first of each year cleared), a cleared robbery
in grid B, a public-order incident in grid C, a traffic accident in unit B, a petition in
grid A, a streetlight report in grid A rated 4, a dispute resolved in grid A rated 5, and a
dispute in grid C (passed upward in 2015); in November 2016 one more dispute resolved in
unit B. The expected figures below are counted from that story.
"""

import json
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard import services
from dashboard.formatting import MINUS
from dashboard.metrics import HEADLINE_DOWN, HEADLINE_UP
from grids.services import grid_update
from tests.dashboard import factories as f
from tests.factories import force_verified

URL = "/dashboard/"
SEARCH_URL = "/dashboard/nodes/"


# --- reading the page ------------------------------------------------------------------


class _Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.parts = tag, dict(attrs), parent, [], []

    @property
    def text(self) -> str:
        return " ".join("".join(self._texts()).split())

    def _texts(self):
        for part in self.parts:
            if isinstance(part, _Element):
                yield from part._texts()
            else:
                yield part

    def matches(self, tag, attrs: dict) -> bool:
        """``class_`` holds a class among others; ``True`` asks for the attribute to be there."""
        if tag is not None and self.tag != tag:
            return False
        for name, value in attrs.items():
            attribute = name.rstrip("_").replace("_", "-")
            if value is True:
                if attribute not in self.attrs:
                    return False
            elif attribute == "class":
                if not set(value.split()) <= set((self.attrs.get("class") or "").split()):
                    return False
            elif self.attrs.get(attribute) != value:
                return False
        return True

    def find_all(self, tag=None, **attrs):
        for child in self.children:
            if child.matches(tag, attrs):
                yield child
            yield from child.find_all(tag, **attrs)

    def find(self, tag=None, **attrs):
        return next(self.find_all(tag, **attrs), None)


class _Page(HTMLParser):
    VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "area", "base", "wbr"}

    def __init__(self, html: str):
        super().__init__()
        self.root = self.current = _Element("document", {}, None)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = _Element(tag, attrs, self.current)
        self.current.children.append(element)
        self.current.parts.append(element)
        if tag not in self.VOID:
            self.current = element

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.parts.append(data)


def page_of(response) -> _Element:
    return _Page(response.content.decode()).root


def cards_of(response) -> dict[str, _Element]:
    return {card.attrs["data-metric"]: card for card in page_of(response).find_all("article", data_metric=True)}


def change_in(card: _Element, which: str) -> _Element:
    return card.find("div", data_change=which)


def signed(change: float) -> str:
    """How the page writes a relative change: two decimals, a real minus sign."""
    percent = round(change * 100, 2)
    if percent == 0:
        return "0.00%"
    return f"{'+' if percent > 0 else MINUS}{abs(percent):.2f}%"


def chart_data(response) -> dict:
    return json.loads(page_of(response).find("script", id="dashboard-data").text)


def open_as(client, user, query: str = "", url: str = URL):
    force_verified(client, user)
    return client.get(f"{url}{query}")


# --- the six cards ---------------------------------------------------------------------


def test_a_city_leader_sees_the_six_cards_of_2016_against_2015(client, viewers, figures):
    response = open_as(client, viewers.city_leader, "?period=2016")
    assert response.status_code == 200
    page = page_of(response)
    rows = [[card.attrs["data-metric"] for card in row.find_all("article")] for row in page.find_all("div", class_="dash-cards")]
    assert rows == [
        ["rate.clearance", "rate.dispute_resolution", "mean.satisfaction"],
        ["sum.criminal_public_order", "sum.disputes_petitions", "incidents.kind.accident"],
    ]
    cards = cards_of(response)

    # 刑事治安发案: thefts + the robbery + the public-order incident.
    criminal_2016, criminal_2015 = 2 + 1 + 1, 3 + 1 + 1
    card = cards["sum.criminal_public_order"]
    assert card.find("strong").text == str(criminal_2016)
    year_on_year = change_in(card, "year-on-year")
    assert signed((criminal_2016 - criminal_2015) / criminal_2015) in year_on_year.text
    assert "▼" in year_on_year.text and "is-good" in year_on_year.attrs["class"]  # fewer incidents: green
    assert f"去年同期 {criminal_2015}" in card.text
    # For a year the previous period is the year before: 环比 reads like 同比.
    assert change_in(card, "period-on-period").text.replace("环比", "") == year_on_year.text.replace("同比", "")

    # 矛盾信访纠纷: the disputes registered + the petition; one more dispute in 2016.
    disputes_2016, disputes_2015 = 3 + 1, 2 + 1
    card = cards["sum.disputes_petitions"]
    assert card.find("strong").text == str(disputes_2016)
    year_on_year = change_in(card, "year-on-year")
    assert signed((disputes_2016 - disputes_2015) / disputes_2015) in year_on_year.text
    assert "▲" in year_on_year.text and "is-bad" in year_on_year.attrs["class"]  # more disputes: red

    # One accident each year: no change, no arrow, grey.
    card = cards["incidents.kind.accident"]
    assert card.find("strong").text == "1"
    assert "0.00%" in change_in(card, "year-on-year").text
    assert "is-flat" in change_in(card, "year-on-year").attrs["class"]
    assert not {"▲", "▼"} & set(change_in(card, "year-on-year").text)

    # 刑事破案率: cleared criminal incidents (the first theft and the robbery) of all criminal ones.
    clearance_2016, clearance_2015 = 2 / 3, 2 / 4
    card = cards["rate.clearance"]
    assert card.find("strong").text == f"{clearance_2016 * 100:.1f}%"
    assert f"去年同期 {clearance_2015 * 100:.1f}%" in card.text
    year_on_year = change_in(card, "year-on-year")
    assert signed((clearance_2016 - clearance_2015) / clearance_2015) in year_on_year.text
    assert "▲" in year_on_year.text and "is-good" in year_on_year.attrs["class"]

    # 纠纷化解率: resolved of registered.
    resolution_2016, resolution_2015 = 2 / 3, 1 / 2
    card = cards["rate.dispute_resolution"]
    assert card.find("strong").text == f"{resolution_2016 * 100:.1f}%"
    assert signed((resolution_2016 - resolution_2015) / resolution_2015) in change_in(card, "year-on-year").text

    # 群众满意度: the streetlight (4) and the resolved dispute (5), both years.
    card = cards["mean.satisfaction"]
    assert card.find("strong").text == f"{(4 + 5) / 2:.2f}分"
    assert "0.00%" in change_in(card, "year-on-year").text


def test_a_quarter_is_compared_with_the_quarter_before_and_the_same_quarter_last_year(client, viewers, figures):
    response = open_as(client, viewers.city_leader, "?period=2016Q3")
    card = cards_of(response)["sum.criminal_public_order"]
    # Q3 2016: the public-order incident (July); Q2 2016: the April theft and the June robbery;
    # Q3 2015: the public-order incident.
    q3, q2, q3_last_year = 1, 2, 1
    assert card.find("strong").text == str(q3)
    assert signed((q3 - q2) / q2) in change_in(card, "period-on-period").text
    assert signed((q3 - q3_last_year) / q3_last_year) in change_in(card, "year-on-year").text
    assert f"上期 {q2}" in card.text


def test_a_change_from_nothing_reads_as_a_dash_and_rates_without_base_as_unmeasured(client, viewers, figures):
    # May 2016 in grid A: the streetlight only; April 2016 held the resolved dispute.
    response = open_as(client, viewers.city_leader, f"?node={figures.grid_a.code}&period=2016-05")
    cards = cards_of(response)
    clearance = cards["rate.clearance"]
    assert clearance.find("strong").text == "—"  # no criminal incident: nothing to measure
    accidents = cards["incidents.kind.accident"]
    assert accidents.find("strong").text == "0"
    assert "—" in change_in(accidents, "year-on-year").text  # 0 against 0: no base


# --- the children table ------------------------------------------------------------------


def test_the_city_lists_its_towns_with_their_figures_and_links_down(client, viewers, figures):
    response = open_as(client, viewers.city_leader, "?period=2016")
    table = page_of(response).find("table", id="children")
    rows = {row.attrs["data-code"]: row for row in table.find("tbody").find_all("tr")}
    assert list(rows) == [figures.t1.code, figures.t2.code]

    t1, t2 = rows[figures.t1.code], rows[figures.t2.code]
    assert t1.find("a").attrs["href"] == f"{URL}?node={figures.t1.code}&period=2016"
    assert t1.find("a").text == figures.t1.name
    # Town T1 holds zones A and B: the thefts and the robbery; town T2 the public-order incident.
    t1_now, t1_before = 2 + 1, 3 + 1
    cell = t1.find("td", data_metric="sum.criminal_public_order")
    assert cell.text == str(t1_now)
    assert cell.attrs["data-sort-value"] == str(t1_now)
    assert signed((t1_now - t1_before) / t1_before) in t1.text
    assert t2.find("td", data_metric="sum.criminal_public_order").text == "1"
    # T2 had no criminal incident: its clearance rate is unmeasured, sorted last.
    assert t2.find("td", data_metric="rate.clearance").text == "—"
    assert t2.find("td", data_metric="rate.clearance").attrs["data-sort-value"] == ""


def test_drilling_down_keeps_the_period_and_ends_at_a_grid(client, viewers, figures):
    force_verified(client, viewers.city_leader)
    page = page_of(client.get(f"{URL}?node={figures.zone_a.code}&period=2016-05"))
    rows = list(page.find("table", id="children").find("tbody").find_all("tr"))
    assert [row.attrs["data-code"] for row in rows] == [figures.grid_a.code]
    assert rows[0].find("a").attrs["href"] == f"{URL}?node={figures.grid_a.code}&period=2016-05"
    crumbs = [a.text for a in page.find("nav", class_="dash-crumbs").find_all("a")]
    assert crumbs == [figures.city.name, figures.t1.name]

    response = client.get(f"{URL}?node={figures.grid_a.code}&period=2016-05")
    assert response.status_code == 200
    page = page_of(response)
    assert page.find("table", id="children") is None
    assert "网格为最小统计单元，十户联防单元的事件计入所属网格" in page.find("p", data_no_children=True).text


def test_the_map_is_drawn_from_the_childrens_boundaries_and_coloured_by_the_chosen_metric(client, viewers, figures):
    def square(x, y):
        return {"type": "Polygon", "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]]}

    grid_update(actor=None, grid=figures.t1, boundary=square(107.9, 26.5))
    grid_update(actor=None, grid=figures.t2, boundary=square(108.0, 26.5))
    response = open_as(client, viewers.city_leader, "?period=2016&metric=rate.clearance")
    data = chart_data(response)
    assert data["metric"] == "rate.clearance"
    features = data["map"]["geojson"]["features"]
    assert [feature["properties"]["name"] for feature in features] == [figures.t1.code, figures.t2.code]
    assert features[0]["geometry"] == square(107.9, 26.5)
    regions = {region["code"]: region for region in data["map"]["regions"]}
    assert regions[figures.t1.code]["values"]["sum.criminal_public_order"] == 3
    assert regions[figures.t1.code]["url"] == f"{URL}?node={figures.t1.code}&period=2016&metric=rate.clearance"
    select = page_of(response).find("select", id="map-metric")
    options = [option.attrs["value"] for option in select.find_all("option")]
    assert options == [*HEADLINE_UP, *HEADLINE_DOWN]
    assert select.find("option", selected=True).attrs["value"] == "rate.clearance"

    # Without boundaries (the zones of town T2 have none) there is no map.
    response = client.get(f"{URL}?node={figures.t2.code}&period=2016")
    assert chart_data(response)["map"] is None
    assert page_of(response).find("div", id="chart-map") is None


def test_the_charts_get_twelve_months_and_the_breakdowns_of_the_period(client, viewers, figures):
    data = chart_data(open_as(client, viewers.city_leader, "?period=2016"))
    trend = data["trend"]
    assert trend["months"] == [f"2016-{month:02d}" for month in range(1, 13)]
    counts = {series["key"]: series["values"] for series in trend["counts"]}
    # Criminal and public order in 2016: thefts in March and April, the robbery in June, public order in July.
    expected = [0] * 12
    for month in (3, 4, 6, 7):
        expected[month - 1] = 1
    assert counts["sum.criminal_public_order"] == expected
    rates = {series["key"]: series["values"] for series in trend["rates"]}
    assert rates["rate.clearance"][2] == 100.0  # March's theft was cleared
    assert rates["rate.clearance"][3] == 0.0  # April's was not
    assert rates["rate.clearance"][0] is None  # nothing to clear in January
    criminal = {item["name"]: item["value"] for item in data["breakdowns"]["criminal"]["items"]}
    assert criminal["盗窃"] == 2 and criminal["抢劫抢夺"] == 1 and criminal["命案"] == 0
    assert len(data["programmes"]["names"]) == len(data["programmes"]["counts"]) == 6

    page = page_of(open_as(client, viewers.city_leader, "?period=2016"))
    charts = list(page.find_all("div", class_="chart"))
    assert {chart.attrs["data-chart"] for chart in charts} >= {
        "trend-counts",
        "trend-rates",
        "breakdown",
        "programme-counts",
        "programme-rates",
    }


def test_the_head_links_the_exports_and_says_when_no_statistics_were_made(client, viewers, figures):
    # The fixture ran the roll-up itself, not as a recorded run.
    page = page_of(open_as(client, viewers.city_leader, "?period=2016"))
    assert page.find("p", data_as_of=True).text == "尚未生成统计"
    links = {a.text: a.attrs["href"] for a in page.find("nav", class_="dash-links").find_all("a")}
    assert links["导出 Excel"] == f"/dashboard/export/?node={figures.city.code}&period=2016"
    assert links["月度报告"] == f"/dashboard/report/?node={figures.city.code}&period=2016"
    assert links["五有五无评定"] == f"/dashboard/assessments/?node={figures.city.code}&year=2016"


@pytest.mark.django_db(transaction=True)  # the roll-up runs again: its temp tables live until commit
def test_the_head_says_the_figures_are_as_of_the_start_of_the_last_run(client, viewers, figures):
    run = services.run_full_rebuild()
    page = page_of(open_as(client, viewers.city_leader, "?period=2016"))
    assert page.find("p", data_as_of=True).text == f"数据截至 {timezone.localtime(run.started_at):%Y-%m-%d %H:%M}"


# --- the period picker ------------------------------------------------------------------


def test_the_picker_links_the_kinds_and_the_neighbouring_periods(client, viewers, figures):
    page = page_of(open_as(client, viewers.city_leader, "?period=2016Q2"))
    picker = page.find("form", class_="dash-period")
    kinds = {a.text: a.attrs["href"] for a in picker.find("nav").find_all("a")}
    assert kinds == {
        "月": f"{URL}?node={figures.city.code}&period=2016-06",
        "季": f"{URL}?node={figures.city.code}&period=2016Q2",
        "年": f"{URL}?node={figures.city.code}&period=2016",
    }
    assert picker.find("a", aria_current="true").text == "季"
    steps = [a.attrs["href"] for a in picker.find_all("a", class_="button dash-step")]
    assert steps == [f"{URL}?node={figures.city.code}&period=2016Q1", f"{URL}?node={figures.city.code}&period=2016Q3"]
    assert picker.find("input", name="period").attrs["value"] == "2016Q2"


def test_the_default_is_the_current_year_and_no_next_period_in_the_future(client, viewers, figures):
    page = page_of(open_as(client, viewers.city_leader))
    this_year = str(timezone.localdate().year)
    assert page.find("input", id="dash-period").attrs["value"] == this_year
    assert [a.attrs["aria-label"] for a in page.find_all("a", class_="button dash-step")] == [f"上一期：{int(this_year) - 1}年"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?period=2016-13", "月份应为 01-12"),
        ("?period=16", "不是有效的统计期"),
        ("?period=2016Q5", "不是有效的统计期"),
        ("?period=1800", "年份应在"),
    ],
)
def test_a_wrong_period_is_refused_naming_the_field(client, viewers, figures, query, message):
    response = open_as(client, viewers.city_leader, query)
    assert response.status_code == 400
    error = page_of(response).find("div", class_="error")
    assert error.text.startswith("统计期：")
    assert message in error.text
    # The picker is still there to put it right.
    assert page_of(response).find("form", class_="dash-period") is not None
    assert page_of(response).find("article", data_metric=True) is None


def test_an_unknown_map_metric_is_refused_naming_the_field(client, viewers, figures):
    response = open_as(client, viewers.city_leader, "?period=2016&metric=incidents.total")
    assert response.status_code == 400
    assert page_of(response).find("div", class_="error").text.startswith("地图指标：")


# --- scope ------------------------------------------------------------------------------


def test_a_town_leader_opens_on_the_town_and_cannot_open_the_other_town_or_the_city(client, viewers, figures):
    response = open_as(client, viewers.t1_leader, "?period=2016")
    page = page_of(response)
    assert page.find("h1").text.startswith(figures.t1.name)
    assert [span.text for span in page.find("nav", class_="dash-crumbs").find_all("span")] == [figures.t1.name]
    codes = [row.attrs["data-code"] for row in page.find("table", id="children").find("tbody").find_all("tr")]
    assert codes == [figures.zone_a.code, figures.zone_b.code]

    for code in (figures.t2.code, figures.city.code, figures.grid_c.code, "522601999", figures.unit_a.code):
        response = client.get(f"{URL}?node={code}&period=2016")
        assert response.status_code == 404, code
        assert code not in response.content.decode()
        assert "不在您的管辖范围内" in response.content.decode()


def test_a_zone_leader_sees_the_zone_only(client, viewers, figures):
    page = page_of(open_as(client, viewers.zone_a_leader, "?period=2016"))
    assert page.find("h1").text.startswith(figures.zone_a.name)
    assert [row.attrs["data-code"] for row in page.find("table", id="children").find("tbody").find_all("tr")] == [
        figures.grid_a.code
    ]
    # Grid A holds unit A's two thefts, the petition: the zone's 2016.
    assert page.find("article", data_metric="sum.criminal_public_order").find("strong").text == "2"
    assert client.get(f"{URL}?node={figures.grid_a.code}&period=2016").status_code == 200
    for node in (figures.zone_b, figures.t1, figures.city):
        assert client.get(f"{URL}?node={node.code}&period=2016").status_code == 404


def test_the_centre_reads_its_town_too(client, viewers, figures):
    client.force_login(viewers.centre)
    assert client.get(f"{URL}?period=2016").status_code == 200
    assert client.get(f"{URL}?node={figures.t2.code}").status_code == 404


def test_a_grid_worker_has_no_dashboard(client, viewers, figures):
    client.force_login(viewers.worker)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}?node={figures.grid_a.code}").status_code == 403
    assert client.get(f"{SEARCH_URL}?q=北京").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, viewers, figures):
    for url in (URL, f"{URL}?period=2016", f"{SEARCH_URL}?q=南花"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_leader_without_the_second_factor_is_sent_to_it(client, viewers, figures):
    client.force_login(viewers.city_leader)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/")


def test_the_page_is_not_kept_in_caches(client, viewers, figures):
    assert open_as(client, viewers.city_leader)["Cache-Control"] == "no-store"


# --- the node search --------------------------------------------------------------------


def test_the_search_finds_nodes_within_scope_only(client, viewers, figures):
    force_verified(client, viewers.city_leader)
    results = client.get(f"{SEARCH_URL}?q=南花").json()["results"]
    assert [(r["code"], r["name"]) for r in results] == [
        (figures.zone_c.code, figures.zone_c.name),
        (figures.grid_c.code, figures.grid_c.name),
    ]
    assert results[1]["path"] == " › ".join([figures.city.name, figures.t2.name, figures.zone_c.name])
    assert results[1]["kind"] == "二级网格"
    # Ten-household units are not statistics nodes.
    assert figures.unit_a.code not in {r["code"] for r in client.get(f"{SEARCH_URL}?q=北京路").json()["results"]}
    assert client.get(f"{SEARCH_URL}?q=").json() == {"results": []}
    assert client.get(f"{SEARCH_URL}?q=%20").json() == {"results": []}

    force_verified(client, viewers.t1_leader)
    assert client.get(f"{SEARCH_URL}?q=南花").json() == {"results": []}
    assert client.get(f"{SEARCH_URL}?q=522601").json()["results"][0]["code"] == figures.t1.code


def test_the_search_returns_at_most_twenty(client, viewers, figures):
    from grids.models import AreaType, GridKind
    from grids.services import grid_create

    for number in range(2, 25):
        grid_create(
            actor=None,
            code=f"522601001001{number:03d}",
            name=f"北京路第{number}网格",
            kind=GridKind.GRID,
            parent=figures.zone_a,
            area_type=AreaType.URBAN,
        )
    force_verified(client, viewers.city_leader)
    assert len(client.get(f"{SEARCH_URL}?q=北京路第").json()["results"]) == 20


def test_the_search_works_without_script(client, viewers, figures):
    page = page_of(open_as(client, viewers.city_leader, f"?node={figures.t1.code}&period=2016&q=南花"))
    links = [a.attrs["href"] for a in page.find("div", id="dash-search-results").find_all("a")]
    assert links == [f"{URL}?node={figures.zone_c.code}&period=2016", f"{URL}?node={figures.grid_c.code}&period=2016"]


# --- cost -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the roll-up runs again: its temp tables live until commit
@pytest.mark.parametrize("node_name", ["city", "grid_a"])
def test_the_page_costs_the_same_queries_whatever_the_data(client, viewers, figures, django_assert_num_queries, node_name):
    node = getattr(figures, node_name)
    services.run_full_rebuild()
    force_verified(client, viewers.city_leader)
    url = f"{URL}?node={node.code}&period=2016"
    client.get(url)  # the first request of a session settles it
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200

    for year in (2015, 2016, 2017):
        for month in range(1, 13):
            f.incident(figures.unit_a, f.THEFT, f.at(year, month), cleared=month % 2 == 0)
            f.incident(figures.grid_c, f.HAZARD, f.at(year, month))
            f.incident(figures.grid_b, f.FIRE, f.at(year, month, 3))
            f.resolved(figures.grid_b, f.at(year, month, 5), satisfaction=3)
            f.dispute(figures.grid_c, f.at(year, month, 7))
    services.run_full_rebuild()
    with django_assert_num_queries(len(before.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert cards_of(response)["sum.criminal_public_order"].find("strong").text != ""

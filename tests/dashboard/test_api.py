"""The statistics API: a node's cards, its children table, its monthly trend and the
metric definitions, read from the roll-up.

The ``figures`` fixture holds a little of everything in 2015 and 2016 across the small
tree. Every value answered equals the selectors' (what the pages show) and the direct
count over the node's subtree (``dashboard.direct``). A leader of town T1 reaches T1 and
what lies under it: town T2 and the city are not found, exactly like a code that does not
exist; a grid worker holds no dashboard at all. The cost of an answer is a fixed number of
queries, whatever the number of records.
"""

import datetime

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cases.models import Category
from dashboard import metrics as m
from dashboard import selectors
from dashboard.direct import direct_values
from dashboard.marks import paused
from dashboard.periods import Period
from dashboard.services import run_full_rebuild
from grids.models import AreaType, GridKind
from grids.services import grid_create
from kaili.roles import CENTRE_STAFF
from tests.cases.test_api_access import sign_in
from tests.dashboard import factories as f
from tests.factories import PASSWORD, make_user
from tests.kaili.test_auth import current_code
from tests.reads import queries, queries_after_warm_up

pytestmark = pytest.mark.django_db

STATS, CHILDREN, TREND, METRICS = "/api/stats/", "/api/stats/children/", "/api/stats/trend/", "/api/stats/metrics/"
READ_ENDPOINTS = (STATS, CHILDREN, TREND)
# The headline six and the figures behind them, a criminal sub-type or two, a mean.
ASKED = [
    *m.HEADLINE,
    "incidents.kind.criminal",
    "incidents.kind.public_order",
    "incidents.stat.theft",
    "incidents.stat.robbery",
    "incidents.cleared",
    "disputes.accepted",
    "disputes.resolved",
    "disputes.passed_upward",
    "satisfaction.count",
]
# What a read may cost: the session, the user and their second factor, the session's
# activity stamp (3), the scope (2), the node and its path (3), the layout, the figures, the
# freshness (2) and the children.
QUERY_BUDGET = 16


def get(api, path: str, status: int = 200, **params) -> dict:
    response = api.get(path, params)
    assert response.status_code == status, response.content
    return response.json()


def counted(node, period: Period, keys) -> dict:
    """The metrics counted straight from the records, as the API should answer them."""
    values = direct_values(node, period)
    return {key: selectors.value(values, key) for key in keys}


@pytest.fixture
def city_api(api, figures, viewers):
    return sign_in(api, viewers.city_leader)


# --- the cards -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["2016", "2016Q2", "2016-05", "2016-11"])
def test_cards_equal_the_selectors_and_the_direct_count(city_api, figures, code):
    period = Period.parse(code)
    for node in (figures.city, figures.t1, figures.zone_a, figures.grid_c):
        body = get(city_api, STATS, node=node.code, period=code, metrics=",".join(ASKED))

        cards = {card["key"]: card for card in body["metrics"]}
        assert list(cards) == ASKED
        for expected in selectors.cards(node, period, ASKED):
            assert cards[expected.metric.key] == pytest.approx(expected.as_dict()), node.code
        for field, when in (("value", period), ("last_year", period.last_year()), ("previous", period.previous())):
            shown = {key: card[field] for key, card in cards.items()}
            assert shown == pytest.approx(counted(node, when, ASKED)), (node.code, field)


def test_the_city_in_2016_against_2015(city_api, figures):
    """2015: three thefts (one cleared) and a robbery (cleared); 2016: two thefts (one
    cleared) and a robbery (cleared). Disputes: two in each year, and one more in 2016."""
    body = get(city_api, STATS, node=figures.city.code, period="2016", metrics=",".join(ASKED))
    cards = {card["key"]: card for card in body["metrics"]}

    criminal = cards["incidents.kind.criminal"]
    assert (criminal["value"], criminal["last_year"], criminal["previous"]) == (3, 4, 4)
    assert criminal["year_on_year"] == pytest.approx(-0.25) and criminal["year_on_year_good"] is True
    assert criminal["better"] == "down" and criminal["unit"] == "件" and criminal["kind"] == "count"
    theft = cards["incidents.stat.theft"]
    assert (theft["value"], theft["last_year"], theft["year_on_year"]) == (2, 3, pytest.approx(-1 / 3))
    clearance = cards["rate.clearance"]
    assert clearance["kind"] == "rate" and clearance["unit"] == "%"
    assert (clearance["value"], clearance["last_year"]) == (pytest.approx(2 / 3), pytest.approx(2 / 4))
    assert clearance["year_on_year"] == pytest.approx((2 / 3 - 1 / 2) / (1 / 2)) and clearance["year_on_year_good"] is True
    disputes = cards["disputes.accepted"]
    assert (disputes["value"], disputes["last_year"], disputes["year_on_year"]) == (3, 2, pytest.approx(0.5))
    assert disputes["year_on_year_good"] is False
    upward = cards["disputes.passed_upward"]
    assert (upward["value"], upward["last_year"], upward["year_on_year"], upward["year_on_year_good"]) == (0, 1, -1, True)


def test_a_rate_over_nothing_is_null_and_its_change_unknown(city_api, figures):
    """No criminal incident in zone C: no clearance rate to show, nor to compare."""
    body = get(city_api, STATS, node=figures.zone_c.code, period="2016", metrics="rate.clearance,incidents.kind.criminal")
    clearance, criminal = body["metrics"]
    assert clearance["value"] is None and clearance["year_on_year"] is None and clearance["year_on_year_good"] is None
    assert criminal["value"] == 0 and criminal["year_on_year"] is None


def test_the_node_and_the_period_are_described(city_api, figures, viewers):
    body = get(city_api, STATS, node=figures.zone_a.code, period="2016Q2")
    assert body["node"] == {
        "code": figures.zone_a.code,
        "name": "北京路社区",
        "kind": "zone",
        "path": [{"code": node.code, "name": node.name} for node in (figures.city, figures.t1, figures.zone_a)],
    }
    assert body["period"] == {
        "code": "2016Q2",
        "kind": "quarter",
        "label": "2016年第2季度",
        "start": "2016-04-01",
        "end": "2016-07-01",
        "previous": "2016Q1",
        "last_year": "2015Q2",
    }
    # A town's leader is not shown the city above their town.
    town = get(sign_in(city_api, viewers.t1_leader), STATS, node=figures.zone_a.code, period="2016-05")
    assert [step["code"] for step in town["node"]["path"]] == [figures.t1.code, figures.zone_a.code]
    assert town["period"]["previous"] == "2016-04" and town["period"]["last_year"] == "2015-05"


def test_without_parameters_the_home_node_this_year_and_the_headline(city_api, figures, viewers):
    body = get(city_api, STATS)
    assert body["node"]["code"] == figures.city.code
    assert body["period"]["code"] == str(timezone.localdate().year)
    assert [card["key"] for card in body["metrics"]] == list(m.HEADLINE)
    assert get(sign_in(city_api, viewers.t1_leader), STATS)["node"]["code"] == figures.t1.code


def test_data_as_of_is_the_start_of_the_last_finished_run(city_api, figures):
    run = run_full_rebuild()
    for path in READ_ENDPOINTS:
        assert parse_datetime(get(city_api, path, period="2016")["data_as_of"]) == run.started_at == selectors.data_as_of()


# --- the children, the trend, the metrics ----------------------------------------------------


@pytest.mark.parametrize("code", ["2016", "2016Q3", "2016-05"])
def test_children_of_the_city_are_its_towns_with_their_figures(city_api, figures, code):
    period = Period.parse(code)
    body = get(city_api, CHILDREN, node=figures.city.code, period=code, metrics=",".join(ASKED))

    assert body["node"]["code"] == figures.city.code and body["period"]["code"] == code
    assert [metric["key"] for metric in body["metrics"]] == ASKED
    assert body["metrics"][0] == {
        "key": "rate.clearance",
        "label": "刑事破案率",
        "unit": "%",
        "kind": "rate",
        "better": "up",
        "family": "derived",
    }
    assert [(child["code"], child["name"], child["kind"]) for child in body["children"]] == [
        (figures.t1.code, "大十字街道", "town"),
        (figures.t2.code, "三棵树镇", "town"),
    ]
    rows = {row.node.code: row for row in selectors.children(figures.city, period, ASKED)}
    for child in body["children"]:
        town = figures.t1 if child["code"] == figures.t1.code else figures.t2
        assert child["values"] == pytest.approx(rows[town.code].values)
        assert child["last_year"] == pytest.approx(rows[town.code].last_year)
        assert child["values"] == pytest.approx(counted(town, period, ASKED))
        assert child["last_year"] == pytest.approx(counted(town, period.last_year(), ASKED))
        for key in ASKED:
            assert child["year_on_year"][key] == pytest.approx(selectors.change(child["values"][key], child["last_year"][key]))


def test_a_grid_has_no_children_to_list(city_api, figures):
    """Its ten-household units count for the grid, and are not statistics nodes."""
    assert get(city_api, CHILDREN, node=figures.grid_a.code, period="2016")["children"] == []


def test_children_default_to_the_headline_metrics(city_api, figures):
    body = get(city_api, CHILDREN, node=figures.t1.code, period="2016")
    assert [metric["key"] for metric in body["metrics"]] == list(m.HEADLINE)
    assert [child["code"] for child in body["children"]] == [figures.zone_a.code, figures.zone_b.code]
    assert all(set(child["values"]) == set(m.HEADLINE) for child in body["children"])


@pytest.mark.parametrize(
    ("code", "months", "first", "last"),
    [
        ("2016", None, "2016-01", "2016-12"),
        ("2016", "3", "2016-10", "2016-12"),
        ("2016", "24", "2015-01", "2016-12"),
        ("2016Q2", "6", "2016-01", "2016-06"),
        ("2016-05", "1", "2016-05", "2016-05"),
    ],
)
def test_the_trend_is_the_months_ending_with_the_period(city_api, figures, code, months, first, last):
    keys = ["incidents.kind.criminal", "disputes.accepted", "rate.clearance"]
    params = {"node": figures.t1.code, "period": code, "metrics": ",".join(keys)}
    body = get(city_api, TREND, **params, **({"months": months} if months else {}))

    assert body["months"][0] == first and body["months"][-1] == last
    assert len(body["months"]) == int(months or 12)
    assert list(body["series"]) == keys
    each_month = [counted(figures.t1, Period.parse(month), keys) for month in body["months"]]
    for key, values in body["series"].items():
        assert values == pytest.approx([month[key] for month in each_month]), key
    assert body["series"]["incidents.kind.criminal"] == pytest.approx(
        selectors.trend(figures.t1, Period.parse(code), keys, int(months or 12))["series"]["incidents.kind.criminal"]
    )


def test_the_trend_shows_each_record_in_its_month(city_api, figures):
    series = get(city_api, TREND, node=figures.zone_a.code, period="2016", metrics="incidents.stat.theft")["series"]
    assert series["incidents.stat.theft"] == [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]


def test_every_metric_is_defined_the_derived_ones_too(city_api, figures):
    metrics = get(city_api, METRICS)
    by_key = {metric["key"]: metric for metric in metrics}
    assert set(m.METRICS) <= set(by_key)
    assert all(set(metric) == {"key", "label", "unit", "kind", "better", "family"} for metric in metrics)
    assert by_key["mean.satisfaction"] == {
        "key": "mean.satisfaction",
        "label": "群众满意度",
        "unit": "分",
        "kind": "mean",
        "better": "up",
        "family": "derived",
    }
    assert by_key["incidents.stat.robbery"]["family"] == "incidents" and by_key["incidents.stat.robbery"]["better"] == "down"
    assert {key for key, metric in by_key.items() if metric["family"] == "derived"} == {x.key for x in m.DERIVED_METRICS}


def test_a_statistic_key_added_to_a_category_is_listed_and_counted(city_api, figures):
    theft = Category.objects.get(code=f.THEFT)
    Category.objects.create(code="2599", name="电信网络诈骗", parent=theft.parent, kind=theft.kind, statistic="telecom_fraud")
    f.incident(figures.grid_a, "2599", f.at(2016, 6))
    run_full_rebuild()

    assert "incidents.stat.telecom_fraud" in {metric["key"] for metric in get(city_api, METRICS)}
    body = get(city_api, STATS, node=figures.t1.code, period="2016", metrics="incidents.stat.telecom_fraud")
    assert (
        body["metrics"][0]["value"]
        == 1
        == counted(figures.t1, Period.parse("2016"), ["incidents.stat.telecom_fraud"])["incidents.stat.telecom_fraud"]
    )


# --- who reaches what ------------------------------------------------------------------------


def refused_node(api, path: str, code: str) -> dict:
    return get(api, path, 404, node=code, period="2016")


def reworded(body: dict, code: str, other: str) -> dict:
    """A refusal's body as it reads for another code."""
    return {"error": {key: value.replace(code, other) for key, value in body["error"].items()}}


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_a_town_leader_reaches_only_their_town(api, figures, viewers, path):
    sign_in(api, viewers.t1_leader)
    for node in (figures.t1, figures.zone_a, figures.zone_b, figures.grid_b):
        get(api, path, node=node.code, period="2016")
    missing = refused_node(api, path, "522601999")
    for node in (figures.t2, figures.city, figures.zone_c, figures.grid_c):
        # Out of scope is not found, word for word what a missing code gets.
        assert refused_node(api, path, node.code) == reworded(missing, "522601999", node.code)
    assert missing["error"]["code"] == "not_found" and "522601999" in missing["error"]["message"]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_a_zone_leader_reaches_only_their_zone(api, figures, viewers, path):
    sign_in(api, viewers.zone_a_leader)
    assert get(api, path, node=figures.zone_a.code, period="2016")["node"]["code"] == figures.zone_a.code
    assert get(api, path, period="2016")["node"]["code"] == figures.zone_a.code
    missing = refused_node(api, path, "522601001009")
    for node in (figures.zone_b, figures.t1, figures.grid_b):
        assert refused_node(api, path, node.code) == reworded(missing, "522601001009", node.code)


def test_a_unit_is_not_a_statistics_node(city_api, figures):
    """Ten-household units count for their grid; asking for one is asking for nothing."""
    assert refused_node(city_api, STATS, figures.unit_a.code)["error"]["code"] == "not_found"


def test_the_centre_reads_its_town(api, figures, viewers):
    sign_in(api, viewers.centre)
    assert get(api, STATS, period="2016")["node"]["code"] == figures.t1.code
    assert [child["code"] for child in get(api, CHILDREN, period="2016")["children"]] == [
        figures.zone_a.code,
        figures.zone_b.code,
    ]
    refused_node(api, STATS, figures.t2.code)


@pytest.mark.parametrize("path", [*READ_ENDPOINTS, METRICS])
def test_a_grid_worker_holds_no_dashboard(api, figures, viewers, path):
    sign_in(api, viewers.worker)
    body = get(api, path, 403, node=figures.grid_a.code, period="2016")
    assert body["error"]["message"] == "您没有查看统计数据的权限。"


@pytest.mark.parametrize("path", [*READ_ENDPOINTS, METRICS])
def test_nobody_signed_in_is_refused_as_elsewhere_in_the_api(api, figures, path):
    elsewhere = api.get("/api/grids/")
    response = api.get(path, {"node": figures.city.code, "period": "2016"})
    assert response.status_code == elsewhere.status_code and response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_leader_reads_only_after_the_second_factor(api, figures, viewers):
    api.force_login(viewers.city_leader)  # a password, no TOTP yet
    refused = get(api, STATS, 403, period="2016")
    assert refused["error"]["code"] == "two_factor_required"
    api.logout()

    token = api.post(
        "/api/auth/token/",
        {"username": "leader_city", "password": PASSWORD, "otp_token": current_code(viewers.city_leader.totpdevice_set.get())},
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert get(api, STATS, node=figures.t2.code, period="2016")["node"]["code"] == figures.t2.code


def test_a_token_carries_the_same_scope(api, figures, tree):
    make_user("centre_t2", CENTRE_STAFF, [tree.t2])
    token = api.post("/api/auth/token/", {"username": "centre_t2", "password": PASSWORD}).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert get(api, STATS, period="2016")["node"]["code"] == tree.t2.code
    refused_node(api, CHILDREN, tree.t1.code)


# --- what is refused as a bad request --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field", "words"),
    [
        (STATS, {"period": "2016-13"}, "period", "月份应为 01-12"),
        (STATS, {"period": "16"}, "period", "不是有效的统计期"),
        (CHILDREN, {"period": "2016Q5"}, "period", "不是有效的统计期"),
        (TREND, {"period": "1989"}, "period", "年份"),
        (STATS, {"metrics": "incidents.total,crimes"}, "metrics", "未知的指标：crimes"),
        (CHILDREN, {"metrics": "rate.nothing"}, "metrics", "未知的指标"),
        (TREND, {"metrics": "rate.clearance,x"}, "metrics", "未知的指标：x"),
        (TREND, {"months": "0"}, "months", "月数应为 1 到 36 之间的整数"),
        (TREND, {"months": "37"}, "months", "月数应为 1 到 36 之间的整数"),
        (TREND, {"months": "twelve"}, "months", "月数应为 1 到 36 之间的整数"),
        (TREND, {"months": "-3"}, "months", "月数应为 1 到 36 之间的整数"),
    ],
)
def test_a_bad_parameter_is_named(city_api, figures, path, params, field, words):
    error = get(city_api, path, 400, **params)["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]
    assert words in error["fields"][field][0] and words in error["message"]


def test_every_bad_parameter_is_named_at_once(city_api, figures):
    error = get(city_api, TREND, 400, period="2016-00", metrics="nothing", months="99")["error"]
    assert set(error["fields"]) == {"period", "metrics", "months"}


def test_the_node_comes_first_so_a_bad_period_tells_nothing_about_it(api, figures, viewers):
    sign_in(api, viewers.t1_leader)
    assert get(api, STATS, 404, node=figures.t2.code, period="bad")["error"]["code"] == "not_found"


# --- what an answer costs --------------------------------------------------------------------


URBAN = AreaType.URBAN


def more_of_everything(tree, years=(2014, 2015, 2016, 2017)) -> None:
    """Many more records over more months and years, in more nodes; then a full rebuild."""
    zones = [
        grid_create(actor=None, code=f"52260100100{n}", name=f"新区{n}社区", kind=GridKind.ZONE, parent=tree.t1, area_type=URBAN)
        for n in range(3, 8)
    ]
    grids = [
        grid_create(
            actor=None, code=f"{zone.code}001", name=f"{zone.name}第1网格", kind=GridKind.GRID, parent=zone, area_type=URBAN
        )
        for zone in zones
    ]
    places = [tree.unit_a, tree.unit_b, tree.grid_c, *grids]
    # Bulk loads leave no marks (dashboard.marks.paused): the full rebuild below counts everything.
    with paused():
        add_records(places, years)
    run_full_rebuild()
    for node in vars(tree).values():
        node.refresh_from_db()  # the new nodes moved the MPTT columns of those around them


def add_records(places, years) -> None:
    kinds = [f.THEFT, f.ROBBERY, f.HOMICIDE, f.FRAUD, f.PUBLIC_ORDER, f.TRAFFIC_ACCIDENT, f.FIRE, f.PETITION, f.HAZARD]
    for year in years:
        for month in range(1, 13):
            for n, place in enumerate(places):
                f.incident(place, kinds[(month + n) % len(kinds)], f.at(year, month, 1 + n), cleared=n % 2 == 0)
                if (month + n) % 3 == 0:
                    f.resolved(place, f.at(year, month, 2 + n), satisfaction=3 + n % 3)
                else:
                    f.dispute(place, f.at(year, month, 2 + n), passed_upward=n % 4 == 0)


def read_costs(api, tree) -> dict:
    costs = {}
    for node in (tree.city, tree.t1, tree.grid_a):
        for path in READ_ENDPOINTS:
            for period in ("2016", "2016-05"):
                params = {"node": node.code, "period": period, "metrics": ",".join(ASKED)}
                costs[(node.code, path, period)] = queries(api, path, **params)
    costs[METRICS] = queries(api, METRICS)
    return costs


def test_an_answer_costs_the_same_queries_whatever_the_data(city_api, figures):
    run_full_rebuild()  # as the figures would be in service: rolled up by a recorded run
    queries_after_warm_up(city_api, STATS)
    before = read_costs(city_api, figures)
    children_before = len(get(city_api, CHILDREN, node=figures.t1.code, period="2016")["children"])

    more_of_everything(figures)
    after = read_costs(city_api, figures)

    total = get(city_api, STATS, node=figures.city.code, period="2016", metrics="incidents.total")["metrics"][0]["value"]
    assert total > 100 and total == counted(figures.city, Period.parse("2016"), ["incidents.total"])["incidents.total"]
    assert len(get(city_api, CHILDREN, node=figures.t1.code, period="2016")["children"]) == children_before + 5
    assert after == before
    assert max(before.values()) <= QUERY_BUDGET


def test_the_stats_of_the_city_and_of_a_grid_cost_the_same(city_api, figures):
    city, grid = queries_after_warm_up(
        city_api, f"{STATS}?node={figures.city.code}&period=2016", f"{STATS}?node={figures.grid_a.code}&period=2016"
    )
    assert city == grid


def test_the_trend_of_three_years_costs_what_a_month_costs(city_api, figures):
    one, many = queries_after_warm_up(city_api, f"{TREND}?period=2016&months=1", f"{TREND}?period=2016&months=36")
    assert one == many


def test_the_answers_are_fresh_after_new_records(city_api, figures):
    """The roll-up's figures, not a copy kept by the API: a record rolled up shows."""
    period = Period.parse("2016-05")
    before = get(city_api, STATS, node=figures.zone_b.code, period="2016-05", metrics="incidents.stat.theft")
    f.incident(figures.unit_b, f.THEFT, timezone.make_aware(datetime.datetime(2016, 5, 3, 9)))
    run_full_rebuild()
    after = get(city_api, STATS, node=figures.zone_b.code, period="2016-05", metrics="incidents.stat.theft")
    assert (
        after["metrics"][0]["value"]
        == before["metrics"][0]["value"] + 1
        == counted(figures.zone_b, period, ["incidents.stat.theft"])["incidents.stat.theft"]
    )

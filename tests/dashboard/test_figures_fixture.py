"""The shared ``figures`` fixture rolls up what it made (the other tests build on it)."""

from dashboard import selectors
from dashboard.direct import direct_values
from dashboard.periods import Period


def test_the_city_figures_of_2016_are_those_made(figures):
    values = selectors.node_figures(
        figures.city, Period.parse("2016"), ["incidents.kind.criminal", "incidents.stat.theft", "disputes.accepted"]
    )
    assert values == {"incidents.kind.criminal": 3, "incidents.stat.theft": 2, "disputes.accepted": 3}


def test_every_stored_value_of_the_fixture_equals_the_direct_count(figures):
    for node in (figures.city, figures.t1, figures.t2, figures.zone_a, figures.grid_a, figures.grid_c):
        for code in ("2015", "2016", "2016Q2", "2016-05", "2016-11"):
            period = Period.parse(code)
            counted = direct_values(node, period)
            stored = selectors.node_figures(node, period, list(counted))
            assert stored == counted, (node.code, code)

"""The headline arithmetic on the demo data (issue 7, "Correctness"): the 2016 year-on-year
figures of the city read -12.23% criminal, -73.40% robbery, -7.77% theft, -71.43%
homicide and -26.41% disputes, from the rolled-up statistics as the cards show them.

The criminal incidents follow the seed's figures at any scale, so the incidents load at
scale 0 (the criminal ones only); the disputes follow the seed's yearly counts at their
own scale 1. They load once for the module (some seconds), on the small tree with the
demo accounts it needs, in a transaction rolled back at the end.
"""

import pytest
from django.apps import apps
from django.db import connection, transaction

from cases import demo as incidents_demo
from cases.seeding import seed_case_tables
from dashboard import selectors
from dashboard.periods import Period
from dashboard.rollup import Marks, rollup
from disputes import demo as disputes_demo
from disputes.catalogue import seed_tables as seed_dispute_tables
from kaili.demo import seed_demo_court_accounts, seed_demo_handlers
from kaili.roles import CENTRE_STAFF, GRID_WORKER, MEDIATOR, sync_roles
from tests.dashboard.strategies import differences
from tests.factories import make_tree, make_user
from tests.populations.factories import make_household, make_person

pytestmark = pytest.mark.django_db

# The tables the demo fills, cleaned after the rollback so that later tests do not scan
# thousands of dead rows (and plan with the demo's row counts).
LOADED_TABLES = (
    "cases_incident",
    "cases_incidenttransition",
    "cases_incidentperson",
    "disputes_dispute",
    "disputes_disputeparty",
    "disputes_disputetransition",
    "disputes_mediationsession",
    "disputes_agreement",
    "dashboard_statistic",
)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo incidents and disputes on the small tree, rolled up; the tree."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            sync_roles()
            seed_case_tables()
            seed_dispute_tables(apps)
            tree = make_tree()
            household = make_household(tree.unit_a)
            for name in ("龙玉兰", "杨光明", "吴金花"):
                make_person(household, name=name)
            seed_demo_handlers()
            seed_demo_court_accounts()
            make_user("gridworker", GRID_WORKER, [tree.grid_a])
            make_user("centre", CENTRE_STAFF, [tree.t1])
            make_user("mediator", MEDIATOR, [tree.t1])
            incidents_demo.seed_incidents(seed=2016, scale=0)
            disputes_demo.seed_disputes(seed=2016)
            rollup(Marks.everything())
            with connection.cursor() as cursor:
                # Check the load's deferred foreign keys once, here: each test's teardown checks
                # those still pending inside its own savepoint, and its rollback puts them back.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            yield tree
            transaction.set_rollback(True)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {', '.join(LOADED_TABLES)}")


YEAR_ON_YEAR_2016 = {
    "incidents.kind.criminal": -12.23,
    "incidents.stat.robbery": -73.40,
    "incidents.stat.theft": -7.77,
    "incidents.stat.homicide": -71.43,
    "disputes.accepted": -26.41,
}


def test_the_2016_year_on_year_figures_of_the_city(demo):
    cards = selectors.cards(demo.city, Period.parse("2016"), list(YEAR_ON_YEAR_2016))
    assert {card.metric.key: round(card.year_on_year * 100, 2) for card in cards} == YEAR_ON_YEAR_2016


def test_the_figures_behind_them_are_the_seeds(demo):
    cards = {card.metric.key: card for card in selectors.cards(demo.city, Period.parse("2016"), list(YEAR_ON_YEAR_2016))}
    assert {key: (card.value, card.last_year) for key, card in cards.items()} == {
        "incidents.kind.criminal": (2879, 3280),
        "incidents.stat.robbery": (50, 188),
        "incidents.stat.theft": (1898, 2058),
        "incidents.stat.homicide": (4, 14),
        "disputes.accepted": (2238, 3041),
    }
    # fewer crimes and disputes: every arrow says "better"
    assert all(card.year_on_year_good is True for card in cards.values())


def test_the_demo_statistics_equal_the_direct_counts(demo):
    periods = [Period.parse(code) for code in ("2015", "2016", "2016Q1", "2016-07", "2017")]
    assert differences([demo.city, demo.t1, demo.zone_a, demo.grid_b], periods) == []

from types import SimpleNamespace

import pytest


@pytest.fixture(autouse=True)
def _record_tables_exist(db):
    """Incident categories and the dispute tables come with data migrations; a
    transactional test's flush removes them, so put them back."""
    from django.apps import apps

    from cases.seeding import seed_case_tables
    from disputes.catalogue import seed_tables

    seed_case_tables()
    seed_tables(apps)


@pytest.fixture
def viewers(tree):
    """Who reads the dashboard in the small tree: leaders of the city, of town T1, of
    town T2 and of zone A; the centre of town T1; a system admin; a grid worker (no
    dashboard)."""
    from kaili.roles import CENTRE_STAFF, GRID_WORKER, LEADER, SYSTEM_ADMIN
    from tests.factories import make_user

    return SimpleNamespace(
        tree=tree,
        city_leader=make_user("leader_city", LEADER, [tree.city], totp=True),
        t1_leader=make_user("leader_t1", LEADER, [tree.t1], totp=True),
        t2_leader=make_user("leader_t2", LEADER, [tree.t2], totp=True),
        zone_a_leader=make_user("leader_zone_a", LEADER, [tree.zone_a], totp=True),
        centre=make_user("centre_t1", CENTRE_STAFF, [tree.t1]),
        admin=make_user("sysadmin", SYSTEM_ADMIN, [tree.city], totp=True),
        worker=make_user("worker_a", GRID_WORKER, [tree.grid_a]),
    )


@pytest.fixture
def figures(tree):
    """A little of everything in 2015 and 2016, rolled up: criminal incidents (some
    cleared), public-order incidents, an accident, a petition, disputes resolved and not,
    one passed upward, evaluations. Returns the tree."""
    from dashboard.rollup import Marks, rollup
    from tests.dashboard import factories as f

    for year, thefts in ((2015, 3), (2016, 2)):
        for i in range(thefts):
            f.incident(tree.unit_a, f.THEFT, f.at(year, 3 + i), cleared=i == 0)
        f.incident(tree.grid_b, f.ROBBERY, f.at(year, 6), cleared=True)
        f.incident(tree.grid_c, f.PUBLIC_ORDER, f.at(year, 7))
        f.incident(tree.unit_b, f.TRAFFIC_ACCIDENT, f.at(year, 8))
        f.incident(tree.grid_a, f.PETITION, f.at(year, 9))
        f.incident(tree.grid_a, f.STREETLIGHT, f.at(year, 5), satisfaction=4, closed_at=f.at(year, 5, 20))
        f.resolved(tree.grid_a, f.at(year, 4), satisfaction=5)
        f.dispute(tree.grid_c, f.at(year, 10), passed_upward=year == 2015)
    f.resolved(tree.unit_b, f.at(2016, 11))
    rollup(Marks.everything())
    return tree

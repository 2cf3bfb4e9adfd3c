import pytest


@pytest.fixture(autouse=True)
def _case_tables_exist(db):
    """Departments, categories and the holiday calendar come with a data migration; a
    transactional test's flush removes them, so put them back for the tests after it."""
    from cases.seeding import seed_case_tables

    seed_case_tables()


@pytest.fixture
def cast(tree):
    """Who works incidents in the small tree: a grid worker in each of zones A and B, the
    centre of town T1 (zones A and B), the centre of zone B only, the centre of town T2, a
    department with one handler, a city leader."""
    from types import SimpleNamespace

    from kaili.roles import LEADER
    from tests.cases.factories import make_department
    from tests.factories import make_user, record_desk_staff

    handler = make_user("handler_a")
    return SimpleNamespace(
        tree=tree,
        **record_desk_staff(tree),
        handler=handler,
        department=make_department(members=[handler]),
        leader=make_user("leader_city", LEADER, [tree.city], totp=True),
    )


@pytest.fixture
def without_disputes_app():
    """The incident hook as it stands without the disputes app's receiver (which
    disputes.apps registers at start-up): for the tests of the hook itself."""
    from cases import hooks

    saved = list(hooks._receivers)
    hooks._receivers.clear()
    yield
    hooks._receivers[:] = saved

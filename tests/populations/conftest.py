import pytest


@pytest.fixture(autouse=True)
def _schedule_rules_exist(db):
    """The default schedules come with a data migration; a transactional test's flush
    removes them, so put them back for the tests after it."""
    from populations.schedules import seed_schedule_rules

    seed_schedule_rules()

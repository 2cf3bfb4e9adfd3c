import pytest


@pytest.fixture(autouse=True)
def _dispute_tables_exist(db):
    """Categories, scales, lines, tiers, bodies and courts come with a data migration
    (after the incident tables); a transactional test's flush removes them, so put them
    back for the tests after it."""
    from django.apps import apps

    from cases.seeding import seed_case_tables
    from disputes.catalogue import seed_tables

    seed_case_tables()
    seed_tables(apps)


@pytest.fixture
def people(tree):
    """Who works disputes in the small tree: a grid worker in each of zones A and B, the
    centre of town T1 (zones A and B), the centre of zone B only, the centre of town T2, a
    mediator of zone A, a mediator of zone C (town T2), a member of the medical industry
    committee with no role, an account of the Kaili court, a city leader."""
    from types import SimpleNamespace

    from disputes.models import MediationBody
    from kaili.roles import LEADER, MEDIATOR
    from tests.disputes.factories import court
    from tests.factories import make_user, record_desk_staff

    medical = MediationBody.objects.get(name="凯里市医疗纠纷人民调解委员会")
    industry_mediator = make_user("medical_mediator")
    medical.members.add(industry_mediator)
    judge = make_user("court_kaili")
    court().members.add(judge)
    return SimpleNamespace(
        tree=tree,
        **record_desk_staff(tree),
        mediator=make_user("mediator_a", MEDIATOR, [tree.zone_a]),
        mediator_c=make_user("mediator_c", MEDIATOR, [tree.zone_c]),
        industry_mediator=industry_mediator,
        medical=medical,
        judge=judge,
        court=court(),
        leader=make_user("leader_city", LEADER, [tree.city], totp=True),
    )

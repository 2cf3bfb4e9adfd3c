"""The security admin says which programmes each officer runs (separation of duties)."""

import pytest

from kaili import roles
from kaili.models import AuditAction, AuditEntry
from populations.models import Enrollment, Programme, ProgrammeOfficer
from tests.factories import force_verified
from tests.populations.factories import make_enrollment, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(tree, user_factory):
    return user_factory("officer_a", roles.PROGRAMME_OFFICER, [tree.zone_a])


def test_the_security_admin_sets_an_officers_programmes_and_it_is_audited(client, tree, officer, user_factory):
    make_enrollment(make_person(unit=tree.unit_a), Programme.DRUG_REHAB)
    assert not Enrollment.objects.restrict(officer).exists()
    secadmin = user_factory("secadmin", roles.SECURITY_ADMIN, totp=True)
    force_verified(client, secadmin)
    page = client.get("/populations/officers/")
    assert page.status_code == 200 and "officer_a" in page.content.decode()
    response = client.post("/populations/officers/", {"user": officer.pk, "programmes": ["drug_rehab", "youth"]})
    assert response.status_code == 302
    assert set(ProgrammeOfficer.objects.filter(user=officer).values_list("programme", flat=True)) == {"drug_rehab", "youth"}
    officer = type(officer).objects.get(pk=officer.pk)  # a new request: nothing cached on the user
    assert Enrollment.objects.restrict(officer).count() == 1
    client.post("/populations/officers/", {"user": officer.pk, "programmes": ["youth"]})
    grants = AuditEntry.objects.filter(object_id=str(officer.pk), action__in=[AuditAction.GRANT, AuditAction.REVOKE])
    assert [(e.action, e.changes["programmes"]) for e in grants.order_by("id") if "programmes" in e.changes] == [
        ("grant", ["drug_rehab", "youth"]),
        ("revoke", ["drug_rehab"]),
    ]


def test_only_the_security_admin_assigns_duties(client, tree, officer, user_factory):
    sysadmin = user_factory("sysadmin", roles.SYSTEM_ADMIN, [tree.city], totp=True)
    force_verified(client, sysadmin)
    assert client.get("/populations/officers/").status_code == 403
    assert client.post("/populations/officers/", {"user": officer.pk, "programmes": ["youth"]}).status_code == 403
    client.force_login(officer)
    assert client.get("/populations/officers/").status_code == 403
    assert not ProgrammeOfficer.objects.exists()


def test_duties_only_for_officers(client, tree, user_factory):
    from django.core.exceptions import ValidationError

    from populations.services import officer_duties_set

    worker = user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a])
    with pytest.raises(ValidationError):
        officer_duties_set(actor=None, user=worker, programmes=["youth"])
    with pytest.raises(ValidationError):
        officer_duties_set(actor=None, user=worker, programmes=["astrology"])


def test_an_account_that_is_not_an_officer_is_refused_with_a_message(client, tree, officer, user_factory):
    worker = user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a])
    secadmin = user_factory("secadmin", roles.SECURITY_ADMIN, totp=True)
    force_verified(client, secadmin)
    for account in ("not-a-number", "999999", str(worker.pk)):
        response = client.post("/populations/officers/", {"user": account, "programmes": ["youth"]}, follow=True)
        assert response.status_code == 200 and "该账号不是在用的专干。" in response.content.decode()
    assert not ProgrammeOfficer.objects.exists()

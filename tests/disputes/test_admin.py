"""A system admin keeps the tables of the "132" mechanism (DOMAIN.md: every limit is
configurable); who mediates for a body or acts for a court is an access right, audited;
disputes are only read in the admin."""

import pytest

from disputes.models import Court, DisputeCategory, DisputeScale, MediationBody, MediationLine, Tier
from kaili import roles
from kaili.models import AuditAction, AuditEntry
from tests.disputes.factories import register, tier
from tests.factories import force_verified, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, tree):
    force_verified(client, make_user("sysadmin", roles.SYSTEM_ADMIN, [tree.city], totp=True))
    return client


@pytest.fixture
def root_client(client, tree):
    force_verified(client, make_user("root", totp=True, is_superuser=True, is_staff=True))
    return client


TABLES = ("disputecategory", "disputescale", "mediationline", "tier", "mediationbody", "court")


@pytest.mark.parametrize("table", TABLES)
def test_the_seeded_tables_are_listed_for_the_system_admin(admin_client, table):
    page = admin_client.get(f"/admin/disputes/{table}/")
    assert page.status_code == 200


def test_the_lists_show_the_seeded_rows(admin_client):
    assert "医疗纠纷" in admin_client.get("/admin/disputes/disputecategory/", {"q": "医疗"}).content.decode()
    assert "凯里市医疗纠纷人民调解委员会" in admin_client.get("/admin/disputes/mediationbody/").content.decode()
    assert "审中调解" in admin_client.get("/admin/disputes/tier/").content.decode()


def test_a_category_is_added_and_mapped_to_an_incident_category(admin_client):
    from cases.models import Category

    incident_category = Category.objects.get(code="2912")
    response = admin_client.post(
        "/admin/disputes/disputecategory/add/",
        {"code": "13", "name": "旅游消费纠纷", "incident_category": incident_category.pk, "sort": 13, "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert DisputeCategory.objects.get(code="13").incident_category == incident_category


def test_a_scale_is_renamed_and_switched_off(admin_client):
    scale = DisputeScale.objects.get(code="serious")
    response = admin_client.post(
        f"/admin/disputes/disputescale/{scale.pk}/change/", {"code": "serious", "name": "重大（群体）", "sort": 3}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    scale.refresh_from_db()
    assert (scale.name, scale.is_active) == ("重大（群体）", False)


def test_a_tiers_days_are_edited_its_place_on_the_ladder_is_not(admin_client):
    trial = tier(32)
    other_line = MediationLine.objects.get(kind="people")
    response = admin_client.post(
        f"/admin/disputes/tier/{trial.pk}/change/",
        {"name": "审中调解", "days": 20, "line": other_line.pk, "level": 1, "rank": 11},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    trial.refresh_from_db()
    assert (trial.days, trial.line.kind, trial.level, trial.rank) == (20, "judicial", 2, 32)


def test_a_new_tier_days_limit_is_the_default_deadline_of_the_next_triage(admin_client, people):
    admin_client.post(f"/admin/disputes/tier/{tier(12).pk}/change/", {"name": "村（社区）调解委员会", "days": 20})
    from tests.disputes.factories import triage

    dispute = triage(people.centre, register(people.worker, people.tree.grid_a), people.mediator)
    assert (dispute.due_on - dispute.tier_started_on).days == 20


def test_a_lines_name_changes_its_kind_and_order_do_not(admin_client):
    line = MediationLine.objects.get(kind="people")
    response = admin_client.post(
        f"/admin/disputes/mediationline/{line.pk}/change/", {"name": "人民调解防线", "kind": "judicial", "order": 3}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    line.refresh_from_db()
    assert (line.name, line.kind, line.order) == ("人民调解防线", "people", 1)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/admin/disputes/tier/add/", 403),
        ("/admin/disputes/mediationline/add/", 403),
        ("/admin/disputes/disputecategory/{category}/delete/", 403),
        ("/admin/disputes/mediationbody/{body}/delete/", 403),
        ("/admin/disputes/court/{court}/delete/", 403),
        ("/admin/disputes/tier/{tier}/delete/", 403),
    ],
)
def test_tables_that_disputes_point_at_are_not_deleted_and_the_ladder_is_not_extended(admin_client, url, status):
    url = url.format(
        category=DisputeCategory.objects.first().pk,
        body=MediationBody.objects.first().pk,
        court=Court.objects.first().pk,
        tier=Tier.objects.first().pk,
    )
    assert admin_client.get(url).status_code == status


def body_form(body, members):
    return {
        "name": body.name,
        "kind": body.kind,
        "line": body.line_id,
        "tier": body.tier_id or "",
        "node": "",
        "categories": list(body.categories.values_list("pk", flat=True)),
        "members": [member.pk for member in members],
        "is_active": "on",
    }


def test_body_members_set_in_the_admin_are_audited_as_grants_and_withdrawals(admin_client):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    body = MediationBody.objects.get(name="凯里市医疗纠纷人民调解委员会")
    body.members.add(alice, carol)
    response = admin_client.post(f"/admin/disputes/mediationbody/{body.pk}/change/", body_form(body, [bob, carol]))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(body.members.values_list("username", flat=True)) == {"bob", "carol"}
    rows = AuditEntry.objects.filter(object_type="disputes.mediationbody", object_id=str(body.pk))
    assert sorted((row.action, row.changes["member"]) for row in rows) == [
        (AuditAction.GRANT, "bob"),
        (AuditAction.REVOKE, "alice"),
    ]
    assert {row.actor_username for row in rows} == {"sysadmin"}
    assert {row.changes["body"] for row in rows} == {body.name}


def test_a_new_body_with_members_audits_each_as_a_grant(admin_client, tree):
    alice = make_user("alice")
    line = MediationLine.objects.get(kind="people")
    response = admin_client.post(
        "/admin/disputes/mediationbody/add/",
        {
            "name": "北京路社区人民调解委员会",
            "kind": "committee",
            "line": line.pk,
            "tier": tier(12).pk,
            "node": tree.zone_a.pk,
            "members": [alice.pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    body = MediationBody.objects.get(name="北京路社区人民调解委员会")
    assert body.node == tree.zone_a
    rows = AuditEntry.objects.filter(object_type="disputes.mediationbody", object_id=str(body.pk))
    assert [(row.action, row.changes["member"]) for row in rows] == [(AuditAction.GRANT, "alice")]


def test_court_accounts_set_in_the_admin_are_audited(admin_client):
    judge, clerk = make_user("judge_wang"), make_user("clerk_li")
    court = Court.objects.get(code="qiandongnan")
    court.members.add(clerk)
    response = admin_client.post(
        f"/admin/disputes/court/{court.pk}/change/",
        {"code": court.code, "name": court.name, "node": "", "members": [judge.pk], "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rows = AuditEntry.objects.filter(object_type="disputes.court", object_id=str(court.pk))
    assert sorted((row.action, row.changes["member"], row.changes["court"]) for row in rows) == [
        (AuditAction.GRANT, "judge_wang", "qiandongnan"),
        (AuditAction.REVOKE, "clerk_li", "qiandongnan"),
    ]


def test_saving_a_body_without_changing_members_audits_nothing(admin_client):
    body = MediationBody.objects.get(name="凯里市医疗纠纷人民调解委员会")
    alice = make_user("alice")
    body.members.add(alice)
    form = {**body_form(body, [alice]), "name": "凯里市医疗纠纷人民调解委员会（医调委）"}
    assert admin_client.post(f"/admin/disputes/mediationbody/{body.pk}/change/", form).status_code == 302
    assert not AuditEntry.objects.filter(object_type="disputes.mediationbody").exists()


def test_other_roles_do_not_edit_the_tables(client, tree):
    client.force_login(make_user("centre", roles.CENTRE_STAFF, [tree.t1]))
    assert client.get("/admin/disputes/tier/").status_code in (302, 403)


# --- disputes are read, never written, in the admin --------------------------------------


def test_the_system_admin_keeps_the_tables_but_does_not_read_disputes(admin_client, people):
    register(people.worker, people.tree.grid_a)
    assert admin_client.get("/admin/disputes/dispute/").status_code == 403


def test_a_dispute_is_found_by_its_number_and_shown_read_only(root_client, people):
    first = register(people.worker, people.tree.grid_a, name="第一起排水沟纠纷")
    register(people.worker, people.tree.grid_a, name="第二起噪音纠纷")
    listing = root_client.get("/admin/disputes/dispute/", {"q": first.number.lower()}).content.decode()
    assert "第一起排水沟纠纷" in listing and "第二起噪音纠纷" not in listing
    assert "第二起噪音纠纷" in root_client.get("/admin/disputes/dispute/").content.decode()
    page = root_client.get(f"/admin/disputes/dispute/{first.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and "张三" in html and "登记" in html


def test_a_dispute_is_not_added_changed_or_deleted_in_the_admin(root_client, people):
    dispute = register(people.worker, people.tree.grid_a)
    assert root_client.get("/admin/disputes/dispute/add/").status_code == 403
    assert root_client.get(f"/admin/disputes/dispute/{dispute.pk}/delete/").status_code == 403
    response = root_client.post(f"/admin/disputes/dispute/{dispute.pk}/change/", {"name": "改名", "status": "resolved"})
    assert response.status_code == 403
    dispute.refresh_from_db()
    assert (dispute.name, dispute.status) == ("张李两家排水沟纠纷", "registered")

"""The system admin watches the roll-up's runs and may start a full rebuild ("立即重算")
whose progress a page polls; nobody else may. Runs and assessments are read-only in the
admin."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard import selectors
from dashboard.models import RollupRun, Statistic, VillageAssessment
from dashboard.periods import Period
from dashboard.services import assessment_save, run_consistency_check
from kaili.models import AuditAction, AuditEntry
from tests.dashboard import factories as f
from tests.factories import force_verified, make_user

pytestmark = pytest.mark.django_db

RUNS = "/admin/dashboard/rolluprun/"
REBUILD = "/dashboard/rollup/rebuild/"


@pytest.fixture
def admin_client(client, viewers):
    force_verified(client, viewers.admin)
    return client


def run_page(run) -> str:
    return f"/dashboard/rollup/{run.pk}/"


def test_the_changelist_lists_the_runs_with_a_rebuild_button(admin_client, figures):
    check = run_consistency_check(sample=20, seed=1)
    page = admin_client.get(RUNS)
    assert page.status_code == 200
    html = page.content.decode()
    assert "一致性核查" in html and f'href="{RUNS}{check.pk}/change/' in html
    assert "立即重算" in html and f'action="{REBUILD}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert admin_client.get(RUNS, {"status__exact": "succeeded", "kind__exact": "check"}).status_code == 200


def test_a_run_is_shown_with_its_detail_and_cannot_be_changed(admin_client, figures):
    check = run_consistency_check(sample=20, seed=1)
    page = admin_client.get(f"{RUNS}{check.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "&quot;sample&quot;: 20" in html  # the detail JSON
    assert 'name="_save"' not in html
    assert admin_client.get(f"{RUNS}add/").status_code == 403
    assert admin_client.post(f"{RUNS}{check.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RollupRun.objects.filter(pk=check.pk).exists()


@pytest.mark.django_db(transaction=True)  # the roll-up runs again: its temp tables live until commit
def test_rebuild_now_runs_a_full_rebuild_and_its_page_reports_success(admin_client, figures, viewers):
    f.incident(figures.grid_a, f.THEFT, f.at(2016, 12))  # not yet in the statistics
    response = admin_client.post(REBUILD)

    run = RollupRun.objects.get(kind=RollupRun.Kind.FULL)
    assert response.status_code == 302
    assert response["Location"] == run_page(run)
    assert run.status == RollupRun.Status.SUCCEEDED  # the worker ran it (eager in tests)
    assert run.requested_by == viewers.admin
    assert run.rows > 0 and run.finished_at is not None
    assert selectors.node_figures(figures.city, Period.parse("2016"), ["incidents.stat.theft"]) == {"incidents.stat.theft": 3}
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="dashboard.rolluprun", actor=viewers.admin).exists()

    progress = admin_client.get(run_page(run), {"format": "json"}).json()
    assert progress["status"] == "succeeded"
    assert progress["finished"] is True and progress["percent"] == 100
    assert progress["rows"] == run.rows
    page = admin_client.get(run_page(run)).content.decode()
    assert 'data-status="succeeded"' in page
    assert "data-rollup-progress" not in page  # nothing left to poll


def test_a_running_run_shows_its_progress_bar_and_polls(admin_client, figures, viewers):
    from kaili.progress import CachedProgress

    run = RollupRun.objects.create(kind=RollupRun.Kind.FULL, requested_by=viewers.admin)
    CachedProgress(run.progress_key)("写入", 30, 120)
    progress = admin_client.get(run_page(run), {"format": "json"}).json()
    assert progress == {
        **progress,
        "status": "running",
        "finished": False,
        "phase": "写入",
        "done": 30,
        "total": 120,
        "percent": 25,
    }
    page = admin_client.get(run_page(run)).content.decode()
    assert f'data-rollup-progress="{run_page(run)}?format=json"' in page
    assert "js/rollup-progress.js" in page


def test_a_second_rebuild_is_refused_while_one_runs(admin_client, figures, viewers):
    running = RollupRun.objects.create(kind=RollupRun.Kind.FULL, requested_by=viewers.admin)
    response = admin_client.post(REBUILD, follow=True)
    assert response.redirect_chain[-1][0] == run_page(running)
    assert "已有一次全量重算正在进行" in response.content.decode()
    assert RollupRun.objects.filter(kind=RollupRun.Kind.FULL).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_stuck_for_over_an_hour_does_not_block_a_new_one(admin_client, figures, viewers):
    stuck = RollupRun.objects.create(kind=RollupRun.Kind.FULL)
    RollupRun.objects.filter(pk=stuck.pk).update(started_at=timezone.now() - datetime.timedelta(hours=2))
    admin_client.post(REBUILD)
    newest = RollupRun.objects.filter(kind=RollupRun.Kind.FULL).exclude(pk=stuck.pk).get()
    assert newest.status == RollupRun.Status.SUCCEEDED


def test_rebuild_is_a_post_with_a_csrf_token(figures, viewers):
    guarded = Client(enforce_csrf_checks=True)
    force_verified(guarded, viewers.admin)
    assert guarded.get(REBUILD).status_code == 405
    assert guarded.post(REBUILD).status_code == 403
    assert not RollupRun.objects.exists()


def test_others_may_neither_rebuild_nor_watch_the_runs(client, figures, viewers):
    run = run_consistency_check(sample=5, seed=1)
    for user in (viewers.city_leader, viewers.centre):
        client.logout()
        if user.totpdevice_set.exists():
            force_verified(client, user)
        else:
            client.force_login(user)
        assert client.post(REBUILD).status_code == 403
        assert client.get(run_page(run)).status_code == 403
        assert client.get(run_page(run), {"format": "json"}).status_code == 403
        assert client.get(RUNS, follow=True).status_code == 403  # the admin site does not admit them
    assert not RollupRun.objects.filter(kind=RollupRun.Kind.FULL).exists()
    assert Statistic.objects.exists()  # untouched


def test_assessments_are_listed_read_only_with_a_link_to_their_page(client, figures, viewers):
    assessment_save(actor=viewers.centre, zone=figures.zone_a, year=2016, has_venue=True)
    root = make_user("root", totp=True, is_superuser=True, is_staff=True)
    force_verified(client, root)
    page = client.get("/admin/dashboard/villageassessment/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "北京路社区" in html
    assert reverse("dashboard:assessment", args=[figures.zone_a.code, 2016]) in html
    assessment = VillageAssessment.objects.get()
    assert client.get("/admin/dashboard/villageassessment/add/").status_code == 403
    change = client.post(f"/admin/dashboard/villageassessment/{assessment.pk}/change/", {"has_venue": "false"})
    assert change.status_code == 403
    assessment.refresh_from_db()
    assert assessment.has_venue is True

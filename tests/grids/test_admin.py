"""The grid tree in the Django admin: who gets in, what they reach, and that every change
goes through the services (history written, tree sound, refusals explained, nothing half-done)."""

import pytest
from django.contrib.messages import get_messages

from grids.integrity import tree_faults
from grids.models import Grid, GridEvent, GridKind
from kaili import roles
from tests.factories import force_verified

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/grids/grid/"


def change_url(grid: Grid) -> str:
    return f"{CHANGELIST}{grid.pk}/change/"


def said(response) -> str:
    """Every message the request left, as one string."""
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def listed_codes(response) -> set[str]:
    return {grid.code for grid in response.context["cl"].result_list}


def fresh(grid: Grid) -> Grid:
    return Grid.objects.get(pk=grid.pk)


def run_action(client, action: str, grids, **form):
    """Post an admin action as the browser does: first the confirmation page, then "apply"."""
    selected = {"action": action, "_selected_action": [g.pk for g in grids]}
    confirmation = client.post(CHANGELIST, {**selected, "index": 0})
    applied = client.post(CHANGELIST, {**selected, "apply": "1", **form})
    return confirmation, applied


@pytest.fixture
def sysadmin(tree, user_factory):
    return user_factory("sysadmin", roles.SYSTEM_ADMIN, [tree.city], totp=True)


@pytest.fixture
def town_admin(tree, user_factory):
    """A system admin granted only on town T1 (大十字街道)."""
    return user_factory("townadmin", roles.SYSTEM_ADMIN, [tree.t1], totp=True)


@pytest.fixture
def as_sysadmin(client, sysadmin):
    force_verified(client, sysadmin)
    return client


class TestWhoGetsIn:
    def test_system_admin_sees_the_tree_under_a_chinese_header(self, as_sysadmin, tree):
        index = as_sysadmin.get("/admin/")
        assert index.status_code == 200
        assert "凯里市网格化治理平台 管理后台" in index.content.decode()
        listing = as_sysadmin.get(CHANGELIST)
        assert listing.status_code == 200
        assert listed_codes(listing) == set(Grid.objects.values_list("code", flat=True))
        assert "mptt/draggable-admin.js" in listing.content.decode()

    def test_search_by_code_prefix_and_by_name(self, as_sysadmin, tree):
        by_code = as_sysadmin.get(CHANGELIST, {"q": tree.t2.code})
        assert listed_codes(by_code) == {tree.t2.code, tree.zone_c.code, tree.grid_c.code}
        # A prefix, not a substring: a code's tail matches nothing.
        assert listed_codes(as_sysadmin.get(CHANGELIST, {"q": "101200"})) == set()
        by_name = as_sysadmin.get(CHANGELIST, {"q": "北京路"})
        assert listed_codes(by_name) == {tree.zone_a.code, tree.grid_a.code, tree.unit_a.code}

    def test_filters_by_kind_and_status(self, as_sysadmin, tree):
        zones = as_sysadmin.get(CHANGELIST, {"kind__exact": GridKind.ZONE, "status": "open"})
        assert listed_codes(zones) == {tree.zone_a.code, tree.zone_b.code, tree.zone_c.code}
        assert listed_codes(as_sysadmin.get(CHANGELIST, {"status": "retired"})) == set()

    def test_strangers_are_sent_to_the_platform_sign_in(self, client):
        response = client.get("/admin/", follow=True)
        assert response.redirect_chain[0] == ("/admin/login/?next=/admin/", 302)
        assert response.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"

    def test_a_grid_worker_or_plain_staff_is_refused(self, client, tree, user_factory):
        client.force_login(user_factory("worker", roles.GRID_WORKER, [tree.zone_a]))
        response = client.get("/admin/")
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
        assert client.get(response["Location"]).status_code == 403
        assert client.get(CHANGELIST).status_code == 302
        client.force_login(user_factory("staff", is_staff=True))
        assert client.get("/admin/").status_code == 302
        assert client.get("/admin/login/?next=/admin/").status_code == 403

    def test_system_admin_must_pass_the_second_factor_first(self, client, sysadmin):
        client.force_login(sysadmin)
        response = client.get("/admin/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/")

    def test_superuser_is_admitted(self, client, tree, user_factory):
        root = user_factory("root", is_superuser=True, totp=True)
        force_verified(client, root)
        assert client.get(CHANGELIST).status_code == 200

    def test_admin_password_change_is_the_platform_page(self, as_sysadmin):
        response = as_sysadmin.get("/admin/password_change/")
        assert response.status_code == 302 and response["Location"] == "/accounts/password/"


class TestScope:
    def test_town_admin_lists_only_their_town(self, client, tree, town_admin):
        force_verified(client, town_admin)
        codes = listed_codes(client.get(CHANGELIST))
        assert tree.zone_a.code in codes and tree.t1.code in codes
        assert not codes & {tree.city.code, tree.t2.code, tree.zone_c.code, tree.grid_c.code}

    def test_another_towns_node_cannot_be_opened_or_changed(self, client, tree, town_admin):
        force_verified(client, town_admin)
        assert client.get(change_url(tree.zone_c)).status_code == 302  # "does not exist" → admin index
        client.post(change_url(tree.zone_c), {"name": "改名", "area_type": "rural"})
        assert fresh(tree.zone_c).name == "南花村"
        assert client.post(f"{CHANGELIST}{tree.zone_c.pk}/delete/", {"post": "yes"}).status_code == 302
        assert Grid.objects.filter(pk=tree.zone_c.pk).exists()

    def test_move_action_refuses_a_target_outside_the_scope(self, client, tree, town_admin):
        force_verified(client, town_admin)
        _confirmation, applied = run_action(client, "move_to", [tree.zone_b], parent=tree.t2.code)
        assert applied.status_code == 200  # the confirmation page again, with the reason
        assert f"网格 {tree.t2.code} 不存在或不在您的管辖范围内" in applied.content.decode()
        assert fresh(tree.zone_b).parent_id == tree.t1.pk
        assert not GridEvent.objects.filter(kind=GridEvent.Kind.MOVED).exists()

    def test_actions_ignore_nodes_outside_the_scope(self, client, tree, town_admin):
        force_verified(client, town_admin)
        # zone_c is not in the town admin's change list, so the action never sees it.
        run_action(client, "retire", [tree.zone_c, tree.unit_a], reason="试图撤销")
        assert fresh(tree.zone_c).retired_at is None and fresh(tree.unit_a).is_retired

    def test_town_admin_cannot_drag_across_towns(self, client, tree, town_admin):
        force_verified(client, town_admin)
        outside = client.post(
            CHANGELIST, {"cmd": "move_node", "cut_item": tree.zone_c.pk, "pasted_on": tree.t1.pk, "position": "last-child"}
        )
        assert outside.status_code == 404
        onto_other_town = client.post(
            CHANGELIST, {"cmd": "move_node", "cut_item": tree.zone_b.pk, "pasted_on": tree.t2.pk, "position": "last-child"}
        )
        assert onto_other_town.status_code == 404
        assert (fresh(tree.zone_c).parent_id, fresh(tree.zone_b).parent_id) == (tree.t2.pk, tree.t1.pk)


class TestActions:
    def test_move_shows_a_confirmation_then_moves_through_the_service(self, as_sysadmin, tree):
        confirmation, applied = run_action(as_sysadmin, "move_to", [tree.zone_b], parent=tree.t2.code)
        page = confirmation.content.decode()
        assert confirmation.status_code == 200 and "确认迁移" in page and tree.zone_b.code in page
        assert applied.status_code == 302
        assert "已迁移 1 个网格" in said(applied)
        zone_b = fresh(tree.zone_b)
        assert zone_b.parent_id == tree.t2.pk and zone_b.code == "522601001002"
        event = zone_b.events.get(kind=GridEvent.Kind.MOVED)
        assert event.detail["to"] == tree.t2.code and event.actor.username == "sysadmin"
        assert tree_faults() == []

    def test_nothing_changes_on_the_confirmation_page(self, as_sysadmin, tree):
        as_sysadmin.post(CHANGELIST, {"action": "move_to", "_selected_action": [tree.zone_b.pk], "index": 0})
        assert fresh(tree.zone_b).parent_id == tree.t1.pk

    def test_merge_retires_the_source_and_moves_its_children(self, as_sysadmin, tree):
        confirmation, applied = run_action(as_sysadmin, "merge_into", [tree.zone_b], into=tree.zone_a.code)
        assert "确认合并" in confirmation.content.decode()
        assert "已将 1 个网格并入" in said(applied)
        zone_b = fresh(tree.zone_b)
        assert zone_b.is_retired and zone_b.merged_into_id == tree.zone_a.pk and zone_b.parent_id == tree.zone_a.pk
        assert fresh(tree.grid_b).parent_id == tree.zone_a.pk
        assert GridEvent.objects.filter(grid=tree.zone_a, kind=GridEvent.Kind.MERGED).exists()
        assert tree_faults() == []

    def test_a_refused_merge_says_why_and_changes_nothing(self, as_sysadmin, tree):
        events_before = GridEvent.objects.count()
        _confirmation, applied = run_action(as_sysadmin, "merge_into", [tree.grid_b], into=tree.zone_a.code)
        assert "只能并入同一层级的网格" in said(applied)
        grid_b = fresh(tree.grid_b)
        assert grid_b.parent_id == tree.zone_b.pk and not grid_b.is_retired and grid_b.merged_into_id is None
        assert GridEvent.objects.count() == events_before
        assert tree_faults() == []

    def test_retire_goes_deepest_first_and_refuses_a_node_with_open_children(self, as_sysadmin, tree):
        confirmation, applied = run_action(as_sysadmin, "retire", [tree.grid_b, tree.unit_b], reason="并村调整")
        assert "确认撤销" in confirmation.content.decode()
        assert "已撤销 2 个网格" in said(applied)
        assert fresh(tree.grid_b).is_retired and fresh(tree.unit_b).is_retired
        assert tree.unit_b.events.get(kind=GridEvent.Kind.RETIRED).detail == {"reason": "并村调整"}
        _confirmation, refused = run_action(as_sysadmin, "retire", [tree.zone_a], reason="试试")
        assert "还有在用的下级" in said(refused) and not fresh(tree.zone_a).is_retired

    def test_retire_needs_a_reason(self, as_sysadmin, tree):
        _confirmation, applied = run_action(as_sysadmin, "retire", [tree.unit_a], reason="")
        assert applied.status_code == 200 and not fresh(tree.unit_a).is_retired

    def test_split_creates_a_sibling_and_moves_the_chosen_children(self, as_sysadmin, tree):
        confirmation, applied = run_action(as_sysadmin, "split", [tree.zone_a], name="北京路二社区", children=[tree.grid_a.code])
        assert tree.grid_a.code in confirmation.content.decode()  # offered as a child to move
        assert "已从" in said(applied)
        sibling = Grid.objects.get(name="北京路二社区")
        assert sibling.parent_id == tree.t1.pk and sibling.kind == GridKind.ZONE and sibling.code == "522601001003"
        assert fresh(tree.grid_a).parent_id == sibling.pk
        assert tree.zone_a.events.filter(kind=GridEvent.Kind.SPLIT).exists()
        assert tree_faults() == []

    def test_split_takes_one_node_at_a_time(self, as_sysadmin, tree):
        response = as_sysadmin.post(
            CHANGELIST, {"action": "split", "_selected_action": [tree.zone_a.pk, tree.zone_b.pk], "index": 0}
        )
        assert "拆分一次只能选择一个网格" in said(response)

    def test_bulk_delete_is_not_offered(self, as_sysadmin, tree):
        actions = dict(as_sysadmin.get(CHANGELIST).context["action_form"].fields["action"].choices)
        assert "delete_selected" not in actions
        assert {"move_to", "merge_into", "split", "retire"} <= set(actions)


class TestDragging:
    def drag(self, client, cut: Grid, onto: Grid, position: str = "last-child"):
        return client.post(CHANGELIST, {"cmd": "move_node", "cut_item": cut.pk, "pasted_on": onto.pk, "position": position})

    def test_dropping_a_node_on_another_moves_it_under_it(self, as_sysadmin, tree):
        response = self.drag(as_sysadmin, tree.zone_b, tree.t2)
        assert response.status_code == 200 and response.content.startswith(b"OK")
        assert "已迁移到" in said(response)
        assert fresh(tree.zone_b).parent_id == tree.t2.pk
        assert tree.zone_b.events.filter(kind=GridEvent.Kind.MOVED).exists()
        assert tree_faults() == []

    def test_dropping_beside_a_node_moves_under_its_parent(self, as_sysadmin, tree):
        assert self.drag(as_sysadmin, tree.grid_a, tree.grid_b, "left").status_code == 200
        assert fresh(tree.grid_a).parent_id == tree.zone_b.pk
        assert tree_faults() == []

    def test_a_wrong_kind_drop_is_refused_and_changes_nothing(self, as_sysadmin, tree):
        response = self.drag(as_sysadmin, tree.zone_a, tree.city)
        assert response.status_code == 400 and response.content.startswith(b"FAIL")
        assert "只能位于镇/街道之下" in said(response)
        assert fresh(tree.zone_a).parent_id == tree.t1.pk
        assert not GridEvent.objects.filter(kind=GridEvent.Kind.MOVED).exists()
        assert tree_faults() == []

    def test_reordering_siblings_changes_nothing(self, as_sysadmin, tree):
        response = self.drag(as_sysadmin, tree.zone_b, tree.zone_a, "left")
        assert response.status_code == 200 and "按编码排列" in said(response)
        assert not GridEvent.objects.filter(kind=GridEvent.Kind.MOVED).exists()


class TestForms:
    def test_editing_a_node_writes_a_renamed_event(self, as_sysadmin, tree):
        response = as_sysadmin.post(change_url(tree.zone_a), {"name": "北京路街区", "area_type": "urban"})
        assert response.status_code == 302
        assert fresh(tree.zone_a).name == "北京路街区"
        event = tree.zone_a.events.get(kind=GridEvent.Kind.RENAMED)
        assert event.detail == {"from": "北京路社区", "to": "北京路街区"}
        page = as_sysadmin.get(change_url(tree.zone_a)).content.decode()
        assert "变更记录" in page and "由“北京路社区”改为“北京路街区”" in page

    def test_a_service_refusal_shows_on_the_form_and_nothing_changes(self, as_sysadmin, tree):
        events_before = GridEvent.objects.count()
        response = as_sysadmin.post(change_url(tree.zone_a), {"name": "北京路街区", "area_type": ""})
        assert response.status_code == 200
        assert "一级、二级网格须注明城镇或农村" in response.content.decode()
        assert fresh(tree.zone_a).name == "北京路社区" and GridEvent.objects.count() == events_before

    def test_code_kind_and_place_are_not_editable(self, as_sysadmin, tree):
        as_sysadmin.post(
            change_url(tree.unit_a),
            {"name": "北京路1-1", "households": "15", "code": "52260100100100199", "kind": "grid", "parent": tree.grid_b.pk},
        )
        unit = fresh(tree.unit_a)
        assert (unit.code, unit.kind, unit.parent_id, unit.households) == (tree.unit_a.code, "unit", tree.grid_a.pk, 15)
        assert unit.events.filter(kind=GridEvent.Kind.UPDATED).exists()

    def test_adding_a_node_allocates_the_next_code(self, as_sysadmin, tree):
        response = as_sysadmin.post(
            f"{CHANGELIST}add/", {"parent_code": tree.zone_a.code, "name": "北京路第2网格", "area_type": "urban"}
        )
        assert response.status_code == 302
        grid = Grid.objects.get(name="北京路第2网格")
        assert (grid.code, grid.kind, grid.parent_id) == ("522601001001002", GridKind.GRID, tree.zone_a.pk)
        assert grid.events.filter(kind=GridEvent.Kind.CREATED).exists()
        assert tree_faults() == []

    def test_adding_under_a_node_outside_the_scope_is_refused(self, client, tree, town_admin):
        force_verified(client, town_admin)
        response = client.post(f"{CHANGELIST}add/", {"parent_code": tree.zone_c.code, "name": "越界网格", "area_type": "rural"})
        assert response.status_code == 200
        assert "不存在或不在您的管辖范围内" in response.content.decode()
        assert not Grid.objects.filter(name="越界网格").exists()

    def test_deleting_a_node_with_children_is_refused_with_the_reason(self, as_sysadmin, tree):
        response = as_sysadmin.post(f"{CHANGELIST}{tree.zone_a.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302 and response["Location"] == change_url(tree.zone_a)
        assert "有下级网格，不能删除" in said(response)
        assert Grid.objects.filter(pk=tree.zone_a.pk).exists()

    def test_deleting_a_leaf_made_by_mistake(self, as_sysadmin, tree):
        response = as_sysadmin.post(f"{CHANGELIST}{tree.unit_a.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Grid.objects.filter(pk=tree.unit_a.pk).exists()
        assert tree_faults() == []

    def test_a_retired_node_is_read_only(self, as_sysadmin, tree):
        run_action(as_sysadmin, "retire", [tree.unit_b], reason="撤并")
        assert as_sysadmin.get(change_url(tree.unit_b)).status_code == 200
        assert as_sysadmin.post(change_url(tree.unit_b), {"name": "新名"}).status_code == 403


def test_changelist_query_count(as_sysadmin, tree, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        assert as_sysadmin.get(CHANGELIST).status_code == 200

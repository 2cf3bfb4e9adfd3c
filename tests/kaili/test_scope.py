"""The grid-scope function: who reaches which nodes, for which action."""

import pytest

from grids.models import Grid
from kaili import roles
from kaili.scope import EVERYTHING, reachable_nodes, reachable_ranges, user_can
from kaili.services import user_revoke_role

pytestmark = pytest.mark.django_db


def codes(queryset):
    return set(queryset.values_list("code", flat=True))


def test_grid_worker_reaches_only_the_subtree_of_their_grant(tree, user_factory):
    worker = user_factory("worker_a", roles.GRID_WORKER, [tree.zone_a])
    assert codes(reachable_nodes(worker)) == {tree.zone_a.code, tree.grid_a.code, tree.unit_a.code}


def test_town_leader_reaches_every_zone_below_the_town_and_nothing_beside_it(tree, user_factory):
    leader = user_factory("leader_t1", roles.LEADER, [tree.t1])
    reached = codes(reachable_nodes(leader))
    assert {tree.zone_a.code, tree.zone_b.code, tree.unit_b.code} <= reached
    assert tree.zone_c.code not in reached and tree.city.code not in reached


def test_city_leader_reaches_the_whole_tree(tree, user_factory):
    leader = user_factory("leader_city", roles.LEADER, [tree.city])
    assert codes(reachable_nodes(leader)) == set(Grid.objects.values_list("code", flat=True))


def test_grants_add_up_and_nested_grants_collapse(tree, user_factory):
    worker = user_factory("worker_ac", roles.GRID_WORKER, [tree.zone_a, tree.grid_a, tree.zone_c])
    ranges = reachable_ranges(worker, "grids.view_grid")
    assert len(ranges) == 2  # grid_a lies inside zone_a
    assert codes(reachable_nodes(worker)) == {
        tree.zone_a.code,
        tree.grid_a.code,
        tree.unit_a.code,
        tree.zone_c.code,
        tree.grid_c.code,
    }


def test_a_role_reaches_only_where_that_role_is_granted(tree, user_factory):
    # A grid worker in zone A who is also a system admin of zone C may change only in zone C.
    user = user_factory("two_hats", roles.GRID_WORKER, [tree.zone_a])
    from kaili.services import user_grant_role

    user_grant_role(actor=None, user=user, role=roles.SYSTEM_ADMIN, codes=[tree.zone_c.code])
    assert codes(Grid.objects.restrict(user, "change")) == {tree.zone_c.code, tree.grid_c.code}
    assert tree.zone_a.code in codes(Grid.objects.restrict(user, "view"))


def test_no_role_no_grant_reaches_nothing(tree, user_factory):
    nobody = user_factory("nobody")
    assert not reachable_nodes(nobody).exists()
    assert not user_can(nobody, Grid, "view")


def test_a_role_without_the_model_permission_reaches_nothing_for_that_action(tree, user_factory):
    worker = user_factory("worker_ro", roles.GRID_WORKER, [tree.zone_a])
    assert not Grid.objects.restrict(worker, "change").exists()
    assert not Grid.objects.restrict(worker, "export").exists()


def test_deactivated_and_revoked_users_reach_nothing(tree, user_factory):
    worker = user_factory("worker_gone", roles.GRID_WORKER, [tree.zone_a])
    user_revoke_role(actor=None, user=worker, role=roles.GRID_WORKER)
    assert not reachable_nodes(worker).exists()
    other = user_factory("worker_off", roles.GRID_WORKER, [tree.zone_a])
    other.is_active = False
    assert not reachable_nodes(other).exists()


def test_superuser_reaches_everything(tree, user_factory):
    root = user_factory("root", is_superuser=True)
    assert reachable_ranges(root, "grids.view_grid") is EVERYTHING


def test_scope_is_computed_once_per_user_object(tree, user_factory, django_assert_num_queries):
    leader = user_factory("leader_q", roles.LEADER, [tree.t1])
    with django_assert_num_queries(3):  # role permissions, grants, then the node query
        list(reachable_nodes(leader))
    with django_assert_num_queries(1):  # cached on the user for the rest of the request
        list(reachable_nodes(leader))
        user_can(leader, Grid, "export")


def test_scope_query_uses_the_tree_index(tree, user_factory):
    from django.db import connection

    leader = user_factory("leader_plan", roles.LEADER, [tree.t1])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test-sized table: ask what the planner can use
    plan = reachable_nodes(leader).explain()
    assert "Index Scan" in plan and "Seq Scan" not in plan, plan

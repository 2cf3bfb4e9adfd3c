"""Moving, merging, splitting, retiring and deleting nodes: history kept, refusals change nothing."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection

from grids.integrity import tree_faults
from grids.models import AreaType, Grid, GridEvent, GridKind
from grids.services import (
    SplitPart,
    grid_create,
    grid_delete,
    grid_merge,
    grid_move,
    grid_next_code,
    grid_retire,
    grid_split,
    grid_update,
)
from kaili import roles
from kaili.models import AuditEntry
from kaili.scope import reachable_nodes
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(
            Grid.objects.order_by("id").values_list("id", "parent_id", "lft", "rght", "tree_id", "retired_at", "merged_into_id")
        ),
        GridEvent.objects.count(),
        AuditEntry.objects.count(),
    )


def fresh(grid):
    return Grid.objects.get(pk=grid.pk)


def test_moving_a_zone_takes_its_subtree_keeps_its_code_and_says_where_it_came_from(tree):
    admin = make_user("admin")
    moved = grid_move(actor=admin, grid=tree.zone_b, new_parent=tree.t2)
    assert moved.code == "522601001002" and moved.parent == tree.t2
    assert fresh(tree.unit_b).get_ancestors().filter(pk=tree.t2.pk).exists()
    event = moved.events.get(kind=GridEvent.Kind.MOVED)
    assert event.detail["from"] == tree.t1.code and event.detail["to"] == tree.t2.code and event.actor == admin
    assert AuditEntry.objects.filter(object_id=str(moved.pk), action="update").exists()
    assert tree_faults() == []


def test_a_user_of_the_new_town_reaches_the_moved_zone_and_the_old_town_no_longer_does(tree):
    old_town_leader = make_user("t1", roles.LEADER, [tree.t1])
    new_town_leader = make_user("t2", roles.LEADER, [tree.t2])
    grid_move(actor=None, grid=tree.zone_b, new_parent=tree.t2)
    assert reachable_nodes(new_town_leader).filter(pk=tree.unit_b.pk).exists()
    assert not reachable_nodes(old_town_leader).filter(pk=tree.unit_b.pk).exists()


@pytest.mark.parametrize(
    ("node", "target", "message"),
    [
        ("zone_a", "grid_a", "自身或它的下级"),
        ("zone_a", "zone_a", "自身或它的下级"),
        ("zone_a", "zone_b", "只能位于镇/街道之下"),
        ("grid_a", "t2", "只能位于一级网格"),
        ("unit_a", "zone_c", "只能位于二级网格之下"),
        ("city", "t1", "根节点不能迁移"),
    ],
)
def test_illegal_moves_are_refused_and_change_nothing(tree, node, target, message):
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        grid_move(actor=None, grid=getattr(tree, node), new_parent=getattr(tree, target))
    assert snapshot() == before


def test_merge_moves_children_retires_the_source_and_keeps_its_grants_inside_the_target(tree):
    worker_of_b = make_user("b", roles.GRID_WORKER, [tree.zone_b])
    worker_of_a = make_user("a", roles.GRID_WORKER, [tree.zone_a])
    grid_merge(actor=None, source=tree.zone_b, target=tree.zone_a)
    source, target = fresh(tree.zone_b), fresh(tree.zone_a)
    assert source.is_retired and source.merged_into == target and source.parent == target
    assert fresh(tree.grid_b).parent == target
    # the source's own history and the target's both tell the story
    assert source.events.get(kind=GridEvent.Kind.MERGED).detail["into"] == target.code
    assert target.events.get(kind=GridEvent.Kind.MERGED).detail["absorbed"] == source.code
    assert fresh(tree.grid_b).events.get(kind=GridEvent.Kind.MOVED).detail["reason"] == "merge"
    # the target's scope now covers everything that hung on the source
    assert set(reachable_nodes(worker_of_a).values_list("code", flat=True)) >= {source.code, tree.unit_b.code}
    # the source's grant still points at the source (records and grants are never rewritten)
    assert reachable_nodes(worker_of_b).filter(pk=source.pk).exists()
    assert tree_faults() == []


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("zone_a", "zone_a", "并入它自身"),
        ("zone_a", "grid_b", "同一层级"),
        ("t1", "t2", None),  # legal: towns merge
        ("city", "city", "并入它自身"),
    ],
)
def test_merge_rules(tree, source, target, message):
    before = snapshot()
    if message is None:
        grid_merge(actor=None, source=getattr(tree, source), target=getattr(tree, target))
        assert tree_faults() == []
        return
    with pytest.raises(ValidationError, match=message):
        grid_merge(actor=None, source=getattr(tree, source), target=getattr(tree, target))
    assert snapshot() == before


def test_nothing_merges_into_or_out_of_a_retired_node(tree):
    grid_merge(actor=None, source=tree.zone_b, target=tree.zone_a)
    before = snapshot()
    for call in (
        lambda: grid_merge(actor=None, source=tree.zone_c, target=tree.zone_b),
        lambda: grid_merge(actor=None, source=tree.zone_b, target=tree.zone_c),
        lambda: grid_move(actor=None, grid=tree.zone_b, new_parent=tree.t2),
        lambda: grid_update(actor=None, grid=tree.zone_b, name="新名"),
        lambda: grid_create(actor=None, name="新网格", kind=GridKind.GRID, parent=tree.zone_b, area_type="urban"),
        lambda: grid_delete(actor=None, grid=tree.zone_b),
        lambda: grid_retire(actor=None, grid=tree.zone_b),
    ):
        with pytest.raises(ValidationError, match="已撤销"):
            call()
    assert snapshot() == before


def test_a_merged_target_moves_with_what_was_merged_into_it(tree):
    grid_merge(actor=None, source=tree.zone_b, target=tree.zone_a)
    grid_move(actor=None, grid=tree.zone_a, new_parent=tree.t2)
    assert fresh(tree.zone_b).get_ancestors().filter(pk=tree.t2.pk).exists()
    assert tree_faults() == []


def test_split_creates_siblings_with_new_codes_and_moves_the_chosen_children(tree):
    second = grid_create(actor=None, name="北京路第2网格", kind=GridKind.GRID, parent=tree.zone_a, area_type=AreaType.URBAN)
    assert second.code == "522601001001002"
    (new_zone,) = grid_split(actor=None, grid=tree.zone_a, parts=[SplitPart(name="北京路东社区", children=[second.code])])
    assert new_zone.code == "522601001003" and new_zone.parent == tree.t1 and new_zone.area_type == AreaType.URBAN
    assert fresh(second).parent == new_zone and fresh(tree.grid_a).parent == tree.zone_a
    assert fresh(tree.zone_a).events.get(kind=GridEvent.Kind.SPLIT).detail["into"] == [new_zone.code]
    assert new_zone.events.get(kind=GridEvent.Kind.CREATED).detail["split_from"] == tree.zone_a.code
    assert tree_faults() == []


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([], "至少要新建"),
        ([SplitPart(name=" ", children=[])], "缺少名称"),
        ([SplitPart(name="东", children=["522601001002001"])], "不是 522601001001 的在用下级"),
        ([SplitPart(name="东", children=["522601001001001"]), SplitPart(name="西", children=["522601001001001"])], "两个新网格"),
    ],
)
def test_bad_splits_are_refused_and_change_nothing(tree, parts, message):
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        grid_split(actor=None, grid=tree.zone_a, parts=parts)
    assert snapshot() == before


def test_retire_needs_the_children_gone_first_and_the_code_is_never_given_again(tree):
    with pytest.raises(ValidationError, match="还有在用的下级"):
        grid_retire(actor=None, grid=tree.grid_a)
    grid_retire(actor=None, grid=tree.unit_a, reason="楼栋拆除")
    assert fresh(tree.unit_a).is_retired
    assert fresh(tree.unit_a).events.get(kind=GridEvent.Kind.RETIRED).detail == {"reason": "楼栋拆除"}
    assert grid_next_code(parent=tree.grid_a) == "52260100100100102"
    with pytest.raises(ValidationError, match="已存在"):
        grid_create(actor=None, code=tree.unit_a.code, name="复用", kind=GridKind.UNIT, parent=tree.grid_a)


def test_zone_codes_follow_community_and_village_ranges(tree):
    assert grid_next_code(parent=tree.t1, area_type=AreaType.URBAN) == "522601001003"
    assert grid_next_code(parent=tree.t1, area_type=AreaType.RURAL) == "522601001200"
    assert grid_next_code(parent=tree.t2, area_type=AreaType.RURAL) == "522601101201"


def test_delete_refuses_nodes_with_children_and_removes_a_mistake(tree):
    before = snapshot()
    with pytest.raises(ValidationError, match="有下级网格"):
        grid_delete(actor=None, grid=tree.grid_a)
    assert snapshot() == before
    mistake = grid_create(actor=None, name="误建", kind=GridKind.UNIT, parent=tree.grid_a)
    grid_delete(actor=None, grid=mistake)
    assert not Grid.objects.filter(code=mistake.code).exists()
    assert AuditEntry.objects.filter(action="delete", changes__code=mistake.code).exists()


def test_grids_check_passes_on_a_good_tree_and_fails_on_a_broken_one(tree, capsys):
    call_command("grids_check")
    assert "未发现问题" in capsys.readouterr().out
    Grid.objects.filter(pk=tree.zone_b.pk).update(lft=999)
    with pytest.raises(CommandError, match="处问题"):
        call_command("grids_check")
    assert tree.zone_b.code in capsys.readouterr().err


def test_grids_check_sees_a_kind_under_the_wrong_parent(tree, capsys):
    Grid.objects.filter(pk=tree.grid_c.pk).update(parent=tree.t2)  # parent link only: columns now disagree too
    with pytest.raises(CommandError):
        call_command("grids_check")
    err = capsys.readouterr().err
    assert "层级关系不符" in err and tree.grid_c.code in err


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_from_two_threads_leave_the_tree_clean(tree):
    """Without the tree lock, two mptt moves interleave their range shifts and corrupt lft/rght."""
    extra_towns = [
        grid_create(actor=None, code=f"52260110{n}", name=f"镇{n}", kind=GridKind.TOWN, parent=tree.city) for n in (2, 3)
    ]
    zones = [
        grid_create(actor=None, name=f"村{n}", kind=GridKind.ZONE, parent=tree.t2, area_type=AreaType.RURAL) for n in range(6)
    ]
    errors = []

    def shuffle(offset: int) -> None:
        try:
            for round_ in range(6):
                zone = zones[(offset + round_) % len(zones)]
                town = extra_towns[(offset + round_) % 2] if round_ % 2 == 0 else tree.t1
                grid_move(actor=None, grid=zone, new_parent=town)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=shuffle, args=(n,)) for n in (0, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert tree_faults() == []

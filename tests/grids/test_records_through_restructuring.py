"""Records keep the node they were logged in; merges and moves carry them into the new subtree."""

import pytest
from django.core.exceptions import ValidationError

from grids.models import Grid
from grids.services import grid_delete, grid_merge, grid_move, grid_retire, require_open_node
from kaili import roles
from kaili.scope import forget_cached_scope, reachable_ranges, scope_filter
from tests.factories import make_user
from tests.records.models import FieldNote

pytestmark = pytest.mark.django_db


def seen_by(user):
    """What a list of records shows the user: the one scope function over the record's node."""
    forget_cached_scope(user)  # a new request: the grants' intervals moved with the tree
    return set(
        FieldNote.objects.filter(scope_filter(reachable_ranges(user, "grids.view_grid"), "grid")).values_list("text", flat=True)
    )


def rolled_up(node: Grid) -> set[str]:
    """A roll-up of the node's subtree, by its MPTT interval."""
    node.refresh_from_db()
    return set(
        FieldNote.objects.filter(grid__tree_id=node.tree_id, grid__lft__gte=node.lft, grid__lft__lte=node.rght).values_list(
            "text", flat=True
        )
    )


@pytest.fixture
def notes(tree):
    return {
        "a": FieldNote.objects.create(grid=tree.unit_a, text="a"),
        "b-zone": FieldNote.objects.create(grid=tree.zone_b, text="b-zone"),
        "b-unit": FieldNote.objects.create(grid=tree.unit_b, text="b-unit"),
    }


def test_after_a_merge_the_target_lists_and_rolls_up_the_sources_records(tree, notes):
    worker_a = make_user("a", roles.GRID_WORKER, [tree.zone_a])
    worker_b = make_user("b", roles.GRID_WORKER, [tree.zone_b])
    assert seen_by(worker_a) == rolled_up(tree.zone_a) == {"a"}
    grid_merge(actor=None, source=tree.zone_b, target=tree.zone_a)
    assert seen_by(worker_a) == rolled_up(tree.zone_a) == {"a", "b-zone", "b-unit"}
    assert seen_by(worker_b) == {"b-zone"}  # the old grant still opens what was logged in the old zone itself
    # nothing was rewritten: each record still names the node it was logged in
    assert {n.text: n.grid_id for n in FieldNote.objects.all()} == {k: v.grid_id for k, v in notes.items()}


def test_a_move_carries_records_to_the_new_town_without_touching_them(tree, notes):
    grid_move(actor=None, grid=tree.zone_b, new_parent=tree.t2)
    assert rolled_up(tree.t2) == {"b-zone", "b-unit"} and rolled_up(tree.t1) == {"a"}
    assert FieldNote.objects.get(text="b-unit").grid_id == tree.unit_b.pk


def test_a_node_with_records_is_retired_not_deleted_and_takes_no_new_records(tree, notes):
    with pytest.raises(ValidationError, match="已有业务记录（巡查记录 1 条）"):
        grid_delete(actor=None, grid=tree.unit_a)
    grid_retire(actor=None, grid=tree.unit_a, reason="楼栋拆除")
    unit = Grid.objects.get(pk=tree.unit_a.pk)
    with pytest.raises(ValidationError, match="已撤销"):
        require_open_node(unit)
    assert FieldNote.objects.filter(grid=unit).count() == 1 and rolled_up(tree.zone_a) == {"a"}

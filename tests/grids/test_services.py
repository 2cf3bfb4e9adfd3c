"""Tree writes: validated with clear messages, serialised under the tree lock, audited."""

import itertools
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from grids.models import AreaType, Grid, GridEvent, GridKind
from grids.services import grid_create, grid_rename
from kaili.models import AuditEntry

pytestmark = pytest.mark.django_db


def messages(error: pytest.ExceptionInfo) -> str:
    return " ".join(" ".join(v) for v in error.value.message_dict.values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": "522601001003", "kind": GridKind.ZONE, "parent": "city", "area_type": AreaType.URBAN}, "只能位于镇/街道之下"),
        ({"code": "52260100100100102", "kind": GridKind.UNIT, "parent": "zone_a"}, "只能位于二级网格之下"),
        ({"code": "522601001001002", "kind": GridKind.GRID, "parent": "zone_a"}, "须注明城镇或农村"),
        ({"code": "52260100100100", "kind": GridKind.GRID, "parent": "zone_a", "area_type": AreaType.URBAN}, "15 位数字"),
        ({"code": "522601101200002", "kind": GridKind.GRID, "parent": "zone_a", "area_type": AreaType.URBAN}, "须以上级编码"),
        ({"code": "522601001001001", "kind": GridKind.GRID, "parent": "zone_a", "area_type": AreaType.URBAN}, "已存在"),
        ({"code": "522602", "kind": GridKind.CITY, "parent": "city"}, "不能有上级"),
    ],
)
def test_bad_nodes_are_refused_with_the_reason_and_nothing_is_written(tree, kwargs, message):
    before_nodes, before_audit = Grid.objects.count(), AuditEntry.objects.count()
    kwargs = {**kwargs, "parent": getattr(tree, kwargs["parent"])}
    with pytest.raises(ValidationError) as error:
        grid_create(actor=None, name="新网格", **kwargs)
    assert message in messages(error)
    assert (Grid.objects.count(), AuditEntry.objects.count()) == (before_nodes, before_audit)


def test_a_retired_node_takes_no_children_and_no_renames(tree):
    Grid.objects.filter(pk=tree.zone_b.pk).update(retired_at=timezone.now())
    tree.zone_b.refresh_from_db()
    with pytest.raises(ValidationError, match="已撤销"):
        grid_create(actor=None, code="522601001002009", name="x", kind=GridKind.GRID, parent=tree.zone_b, area_type="urban")
    with pytest.raises(ValidationError, match="已撤销"):
        grid_rename(actor=None, grid=tree.zone_b, name="新名")


def test_create_and_rename_keep_the_history(tree, user_factory):
    admin = user_factory("admin")
    grid_rename(actor=admin, grid=tree.grid_a, name="北京路一网格")
    kinds = list(tree.grid_a.events.values_list("kind", flat=True))
    assert kinds == [GridEvent.Kind.CREATED, GridEvent.Kind.RENAMED]
    assert tree.grid_a.events.last().detail == {"from": "北京路第1网格", "to": "北京路一网格"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_under_one_parent_keep_the_tree_consistent(tree):
    """django-mptt leaves concurrency to us: the advisory lock must serialise the writes."""
    errors = []

    def create(n: int) -> None:
        try:
            grid_create(
                actor=None,
                code=f"522601001001{n + 2:03d}",
                name=f"并发{n}",
                kind=GridKind.GRID,
                parent=tree.zone_a,
                area_type=AreaType.URBAN,
            )
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    zone = Grid.objects.get(pk=tree.zone_a.pk)
    children = list(Grid.objects.filter(parent=zone).order_by("lft"))
    assert len(children) == 9
    # Every node's interval nests in its parent's and siblings do not overlap.
    for node in Grid.objects.all():
        if node.parent_id:
            parent = Grid.objects.get(pk=node.parent_id)
            assert parent.lft < node.lft < node.rght < parent.rght
    for left, right in itertools.pairwise(children):
        assert left.rght < right.lft
    assert (
        zone.rght - zone.lft + 1 == 2 * Grid.objects.filter(tree_id=zone.tree_id, lft__gte=zone.lft, lft__lte=zone.rght).count()
    )

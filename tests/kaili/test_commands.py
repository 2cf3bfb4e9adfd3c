import pytest
from django.core.management import CommandError, call_command

from grids.integrity import tree_faults
from grids.models import Grid
from kaili import roles
from kaili.models import User
from kaili.scope import reachable_nodes

pytestmark = pytest.mark.django_db


def test_grant_gives_a_role_on_nodes(tree, user_factory, capsys):
    user_factory("wu")
    call_command("grant", "wu", "grid_worker", tree.zone_a.code, tree.zone_c.code)
    assert "网格员" in capsys.readouterr().out
    assert reachable_nodes(User.objects.get(username="wu")).count() == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "grid_worker", "522601001001"], "账号“nobody”不存在"),
        (["wu", "king", "522601001001"], "角色“king”不存在"),
        (["wu", "grid_worker", "522601001001", "522601777777"], "网格编码不存在：522601777777"),
        (["wu", "grid_worker"], "须指定至少一个网格编码"),
        (["wu", "auditor", "522601"], "不按网格授权"),
    ],
)
def test_grant_refuses_bad_input_and_changes_nothing(tree, user_factory, args, message):
    user_factory("wu")
    with pytest.raises(CommandError, match=message):
        call_command("grant", *args)
    user = User.objects.get(username="wu")
    assert not user.groups.exists() and not reachable_nodes(user).exists()


def test_seed_demo_is_repeatable_and_covers_every_role(db, capsys):
    call_command("seed_demo", "--incident-scale", "0.01")
    first = capsys.readouterr().out
    # Kaili at full scale (DOMAIN.md, "The grid tree"), a sound tree, every household in a unit
    open_nodes = Grid.objects.active()
    assert open_nodes.filter(kind="town").count() == 18
    assert open_nodes.filter(kind="zone").count() == 199 and open_nodes.filter(kind="grid").count() == 1255
    units = open_nodes.filter(kind="unit")
    assert units.count() > 15000 and not units.exclude(households__range=(10, 15)).exists()
    assert tree_faults() == []
    assert "一级网格（村/社区） 199" in first and "二级网格 1,255" in first
    call_command("seed_demo", "--incident-scale", "0.01")
    assert "新建 0 个节点" in capsys.readouterr().out
    for role in roles.ROLES.values():
        assert str(role.label) in first
    assert User.objects.filter(groups__name=roles.AUDITOR).exists()

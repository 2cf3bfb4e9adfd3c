"""Builders for the records tests need. The tree goes through the real services."""

from types import SimpleNamespace

import factory
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from grids.models import AreaType, GridKind
from grids.services import grid_create
from kaili.models import User
from kaili.services import user_grant_role

PASSWORD = "Grid#Test2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name", locale="zh_CN")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


def make_user(username: str | None = None, role: str | None = None, codes=(), *, totp: bool = False, **fields) -> User:
    user = UserFactory(**({"username": username} if username else {}), **fields)
    if role:
        user_grant_role(actor=None, user=user, role=role, codes=[c.code if hasattr(c, "code") else c for c in codes])
    if totp:
        TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return User.objects.get(pk=user.pk)


def make_tree() -> SimpleNamespace:
    city = grid_create(actor=None, code="522601", name="凯里市", kind=GridKind.CITY)
    t1 = grid_create(actor=None, code="522601001", name="大十字街道", kind=GridKind.TOWN, parent=city)
    t2 = grid_create(actor=None, code="522601101", name="三棵树镇", kind=GridKind.TOWN, parent=city)
    zone_a = grid_create(
        actor=None, code="522601001001", name="北京路社区", kind=GridKind.ZONE, parent=t1, area_type=AreaType.URBAN
    )
    zone_b = grid_create(
        actor=None, code="522601001002", name="营盘坡社区", kind=GridKind.ZONE, parent=t1, area_type=AreaType.URBAN
    )
    zone_c = grid_create(actor=None, code="522601101200", name="南花村", kind=GridKind.ZONE, parent=t2, area_type=AreaType.RURAL)
    grid_a = grid_create(
        actor=None, code="522601001001001", name="北京路第1网格", kind=GridKind.GRID, parent=zone_a, area_type=AreaType.URBAN
    )
    grid_b = grid_create(
        actor=None, code="522601001002001", name="营盘坡第1网格", kind=GridKind.GRID, parent=zone_b, area_type=AreaType.URBAN
    )
    grid_c = grid_create(
        actor=None, code="522601101200001", name="南花第1网格", kind=GridKind.GRID, parent=zone_c, area_type=AreaType.RURAL
    )
    unit_a = grid_create(
        actor=None, code="52260100100100101", name="北京路1-1十户联防", kind=GridKind.UNIT, parent=grid_a, households=12
    )
    unit_b = grid_create(
        actor=None, code="52260100100200101", name="营盘坡1-1十户联防", kind=GridKind.UNIT, parent=grid_b, households=11
    )
    nodes = [city, t1, t2, zone_a, zone_b, zone_c, grid_a, grid_b, grid_c, unit_a, unit_b]
    # Later inserts moved the MPTT columns of the nodes made before them: read them again.
    for node in nodes:
        node.refresh_from_db()
    return SimpleNamespace(
        city=city,
        t1=t1,
        t2=t2,
        zone_a=zone_a,
        zone_b=zone_b,
        zone_c=zone_c,
        grid_a=grid_a,
        grid_b=grid_b,
        grid_c=grid_c,
        unit_a=unit_a,
        unit_b=unit_b,
    )


def force_verified(client, user):
    """Sign in a privileged user as if they had passed TOTP (the 2FA flow has its own tests)."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
    session.save()


def record_desk_staff(tree) -> dict:
    """Who works records (incidents, disputes) in the small tree: a grid worker in each of
    zones A and B, the centre of town T1 (zones A and B), the centre of zone B only, the
    centre of town T2; made in this order."""
    from kaili.roles import CENTRE_STAFF, GRID_WORKER

    return {
        "worker": make_user("worker_a", GRID_WORKER, [tree.grid_a]),
        "worker_b": make_user("worker_b", GRID_WORKER, [tree.grid_b]),
        "centre": make_user("centre_t1", CENTRE_STAFF, [tree.t1]),
        "centre_b": make_user("centre_zone_b", CENTRE_STAFF, [tree.zone_b]),
        "centre_t2": make_user("centre_t2", CENTRE_STAFF, [tree.t2]),
    }

"""A deterministic demo tree for Kaili (522601): real town names, generated villages."""

import random
from dataclasses import dataclass

from grids.models import AreaType, Grid, GridKind
from grids.services import grid_create

# (sequence, name, urban?) — sub-districts 001-099, towns 100-199 (DOMAIN.md, "Grid codes").
DEMO_TOWNS = [
    ("001", "大十字街道", True),
    ("002", "城西街道", True),
    ("101", "三棵树镇", False),
]
URBAN_ZONE_NAMES = ["北京路社区", "营盘坡社区", "韶山社区", "环城社区", "文化社区", "金井社区"]
RURAL_ZONE_NAMES = ["南花村", "季刀村", "巴拉河村", "偿班村", "怀恩堡村", "格细村"]


@dataclass
class DemoTree:
    city: Grid
    nodes: int


def _get_or_create(*, actor, code, name, kind, parent=None, area_type="", households=None) -> tuple[Grid, bool]:
    existing = Grid.objects.filter(code=code).first()
    if existing:
        return existing, False
    return grid_create(
        actor=actor, code=code, name=name, kind=kind, parent=parent, area_type=area_type, households=households
    ), True


def seed_demo_tree(*, seed: int = 2016, zones_per_town: int = 2, grids_per_zone: int = 2, units_per_grid: int = 2) -> DemoTree:
    rng = random.Random(seed)
    created = 0
    city, new = _get_or_create(actor=None, code="522601", name="凯里市", kind=GridKind.CITY)
    created += new
    for town_seq, town_name, urban in DEMO_TOWNS:
        town, new = _get_or_create(actor=None, code=f"522601{town_seq}", name=town_name, kind=GridKind.TOWN, parent=city)
        created += new
        area = AreaType.URBAN if urban else AreaType.RURAL
        names = URBAN_ZONE_NAMES if urban else RURAL_ZONE_NAMES
        for z in range(zones_per_town):
            # communities are numbered from 001, villages from 200
            zone_seq = f"{z + 1:03d}" if urban else f"{200 + z:03d}"
            zone_name = names[(int(town_seq) + z) % len(names)]
            zone, new = _get_or_create(
                actor=None, code=town.code + zone_seq, name=zone_name, kind=GridKind.ZONE, parent=town, area_type=area
            )
            created += new
            for g in range(grids_per_zone):
                grid, new = _get_or_create(
                    actor=None,
                    code=f"{zone.code}{g + 1:03d}",
                    name=f"{zone_name}第{g + 1}网格",
                    kind=GridKind.GRID,
                    parent=zone,
                    area_type=area,
                )
                created += new
                for u in range(units_per_grid):
                    _unit, new = _get_or_create(
                        actor=None,
                        code=f"{grid.code}{u + 1:02d}",
                        name=f"{zone_name}{g + 1}-{u + 1}十户联防",
                        kind=GridKind.UNIT,
                        parent=grid,
                        households=rng.randint(10, 15),
                    )
                    created += new
    return DemoTree(city=city, nodes=created)

"""Rows of a Kaili-scale demo grid tree, generated deterministically from a seed.

The figures follow DOMAIN.md ("The grid tree", "Grid codes"): one city (凯里市 522601),
its 18 real towns and sub-districts, exactly 199 zones (一级网格: one per community 社区 or
village 村), exactly 1,255 grids (二级网格: 200-500 households in town, 40-100 in the
countryside) and ten-household units (三级网格: 10-15 households each, covering every
household of their grid).

Codes: town = 522601 + 3 digits (001-099 sub-districts, 100-199 towns); zone = town + 3
digits (communities from 001, villages from 200); grid = zone + 3 digits from 001; unit =
grid + 2 digits from 01. Every sequence runs west→east, north→south: each parent's box is
tiled row-major from its north-west corner (rows of jittered height, cells of jittered
width, shared edges rounded once to 6 decimals so children tile the parent exactly) and
the children are numbered in that order. Zones have two series (communities, villages),
each numbered in that order; which tiles are communities is random. Towns take the city's
tiles in code order, so the sub-districts lie to the north. Units have no boundary.

The module is pure Python (no Django, no database): ``generate_kaili_rows`` returns plain
dicts that a loader can hand to ``grid_create`` parent-first. Rows come in depth-first
pre-order with siblings in code order, which is the same as sorting them by code.

Only a private ``random.Random(seed)`` is used, so the same seed always gives the same rows
and the global random state is left alone.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

CITY_CODE = "522601"
CITY_NAME = "凯里市"
# City bounding box (degrees): roughly the municipality around Kaili.
CITY_BOX = (107.85, 26.45, 108.25, 26.75)  # west, south, east, north

# (3-digit sequence, name): 001-099 sub-districts 街道, 100-199 towns 镇.
SUB_DISTRICTS = [
    ("001", "大十字街道"),
    ("002", "城西街道"),
    ("003", "西门街道"),
    ("004", "湾溪街道"),
    ("005", "洗马河街道"),
    ("006", "鸭塘街道"),
    ("007", "开怀街道"),
]
TOWNS = [
    ("101", "三棵树镇"),
    ("102", "舟溪镇"),
    ("103", "旁海镇"),
    ("104", "湾水镇"),
    ("105", "炉山镇"),
    ("106", "万潮镇"),
    ("107", "龙场镇"),
    ("108", "凯棠镇"),
    ("109", "大风洞镇"),
    ("110", "下司镇"),
    ("111", "碧波镇"),
]

ZONE_TOTAL = 199
GRID_TOTAL = 1255

# Zones per sub-district / town (sub-districts are compact urban areas), and the mix inside.
ZONES_PER_SUB_DISTRICT = (6, 12)
ZONES_PER_TOWN = (8, 16)
SUB_DISTRICT_VILLAGES = (1, 3)  # "mostly communities plus a few villages"
TOWN_COMMUNITIES = (1, 2)  # the town seat
# Grids per zone: communities are denser, so they may hold more grids.
GRIDS_PER_ZONE = {"urban": (3, 12), "rural": (3, 9)}
# Households per grid (DOMAIN.md) and per ten-household unit.
GRID_HOUSEHOLDS = {"urban": (200, 500), "rural": (40, 100)}
UNIT_HOUSEHOLDS = (10, 15)
UNIT_MEAN_HOUSEHOLDS = (12.5, 14.0)  # a grid's typical unit size is drawn from this range

COMMUNITY_SEQ_START = 1
VILLAGE_SEQ_START = 200

# Longitude degrees are shorter than latitude degrees at Kaili's latitude; used only to keep
# tiles roughly square on the ground when choosing rows × columns.
LON_SCALE = math.cos(math.radians(26.6))
# Relative size jitter of rows and cells, so the map does not look like graph paper.
JITTER = (0.75, 1.25)
PRECISION = 6

# Seed names, used first (shuffled); more are generated from syllables once they run out.
COMMUNITY_NAMES = [
    "北京路",
    "营盘坡",
    "韶山",
    "环城",
    "文化",
    "金井",
    "大阁山",
    "宁波路",
    "清江",
    "龙井",
    "永丰",
    "博南",
    "鼓楼坡",
    "沙子坡",
    "彩虹",
    "开元",
    "金山",
    "白午",
    "民主",
    "新华",
    "团结",
    "广场",
    "东门",
    "南门",
    "西门",
    "北门",
    "凯运",
    "金泉湖",
    "碧波湖",
    "迎宾",
    "月亮湾",
    "苗岭",
    "清平",
    "洗马河",
    "湾溪",
    "鸭塘",
    "开怀",
    "龙头河",
    "鸭塘坡",
    "丰球",
]
COMMUNITY_SYLLABLES = ("金清龙凤华新永阳明和兴安康泰锦春秀翠", "山江桥园苑湖泉坪坡城街湾林岭塘路丰河")
VILLAGE_NAMES = [
    "南花",
    "季刀",
    "巴拉河",
    "偿班",
    "怀恩堡",
    "格细",
    "乌利",
    "平乐",
    "麻塘",
    "青曼",
    "也改",
    "排乐",
    "党早",
    "养蒿",
    "脚尧",
    "冷水",
    "翁项",
    "摆底",
    "虎庄",
    "嘎对",
]
# Miao/Dong-sounding syllables (first, then second/third) for the generated villages.
VILLAGE_SYLLABLES = (
    "巴乌格季南偿怀平麻青洛排也党养脚冷翁摆虎嘎九沙六丢羊甲挂谷朗方旁望岩报董",
    "利细刀花乐塘曼班哈略留坝寨冲坳堡洞榜勇港计岑茅桥贡往鸟夯久高基拢猫秋龙烈",
)


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in degrees; its edges are already rounded."""

    west: float
    south: float
    east: float
    north: float

    def polygon(self) -> dict:
        # GeoJSON (RFC 7946): a closed exterior ring, counter-clockwise.
        ring = [
            [self.west, self.south],
            [self.east, self.south],
            [self.east, self.north],
            [self.west, self.north],
            [self.west, self.south],
        ]
        return {"type": "Polygon", "coordinates": [ring]}

    def centre(self) -> dict:
        lon = round((self.west + self.east) / 2, PRECISION)
        lat = round((self.south + self.north) / 2, PRECISION)
        return {"type": "Point", "coordinates": [lon, lat]}


class NamePool:
    """Unique names for one series: the seed names first (shuffled), then syllable combinations."""

    def __init__(self, rng: random.Random, seeds: list[str], syllables: tuple[str, str], suffix: str):
        self._rng = rng
        self._seeds = rng.sample(seeds, len(seeds))
        self._syllables = syllables
        self._suffix = suffix
        self.used: set[str] = set()

    def take(self, preferred: str | None = None) -> str:
        if preferred and preferred + self._suffix not in self.used:
            return self._claim(preferred)
        while self._seeds:
            stem = self._seeds.pop()
            if stem + self._suffix not in self.used:
                return self._claim(stem)
        first, second = self._syllables
        while True:
            # Mostly two syllables; a third now and then, as many local place names have.
            stem = self._rng.choice(first) + self._rng.choice(second)
            if self._rng.random() < 0.2:
                stem += self._rng.choice(second)
            if stem + self._suffix not in self.used:
                return self._claim(stem)

    def _claim(self, stem: str) -> str:
        name = stem + self._suffix
        self.used.add(name)
        return name


def spread(rng: random.Random, total: int, bounds: list[tuple[int, int]]) -> list[int]:
    """Split ``total`` into one integer per ``(lo, hi)`` bound, each within it, summing exactly.

    Every part starts at its minimum; the rest is handed out by drawing that many free
    "slots" (one per unit of head-room) without replacement, so no part overflows.
    """
    counts = [lo for lo, _ in bounds]
    rest = total - sum(counts)
    slots = [i for i, (lo, hi) in enumerate(bounds) for _ in range(hi - lo)]
    if not 0 <= rest <= len(slots):
        raise ValueError(f"cannot split {total} within {bounds}")
    for i in rng.sample(slots, rest):
        counts[i] += 1
    return counts


def _cuts(rng: random.Random, start: float, end: float, parts: int) -> list[float]:
    """``parts + 1`` rounded edges from ``start`` to ``end`` with jittered gaps.

    The two ends are the parent's own (already rounded) edges, so children tile it exactly.
    """
    weights = [rng.uniform(*JITTER) for _ in range(parts)]
    scale = (end - start) / sum(weights)
    edges = [start]
    acc = 0.0
    for weight in weights[:-1]:
        acc += weight
        edges.append(round(start + acc * scale, PRECISION))
    edges.append(end)
    return edges


def tile(rng: random.Random, box: Box, n: int) -> list[Box]:
    """Tile ``box`` with ``n`` rectangles, row-major from the north-west.

    Rows run north→south and cells west→east within a row, so list order is the
    west→east, north→south sequence order of the code rules.
    """
    width = (box.east - box.west) * LON_SCALE
    height = box.north - box.south
    cols = max(1, min(n, round(math.sqrt(n * width / height))))
    rows = math.ceil(n / cols)
    per_row = spread(rng, n, [(n // rows, math.ceil(n / rows))] * rows)
    row_edges = _cuts(rng, box.north, box.south, rows)  # descending: north → south
    cells = []
    for r, count in enumerate(per_row):
        north, south = row_edges[r], row_edges[r + 1]
        col_edges = _cuts(rng, box.west, box.east, count)
        cells.extend(Box(col_edges[c], south, col_edges[c + 1], north) for c in range(count))
    return cells


def _row(
    code: str,
    name: str,
    kind: str,
    parent_code: str,
    *,
    area_type: str = "",
    households: int | None = None,
    box: Box | None = None,
) -> dict:
    return {
        "code": code,
        "name": name,
        "kind": kind,
        "parent_code": parent_code,
        "area_type": area_type,
        "households": households,
        "boundary": box.polygon() if box else None,
        "centre": box.centre() if box else None,
    }


def _town_zone_types(rng: random.Random, zone_count: int, is_sub_district: bool) -> list[str]:
    """The area type of each zone cell, in row-major order.

    Where communities sit among villages is random; numbering each series in cell order
    keeps both code series running west→east, north→south.
    """
    # Sub-districts: a few villages on the edge; towns: one or two seat communities.
    communities = zone_count - rng.randint(*SUB_DISTRICT_VILLAGES) if is_sub_district else rng.randint(*TOWN_COMMUNITIES)
    types = ["urban"] * communities + ["rural"] * (zone_count - communities)
    rng.shuffle(types)
    return types


def _zone_codes(town_code: str, types: list[str]) -> list[str]:
    next_seq = {"urban": COMMUNITY_SEQ_START, "rural": VILLAGE_SEQ_START}
    codes = []
    for area_type in types:
        codes.append(f"{town_code}{next_seq[area_type]:03d}")
        next_seq[area_type] += 1
    return codes


def _unit_names(rng: random.Random, count: int, area_type: str) -> list[str]:
    """Unit names unique within a grid: buildings/stairwells in town, numbered groups outside."""
    if area_type == "rural":
        return [f"第{i}十户联防组" for i in range(1, count + 1)]
    names: list[str] = []
    building = 0
    while len(names) < count:
        building += 1
        stairwells = rng.choice([1, 1, 2, 2, 3, 4])
        if stairwells == 1:
            names.append(f"{building}号楼")
        else:
            names.extend(f"{building}栋{s}单元" for s in range(1, stairwells + 1))
    return names[:count]


def _unit_households(rng: random.Random, area_type: str) -> list[int]:
    """A grid's household total, split into units of 10-15 that add up to it exactly."""
    lo, hi = UNIT_HOUSEHOLDS
    total = rng.randint(*GRID_HOUSEHOLDS[area_type])
    fewest, most = math.ceil(total / hi), total // lo
    count = min(most, max(fewest, round(total / rng.uniform(*UNIT_MEAN_HOUSEHOLDS))))
    return spread(rng, total, [UNIT_HOUSEHOLDS] * count)


def _grid_rows(rng: random.Random, zone: dict, grid_count: int, box: Box) -> list[dict]:
    rows = []
    area_type = zone["area_type"]
    zone_name = zone["name"]
    for g, grid_box in enumerate(tile(rng, box, grid_count), start=1):
        grid_code = f"{zone['code']}{g:03d}"
        rows.append(_row(grid_code, f"{zone_name}第{g}网格", "grid", zone["code"], area_type=area_type, box=grid_box))
        households = _unit_households(rng, area_type)
        names = _unit_names(rng, len(households), area_type)
        for u, (unit_name, count) in enumerate(zip(names, households, strict=True), start=1):
            rows.append(_row(f"{grid_code}{u:02d}", unit_name, "unit", grid_code, households=count))
    return rows


def generate_kaili_rows(seed: int = 2016) -> list[dict]:
    """Every node of the demo tree as a dict, parents before children (depth-first, code order).

    Keys: code, name, kind, parent_code, area_type, households, boundary, centre.
    """
    rng = random.Random(seed)
    communities = NamePool(rng, COMMUNITY_NAMES, COMMUNITY_SYLLABLES, "社区")
    villages = NamePool(rng, VILLAGE_NAMES, VILLAGE_SYLLABLES, "村")

    city_box = Box(*CITY_BOX)
    rows = [_row(CITY_CODE, CITY_NAME, "city", "", box=city_box)]
    towns = [(seq, name, True) for seq, name in SUB_DISTRICTS] + [(seq, name, False) for seq, name in TOWNS]
    # Town code order is the row-major order of their tiles (sub-districts first, to the north).
    town_boxes = tile(rng, city_box, len(towns))
    zone_bounds = [ZONES_PER_SUB_DISTRICT if is_sub_district else ZONES_PER_TOWN for _, _, is_sub_district in towns]
    zone_counts = spread(rng, ZONE_TOTAL, zone_bounds)

    # Lay out every zone first: the grid counts are drawn city-wide to hit 1,255 exactly.
    zones: list[tuple[dict, Box]] = []
    town_rows: list[tuple[dict, list[tuple[dict, Box]]]] = []
    for (seq, town_name, is_sub_district), town_box, zone_count in zip(towns, town_boxes, zone_counts, strict=True):
        town_code = CITY_CODE + seq
        town = _row(town_code, town_name, "town", CITY_CODE, box=town_box)
        types = _town_zone_types(rng, zone_count, is_sub_district)
        cells = list(zip(_zone_codes(town_code, types), types, tile(rng, town_box, zone_count), strict=True))
        town_zones = []
        # Name in code order so a town seat's first community can take the town's own name.
        for zone_code, area_type, zone_box in sorted(cells):
            if area_type == "urban":
                is_seat = not is_sub_district and zone_code[-3:] == f"{COMMUNITY_SEQ_START:03d}"
                zone_name = communities.take(town_name.removesuffix("镇") if is_seat else None)
            else:
                zone_name = villages.take()
            zone = _row(zone_code, zone_name, "zone", town_code, area_type=area_type, box=zone_box)
            town_zones.append((zone, zone_box))
        zones.extend(town_zones)
        town_rows.append((town, town_zones))

    grid_counts = spread(rng, GRID_TOTAL, [GRIDS_PER_ZONE[zone["area_type"]] for zone, _ in zones])
    grids_of = {zone["code"]: count for (zone, _), count in zip(zones, grid_counts, strict=True)}

    for town, town_zones in town_rows:
        rows.append(town)
        for zone, zone_box in town_zones:
            rows.append(zone)
            rows.extend(_grid_rows(rng, zone, grids_of[zone["code"]], zone_box))
    return rows

"""The Kaili-scale demo rows: figures, codes, households and boxes (pure Python, no database)."""

from collections import Counter, defaultdict

import pytest

from grids.demo_kaili import generate_kaili_rows

CODE_LENGTH = {"city": 6, "town": 9, "zone": 12, "grid": 15, "unit": 17}
PARENT_KIND = {"town": "city", "zone": "town", "grid": "zone", "unit": "grid"}
GRID_HOUSEHOLDS = {"urban": (200, 500), "rural": (40, 100)}


@pytest.fixture(scope="module")
def rows():
    return generate_kaili_rows()


@pytest.fixture(scope="module")
def by_code(rows):
    return {row["code"]: row for row in rows}


def bbox(row):
    ring = row["boundary"]["coordinates"][0]
    lons = [lon for lon, _ in ring]
    lats = [lat for _, lat in ring]
    return min(lons), min(lats), max(lons), max(lats)


def test_seed_figures(rows):
    counts = Counter(row["kind"] for row in rows)
    assert counts["city"] == 1
    assert counts["town"] == 18
    assert counts["zone"] == 199
    assert counts["grid"] == 1255
    assert 15_000 <= counts["unit"] <= 20_000


def test_city_and_towns_are_the_real_ones(by_code):
    assert by_code["522601"]["name"] == "凯里市"
    assert by_code["522601"]["parent_code"] == ""
    assert by_code["522601001"]["name"] == "大十字街道"
    assert by_code["522601007"]["name"] == "开怀街道"
    assert by_code["522601101"]["name"] == "三棵树镇"
    assert by_code["522601111"]["name"] == "碧波镇"


def test_codes_are_unique_sized_and_prefixed_by_the_parent(rows, by_code):
    assert len(by_code) == len(rows)
    for row in rows:
        assert row["code"].isdigit()
        assert len(row["code"]) == CODE_LENGTH[row["kind"]]
        if row["kind"] == "city":
            continue
        parent = by_code[row["parent_code"]]
        assert parent["kind"] == PARENT_KIND[row["kind"]]
        assert row["code"].startswith(parent["code"])


def test_parents_come_before_children(rows):
    seen = set()
    for row in rows:
        assert row["parent_code"] == "" or row["parent_code"] in seen
        seen.add(row["code"])
    # depth-first with siblings in code order is the same as sorting by code
    assert [row["code"] for row in rows] == sorted(row["code"] for row in rows)


def test_zone_sequences_follow_the_code_rules(rows):
    for row in rows:
        if row["kind"] == "zone":
            seq = int(row["code"][-3:])
            assert (1 <= seq < 200) if row["area_type"] == "urban" else (200 <= seq < 400)
            assert row["name"].endswith("社区" if row["area_type"] == "urban" else "村")


def test_area_type_and_households_sit_on_the_right_kinds(rows, by_code):
    for row in rows:
        if row["kind"] in ("zone", "grid"):
            assert row["area_type"] in ("urban", "rural")
        else:
            assert row["area_type"] == ""
        if row["kind"] == "grid":
            assert row["area_type"] == by_code[row["parent_code"]]["area_type"]
        assert (row["households"] is not None) == (row["kind"] == "unit")


def test_units_cover_each_grid_with_ten_to_fifteen_households(rows, by_code):
    totals = defaultdict(int)
    for row in rows:
        if row["kind"] == "unit":
            assert 10 <= row["households"] <= 15
            totals[row["parent_code"]] += row["households"]
    grids = [row for row in rows if row["kind"] == "grid"]
    assert set(totals) == {grid["code"] for grid in grids}
    for grid in grids:
        lo, hi = GRID_HOUSEHOLDS[grid["area_type"]]
        assert lo <= totals[grid["code"]] <= hi


def test_same_seed_same_rows_other_seed_differs(rows):
    assert generate_kaili_rows(2016) == rows
    other = generate_kaili_rows(7)
    assert other != rows
    assert {r["name"] for r in other if r["kind"] == "zone"} != {r["name"] for r in rows if r["kind"] == "zone"}
    counts = Counter(row["kind"] for row in other)
    assert (counts["zone"], counts["grid"]) == (199, 1255)


def test_boundaries_and_centres_sit_where_they_should(rows, by_code):
    for row in rows:
        if row["kind"] == "unit":
            assert row["boundary"] is None
            assert row["centre"] is None
            continue
        assert row["boundary"]["type"] == "Polygon"
        ring = row["boundary"]["coordinates"][0]
        assert ring[0] == ring[-1]
        west, south, east, north = bbox(row)
        assert west < east
        assert south < north
        lon, lat = row["centre"]["coordinates"]
        assert west < lon < east
        assert south < lat < north
        if row["kind"] != "city":
            p_west, p_south, p_east, p_north = bbox(by_code[row["parent_code"]])
            assert p_west <= west
            assert p_south <= south
            assert east <= p_east
            assert north <= p_north


def test_children_tile_their_parent(rows, by_code):
    def area(row):
        west, south, east, north = bbox(row)
        return (east - west) * (north - south)

    child_area = defaultdict(float)
    for row in rows:
        if row["kind"] in ("town", "zone", "grid"):
            child_area[row["parent_code"]] += area(row)
    for code, total in child_area.items():
        assert total == pytest.approx(area(by_code[code]), rel=1e-6)


def test_sequences_run_west_to_east_north_to_south(rows):
    """Within a parent, each code series is in reading order of the tiles (rows north→south)."""
    series = defaultdict(list)
    for row in rows:
        if row["kind"] in ("town", "zone", "grid"):
            # zones have two series: communities from 001, villages from 200
            kind_series = row["area_type"] if row["kind"] == "zone" else ""
            series[row["parent_code"], kind_series].append(row)
    for siblings in series.values():
        by_code = [row["code"] for row in sorted(siblings, key=lambda r: r["code"])]
        by_place = [row["code"] for row in sorted(siblings, key=lambda r: (-bbox(r)[3], bbox(r)[0]))]
        assert by_code == by_place


def test_demo_account_nodes_exist(by_code):
    for zone in ("522601001001", "522601002001"):
        assert by_code[zone]["kind"] == "zone"
        assert by_code[zone]["area_type"] == "urban"
        assert by_code[zone + "001"]["kind"] == "grid"
        assert by_code[zone + "00101"]["kind"] == "unit"


def test_names_are_unique_among_siblings_and_zones_across_the_city(rows):
    siblings = defaultdict(list)
    for row in rows:
        siblings[row["parent_code"]].append(row["name"])
    for names in siblings.values():
        assert len(names) == len(set(names))
    zone_names = [row["name"] for row in rows if row["kind"] == "zone"]
    assert len(zone_names) == len(set(zone_names))

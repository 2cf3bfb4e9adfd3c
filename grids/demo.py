"""The demo grid tree: Kaili at full scale, loaded through the same path as a file import."""

from dataclasses import dataclass

from django.db.models import Count, Sum

from grids.demo_kaili import generate_kaili_rows
from grids.imports import GridRow, import_grid_rows
from grids.models import Grid, GridKind
from kaili.progress import no_progress


@dataclass
class DemoTree:
    created: int
    nodes_by_kind: dict[str, int]
    households: int


def seed_demo_tree(*, seed: int = 2016, progress=no_progress) -> DemoTree:
    """Generate the tree from ``seed`` and import it; running it again changes nothing."""
    rows = [
        GridRow(
            line=number,
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            parent_code=row["parent_code"],
            area_type=row["area_type"],
            households="" if row["households"] is None else str(row["households"]),
            extra={"boundary": row["boundary"], "centre": row["centre"]},
        )
        for number, row in enumerate(generate_kaili_rows(seed), start=1)
    ]
    plan = import_grid_rows(rows, actor=None, source=f"seed_demo --seed {seed}", progress=progress)
    if not plan.ok:  # the generator and the import rules disagree: a bug, say exactly where
        raise ValueError("; ".join(f"{e.line} {e.column}: {e.message}" for e in plan.errors[:10]))
    open_nodes = Grid.objects.active()
    counts = dict(open_nodes.order_by().values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    households = open_nodes.filter(kind=GridKind.UNIT).aggregate(total=Sum("households"))["total"] or 0
    return DemoTree(
        created=len(plan.creates),
        nodes_by_kind={kind: counts.get(kind, 0) for kind in GridKind.values},
        households=households,
    )

"""The roll-up: statistics for every node of the tree from the records, in PostgreSQL.

One code path serves the full rebuild and the incremental update; they differ only in
what they recompute (``Marks``: per family of metrics, the months whose records changed,
or every month):

1. the records of each marked family are counted per node and month in one ``GROUP BY``
   per table, each record on the *statistics node* that holds it (the node itself, or for
   a ten-household unit its grid: units are below the dashboard's resolution);
2. the counts climb the tree: a node's value is the sum over the statistics nodes of its
   subtree (a node merged into another hangs in its subtree and is counted there);
3. months add up to quarters and years, read back from the stored months, so an update of
   one month re-reads that month's records only; levels (people in a programme, households)
   are carried forward month by month and a quarter or year takes its last month's level;
4. rates, means and sums are derived from the stored values of the same node and period;
5. the new values replace the stored ones of what was recomputed: unchanged rows are not
   written, rows that fell to zero are deleted (the table is sparse).

Everything happens in one transaction under one advisory lock, so two runs at once queue
up, readers always see a complete table, and a run repeated gives the same table.
"""

import datetime
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cases.models import OPEN_STATUSES
from dashboard import metrics as m
from dashboard.periods import QUARTER, YEAR, Period
from grids.models import GridKind
from kaili.locks import STATISTICS_ROLLUP_LOCK, advisory_xact_lock

# The kinds of node that hold statistics; records on a unit count for its grid.
STAT_KINDS = (GridKind.CITY, GridKind.TOWN, GridKind.ZONE, GridKind.GRID)
LOCK_KEY = STATISTICS_ROLLUP_LOCK
ALL = None  # every month


@dataclass
class Marks:
    """What to recompute: family -> month codes (``ALL``: every month)."""

    families: dict[str, set[str] | None] = field(default_factory=dict)

    @classmethod
    def everything(cls) -> "Marks":
        return cls(dict.fromkeys(m.BASE_FAMILIES, ALL))

    def add(self, family: str, months=ALL) -> None:
        if family not in m.BASE_FAMILIES:
            raise ValueError(f"unknown family {family}")
        if months is ALL or (family in self.families and self.families[family] is ALL):
            self.families[family] = ALL
        else:
            self.families.setdefault(family, set()).update(str(month) for month in months)

    def merge(self, other: "Marks") -> None:
        for family, months in other.families.items():
            self.add(family, months)

    @property
    def is_full(self) -> bool:
        return all(family in self.families and self.families[family] is ALL for family in m.BASE_FAMILIES)

    def __bool__(self) -> bool:
        return bool(self.families)

    def as_json(self) -> dict:
        return {family: (None if months is ALL else sorted(months)) for family, months in sorted(self.families.items())}

    @classmethod
    def from_json(cls, data: dict) -> "Marks":
        marks = cls()
        for family, months in (data or {}).items():
            marks.add(family, ALL if months is None else [Period.parse(code, strict=False).code for code in months])
        return marks


@dataclass
class Result:
    cells: int = 0  # values computed
    written: int = 0  # rows inserted, updated or deleted
    seconds: float = 0.0
    phases: dict = field(default_factory=dict)


# --- the records, per family -----------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One table's records of a family, dated by one column: one pass over the rows,
    ``GROUP BY`` statistics node and month, each metric one aggregate (``values``: metric
    key -> SQL over ``columns``); a metric the part does not count is 0. The record's
    statistics node and its category's kind and statistic key are looked up in constant
    arrays indexed by id (``node_of``, ``kind_of``, ``stat_of``), cheaper than joins."""

    table: str
    grid: str  # the column holding the record's node
    date: str
    timestamp: bool
    columns: dict[str, str] = field(default_factory=dict)  # name -> SQL on the row
    values: dict[str, str] = field(default_factory=dict)
    where: str = "TRUE"


def _literal(value, params: dict) -> str:
    name = f"lit{len(params)}"
    params[name] = value
    return f"%({name})s"


class Families:
    """The families' metrics and parts; built per run, since admins may add categories
    and statistic keys."""

    def __init__(self, categories: list[tuple[int, str, str]], today: datetime.date):
        self.params: dict = {}  # the constants the parts' SQL names
        q = lambda value: _literal(value, self.params)  # noqa: E731
        kinds = [kind for kind, _label in m.CategoryKind.choices]
        statistic_keys = sorted({key for _id, _kind, key in categories if key} | set(m.STATISTIC_LABELS))
        programmes = [programme for programme, _label in m.Programme.choices]
        size = max((pk for pk, _kind, _key in categories), default=0)
        kind_of, stat_of = [0] * size, [0] * size
        for pk, kind, key in categories:
            kind_of[pk - 1] = kinds.index(kind) + 1 if kind in kinds else 0
            stat_of[pk - 1] = statistic_keys.index(key) + 1 if key else 0
        criminal = kinds.index(m.CategoryKind.CRIMINAL) + 1
        midnight = _local_midnight(today)
        incidents = {
            "incidents.total": "count(*)",
            **{f"incidents.kind.{kind}": f"count(*) FILTER (WHERE k = {n})" for n, kind in enumerate(kinds, 1)},
            **{f"incidents.stat.{key}": f"count(*) FILTER (WHERE s = {n})" for n, key in enumerate(statistic_keys, 1)},
            "incidents.cleared": f"count(*) FILTER (WHERE k = {criminal} AND cleared)",
            "incidents.overdue": "count(*) FILTER (WHERE overdue)",
        }
        by_programme = {p: f"count(*) FILTER (WHERE programme = {q(p)})" for p in programmes}
        followups_visits = {"followups.due": "count(*)", "followups.on_time": "count(*) FILTER (WHERE on_time)"}
        followups_waiting = {"followups.due": "count(*)"}
        for programme in programmes:
            followups_visits[f"followups.{programme}.due"] = by_programme[programme]
            followups_visits[f"followups.{programme}.on_time"] = f"count(*) FILTER (WHERE programme = {q(programme)} AND on_time)"
            followups_waiting[f"followups.{programme}.due"] = by_programme[programme]
        person = "JOIN populations_person p ON p.id = e.person_id"
        self.parts: dict[str, list[Part]] = {
            m.INCIDENTS: [
                Part(
                    "cases_incident i",
                    "i.grid_id",
                    "i.occurred_at",
                    True,
                    {
                        "k": f"({q(kind_of)}::int[])[i.category_id]",
                        "s": f"({q(stat_of)}::int[])[i.category_id]",
                        "cleared": "i.cleared",
                        # handled late at some step, or still open past its deadline (as of
                        # this morning, so that the figure holds all day)
                        "overdue": f"i.late OR (i.status = ANY({q(list(OPEN_STATUSES))}) AND i.due_at < {q(midnight)})",
                    },
                    incidents,
                    where=f"i.status <> {q('cancelled')}",
                )
            ],
            m.SATISFACTION: [
                Part(
                    f"{table} i",
                    "i.grid_id",
                    "i.closed_at",
                    True,
                    {"score": "i.satisfaction"},
                    {"satisfaction.sum": "sum(score)", "satisfaction.count": "count(*)"},
                    where="i.satisfaction IS NOT NULL",
                )
                for table in ("cases_incident", "disputes_dispute")
            ],
            m.DISPUTES: [
                Part(
                    "disputes_dispute d",
                    "d.grid_id",
                    "d.registered_at",
                    True,
                    {"resolved": f"d.status = {q('resolved')}", "upward": "d.passed_upward"},
                    {
                        "disputes.accepted": "count(*)",
                        "disputes.resolved": "count(*) FILTER (WHERE resolved)",
                        "disputes.passed_upward": "count(*) FILTER (WHERE upward)",
                    },
                ),
                Part(
                    "disputes_dispute d",
                    "d.grid_id",
                    "d.closed_at",
                    True,
                    {"late": "d.late"},
                    {"disputes.closed": "count(*)", "disputes.closed_on_time": "count(*) FILTER (WHERE NOT late)"},
                ),
            ],
            m.FOLLOWUPS: [
                Part(
                    f"populations_visit v JOIN populations_enrollment e ON e.id = v.enrollment_id {person}",
                    "p.unit_id",
                    "v.due_on",
                    False,
                    {"programme": "e.programme", "on_time": "v.visited_on <= v.due_on"},
                    followups_visits,
                ),
                Part(
                    f"populations_enrollment e {person}",
                    "p.unit_id",
                    "e.next_due_on",
                    False,
                    {"programme": "e.programme"},
                    followups_waiting,
                    # waiting: due only once the day has passed (not yet missed is not yet due)
                    where=f"e.status = {q('active')} AND e.next_due_on < {q(today)}",
                ),
            ],
            # levels: what changed in the month, carried forward
            m.PROGRAMMES: [
                Part(
                    f"populations_enrollment e {person}",
                    "p.unit_id",
                    "e.started_on",
                    False,
                    {"programme": "e.programme"},
                    {f"programmes.{p}": sql for p, sql in by_programme.items()},
                ),
                Part(
                    f"populations_enrollment e {person}",
                    "p.unit_id",
                    "e.exited_on",
                    False,
                    {"programme": "e.programme"},
                    {f"programmes.{p}": f"-{sql}" for p, sql in by_programme.items()},
                ),
            ],
            m.REGISTRY: [
                Part("populations_household h", "h.unit_id", "h.created_at", True, values={"registry.households": "count(*)"}),
                Part("populations_person r", "r.unit_id", "r.created_at", True, values={"registry.residents": "count(*)"}),
            ],
        }
        self.metrics: dict[str, list[str]] = {}
        for family, parts in self.parts.items():
            keys = []
            for part in parts:
                keys += [key for key in part.values if key not in keys]
            self.metrics[family] = keys


def _categories(cursor) -> list[tuple[int, str, str]]:
    cursor.execute("SELECT id, kind, statistic FROM cases_category")
    return cursor.fetchall()


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _months_condition(column: str, timestamp: bool, months, params: dict) -> str:
    """``column`` within the months (contiguous months joined into one range)."""
    if months is ALL:
        return f"{column} IS NOT NULL"
    ranges = []
    for period in sorted(Period.parse(code, strict=False) for code in months):
        if ranges and ranges[-1][1] == period.start:
            ranges[-1][1] = period.end
        else:
            ranges.append([period.start, period.end])
    clauses = []
    for start, end in ranges:
        low = _literal(_local_midnight(start) if timestamp else start, params)
        high = _literal(_local_midnight(end) if timestamp else end, params)
        clauses.append(f"({column} >= {low} AND {column} < {high})")
    return "(" + " OR ".join(clauses) + ")" if clauses else "FALSE"


def _month_of(column: str, timestamp: bool, params: dict) -> str:
    if timestamp:
        return f"date_trunc('month', {column} AT TIME ZONE {_literal(settings.TIME_ZONE, params)})::date"
    return f"date_trunc('month', {column})::date"


def _affected(months: set[str]) -> set[str]:
    """The quarters and years holding ``months``."""
    periods = [Period.parse(code, strict=False) for code in months]
    return {p.containing(QUARTER).code for p in periods} | {p.containing(YEAR).code for p in periods}


def _columns(count: int, template: str = "{c}") -> str:
    return ", ".join(template.format(c=f"c{i}") for i in range(count))


def _figures(count: int, *, counts: bool = True) -> tuple[str, str]:
    """The array of columns c0... and the condition for keeping the row: a count not
    zero (a row of zeros is not stored), or for derived values one not NULL."""
    array = f"ARRAY[{_columns(count)}]::float8[]"
    keep = " OR ".join(f"c{i} <> 0" if counts else f"c{i} IS NOT NULL" for i in range(count))
    return array, f"({keep})"


TABLE = "dashboard_statistic"
NEXT_TABLE = "dashboard_statistic_next"
# The names the migration gave the table's primary key and index (kept across swaps).
INDEX_NAMES = {"pkey": "dashboard_statistic_pkey", "family_period": "statistic_family_period"}
_QUARTER = "to_char(month, 'YYYY') || 'Q' || extract(quarter FROM month)"
_YEAR = "to_char(month, 'YYYY')"
_MONTH_CODE = "to_char(month, 'YYYY-MM')"


class _Run:
    def __init__(self, cursor, today: datetime.date):
        self.cursor = cursor
        self.today = today
        self.table = TABLE  # where stored values are read from and written to
        self.result = Result()
        self.families = Families(_categories(cursor), today)
        self.node_of: list[int] = []

    def execute(self, sql: str, params=None) -> int:
        self.cursor.execute(sql, params or None)
        return self.cursor.rowcount

    def timed(self, phase: str, fn, *args, **kwargs):
        started = time.perf_counter()
        value = fn(*args, **kwargs)
        self.result.phases[phase] = round(self.result.phases.get(phase, 0) + time.perf_counter() - started, 3)
        return value

    # -- the tree ---------------------------------------------------------------------

    def prepare_tree(self) -> None:
        """``stat_node``: every node -> the statistics node holding its records;
        ``stat_closure``: every statistics node -> itself and its statistics ancestors."""
        # An earlier roll-up in the same transaction (a test, a command) left its tables.
        self.execute("DROP TABLE IF EXISTS stat_chain, stat_node, stat_closure, new_rows, f_own, f_tree")
        self.execute(
            """
            CREATE TEMP TABLE stat_chain ON COMMIT DROP AS
            WITH RECURSIVE walk AS (
                SELECT id, CASE WHEN kind = ANY(%(kinds)s) THEN ARRAY[id] ELSE ARRAY[]::bigint[] END AS chain,
                       kind = ANY(%(kinds)s) AS counted
                FROM grids_grid WHERE parent_id IS NULL
                UNION ALL
                SELECT c.id, CASE WHEN c.kind = ANY(%(kinds)s) THEN w.chain || c.id ELSE w.chain END,
                       c.kind = ANY(%(kinds)s)
                FROM grids_grid c JOIN walk w ON c.parent_id = w.id
            )
            SELECT id, chain, counted FROM walk
            """,
            {"kinds": list(STAT_KINDS)},
        )
        self.execute(
            """
            CREATE TEMP TABLE stat_node ON COMMIT DROP AS
            SELECT id AS grid_id, chain[cardinality(chain)] AS node_id FROM stat_chain WHERE cardinality(chain) > 0;
            CREATE TEMP TABLE stat_closure ON COMMIT DROP AS
            SELECT id AS node_id, unnest(chain) AS ancestor_id FROM stat_chain WHERE counted;
            CREATE TEMP TABLE new_rows (node_id bigint, period varchar(7), figures float8[]) ON COMMIT DROP;
            ANALYZE stat_closure;
            """
        )
        self.cursor.execute("SELECT grid_id, node_id FROM stat_node")
        pairs = self.cursor.fetchall()
        self.node_of = [0] * max((grid_id for grid_id, _node in pairs), default=0)
        for grid_id, node_id in pairs:
            self.node_of[grid_id - 1] = node_id

    # -- counting ---------------------------------------------------------------------

    def count(self, family: str, months) -> list[str]:
        """Steps 1 and 2: ``f_tree`` (node_id, month, c0...): the family's metrics per
        statistics node, for its whole subtree, per month; returns the metric keys."""
        keys = self.families.metrics[family]
        params = {**self.families.params, "node_of": self.node_of}
        selects = []
        for part in self.families.parts[family]:
            columns = "".join(f", {sql} AS {name}" for name, sql in part.columns.items())
            values = ", ".join(f"coalesce({part.values.get(key, '0')}, 0)::float8" for key in keys)
            selects.append(
                f"""
                SELECT node_id, month, {values}
                FROM (
                    SELECT (%(node_of)s::bigint[])[{part.grid}] AS node_id,
                           {_month_of(part.date, part.timestamp, params)} AS month{columns}
                    FROM {part.table}
                    WHERE {part.where} AND {_months_condition(part.date, part.timestamp, months, params)}
                ) x
                GROUP BY 1, 2
                """
            )
        if len(selects) == 1:
            own = selects[0]
        else:
            own = f"""
                SELECT node_id, month, {_columns(len(keys), "sum({c}) AS {c}")}
                FROM ({" UNION ALL ".join(selects)}) u (node_id, month, {_columns(len(keys))})
                GROUP BY 1, 2
            """
        self.execute("DROP TABLE IF EXISTS f_own, f_tree")
        self.execute(f"CREATE TEMP TABLE f_own ({'node_id, month, ' + _columns(len(keys))}) ON COMMIT DROP AS {own}", params)
        self.execute(
            f"""
            CREATE TEMP TABLE f_tree ON COMMIT DROP AS
            SELECT a.ancestor_id AS node_id, o.month, {_columns(len(keys), "sum(o.{c}) AS {c}")}
            FROM f_own o JOIN stat_closure a ON a.node_id = o.node_id
            GROUP BY 1, 2
            """
        )
        return keys

    def flows(self, family: str, months) -> set[str] | None:
        """Step 3 for a flow family: ``new_rows`` for the months counted and the quarters
        and years holding them; returns those periods (``ALL``: every one)."""
        keys = self.count(family, months)
        params: dict = {"family": family}
        figures, keep = _figures(len(keys))
        columns = _columns(len(keys))
        if months is ALL:
            periods, every_month = ALL, "f_tree"
        else:
            periods = set(months) | _affected(months)
            others = {month.code for code in _affected(months) for month in Period.parse(code, strict=False).months()} - set(
                months
            )
            params["others"] = sorted(others)
            stored = ", ".join(f"coalesce(figures[{i + 1}], 0) AS c{i}" for i in range(len(keys)))
            every_month = f"""(
                SELECT node_id, month, {columns} FROM f_tree
                UNION ALL
                SELECT node_id, to_date(period, 'YYYY-MM'), {stored} FROM {self.table}
                WHERE family = %(family)s AND period = ANY(%(others)s)
            )"""
        sums = _columns(len(keys), "sum({c}) AS {c}")
        self.execute("TRUNCATE new_rows")
        self.execute(
            f"""
            INSERT INTO new_rows (node_id, period, figures)
            SELECT node_id, {_MONTH_CODE}, {figures} FROM f_tree WHERE {keep}
            UNION ALL
            SELECT node_id, period, {figures} FROM (
                SELECT node_id, {_QUARTER} AS period, {sums} FROM {every_month} q GROUP BY 1, 2
                UNION ALL
                SELECT node_id, {_YEAR} AS period, {sums} FROM {every_month} y GROUP BY 1, 2
            ) rolled
            WHERE {keep}
            """,
            params,
        )
        return periods

    def levels(self, family: str) -> None:
        """Steps 1-3 for a level family, every period: the month's changes carried
        forward; a quarter or year takes the level of its last month (or of this month)."""
        keys = self.count(family, ALL)
        params: dict = {"current": self.today.replace(day=1)}
        figures, keep = _figures(len(keys))
        self.execute("TRUNCATE new_rows")
        self.execute(
            f"""
            WITH spans AS (SELECT node_id, min(month) AS first FROM f_tree WHERE month <= %(current)s GROUP BY 1),
            months AS (
                SELECT s.node_id, g.month::date AS month
                FROM spans s CROSS JOIN LATERAL generate_series(s.first, %(current)s::date, interval '1 month') g(month)
            ),
            running AS (
                SELECT m.node_id, m.month, {_columns(len(keys), "sum(coalesce(t.{c}, 0)) OVER w AS {c}")}
                FROM months m LEFT JOIN f_tree t ON t.node_id = m.node_id AND t.month = m.month
                WINDOW w AS (PARTITION BY m.node_id ORDER BY m.month)
            ),
            levels AS (SELECT node_id, month, {figures} AS figures FROM running WHERE {keep})
            INSERT INTO new_rows (node_id, period, figures)
            SELECT node_id, {_MONTH_CODE}, figures FROM levels
            UNION ALL
            SELECT node_id, {_QUARTER}, figures FROM levels
            WHERE extract(month FROM month)::int %% 3 = 0 OR month = %(current)s
            UNION ALL
            SELECT node_id, {_YEAR}, figures FROM levels
            WHERE extract(month FROM month) = 12 OR month = %(current)s
            """,
            params,
        )

    def derive(self, periods) -> None:
        """Step 4: ``new_rows`` of rates, means and sums from the stored values."""
        params: dict = {}
        inputs = sorted({key for metric in m.DERIVED_METRICS for key in metric.inputs})
        column = {key: f"v{i}" for i, key in enumerate(inputs)}
        pivots = ", ".join(
            f"max(figures[{self.families.metrics[m.family_of(key)].index(key) + 1}])"
            f" FILTER (WHERE family = {_literal(m.family_of(key), params)}) AS {column[key]}"
            for key in inputs
        )
        values = []
        for i, metric in enumerate(m.DERIVED_METRICS):
            a, b = (column[key] for key in metric.inputs)
            if metric.kind == m.SUM:
                values.append(f"NULLIF(coalesce({a}, 0) + coalesce({b}, 0), 0) AS c{i}")
            else:
                values.append(f"CASE WHEN {b} > 0 THEN coalesce({a}, 0) / {b} END AS c{i}")
        figures, keep = _figures(len(m.DERIVED_METRICS), counts=False)
        params["families"] = sorted({m.family_of(key) for key in inputs})
        where = ""
        if periods is not ALL:
            params["periods"] = sorted(periods)
            where = "AND period = ANY(%(periods)s)"
        self.execute("TRUNCATE new_rows")
        self.execute(
            f"""
            INSERT INTO new_rows (node_id, period, figures)
            SELECT node_id, period, {figures}
            FROM (
                SELECT node_id, period, {", ".join(values)}
                FROM (SELECT node_id, period, {pivots} FROM {self.table}
                      WHERE family = ANY(%(families)s) {where} GROUP BY 1, 2) p
            ) d
            WHERE {keep}
            """,
            params,
        )

    # -- layouts ----------------------------------------------------------------------

    def layout(self, family: str) -> list[str]:
        if family == m.DERIVED:
            return [metric.key for metric in m.DERIVED_METRICS]
        return self.families.metrics[family]

    def stale_layouts(self) -> set[str]:
        """The families whose stored rows follow another order of keys than today's."""
        self.cursor.execute("SELECT family, keys FROM dashboard_statisticlayout")
        stored = dict(self.cursor.fetchall())
        return {family for family in (*m.BASE_FAMILIES, m.DERIVED) if stored.get(family) != self.layout(family)}

    def write_layout(self, family: str) -> None:
        self.execute(
            """
            INSERT INTO dashboard_statisticlayout (family, keys) VALUES (%s, %s)
            ON CONFLICT (family) DO UPDATE SET keys = EXCLUDED.keys
            """,
            [family, self.layout(family)],
        )

    # -- writing ----------------------------------------------------------------------

    def _new_count(self) -> int:
        self.cursor.execute("SELECT count(*) FROM new_rows")
        return self.cursor.fetchone()[0]

    def append(self, family: str) -> None:
        """A full rebuild: ``new_rows`` go into the table being built."""
        self.result.cells += self.execute(
            f"INSERT INTO {self.table} (node_id, period, family, figures) SELECT node_id, period, %s, figures FROM new_rows",
            [family],
        )

    def replace(self, family: str, periods) -> None:
        """An update: the stored rows of ``family`` in ``periods`` (``ALL``: all of
        them) become ``new_rows``; unchanged rows are not written."""
        self.result.cells += self._new_count()
        params = {"family": family}
        scope = "s.family = %(family)s"
        if periods is not ALL:
            params["periods"] = sorted(periods)
            scope += " AND s.period = ANY(%(periods)s)"
        deleted = self.execute(
            f"""
            DELETE FROM {self.table} s WHERE {scope}
            AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.node_id = s.node_id AND n.period = s.period)
            """,
            params,
        )
        upserted = self.execute(
            f"""
            INSERT INTO {self.table} AS s (node_id, period, family, figures)
            SELECT node_id, period, %(family)s, figures FROM new_rows
            ON CONFLICT (node_id, period, family) DO UPDATE SET figures = EXCLUDED.figures
            WHERE s.figures IS DISTINCT FROM EXCLUDED.figures
            """,
            params,
        )
        self.result.written += deleted + upserted

    # -- the two paths ----------------------------------------------------------------

    def rebuild(self, step) -> None:
        """Everything into a new table, indexed once at the end, that then takes the old
        one's place: readers keep reading the old table until the commit."""
        self.execute(f"DROP TABLE IF EXISTS {NEXT_TABLE}")
        self.execute(f"CREATE TABLE {NEXT_TABLE} (LIKE {TABLE} INCLUDING DEFAULTS)")
        self.table = NEXT_TABLE
        for family in m.BASE_FAMILIES:
            if family in m.FLOW_FAMILIES:
                self.timed(family, self.flows, family, ALL)
            else:
                self.timed(family, self.levels, family)
            self.timed("write", self.append, family)
            step()
        self.timed("derived", self.derive, ALL)
        self.timed("write", self.append, m.DERIVED)
        self.timed("swap", self._swap)
        for family in (*m.BASE_FAMILIES, m.DERIVED):
            self.write_layout(family)
        self.result.written = self.result.cells

    def _swap(self) -> None:
        self.execute(
            f"""
            ALTER TABLE {NEXT_TABLE} ADD CONSTRAINT {NEXT_TABLE}_pkey PRIMARY KEY (node_id, period, family);
            CREATE INDEX {NEXT_TABLE}_family_period ON {NEXT_TABLE} (family, period);
            DROP TABLE {TABLE};
            ALTER TABLE {NEXT_TABLE} RENAME TO {TABLE};
            ALTER INDEX {NEXT_TABLE}_pkey RENAME TO {INDEX_NAMES["pkey"]};
            ALTER INDEX {NEXT_TABLE}_family_period RENAME TO {INDEX_NAMES["family_period"]};
            """
        )
        self.table = TABLE

    def levels_behind(self, family: str) -> bool:
        """Whether a level family's figures stop before this month (a month began since the
        last run that counted them): then the levels are carried into it now."""
        self.cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {self.table} WHERE family = %s), "
            f"EXISTS (SELECT 1 FROM {self.table} WHERE family = %s AND period = %s)",
            [family, family, Period.month_of(self.today).code],
        )  # both answered from the (family, period) index
        held, current = self.cursor.fetchone()
        return held and not current

    def update(self, marks: Marks, step) -> None:
        stale = self.stale_layouts()
        for family in stale - {m.DERIVED}:
            marks.add(family, ALL)
        for family in m.SNAPSHOT_FAMILIES:
            if family not in marks.families and self.levels_behind(family):
                marks.add(family, ALL)
        derived: set[str] | None = ALL if m.DERIVED in stale else set()
        for family in m.BASE_FAMILIES:
            if family not in marks.families:
                continue
            if family in m.FLOW_FAMILIES:
                periods = self.timed(family, self.flows, family, marks.families[family])
                if periods is ALL or derived is ALL:
                    derived = ALL
                else:
                    derived |= periods
            else:
                self.timed(family, self.levels, family)
                periods = ALL
            self.timed("write", self.replace, family, periods)
            if family in stale:
                self.write_layout(family)
            step()
        if derived is ALL or derived:
            self.timed("derived", self.derive, derived)
            self.timed("write", self.replace, m.DERIVED, derived)
            if m.DERIVED in stale:
                self.write_layout(m.DERIVED)


def rollup(marks: Marks, *, progress=None, today: datetime.date | None = None) -> Result:
    """Recompute what ``marks`` names (``Marks.everything()`` for a full rebuild)."""
    from kaili.progress import no_progress

    progress = progress or no_progress
    started = time.perf_counter()
    phase = "重算统计"
    steps = 2 + (len(m.BASE_FAMILIES) if marks.is_full else len(marks.families))
    done = [0]

    def step():
        done[0] += 1
        progress(phase, done[0], steps)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        advisory_xact_lock(STATISTICS_ROLLUP_LOCK)
        run = _Run(cursor, today or timezone.localdate())
        progress(phase, 0, steps)
        run.timed("tree", run.prepare_tree)
        step()
        if marks.is_full:
            run.rebuild(step)
        elif marks:
            run.update(marks, step)
        done[0] = steps - 1
        step()
    run.result.seconds = round(time.perf_counter() - started, 3)
    return run.result

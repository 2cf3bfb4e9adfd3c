"""Running the roll-up (recorded as ``RollupRun``), the consistency check, and the
villages' five-haves / five-nones assessments."""

import datetime
import logging
import random
import traceback

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard import metrics as m
from dashboard.direct import direct_family
from dashboard.models import PendingMark, RollupRun, Statistic, StatisticLayout, VillageAssessment
from dashboard.periods import Period
from dashboard.rollup import STAT_KINDS, Marks, rollup
from grids.models import Grid, GridKind
from kaili.audit import audit_record
from kaili.locks import STATISTICS_REBUILD_REQUEST_LOCK, advisory_xact_lock
from kaili.models import AuditAction

logger = logging.getLogger(__name__)
TOLERANCE = 1e-9
# A full run "running" for longer than this died without saying so (a killed worker).
RUN_GIVEN_UP_AFTER = datetime.timedelta(hours=1)


def _start(kind: str, *, requested_by=None, task_id: str = "") -> RollupRun:
    return RollupRun.objects.create(kind=kind, requested_by=requested_by, task_id=task_id or "")


def _finish(run: RollupRun, result=None, error: BaseException | None = None, **fields) -> RollupRun:
    detail = fields.pop("detail", {})
    run.finished_at = timezone.now()
    if error is None:
        run.status = RollupRun.Status.SUCCEEDED
    else:
        run.status = RollupRun.Status.FAILED
        run.error = "".join(traceback.format_exception_only(type(error), error)).strip()[:2000]
    if result is not None:
        run.cells, run.rows = result.cells, result.written
        run.detail = {**run.detail, "seconds": result.seconds, "phases": result.phases}
    run.detail = {**run.detail, **detail}
    for name, value in fields.items():
        setattr(run, name, value)
    run.save()
    return run


def _give_up_dead_runs() -> None:
    """Runs left "running" by a worker that was killed say so."""
    RollupRun.objects.filter(status=RollupRun.Status.RUNNING, started_at__lt=timezone.now() - RUN_GIVEN_UP_AFTER).update(
        status=RollupRun.Status.FAILED, finished_at=timezone.now(), error=_("运行中断（后台进程已停止）。")
    )


def run_full_rebuild(*, run: RollupRun | None = None, requested_by=None, progress=None, task_id: str = "") -> RollupRun:
    """Recompute every statistic; the marks pending when it starts are covered by it."""
    _give_up_dead_runs()
    run = run or _start(RollupRun.Kind.FULL, requested_by=requested_by, task_id=task_id)
    run.families, run.periods = list(m.BASE_FAMILIES), []
    try:
        with transaction.atomic():
            PendingMark.objects.all().delete()
            result = rollup(Marks.everything(), progress=progress)
    except Exception as error:
        _finish(run, error=error)
        raise
    return _finish(run, result)


def request_full_rebuild(*, actor) -> tuple[RollupRun, bool]:
    """The admin's "rebuild now": a full run queued for the worker once this commits;
    returns the run and whether it is new (False: one started within the hour is still
    running, and that one is returned)."""
    from dashboard.tasks import rollup_full

    with transaction.atomic():
        advisory_xact_lock(STATISTICS_REBUILD_REQUEST_LOCK)
        running = (
            RollupRun.objects.filter(
                kind=RollupRun.Kind.FULL,
                status=RollupRun.Status.RUNNING,
                started_at__gte=timezone.now() - RUN_GIVEN_UP_AFTER,
            )
            .order_by("-started_at")
            .first()
        )
        if running is not None:
            return running, False
        run = RollupRun.objects.create(kind=RollupRun.Kind.FULL, requested_by=actor)
        audit_record(actor=actor, action=AuditAction.CREATE, obj=run, changes={"kind": run.kind})
        transaction.on_commit(lambda: _queue(rollup_full, run))
    return run, True


def _queue(task, run: RollupRun) -> None:
    try:
        result = task.delay(run.pk)
    except Exception as error:  # the broker is down: say so on the run rather than leave it "running"
        logger.exception("could not queue the full rebuild of run %s", run.pk)
        RollupRun.objects.filter(pk=run.pk, status=RollupRun.Status.RUNNING).update(
            status=RollupRun.Status.FAILED, finished_at=timezone.now(), error=_("无法提交后台任务：%(error)s") % {"error": error}
        )
        return
    RollupRun.objects.filter(pk=run.pk).update(task_id=result.id or "")


def run_pending(*, task_id: str = "") -> RollupRun | None:
    """Drain the pending marks and recompute what they name; None when there were none."""
    if not PendingMark.objects.exists():
        return None
    run = _start(RollupRun.Kind.INCREMENTAL, task_id=task_id)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM dashboard_pendingmark RETURNING family, month")
                drained = cursor.fetchall()
            marks = Marks()
            for family, month in drained:
                marks.add(family, [month] if month else None)
            run.families = sorted(marks.families)
            run.periods = sorted({code for months in marks.families.values() if months for code in months})
            result = rollup(marks) if marks else None
    except Exception as error:
        _finish(run, error=error)
        raise
    return _finish(run, result, detail={"marks": len(drained)})


def run_consistency_check(*, sample: int = 200, seed: int | None = None, requested_by=None) -> RollupRun:
    """Compare ``sample`` stored rows (node, period, family), drawn at random, with the
    same values counted straight from the records; mismatches are recorded on the run."""
    run = _start(RollupRun.Kind.CHECK, requested_by=requested_by)
    try:
        mismatches, checked = _check(sample, random.Random(seed))
    except Exception as error:
        _finish(run, error=error)
        raise
    _finish(run, mismatches=len(mismatches), cells=checked, detail={"sample": sample, "mismatches": mismatches[:50]})
    if mismatches:
        logger.warning("dashboard consistency check: %d mismatches, e.g. %s", len(mismatches), mismatches[:3])
    return run


def _check(sample: int, rng: random.Random) -> tuple[list[dict], int]:
    """Half the sample among the stored rows, half among all (node, period, family) keys of
    the periods the table holds: a row missing where the records say it should not be
    (the table is sparse) is found by the second half."""
    layouts = dict(StatisticLayout.objects.values_list("family", "keys"))
    keys = list(Statistic.objects.values_list("node_id", "period", "family"))
    if not keys:
        return [], 0
    today = timezone.localdate()
    chosen = set(rng.sample(keys, min(sample - sample // 2, len(keys))))
    periods = sorted({period for _node, period, _family in keys})
    node_ids = list(Grid.objects.filter(kind__in=STAT_KINDS).values_list("pk", flat=True))
    families = [*m.BASE_FAMILIES, m.DERIVED]
    for _draw in range(sample // 2):
        chosen.add((rng.choice(node_ids), rng.choice(periods), rng.choice(families)))
    chosen = sorted(chosen)
    nodes = Grid.objects.in_bulk({node for node, _period, _family in chosen})
    stored = {
        (row.node_id, row.period, row.family): row.figures
        for row in Statistic.objects.filter(pk__in=chosen)  # composite key lookups
    }
    mismatches, checked = [], 0
    for node_id, period, family in chosen:
        figures = dict(zip(layouts.get(family, ()), stored.get((node_id, period, family), ()), strict=False))
        expected = direct_family(nodes[node_id], Period.parse(period), family, today)
        for key in set(figures) | set(expected):
            have, want = figures.get(key), expected.get(key)
            checked += 1
            if not _same(key, have, want):
                # Where, not what: the runs page is the system admin's, who reads no figures.
                mismatches.append({"node": nodes[node_id].code, "period": period, "metric": key})
                logger.info("dashboard check: %s %s %s stored %r counted %r", nodes[node_id].code, period, key, have, want)
    return mismatches, checked


def _same(key: str, stored, counted) -> bool:
    """A count missing is 0; a rate missing is "nothing to measure", which 0% is not."""
    if not m.metric(key).is_ratio:
        stored, counted = stored or 0, counted or 0
    if stored is None or counted is None:
        return stored is None and counted is None
    return abs(stored - counted) <= TOLERANCE * max(1.0, abs(counted))


# --- five haves, five nones ------------------------------------------------------------

ASSESSED_FIELDS = ("has_venue", "has_funding", "has_mechanism", "no_other", "other_item", "note")


@transaction.atomic
def assessment_save(*, actor, zone: Grid, year: int, **fields) -> VillageAssessment:
    """An assessor's entries for a village and year (created or updated, audited)."""
    errors = {}
    if zone.kind != GridKind.ZONE:
        errors["zone"] = _("五有五无按村（社区）评定，请选择一级网格。")
    this_year = timezone.localdate().year
    if not isinstance(year, int) or not 2000 <= year <= this_year:
        errors["year"] = _("评定年度应在 2000-%(year)d 之间。") % {"year": this_year}
    unknown = set(fields) - set(ASSESSED_FIELDS)
    if unknown:
        errors["__all__"] = _("不能填写的项目：%(fields)s。") % {"fields": "、".join(sorted(unknown))}
    if fields.get("no_other") is not None and not (fields.get("other_item") or "").strip():
        errors["other_item"] = _("认定第五无时，请写明其内容。")
    if errors:
        raise ValidationError(errors)
    # The village's row is the lock: two first saves of a year at once make one assessment.
    Grid.objects.select_for_update().filter(pk=zone.pk).first()
    assessment = VillageAssessment.objects.filter(zone=zone, year=year).first()
    created = assessment is None
    assessment = assessment or VillageAssessment(zone=zone, year=year)
    before = {name: getattr(assessment, name) for name in ASSESSED_FIELDS}
    for name, value in fields.items():
        setattr(assessment, name, value.strip() if isinstance(value, str) else value)
    assessment.assessed_by = actor
    assessment.full_clean()
    assessment.save()
    changes = {
        name: [before[name], getattr(assessment, name)] for name in ASSESSED_FIELDS if before[name] != getattr(assessment, name)
    }
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=assessment,
        changes={"zone": zone.code, "year": year, **changes},
    )
    return assessment

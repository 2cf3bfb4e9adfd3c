"""What a saved record changes in the statistics, marked in the record's transaction.

Saving (or deleting) an incident, a dispute, an enrollment, a visit, a household or a
person writes a ``PendingMark`` per family of metrics and month it touches, before and
after the change (an incident moved from May to June changes both), in the same
transaction; on commit the incremental roll-up is queued. A move, merge or split of grid
nodes changes every figure above it, so it marks every family in full.

Services that write in bulk (``bulk_create``, ``bulk_update``) send
``kaili.signals.records_saved_in_bulk`` with the records, which marks the same; what writes
with ``QuerySet.update`` or raw SQL (the demo's loaders) is covered by the nightly full
rebuild, or marks what it changes with ``mark_changed``.
"""

import contextlib
import datetime
import threading

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save
from django.utils import timezone

from dashboard import metrics as m
from dashboard.models import PendingMark
from dashboard.periods import Period
from kaili import signals

QUEUED_KEY = "dashboard:rollup:queued"
QUEUED_SECONDS = 60

# model label -> {family: the date fields whose months it touches (none: every month)}
TRACKED: dict[str, dict[str, tuple[str, ...]]] = {
    "cases.incident": {m.INCIDENTS: ("occurred_at",), m.SATISFACTION: ("closed_at",)},
    "disputes.dispute": {m.DISPUTES: ("registered_at", "closed_at"), m.SATISFACTION: ("closed_at",)},
    "populations.enrollment": {m.PROGRAMMES: (), m.FOLLOWUPS: ("next_due_on",)},
    "populations.visit": {m.FOLLOWUPS: ("due_on",)},
    "populations.household": {m.REGISTRY: ()},
    "populations.person": {m.REGISTRY: ()},
}
# A category's kind and statistic key decide what its incidents count as: a change of
# either recounts every incident (a new category has none yet; seeding the same values
# again changes nothing).
CATEGORY = "cases.category"
CATEGORY_FIELDS = ("kind", "statistic")
# Households and people count when they are added or removed, or when they move to another
# unit, taking the enrollments (and their follow-ups) of the people with them.
REGISTRY = {"populations.household", "populations.person"}
MOVED = (m.REGISTRY, m.PROGRAMMES, m.FOLLOWUPS)
TREE_CHANGES = {"moved", "merged", "split"}
_paused = threading.local()


def _month(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date()
    return Period.month_of(value).code


def _dates(instance, fields) -> dict:
    return {name: instance.__dict__.get(name) for name in fields}


def _tracked_fields(label: str) -> tuple[str, ...]:
    fields = {name for fields in TRACKED[label].values() for name in fields}
    if label in REGISTRY:
        fields.add("unit_id")
    return tuple(sorted(fields))


def remember_loaded(sender, instance, **kwargs):
    """The dates a record was loaded with, to mark the months it leaves."""
    label = sender._meta.label_lower
    fields = CATEGORY_FIELDS if label == CATEGORY else _tracked_fields(label)
    instance._dashboard_loaded = _dates(instance, fields)


def category_saved(sender, instance, created=False, **kwargs):
    before = getattr(instance, "_dashboard_loaded", {}) or {}
    after = _dates(instance, CATEGORY_FIELDS)
    instance._dashboard_loaded = after
    if not created and before and before != after:
        mark_changed([(m.INCIDENTS, "")])


def _marks_for(label: str, before: dict, after: dict) -> list[tuple[str, str]]:
    marks = []
    for family, fields in TRACKED[label].items():
        if not fields:
            marks.append((family, ""))
            continue
        for name in fields:
            for value in (before.get(name), after.get(name)):
                month = _month(value)
                if month:
                    marks.append((family, month))
    return marks


def mark_changed(marks) -> None:
    """Record ``(family, month)`` pairs (month "" for every month) in the current
    transaction and queue the incremental roll-up for when it commits."""
    pairs = sorted(set(marks))
    if not pairs or not settings.KAILI_STATS_ON_SAVE or getattr(_paused, "on", False):
        return
    PendingMark.objects.bulk_create([PendingMark(family=family, month=month) for family, month in pairs])
    # robust: a failed roll-up must not fail the request whose record was saved
    transaction.on_commit(queue_rollup, robust=True)


@contextlib.contextmanager
def paused():
    """No marks while loading in bulk (the demo); the caller rebuilds everything after."""
    _paused.on = True
    try:
        yield
    finally:
        _paused.on = False


def mark_everything() -> None:
    mark_changed((family, "") for family in m.BASE_FAMILIES)


def _saved_marks(label: str, instance, created: bool) -> list[tuple[str, str]]:
    before = getattr(instance, "_dashboard_loaded", {}) or {}
    after = _dates(instance, _tracked_fields(label))
    instance._dashboard_loaded = after
    if label not in REGISTRY:
        return _marks_for(label, before, after)
    if created:
        return [(m.REGISTRY, "")]
    if "unit_id" in before and before["unit_id"] != after["unit_id"]:
        return [(family, "") for family in MOVED]
    return []


def record_saved(sender, instance, created=False, **kwargs):
    mark_changed(_saved_marks(sender._meta.label_lower, instance, created))


def records_saved_in_bulk(sender, instances=(), created=False, **kwargs):
    """The same marks for records a service wrote with bulk_create / bulk_update."""
    label = sender._meta.label_lower
    if label == "grids.gridevent":
        if created and any(event.kind in TREE_CHANGES for event in instances):
            mark_everything()
        return
    if label not in TRACKED:
        return
    marks = []
    for instance in instances:
        marks += _saved_marks(label, instance, created)
    mark_changed(marks)


def record_deleted(sender, instance, **kwargs):
    label = sender._meta.label_lower
    mark_changed(_marks_for(label, getattr(instance, "_dashboard_loaded", {}) or {}, _dates(instance, ())))


def tree_changed(sender, instance, created=False, **kwargs):
    if created and instance.kind in TREE_CHANGES:
        mark_everything()


def queue_rollup() -> None:
    """Queue one incremental run; while one is queued and not yet started, more saves
    only add marks for it to drain (a save shows within the delay and one run)."""
    from dashboard.tasks import rollup_pending

    if cache.add(QUEUED_KEY, 1, QUEUED_SECONDS):
        # The run waits a moment, so that the saves of the next seconds join it: one run
        # for many saves keeps the worker's share of the database small under load.
        rollup_pending.apply_async(countdown=settings.KAILI_STATS_DELAY_SECONDS)


def connect() -> None:
    from django.apps import apps

    for label in TRACKED:
        model = apps.get_model(label)
        uid = f"dashboard:{label}"
        post_init.connect(remember_loaded, sender=model, dispatch_uid=f"{uid}:init")
        post_save.connect(record_saved, sender=model, dispatch_uid=f"{uid}:save")
        post_delete.connect(record_deleted, sender=model, dispatch_uid=f"{uid}:delete")
    category = apps.get_model(CATEGORY)
    post_init.connect(remember_loaded, sender=category, dispatch_uid="dashboard:category:init")
    post_save.connect(category_saved, sender=category, dispatch_uid="dashboard:category:save")
    post_save.connect(tree_changed, sender=apps.get_model("grids.gridevent"), dispatch_uid="dashboard:gridevent")
    signals.records_saved_in_bulk.connect(records_saved_in_bulk, dispatch_uid="dashboard:bulk")

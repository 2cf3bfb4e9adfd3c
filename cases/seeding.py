"""The seeded tables: handling departments, the two-level category catalogue and the
holiday calendar (``cases.catalogue``). Idempotent: rows an admin has edited keep their
edits; only missing rows are added."""

import datetime

from cases.catalogue import CATEGORY_TREE, DEPARTMENTS, HOLIDAYS

INHERITED = ("kind", "urgent", "dispute_related", "statistic", "department")
LIMITS = ("handle_minutes", "file_minutes", "dispatch_minutes")


def seed_departments(Department) -> int:
    existing = set(Department.objects.values_list("code", flat=True))
    new = [Department(code=code, name=name) for code, name in DEPARTMENTS if code not in existing]
    Department.objects.bulk_create(new)
    return len(new)


def _category_fields(entry: dict, inherited: dict, departments: dict) -> dict:
    values = {**inherited, **{key: entry[key] for key in (*INHERITED, *LIMITS) if key in entry}}
    fields = {
        "kind": values["kind"],
        "urgent": values.get("urgent", False),
        "dispute_related": values.get("dispute_related", False),
        "statistic": values.get("statistic", ""),
        "department": departments.get(values.get("department")),
    }
    fields.update({key: entry[key] for key in LIMITS if key in entry})
    return fields


def seed_categories(Category, Department) -> int:
    departments = {d.code: d for d in Department.objects.all()}
    existing = set(Category.objects.values_list("code", flat=True))
    created = 0
    for major_sort, major in enumerate(CATEGORY_TREE, start=1):
        inherited = {key: major[key] for key in INHERITED if key in major}
        if major["code"] in existing:
            parent = Category.objects.get(code=major["code"])
        else:
            parent = Category.objects.create(
                code=major["code"], name=major["name"], sort=major_sort, **_category_fields(major, {}, departments)
            )
            created += 1
        for minor_sort, minor in enumerate(major.get("children", ()), start=1):
            if minor["code"] in existing:
                continue
            Category.objects.create(
                code=minor["code"],
                name=minor["name"],
                parent=parent,
                sort=minor_sort,
                **_category_fields(minor, inherited, departments),
            )
            created += 1
    return created


def seed_calendar(CalendarDay) -> int:
    existing = set(CalendarDay.objects.values_list("date", flat=True))
    new = []
    for day, working, name in HOLIDAYS:
        date = datetime.date.fromisoformat(day)
        if date not in existing:
            existing.add(date)
            new.append(CalendarDay(date=date, working=working, name=name))
    CalendarDay.objects.bulk_create(new)
    return len(new)


def seed_case_tables(apps=None) -> dict[str, int]:
    """Seed the three tables; ``apps`` is a migration's app registry (or None for the live models)."""
    if apps is None:
        from django.apps import apps
    Department = apps.get_model("cases", "Department")
    Category = apps.get_model("cases", "Category")
    CalendarDay = apps.get_model("cases", "CalendarDay")
    return {
        "departments": seed_departments(Department),
        "categories": seed_categories(Category, Department),
        "calendar_days": seed_calendar(CalendarDay),
    }

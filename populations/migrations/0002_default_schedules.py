"""Seed the follow-up / visit / test frequencies of DOMAIN.md ("Programme rules")."""

from django.db import migrations


def seed(apps, schema_editor):
    from populations.schedules import DEFAULT_RULES

    ScheduleRule = apps.get_model("populations", "ScheduleRule")
    if ScheduleRule.objects.exists():
        return
    ScheduleRule.objects.bulk_create(
        ScheduleRule(
            programme=programme,
            basis=basis,
            key_from=key_from,
            key_to=key_to,
            visit_kind=kind,
            interval_months=months,
            interval_days=days,
            note=note,
        )
        for programme, basis, key_from, key_to, kind, months, days, note in DEFAULT_RULES
    )


class Migration(migrations.Migration):
    dependencies = [("populations", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

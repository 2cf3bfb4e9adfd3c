"""Schedules by correction category: temporary service outside prison reports health monthly
(Community Correction Law implementing measures, 2020, art. 24)."""

from django.db import migrations, models


def add_health_report_rule(apps, schema_editor):
    ScheduleRule = apps.get_model("populations", "ScheduleRule")
    ScheduleRule.objects.get_or_create(
        programme="correction",
        basis="category",
        key_from=4,
        key_to=4,
        visit_kind="health_report",
        defaults={"interval_months": 1, "interval_days": 0, "note": "暂予监外执行：每月报告病情"},
    )


class Migration(migrations.Migration):
    dependencies = [("populations", "0004_exact_match_indexes")]

    operations = [
        migrations.AlterField(
            model_name="schedulerule",
            name="basis",
            field=models.CharField(
                choices=[
                    ("level", "按风险/需求等级"),
                    ("year", "按在册年度"),
                    ("supervision", "按管理等级"),
                    ("category", "按矫正类别"),
                    ("any", "统一"),
                ],
                max_length=12,
                verbose_name="依据",
            ),
        ),
        migrations.RunPython(add_health_report_rule, migrations.RunPython.noop),
    ]

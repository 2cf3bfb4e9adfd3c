from django.db import migrations


def seed(apps, schema_editor):
    from cases.seeding import seed_case_tables

    seed_case_tables(apps)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

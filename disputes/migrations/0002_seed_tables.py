from django.db import migrations


def seed(apps, schema_editor):
    from disputes.catalogue import seed_tables

    seed_tables(apps)


class Migration(migrations.Migration):
    dependencies = [("disputes", "0001_initial"), ("cases", "0002_seed_tables")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

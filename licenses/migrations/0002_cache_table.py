"""The database cache (throttling of sign-up and logins without Redis) needs its table: `migrate` makes it."""

from django.core.management import call_command
from django.db import migrations


def cache_table_create(apps, schema_editor):
    # Idempotent; does nothing for a Redis cache. Without it sign-up answers 500 until createcachetable ran.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("licenses", "0001_initial")]
    operations = [migrations.RunPython(cache_table_create, migrations.RunPython.noop)]

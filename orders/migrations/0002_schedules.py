"""Create the periodic tasks once (idempotent): the sweep every minute, the catch-up every N minutes."""

from django.conf import settings
from django.db import migrations

SCHEDULES = {
    "orders: sweep": ("orders.tasks.orders_sweep_task", 1),
    "orders: catch-up": ("orders.tasks.catch_up_task", None),
}


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": "I",  # minutes
                "minutes": minutes or settings.CATCHUP_INTERVAL_MINUTES,
                "repeats": -1,
            },
        )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]

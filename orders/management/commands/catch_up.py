"""`python manage.py catch_up [--licence KEY]`: ask the shop(s) for missed orders now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from licenses.models import Licence
from orders.catchup import catch_up_all, licence_catch_up


class Command(BaseCommand):
    help = "Run the catch-up now: feed orders updated since the last sync through the normal path."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--licence", help="licence key (default: every connected licence)")

    def handle(self, *args: object, **options: object) -> None:
        key = options.get("licence")
        if key:
            licence = Licence.objects.filter(key=key).first()
            if licence is None:
                raise CommandError(f"No licence {key}")
            results = {licence.key: licence_catch_up(licence)}
        else:
            results = catch_up_all()
        for licence_key, count in results.items():
            self.stdout.write(f"{licence_key}: {count} order(s) fed")

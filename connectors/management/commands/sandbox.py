"""`python manage.py sandbox`: run the KMO Shops, EF and VIES sandboxes until Ctrl-C."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from connectors.sandboxes import sandboxes_start


class Command(BaseCommand):
    help = "Run the KMO Shops, EenvoudigFactureren and VIES sandboxes on loopback ports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--kmoshops-port", type=int, default=8101)
        parser.add_argument("--ef-port", type=int, default=8102)
        parser.add_argument("--vies-port", type=int, default=8103)
        parser.add_argument("--webhook-url", default=f"{settings.SITE_URL}/webhooks/kmoshops/")
        parser.add_argument("--ef-api-key", default="sandbox-ef-key", help="API key of a ready EF account")

    def handle(self, *args: object, **options: object) -> None:
        sandboxes = sandboxes_start(
            client_id=settings.KMOSHOPS_CLIENT_ID or "sandbox-client-id",
            client_secret=settings.KMOSHOPS_CLIENT_SECRET or "sandbox-client-secret",
            webhook_url=str(options["webhook_url"]),
            host=str(options["host"]),
            ports=(int(options["kmoshops_port"]), int(options["ef_port"]), int(options["vies_port"])),  # type: ignore[arg-type]
        )
        self._seed(sandboxes, str(options["ef_api_key"]))
        out = self.stdout
        out.write(self.style.SUCCESS("Sandboxes running (Ctrl-C stops them):"))
        out.write(f"  KMO Shops   {sandboxes.kmoshops.url}   (test controls under /_sandbox/)")
        out.write(f"  EF          {sandboxes.ef.url}   API key: {options['ef_api_key']}")
        out.write(f"  VIES        {sandboxes.vies.url}")
        out.write(f"  webhooks to {options['webhook_url']}")
        out.write("Point the product at them with:")
        for name, value in sandboxes.settings.items():
            out.write(f"  export {name}={value}")
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()
        sandboxes.stop()

    @staticmethod
    def _seed(sandboxes, ef_api_key: str) -> None:  # noqa: ANN001 - local helper
        import requests

        requests.post(
            f"{sandboxes.ef.url}/_sandbox/accounts",
            json={"api_key": ef_api_key, "name": "Demo Webshop BV", "rates": [21, 12, 6]},
            timeout=5,
        )
        requests.post(
            f"{sandboxes.kmoshops.url}/_sandbox/stores",
            json={
                "profile": {
                    "generalInfo": {"storeId": 97510001, "storeUrl": "https://demo-shop.example"},
                    "account": {"accountName": "Demo Webshop BV", "accountEmail": "shop@demo-shop.example"},
                    "settings": {"storeName": "Demo Webshop BV"},
                    "company": {"companyName": "Demo Webshop BV", "countryCode": "BE", "city": "Gent"},
                    "formatsAndUnits": {"currency": "EUR", "timezone": "Europe/Brussels"},
                    "taxSettings": {"pricesIncludeTax": True, "taxes": []},
                }
            },
            timeout=5,
        )

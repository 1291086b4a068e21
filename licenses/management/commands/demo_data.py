"""`python manage.py demo_data`: a demo merchant connected to the running sandboxes, with sample orders.

Idempotent: run it after every (re)start of the sandboxes, which keep their state in memory only.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from licenses.models import ConnectionStatus, Licence, LicenceState, MerchantAccess

DEMO_EMAIL = "demo@kmo-demo.example"
DEMO_PASSWORD = "demo-demo-demo"  # noqa: S105 - a local demo login, printed on purpose
DEMO_STORE = 97510001


class Command(BaseCommand):
    help = "Create the demo merchant, connect it to the sandboxes and feed sample orders through the sandbox shop."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kmoshops-url", default="http://127.0.0.1:8101")
        parser.add_argument("--ef-url", default="http://127.0.0.1:8102")
        parser.add_argument("--ef-api-key", default="sandbox-ef-key")
        parser.add_argument("--fixtures", default=str(settings.BASE_DIR / "tests" / "fixtures" / "orders"))

    def handle(self, *args: Any, **options: Any) -> None:
        shop, ef = options["kmoshops_url"], options["ef_url"]
        profile = self._profile(shop)
        token = self._post(f"{shop}/_sandbox/stores/{DEMO_STORE}/tokens", {})["access_token"]
        rates = self._ef_rates(ef, options["ef_api_key"])
        user = get_user_model().objects.filter(username=DEMO_EMAIL).first()
        if user is None:
            user = get_user_model().objects.create_user(DEMO_EMAIL, DEMO_EMAIL, DEMO_PASSWORD)
        licence = Licence.objects.filter(store_id=DEMO_STORE).exclude(state=LicenceState.CANCELLED).first()
        if licence is None:
            licence = Licence(store_id=DEMO_STORE, company_name="Demo Webshop BV", contact_email=DEMO_EMAIL)
        licence.shop_token = token
        licence.shop_profile = profile
        licence.shop_status = ConnectionStatus.OK
        licence.shop_status_reason = ""
        licence.ef_api_key = options["ef_api_key"]
        licence.ef_account_number, licence.ef_account_name = "C00000001", "Demo Webshop BV"
        licence.ef_vat_rates = rates
        licence.ef_layouts = [{"layout_id": 8001, "name": "Standaard"}]
        licence.ef_status = ConnectionStatus.OK
        licence.ef_status_reason = ""
        licence.process_from = licence.process_from or timezone.now() - timedelta(days=1)
        licence.configured_at = licence.configured_at or timezone.now()
        licence.save()
        MerchantAccess.objects.get_or_create(user=user, licence=licence)
        fed = self._feed_orders(shop, Path(options["fixtures"]))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo licence {licence.key}: {fed} sample order(s) sent through the sandbox shop."
            )
        )
        self.stdout.write(
            f"  dashboard: {settings.SITE_URL}/dashboard/   login: {DEMO_EMAIL} / {DEMO_PASSWORD}"
        )
        self.stdout.write(f"  installation page: {settings.SITE_URL}/install/{licence.install_token}/")

    @staticmethod
    def _post(url: str, body: Any) -> Any:
        response = requests.post(url, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def _profile(self, shop: str) -> dict[str, Any]:
        profile = {
            "generalInfo": {"storeId": DEMO_STORE, "storeUrl": "https://demo-shop.example"},
            "account": {"accountName": "Demo Webshop BV", "accountEmail": DEMO_EMAIL},
            "settings": {"storeName": "Demo Webshop BV"},
            "company": {"companyName": "Demo Webshop BV", "countryCode": "BE", "city": "Gent"},
            "formatsAndUnits": {
                "currency": "EUR",
                "timezone": "Europe/Brussels",
                "orderNumberPrefix": "",
                "orderNumberSuffix": "",
            },
            "taxSettings": {"pricesIncludeTax": True, "taxes": []},
        }
        self._post(f"{shop}/_sandbox/stores", {"profile": profile})
        return profile

    def _ef_rates(self, ef: str, key: str) -> list[str]:
        self._post(
            f"{ef}/_sandbox/accounts", {"api_key": key, "name": "Demo Webshop BV", "rates": [21, 12, 6]}
        )
        return ["0", "6", "12", "21"]

    def _feed_orders(self, shop: str, folder: Path) -> int:
        state = requests.get(f"{shop}/_sandbox/state", timeout=10).json()
        if state["stores"].get(str(DEMO_STORE)):
            return 0  # this sandbox run has them already
        now = int(time.time())
        fed = 0
        for n, path in enumerate(sorted(folder.glob("*.json"))):
            order = copy.deepcopy(json.loads(path.read_text(encoding="utf-8"))["order"])
            stamp = now - 3600 + n * 60  # this month, so the default period shows them
            order["createTimestamp"] = order["updateTimestamp"] = stamp
            order["createDate"] = order["updateDate"] = time.strftime(
                "%Y-%m-%d %H:%M:%S +0000", time.gmtime(stamp)
            )
            self._post(f"{shop}/_sandbox/stores/{DEMO_STORE}/orders", {"order": order, "notify": True})
            fed += 1
        return fed

"""Small factories for licences, logins and orders (no network)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from licenses.models import ConnectionStatus, Licence, MerchantAccess
from orders.models import Order, OrderEvent, OrderState

_numbers = itertools.count(1)


def login(email: str, password: str = "correct horse battery staple"):
    User = get_user_model()
    return User.objects.create_user(username=email, email=email, password=password)


def licence_for(user, **fields) -> Licence:
    n = next(_numbers)
    defaults = {
        "company_name": f"Shop {n}",
        "store_id": 98000000 + n,
        "shop_token": f"secret_shop_token_{n}_abcdefgh",
        "shop_status": ConnectionStatus.OK,
        "ef_api_key": f"ef-api-key-{n}-zyxwvuts",
        "ef_status": ConnectionStatus.OK,
        "ef_vat_rates": ["0", "6", "12", "21"],
        "ef_layouts": [{"layout_id": 8001, "name": "Standaard"}, {"layout_id": 8002, "name": "Modern"}],
        "configured_at": timezone.now(),
        "process_from": timezone.now() - timedelta(days=400),
    }
    defaults.update(fields)
    licence = Licence.objects.create(**defaults)
    MerchantAccess.objects.create(user=user, licence=licence)
    return licence


def order_for(licence: Licence, state: str = OrderState.HANDLED, **fields) -> Order:
    n = next(_numbers)
    now = timezone.now()
    defaults = {
        "order_number": f"ORD-{n}",
        "order_created_at": now,
        "customer_name": f"Klant {n}",
        "customer_email": f"klant{n}@example.be",
        "total": Decimal("12.34"),
        "payment_status": "PAID",
        "state": state,
        "snapshot": {"id": f"ORD-{n}", "total": 12.34, "email": f"klant{n}@example.be"},
    }
    if state == OrderState.HANDLED:
        defaults.update(
            ef_invoice_id=5000 + n, ef_invoice_number=f"2026-{n:05d}", ef_client_id=1000 + n, handled_at=now
        )
    if state == OrderState.ERROR:
        defaults.update(
            error_code="TOTAL_MISMATCH", error_message="The order total is €72.33, but …", ef_answer=""
        )
    if state == OrderState.OPEN:
        defaults.update(state_reason="Waiting for PAID, now AWAITING_PAYMENT.", wait_code="status")
    defaults.update(fields)
    order = Order.objects.create(licence=licence, **defaults)
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.WEBHOOK, message="order.created received")
    return order

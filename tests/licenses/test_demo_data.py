"""`make run`'s demo data: a demo merchant on the sandboxes whose sample orders fill Report, Open and Errors."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from licenses.models import Licence
from orders.models import Order, OrderState
from tests.conftest import ORDER_FIXTURES, ORDER_FIXTURES_DIR

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_data_fills_every_tab(sandboxes, live_server, capsys):
    sandboxes.shop.webhook_url = f"{live_server.url}/webhooks/kmoshops/"
    options = {
        "kmoshops_url": sandboxes.kmoshops.url,
        "ef_url": sandboxes.ef.url,
        "fixtures": str(ORDER_FIXTURES_DIR),
    }
    call_command("demo_data", **options)
    assert sandboxes.shop.wait_idle(30)
    licence = Licence.objects.get(store_id=97510001)
    states = set(Order.objects.filter(licence=licence).values_list("state", flat=True))
    assert {OrderState.HANDLED, OrderState.OPEN, OrderState.ERROR} <= states
    output = capsys.readouterr().out
    assert "demo@kmo-demo.example" in output and "/dashboard/" in output
    call_command("demo_data", **options)  # again: same licence, no second batch of orders
    assert Licence.objects.filter(store_id=97510001).count() == 1
    assert Order.objects.filter(licence=licence).count() == len(ORDER_FIXTURES)

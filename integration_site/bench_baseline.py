"""`POST /bench/one-insert/`: the load benchmark's yardstick, a Django view whose only work is one INSERT.

Served only when BENCH_BASELINE_VIEW is on (bench/load.py turns it on for the gunicorn it starts), so the
webhook endpoint can be compared with the least a webhook must cost in the same processes.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.models import WebhookEvent, WebhookOutcome


@csrf_exempt
@require_POST
def one_insert(request: HttpRequest) -> JsonResponse:
    WebhookEvent.objects.create(
        event_id=f"baseline-{uuid.uuid4()}",
        event_type="bench.baseline",
        body={"size": len(request.body)},
        outcome=WebhookOutcome.IGNORED,
    )
    return JsonResponse({"status": "stored"})

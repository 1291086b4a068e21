"""`POST /webhooks/kmoshops/`: the one webhook URL of the app (Ecwid sends every store's events here)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .intake import webhook_receive


@csrf_exempt
@require_POST
def kmoshops_webhook(request: HttpRequest) -> JsonResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > settings.WEBHOOK_MAX_BODY_BYTES:
        return JsonResponse({"status": "body too large"}, status=413)
    body = request.body
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return JsonResponse({"status": "body too large"}, status=413)
    receipt = webhook_receive(body, request.headers.get("X-Ecwid-Webhook-Signature", ""))
    return JsonResponse({"status": receipt.message}, status=receipt.status)

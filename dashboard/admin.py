"""Staff admin for tickets."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from orders.admin import pretty

from .models import Ticket
from .tickets import ticket_answer_send


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "status", "licence", "order", "created_by", "created_at", "answered_at")
    list_editable = ("status",)
    list_filter = ("status", "kind")
    search_fields = ("licence__key", "order__order_number", "message", "created_by__email")
    exclude = ("context",)
    readonly_fields = (
        "licence",
        "order",
        "kind",
        "message",
        "created_by",
        "created_at",
        "answered_at",
        "context_pretty",
    )

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        """A new answer is e-mailed to the merchant and shown on their Tickets page."""
        answered = bool(obj.answer.strip()) and "answer" in form.changed_data
        if answered:
            obj.answered_at = timezone.now()
            if obj.status == Ticket.Status.OPEN:
                obj.status = Ticket.Status.ANSWERED
        super().save_model(request, obj, form, change)
        if answered:
            ticket_answer_send(obj)

    @admin.display(description="what support needs")
    def context_pretty(self, obj: Ticket) -> str:
        return pretty(obj.context)

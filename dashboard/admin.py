"""Staff admin for tickets."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from orders.admin import pretty

from .models import ApiKey, Ticket
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


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Merchants' API keys: never the key itself (only its digest is stored); staff can revoke one."""

    list_display = ("name", "licence", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "licence__key")
    exclude = ("digest",)
    readonly_fields = ("licence", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} key(s) revoked.")

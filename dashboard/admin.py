"""Staff admin for tickets."""

from __future__ import annotations

from django.contrib import admin

from orders.admin import pretty

from .models import Ticket


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "status", "licence", "order", "created_by", "created_at")
    list_editable = ("status",)
    list_filter = ("status", "kind")
    search_fields = ("licence__key", "order__order_number", "message", "created_by__email")
    exclude = ("context",)
    readonly_fields = ("licence", "order", "kind", "message", "created_by", "created_at", "context_pretty")

    @admin.display(description="what support needs")
    def context_pretty(self, obj: Ticket) -> str:
        return pretty(obj.context)

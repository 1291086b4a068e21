"""Staff admin: orders with their timeline and raw snapshot, webhook events as received."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from .actions import order_ignore, order_process_again
from .models import Backfill, FollowUp, Order, OrderCall, OrderEvent, WebhookEvent


def pretty(value: object) -> str:
    return format_html(
        "<pre style='white-space:pre-wrap;max-width:60rem'>{}</pre>",
        json.dumps(value, indent=2, ensure_ascii=False),
    )


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("at", "kind", "message", "actor")
    readonly_fields = fields


class FollowUpInline(ReadOnlyInline):
    """Payment, Peppol/e-mail sends and credit notes, with what was decided and what EF answered."""

    model = FollowUp
    fields = ("key", "kind", "state", "attempts", "plan", "result", "error_code", "ef_answer", "done_at")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "order_number",
        "licence",
        "state",
        "error_code",
        "ef_invoice_number",
        "attempts",
        "created_at",
    )
    list_filter = ("state", "error_code")
    search_fields = ("order_number", "licence__key", "customer_email", "customer_name", "ef_invoice_number")
    inlines = [FollowUpInline, OrderEventInline]
    actions = ["process_again", "ignore"]
    exclude = ("snapshot", "ef_invoice_payload")

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        # An order is a bookkeeping record (its invoice, its OSS evidence: 10 years): never deleted here.
        return False

    readonly_fields = [
        f.name for f in Order._meta.fields if f.name not in ("snapshot", "ef_invoice_payload")
    ] + ["snapshot_pretty"]

    @admin.display(description="snapshot (as read from KMO Shops)")
    def snapshot_pretty(self, obj: Order) -> str:
        return pretty(obj.snapshot)

    def _act(self, request: HttpRequest, queryset: QuerySet[Order], action, label: str) -> None:  # noqa: ANN001
        for licence_id in set(queryset.values_list("licence_id", flat=True)):
            orders = queryset.filter(licence_id=licence_id)
            result = action(
                licence=orders.first().licence,
                order_ids=list(orders.values_list("pk", flat=True)),
                actor=f"staff:{request.user.get_username()}",
            )
            for order in orders.filter(order_number__in=result.done):
                self.log_change(request, order, label)
            for number, why in result.refused.items():
                messages.warning(request, f"{number}: {why}")
        messages.success(request, f"{label} done.")

    @admin.action(description="Process again (refused for invoiced orders)", permissions=["change"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._act(request, queryset, order_process_again, "Processed again by staff")

    @admin.action(description="Ignore", permissions=["change"])
    def ignore(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._act(request, queryset, order_ignore, "Ignored by staff")


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = (
        "event_type",
        "store_id",
        "licence",
        "order_number",
        "outcome",
        "deliveries",
        "received_at",
    )
    list_filter = ("event_type", "outcome")
    search_fields = ("event_id", "store_id", "licence__key", "body__data__orderId")
    search_help_text = "Event id, store id, licence key or order number"
    exclude = ("body",)
    readonly_fields = [f.name for f in WebhookEvent._meta.fields if f.name != "body"] + ["body_pretty"]

    @admin.display(description="body")
    def body_pretty(self, obj: WebhookEvent) -> str:
        return pretty(obj.body)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OrderCall)
class OrderCallAdmin(admin.ModelAdmin):
    """Every outbound call made for an order: find them by order number, service and status."""

    list_display = ("at", "order", "service", "method", "path", "status", "duration_ms")
    list_filter = ("service", "status")
    search_fields = ("order__order_number", "path", "error")
    search_help_text = "Order number, path or the counterpart's words"
    list_select_related = ("order",)
    readonly_fields = [f.name for f in OrderCall._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Backfill)
class BackfillAdmin(admin.ModelAdmin):
    """ "Fetch earlier orders" per licence: the range, the dry run's counts, progress and what stopped it."""

    list_display = ("created_at", "licence", "since", "until", "state", "found", "will_invoice", "fed")
    list_filter = ("state",)
    search_fields = ("licence__key", "licence__company_name")
    list_select_related = ("licence",)
    readonly_fields = [f.name for f in Backfill._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

"""What the API says about a licence, its orders and tickets: the same facts the dashboard shows."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from licenses.models import CONFIG_FIELDS, Licence
from orders.explanations import explanation
from orders.models import FollowUp, Order, OrderEvent

from ..models import Ticket
from ..tickets import MESSAGE_MAX


class ConnectionSerializer(serializers.Serializer):
    status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)


class LicenceSerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="effective_state")
    connections = serializers.SerializerMethodField()
    configuration = serializers.SerializerMethodField()

    class Meta:
        model = Licence
        fields = [
            "key",
            "company_name",
            "state",
            "trial_ends_at",
            "paid_until",
            "connections",
            "configuration",
        ]

    @extend_schema_field(serializers.DictField(child=ConnectionSerializer()))
    def get_connections(self, licence: Licence) -> dict[str, dict[str, str]]:
        return {
            "kmo_shops": {
                "status": licence.shop_status,
                "reason": licence.shop_status_shown,
                "details": licence.shop_status_reason,
            },
            "eenvoudigfactureren": {
                "status": licence.ef_status,
                "reason": licence.ef_status_shown,
                "details": licence.ef_status_reason,
            },
        }

    @extend_schema_field(serializers.DictField())
    def get_configuration(self, licence: Licence) -> dict[str, Any]:
        values = {name: getattr(licence, name) for name in CONFIG_FIELDS}
        return {
            name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in values.items()
        }


class FollowUpSerializer(serializers.ModelSerializer):
    error_message = serializers.CharField(source="error_display")

    class Meta:
        model = FollowUp
        fields = [
            "kind",
            "state",
            "attempts",
            "plan",
            "result",
            "error_code",
            "error_message",
            "ef_answer",
            "done_at",
        ]


class OrderSerializer(serializers.ModelSerializer):
    state_reason = serializers.CharField(source="reason_display")
    error_message = serializers.CharField(source="error_display")
    changed_after_invoicing = serializers.BooleanField()
    follow_ups = FollowUpSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "order_number",
            "order_created_at",
            "created_at",
            "updated_at",
            "customer_name",
            "customer_email",
            "total",
            "payment_status",
            "state",
            "state_reason",
            "error_code",
            "error_message",
            "ef_invoice_number",
            "ef_invoice_id",
            "ef_client_id",
            "handled_at",
            "changed_after_invoicing",
            "follow_ups",
        ]


class TimelineSerializer(serializers.ModelSerializer):
    message = serializers.CharField(source="message_display")

    class Meta:
        model = OrderEvent
        fields = ["at", "kind", "message", "actor"]


class ExplanationSerializer(serializers.Serializer):
    title = serializers.CharField()
    meaning = serializers.CharField()
    fix = serializers.CharField()


class OrderDetailSerializer(OrderSerializer):
    timeline = TimelineSerializer(source="events", many=True, read_only=True)
    explanation = serializers.SerializerMethodField()

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "ef_answer", "timeline", "explanation"]

    @extend_schema_field(ExplanationSerializer(allow_null=True))
    def get_explanation(self, order: Order) -> dict[str, str] | None:
        return explanation(order.error_code)


class TicketSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.order_number", default=None, read_only=True)

    class Meta:
        model = Ticket
        fields = ["id", "kind", "status", "message", "order_number", "created_at", "answer", "answered_at"]


class TicketCreateSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=MESSAGE_MAX)
    order_number = serializers.CharField(required=False, max_length=100)


class ActionResultSerializer(serializers.Serializer):
    order = OrderSerializer()


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()

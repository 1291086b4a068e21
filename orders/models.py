"""Webhook events as received, orders per licence with their state, and each order's timeline."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from licenses.models import Licence


class WebhookOutcome(models.TextChoices):
    QUEUED = "queued", _("Queued")
    HANDLED = "handled", _("Handled")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


class WebhookEvent(models.Model):
    event_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=60)
    store_id = models.BigIntegerField(null=True, db_index=True)
    licence = models.ForeignKey(
        Licence, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    body = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    # When its task was last handed out again because the first one was lost (a killed worker).
    requeued_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=1)  # how often KMO Shops sent this eventId
    outcome = models.CharField(max_length=10, choices=WebhookOutcome.choices, default=WebhookOutcome.QUEUED)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["outcome", "received_at"], name="webhook_outcome_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"

    @property
    def order_number(self) -> str:
        data = self.body.get("data") if isinstance(self.body, dict) else None
        return str((data or {}).get("orderId") or "")


class OrderState(models.TextChoices):
    OPEN = "open", _("Open")  # waiting for a processable status, or held (connection down, licence expired)
    QUEUED = "queued", _("Queued")
    PROCESSING = "processing", _("Processing")
    RETRYING = "retrying", _("Retrying")
    HANDLED = "handled", _("Handled")
    ERROR = "error", _("Error")
    IGNORED = "ignored", _("Ignored")
    DELETED = "deleted", _("Deleted")


OPEN_STATES = (OrderState.OPEN, OrderState.QUEUED, OrderState.PROCESSING, OrderState.RETRYING)


class Order(models.Model):
    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="orders")
    order_number = models.CharField(max_length=100)  # Ecwid `id`, prefix and suffix included
    internal_id = models.BigIntegerField(null=True, blank=True)
    snapshot = models.JSONField(default=dict, blank=True)
    snapshot_at = models.DateTimeField(null=True, blank=True)
    payment_status = models.CharField(max_length=40, blank=True)
    order_created_at = models.DateTimeField(null=True, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    state = models.CharField(
        max_length=12, choices=OrderState.choices, default=OrderState.OPEN, db_index=True
    )
    state_reason = models.TextField(blank=True)
    state_reason_text = models.JSONField(default=dict, blank=True)  # template + params, see orders.texts
    # Why an order waits in Open: a processable status, the licence, a connection, the installation.
    wait_code = models.CharField(max_length=12, blank=True)
    needs_read = models.BooleanField(default=False)  # the snapshot must be read again before processing
    error_code = models.CharField(max_length=40, blank=True, db_index=True)
    error_message = models.TextField(blank=True)
    error_text = models.JSONField(default=dict, blank=True)
    ef_answer = models.TextField(blank=True)  # EF's own words on the last failure

    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set (and committed) before the EF invoice create: any later attempt first looks in EF.
    ef_create_started_at = models.DateTimeField(null=True, blank=True)
    # Until then EF may still be storing the invoice of a create whose answer never came: no new create
    # before a look-up made after this time has found nothing. An answer from EF settles it at once.
    ef_create_settles_at = models.DateTimeField(null=True, blank=True)

    ef_client_id = models.BigIntegerField(null=True, blank=True)
    ef_invoice_id = models.BigIntegerField(null=True, blank=True)
    ef_invoice_number = models.CharField(max_length=255, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    vies_consultation = models.CharField(max_length=100, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["licence", "order_number"], name="one_order_per_licence")
        ]
        indexes = [
            models.Index(fields=["licence", "state"]),
            models.Index(fields=["state", "next_attempt_at"]),
            # Report (newest handled first) and the other tabs (newest first), any page, per licence.
            # `id` rides along so that a deep page's ids come from the index alone (PostgreSQL INCLUDE).
            models.Index(fields=["licence", "state", "-handled_at"], name="order_report_idx", include=["id"]),
            models.Index(fields=["licence", "state", "-created_at"], name="order_tab_idx", include=["id"]),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} ({self.state})"

    @property
    def is_invoiced(self) -> bool:
        return self.ef_invoice_id is not None

    @property
    def reason_display(self) -> str:
        from .texts import translated

        return translated(self.state_reason_text, self.state_reason)

    @property
    def error_display(self) -> str:
        from .texts import translated

        return translated(self.error_text, self.error_message)


class OrderEvent(models.Model):
    """One line of an order's timeline: webhooks, reads, checks, EF calls, state changes, actions."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", _("Webhook")
        READ = "read", _("Read from KMO Shops")
        CHECK = "check", _("Check")
        EF = "ef", _("EenvoudigFactureren")
        STATE = "state", _("State")
        ACTION = "action", _("Action")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.TextField()  # English, for staff and tickets
    message_text = models.JSONField(default=dict, blank=True)  # template + params, see orders.texts
    detail = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=150, blank=True)  # who pressed what; empty for the system

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}: {self.message}"

    @property
    def message_display(self) -> str:
        from .texts import translated

        return translated(self.message_text, self.message)


class EfClientMatch(models.Model):
    """The EF client an e-mail address was matched to or created as, per licence."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="client_matches")
    email = models.CharField(max_length=254)  # lower case
    ef_client_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["licence", "email"], name="one_client_per_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.ef_client_id}"

"""Webhook events as received, orders per licence with their state, and each order's timeline."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from licenses.models import Licence


class WebhookOutcome(models.TextChoices):
    QUEUED = "queued", _("Queued")
    HANDLED = "handled", _("Handled")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


class WebhookEvent(models.Model):
    # Unique through Meta.constraints: a plain unique index, without the LIKE index Django adds to a unique
    # CharField on PostgreSQL (every index is written on every webhook; nothing searches event ids by prefix).
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=60)
    store_id = models.BigIntegerField(null=True)
    licence = models.ForeignKey(
        Licence, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    body = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    # The stored event is the queue: the webhook only INSERTs it; the ticker hands it to a worker and
    # notes when (again after ORDER_LOST_TASK_SECONDS if its task was lost with a killed worker).
    handed_out_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=1)  # how often KMO Shops sent this eventId
    outcome = models.CharField(max_length=10, choices=WebhookOutcome.choices, default=WebhookOutcome.QUEUED)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["event_id"], name="webhook_event_id_unique")]
        indexes = [
            models.Index(fields=["outcome", "received_at"], name="webhook_outcome_idx"),
            # What the ticker polls several times a second: new events not yet handed to a worker.
            models.Index(
                fields=["id"],
                condition=models.Q(outcome="queued", handed_out_at__isnull=True),
                name="webhook_to_hand_out_idx",
            ),
        ]

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


class OrderQuerySet(models.QuerySet):
    def update(self, **fields):
        """Every write of an order row moves `updated_at` (auto_now alone does so only on save()): the
        merchant's API (`updated_since`) finds an order by it after any change of state."""
        fields.setdefault("updated_at", timezone.now())
        return super().update(**fields)


class Order(models.Model):
    # No index of its own on licence or on state: the composite indexes below start with them, and every
    # index costs a write on each of an order's state changes.
    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="orders", db_index=False)
    order_number = models.CharField(max_length=100)  # Ecwid `id`, prefix and suffix included
    internal_id = models.BigIntegerField(null=True, blank=True)
    snapshot = models.JSONField(default=dict, blank=True)
    snapshot_at = models.DateTimeField(null=True, blank=True)
    payment_status = models.CharField(max_length=40, blank=True)
    order_created_at = models.DateTimeField(null=True, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    state = models.CharField(max_length=12, choices=OrderState.choices, default=OrderState.OPEN)
    state_reason = models.TextField(blank=True)
    state_reason_text = models.JSONField(default=dict, blank=True)  # template + params, see orders.texts
    # Why an order waits in Open: a processable status, the licence, a connection, the installation.
    wait_code = models.CharField(max_length=12, blank=True)
    needs_read = models.BooleanField(default=False)  # the snapshot must be read again before processing
    # An OSS sale's evidence of where the customer is (countries, IP address): kept with the order (10 years).
    oss_evidence = models.JSONField(default=dict, blank=True)
    # Fetched by "fetch orders since": EF is asked for this order's invoice (our external id) before one is made.
    backfill = models.ForeignKey(
        "Backfill", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders", db_index=False
    )
    error_code = models.CharField(max_length=40, blank=True, db_index=True)
    error_message = models.TextField(blank=True)
    error_text = models.JSONField(default=dict, blank=True)
    ef_answer = models.TextField(blank=True)  # EF's own words on the last failure
    # When the merchant was e-mailed about this error (dashboard.alerts); cleared when it errs again.
    error_alerted_at = models.DateTimeField(null=True, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Not stored: True on the copy of the row a worker claimed for itself while reading the order
    # (orders.sync.order_queue with HandOut.CALLER); that worker processes this copy next.
    claimed_by_caller = False
    # When the queued order's task was put on the broker; empty: waiting for its licence's next round.
    handed_out_at = models.DateTimeField(null=True, blank=True)
    # Set (and committed) before the EF invoice create: any later attempt first looks in EF.
    ef_create_started_at = models.DateTimeField(null=True, blank=True)
    # Until then EF may still be storing the invoice of a create whose answer never came: no new create
    # before a look-up made after this time has found nothing. An answer from EF settles it at once.
    ef_create_settles_at = models.DateTimeField(null=True, blank=True)

    ef_client_id = models.BigIntegerField(null=True, blank=True)
    ef_invoice_id = models.BigIntegerField(null=True, blank=True)
    ef_invoice_number = models.CharField(max_length=255, blank=True)
    # The shop's order total the current invoice was made for: a later snapshot with another total is
    # "changed after invoicing".
    invoiced_total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # What the current invoice was made from (client, lines, VAT basis): credit notes mirror or split it.
    ef_invoice_payload = models.JSONField(default=dict, blank=True)
    # 1 for the first invoice; "Credit and re-invoice" makes the next one under a new external id.
    invoice_generation = models.PositiveSmallIntegerField(default=1)
    handled_at = models.DateTimeField(null=True, blank=True)
    vies_consultation = models.CharField(max_length=100, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["licence", "order_number"], name="one_order_per_licence")
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["state", "handed_out_at"], name="order_hand_out_idx"),
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
    def invoice_amount(self) -> Decimal | None:
        """What the current invoice is for: the total it was made with (the order's total for invoices made
        before that was kept)."""
        return self.invoiced_total if self.invoiced_total is not None else self.total

    @property
    def changed_after_invoicing(self) -> bool:
        return self.is_invoiced and self.invoiced_total is not None and self.total != self.invoiced_total

    @property
    def change_since_invoice(self) -> Decimal | None:
        if not self.changed_after_invoicing or self.total is None:
            return None
        return self.total - self.invoiced_total

    @property
    def reason_display(self) -> str:
        from .texts import translated

        return translated(self.state_reason_text, self.state_reason)

    @property
    def error_display(self) -> str:
        from .texts import translated

        return translated(self.error_text, self.error_message)

    @property
    def error_said(self) -> list[str]:
        """The counterpart's own words about the error, for "Details" (never inside our sentence)."""
        from .texts import said_with

        return said_with(self.error_text, self.ef_answer)


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
    at = models.DateTimeField(default=timezone.now)  # set when written, also for lines stored in a batch
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


class Backfill(models.Model):
    """ "Fetch orders since <date>": the shop's orders created from `since` until `until` (the start date they
    were left out by), counted first (a dry run), then fed through the normal path one page per task."""

    class State(models.TextChoices):
        COUNTING = "counting", _("Counting")
        COUNTED = "counted", _("Counted")
        RUNNING = "running", _("Fetching")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE = (State.COUNTING, State.RUNNING)  # a task is (or should be) reading the shop's pages

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="backfills")
    since = models.DateTimeField()
    until = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.COUNTING)
    offset = models.PositiveIntegerField(default=0)  # the next page to read (offset into the shop's search)
    found = models.PositiveIntegerField(default=0)  # the shop's orders in the range
    will_invoice = models.PositiveIntegerField(default=0)  # of those, what the count says will be invoiced
    already = models.PositiveIntegerField(default=0)  # known here as invoiced or handled already
    not_paid = models.PositiveIntegerField(default=0)  # a payment status the configuration does not invoice
    read = models.PositiveIntegerField(default=0)  # orders read so far in the current pass
    fed = models.PositiveIntegerField(default=0)  # orders handed to the pipeline by the run
    problem = models.TextField(blank=True)  # why it stopped (the counterpart's words)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.licence.key} since {self.since:%Y-%m-%d} ({self.state})"

    @property
    def active(self) -> bool:
        return self.state in self.ACTIVE


class EfClientMatch(models.Model):
    """The EF client an order's customer (e-mail address and VAT number or name) was matched to or made as, per
    licence. A row without a client is a create under way: committed before the call, so that no other
    attempt makes a second client for the customer before EF must have finished with it."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="client_matches")
    email = models.CharField(max_length=254)  # lower case
    vat_number = models.CharField(max_length=40, blank=True)  # compact; empty for a consumer
    # Without a VAT number the name tells customers apart (orders.client_choice.name_compact); else empty.
    name = models.CharField(max_length=200, blank=True)
    ef_client_id = models.BigIntegerField(null=True, blank=True)
    # A client create whose outcome is not known yet (see orders.ef_create).
    create_started_at = models.DateTimeField(null=True, blank=True)
    create_settles_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["licence", "email", "vat_number", "name"], name="one_client_per_customer_named"
            )
        ]

    def __str__(self) -> str:
        customer = f"{self.email} {self.vat_number or self.name}".strip()
        return f"{customer} → {self.ef_client_id or 'being made'}"


class FollowUp(models.Model):
    """One thing to do after (or about) an order's invoice: register the payment, send it through Peppol
    or by e-mail, make a credit note. Created in the transaction that decides it, done exactly once by
    the worker that holds the order's claim, with the same backoff and give-up rules as the invoice.
    """

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment registration")
        SEND = "send", _("Sending")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class State(models.TextChoices):
        PENDING = "pending", _("To do")
        RETRYING = "retrying", _("Retrying")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="follow_ups")
    key = models.CharField(max_length=120)  # unique per order: what makes this follow-up this one
    kind = models.CharField(max_length=12, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # What was decided: the invoice it is about, the channel, a refund's amount and reason …
    plan = models.JSONField(default=dict, blank=True)
    # What came of it: the channel used, the credit note's id and number, EF's answer …
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Committed before the EF call that must not run twice; a later attempt looks in EF first, and not
    # before `settles_at` (when EF must have finished with a call that never answered).
    started_at = models.DateTimeField(null=True, blank=True)
    settles_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_text = models.JSONField(default=dict, blank=True)
    ef_answer = models.TextField(blank=True)  # EF's own words on the last failure
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["order", "key"], name="one_follow_up_per_key")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="follow_up_due_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.key} ({self.state})"

    @property
    def error_display(self) -> str:
        from .texts import translated

        return translated(self.error_text, "")

    @property
    def error_said(self) -> list[str]:
        from .texts import said_with

        return said_with(self.error_text, self.ef_answer)


class OrderCall(models.Model):
    """One outbound call made for an order (KMO Shops, EF, VIES): kept beside the timeline for support."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="calls", db_index=False
    )  # order_call_idx
    at = models.DateTimeField(db_index=True)  # the retention schedule deletes by age
    service = models.CharField(max_length=40)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)  # never the query string, headers or a body with a key
    status = models.PositiveSmallIntegerField(
        null=True, blank=True
    )  # none: no answer (timeout, no connection)
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True)  # the counterpart's own words when it said no

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["order", "at"], name="order_call_idx")]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.service} {self.method} {self.path} → {self.status}"

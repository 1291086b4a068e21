"""Tickets: "Report problem" on an order, or "Ask us" from any page."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from licenses.models import Licence
from orders.models import Order


class Ticket(models.Model):
    class Kind(models.TextChoices):
        PROBLEM = "problem", "Report problem"
        QUESTION = "question", "Ask us"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="tickets")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    message = models.TextField(blank=True)
    # Everything support needs (order snapshot, error, timeline, configuration); never a secret.
    context = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    # Support's answer: shown on the merchant's Tickets page and e-mailed to them when saved.
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} ({self.licence.key})"


class ApiKey(models.Model):
    """A merchant's key for the REST API: sees exactly one licence. Stored as a SHA-256 digest (the key is
    32 random bytes, so a fast hash is enough); the key itself is shown once, when it is made."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)  # the first characters, to recognise a key in the list
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Alert(models.Model):
    """An e-mail sent to a merchant, one row per event: the row is made (unique) before the mail goes, so
    no event is ever mailed twice, whatever restarts."""

    class Kind(models.TextChoices):
        ERRORS = "errors", "Orders in Errors"
        CONNECTION_RED = "connection_red", "Connection failing"
        CONNECTION_GREEN = "connection_green", "Connection working again"
        TRIAL_ENDING = "trial_ending", "Trial ending"
        EXPIRED = "expired", "Licence expired"
        CANCELLED = "cancelled", "Licence cancelled"

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=100)  # what makes this event this one (an incident, a day, a batch)
    sent_at = models.DateTimeField(auto_now_add=True)
    recipients = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["licence", "kind", "key"], name="one_alert_per_event")]

    def __str__(self) -> str:
        return f"{self.licence_id} {self.kind} {self.key}"

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

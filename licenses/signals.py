"""What the licences app tells the rest without knowing it: a licence may process orders again."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with `licence=` after a reconnect, a saved configuration or an activation: orders that waited on
# the licence may go on. The orders app listens (orders.apps); licences never drives order processing.
licence_ready = Signal()

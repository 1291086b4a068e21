"""Alerts that come to the merchant by e-mail, in their language: new orders in Errors (at once or as a
digest), a connection that turns red and green again, and the licence's milestones (trial ending, expired,
cancelled). Run every minute by the worker's schedule; an `Alert` row per event keeps each mail single.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from licenses.models import AlertCadence, ConnectionStatus, Licence, LicenceState
from orders.explanations import explanation
from orders.models import Order, OrderState

from .models import Alert

logger = logging.getLogger(__name__)
DIGEST_EVERY = {
    AlertCadence.IMMEDIATE: timedelta(0),
    AlertCadence.HOURLY: timedelta(hours=1),
    AlertCadence.DAILY: timedelta(days=1),
}
ORDERS_IN_ONE_MAIL = 50
CONNECTIONS = {"shop": "KMO Shops", "ef": "EenvoudigFactureren"}


def alerts_send() -> dict[str, int]:
    sent: Counter[str] = Counter()
    for licence in Licence.objects.exclude(contact_email="").order_by("pk"):
        sent["errors"] += errors_alert(licence)
        sent["connections"] += connection_alerts(licence)
        sent["licence"] += licence_alerts(licence)
    return dict(sent)


def _recipients(licence: Licence) -> list[str]:
    return [licence.contact_email]


def _link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _send(
    licence: Licence, kind: str, key: str, template: str, context: dict[str, Any], **detail: Any
) -> bool:
    """Record the event, then mail it: an event already recorded is never mailed again."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(licence=licence, kind=kind, key=key[:100], detail=detail)
            if kind == Alert.Kind.ERRORS:
                # Only the orders no other run has mailed: if one was taken meanwhile, this mail is not sent.
                orders = Order.objects.filter(pk__in=detail["orders"], error_alerted_at__isnull=True)
                if orders.update(error_alerted_at=timezone.now()) != len(detail["orders"]):
                    raise IntegrityError("mailed by another run")
    except IntegrityError:
        return False
    context = {
        **context,
        "licence": licence,
        "settings_url": _link(reverse("dashboard-configuration", args=[licence.key])),
        "dashboard_url": _link(reverse("dashboard-tab", args=[licence.key, "errors"])),
    }
    with translation.override(licence.language):
        subject = " ".join(render_to_string(f"dashboard/email/{template}_subject.txt", context).split())
        body = render_to_string(f"dashboard/email/{template}.txt", context)
    recipients = _recipients(licence)
    send_mail(subject, body, None, recipients)
    Alert.objects.filter(pk=alert.pk).update(subject=subject[:200], recipients=recipients)
    return True


def errors_alert(licence: Licence) -> int:
    """New orders in Errors: at once, or a digest at most once an hour or a day, as the merchant chose."""
    if licence.alert_errors == AlertCadence.OFF:
        return 0
    fresh = Order.objects.filter(licence=licence, state=OrderState.ERROR, error_alerted_at__isnull=True)
    last = Alert.objects.filter(licence=licence, kind=Alert.Kind.ERRORS).order_by("-sent_at").first()
    every = DIGEST_EVERY.get(licence.alert_errors, DIGEST_EVERY[AlertCadence.HOURLY])
    if last is not None and timezone.now() - last.sent_at < every:
        return 0
    orders = list(fresh.order_by("pk")[:ORDERS_IN_ONE_MAIL])
    if not orders:
        return 0
    with translation.override(licence.language):  # the fix is read now, in the merchant's language
        rows = [
            {
                "order": order,
                "fix": (explanation(order.error_code) or {}).get("fix", ""),
                "url": _link(reverse("dashboard-order", args=[licence.key, order.pk])),
            }
            for order in orders
        ]
    more = fresh.count() - len(orders)
    sent = _send(
        licence,
        Alert.Kind.ERRORS,
        f"{orders[0].pk}-{orders[-1].pk}:{timezone.now():%Y%m%d%H%M%S%f}",
        "alert_errors",
        {"rows": rows, "count": len(orders), "more": more},
        orders=[order.pk for order in orders],
    )
    return int(sent)


def connection_alerts(licence: Licence) -> int:
    """One mail when a connection turns red, one when it is green again (with what went on meanwhile)."""
    sent = 0
    for which, service in CONNECTIONS.items():
        status = getattr(licence, f"{which}_status")
        last = (
            Alert.objects.filter(
                licence=licence,
                kind__in=[Alert.Kind.CONNECTION_RED, Alert.Kind.CONNECTION_GREEN],
                key__startswith=f"{which}:",
            )
            .order_by("-sent_at", "-pk")
            .first()
        )
        if status == ConnectionStatus.FAILING and (last is None or last.kind == Alert.Kind.CONNECTION_GREEN):
            with translation.override(licence.language):  # our sentence; the counterpart's words stay out
                reason = getattr(licence, f"{which}_status_shown")
            context = {"service": service, "reason": reason, "which": which}
            connections_url = _link(reverse("dashboard-connections", args=[licence.key]))
            sent += _send(
                licence,
                Alert.Kind.CONNECTION_RED,
                f"{which}:red:{last.pk if last else 0}",
                "alert_connection_red",
                {**context, "connections_url": connections_url},
                which=which,
            )
        elif status == ConnectionStatus.OK and last is not None and last.kind == Alert.Kind.CONNECTION_RED:
            went_on = Order.objects.filter(
                licence=licence, state=OrderState.HANDLED, handled_at__gte=last.sent_at
            ).count()
            sent += _send(
                licence,
                Alert.Kind.CONNECTION_GREEN,
                f"{which}:green:{last.pk}",
                "alert_connection_green",
                {"service": service, "went_on": went_on},
                which=which,
            )
    return sent


def licence_alerts(licence: Licence) -> int:
    """Trial ending in 7 days and in 1 day, expired, cancelled (the app removed from the shop)."""
    state = licence.effective_state
    if state == LicenceState.CANCELLED and licence.cancelled_at:
        return int(
            _send(
                licence, Alert.Kind.CANCELLED, f"{licence.cancelled_at:%Y%m%d%H%M%S}", "alert_cancelled", {}
            )
        )
    if state == LicenceState.EXPIRED:
        ended = licence.paid_until or licence.trial_ends_at
        return int(_send(licence, Alert.Kind.EXPIRED, f"{ended:%Y%m%d}", "alert_expired", {}))
    if state == LicenceState.TRIAL:
        days = licence.trial_days_left
        for threshold in (1, 7):
            if days <= threshold:
                key = f"{threshold}:{licence.trial_ends_at:%Y%m%d}"
                context = {"days": days, "ends": licence.trial_ends_at}
                return int(_send(licence, Alert.Kind.TRIAL_ENDING, key, "alert_trial_ending", context))
    return 0

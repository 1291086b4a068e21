"""The tenant: a licence is one KMO Shops store connected to one EF account, with its configuration."""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .encryption import EncryptedTextField, mask

TRIAL_DAYS = 30


def new_licence_key() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3)]
    return "KMO-" + "-".join(groups)


def new_install_token() -> str:
    return secrets.token_urlsafe(32)


def trial_end() -> datetime:
    return timezone.now() + timedelta(days=TRIAL_DAYS)


class LicenceState(models.TextChoices):
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    CANCELLED = (
        "cancelled",
        pgettext_lazy("licence state", "Cancelled"),
    )  # "Opgezegd", not an order's "Geannuleerd"


class ConnectionStatus(models.TextChoices):
    NONE = "none", _("Not connected")
    OK = "ok", _("Connected")
    FAILING = "failing", _("Failing")


class AmountsMode(models.TextChoices):
    SHOP = "shop", _("As the shop's prices")
    INCL = "incl", _("Including VAT")
    EXCL = "excl", _("Excluding VAT")


# The merchant-editable settings of the Configuration tab (admin fieldset, tickets).
CONFIG_FIELDS = (
    "processable_statuses",
    "process_from",
    "amounts",
    "use_order_number",
    "reference_template",
    "ef_layout_id",
    "peppol_be_business",
    "peppol_email_fallback",
    "send_invoice_email",
    "credit_notes",
    "alert_errors",
    "language",
    "register_payment",
    "vies_check",
    "oss_registered",
    "configured_at",
)


class AlertCadence(models.TextChoices):
    IMMEDIATE = "immediate", _("At once")
    HOURLY = "hourly", _("At most once an hour (a digest)")
    DAILY = "daily", _("Once a day (a digest)")
    OFF = "off", _("Never")


def default_statuses() -> list[str]:
    return ["PAID"]


class Licence(models.Model):
    key = models.CharField(max_length=20, unique=True, default=new_licence_key)
    state = models.CharField(max_length=10, choices=LicenceState.choices, default=LicenceState.TRIAL)
    trial_ends_at = models.DateTimeField(default=trial_end)
    paid_until = models.DateTimeField(null=True, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    shop_url = models.URLField(blank=True)
    contact_email = models.EmailField(blank=True)
    install_token = models.CharField(max_length=64, unique=True, default=new_install_token)
    # When the installation link was sent (or issued again): it expires after INSTALL_LINK_DAYS.
    install_token_issued_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    # KMO Shops connection
    store_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    shop_token = EncryptedTextField(blank=True)
    shop_profile = models.JSONField(default=dict, blank=True)
    shop_status = models.CharField(
        max_length=10, choices=ConnectionStatus.choices, default=ConnectionStatus.NONE
    )
    shop_status_reason = models.TextField(blank=True)  # KMO Shops' own words: shown behind "Details"
    shop_status_text = models.JSONField(default=dict, blank=True)  # our sentence (orders.texts payload)
    shop_checked_at = models.DateTimeField(null=True, blank=True)

    # EenvoudigFactureren connection
    ef_api_key = EncryptedTextField(blank=True)
    ef_account_number = models.CharField(max_length=50, blank=True)
    ef_account_name = models.CharField(max_length=200, blank=True)
    ef_vat_rates = models.JSONField(default=list, blank=True)  # ["0", "6", "12", "21"]
    ef_layouts = models.JSONField(default=list, blank=True)  # [{"layout_id": 1, "name": "…"}]
    ef_status = models.CharField(
        max_length=10, choices=ConnectionStatus.choices, default=ConnectionStatus.NONE
    )
    ef_status_reason = models.TextField(blank=True)  # EF's own words: shown behind "Details"
    ef_status_text = models.JSONField(default=dict, blank=True)  # our sentence (orders.texts payload)
    ef_checked_at = models.DateTimeField(null=True, blank=True)

    # Configuration tab
    processable_statuses = models.JSONField(default=default_statuses)
    process_from = models.DateTimeField(null=True, blank=True)
    amounts = models.CharField(max_length=4, choices=AmountsMode.choices, default=AmountsMode.SHOP)
    use_order_number = models.BooleanField(default=False)
    reference_template = models.CharField(max_length=100, default="{order_number}")
    ef_layout_id = models.BigIntegerField(null=True, blank=True)
    send_invoice_email = models.BooleanField(default=False)
    register_payment = models.BooleanField(default=False)
    vies_check = models.BooleanField(default=True)
    # Registered for the EU One Stop Shop: every consumer sale to another member state is an OSS sale, also at
    # a rate the shop's own country has too (a Dutch consumer at 21 %).
    oss_registered = models.BooleanField(default=False)
    # After the invoice: Peppol for Belgian business customers (the law since 2026), e-mail as the
    # fallback when EF says the customer is not on Peppol, credit notes for refunds and cancellations.
    peppol_be_business = models.BooleanField(default=True)
    peppol_email_fallback = models.BooleanField(default=True)
    credit_notes = models.BooleanField(default=True)
    # Alerts by e-mail: new orders in Errors (at once, hourly digest, daily digest or never), written in
    # the merchant's language (the sign-up's, then the one chosen on the Configuration tab).
    alert_errors = models.CharField(max_length=10, choices=AlertCadence.choices, default=AlertCadence.HOURLY)
    language = models.CharField(max_length=5, default="nl")
    configured_at = models.DateTimeField(null=True, blank=True)

    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One live licence per store: the webhook's storeId must lead to exactly one tenant.
            models.UniqueConstraint(
                fields=["store_id"],
                condition=~models.Q(state="cancelled") & models.Q(store_id__isnull=False),
                name="one_live_licence_per_store",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.company_name or self.store_id or 'new'})"

    @property
    def effective_state(self) -> str:
        now = timezone.now()
        if self.state == LicenceState.TRIAL and self.trial_ends_at < now:
            return LicenceState.EXPIRED
        if self.state == LicenceState.ACTIVE and self.paid_until and self.paid_until < now:
            return LicenceState.EXPIRED
        return self.state

    @property
    def trial_days_left(self) -> int:
        if self.state != LicenceState.TRIAL:
            return 0
        # Whole days, rounded up: the day a 30-day trial starts says 30, its last day says 1.
        seconds = (self.trial_ends_at - timezone.now()).total_seconds()
        return max(0, math.ceil(seconds / 86400))

    @property
    def may_process(self) -> bool:
        return self.effective_state in (LicenceState.TRIAL, LicenceState.ACTIVE)

    @property
    def connections_ok(self) -> bool:
        return self.shop_status == ConnectionStatus.OK and self.ef_status == ConnectionStatus.OK

    @property
    def installation_complete(self) -> bool:
        return self.connections_ok and self.configured_at is not None

    @property
    def installed(self) -> bool:
        """The installation was finished once (a connection that fails later does not undo that)."""
        return self.configured_at is not None and bool(self.store_id) and bool(self.ef_api_key)

    @property
    def shop_status_shown(self) -> str:
        return connection_shown(self, "shop")

    @property
    def ef_status_shown(self) -> str:
        return connection_shown(self, "ef")

    @property
    def shop_token_masked(self) -> str:
        return mask(self.shop_token)

    @property
    def ef_api_key_masked(self) -> str:
        return mask(self.ef_api_key)


def connection_shown(licence: Licence, which: str) -> str:
    """What is wrong with a connection, in the current language; the counterpart's words stay apart."""
    from .connection_words import connection_sentence

    return connection_sentence(
        which, getattr(licence, f"{which}_status"), getattr(licence, f"{which}_status_text")
    )


class MerchantAccess(models.Model):
    """Which licences a merchant login sees in its dropdown (staff can hide an old key)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="licence_access"
    )
    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="access")
    hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "licence"], name="one_access_per_user_licence")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.licence.key}"


class ThrottleCount(models.Model):
    """A fixed-window counter (failed logins, sign-ups, password resets, tickets): counted in one atomic
    statement, kept for exactly its window whatever cache the deployment has (licenses.throttle)."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_ends_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} until {self.window_ends_at:%H:%M:%S}"

"""Forms of the sign-up and the installation / configuration tab."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AlertCadence, AmountsMode, Licence

PAYMENT_STATUSES = [
    ("PAID", _("Paid")),
    ("AWAITING_PAYMENT", _("Awaiting payment")),
    ("PARTIALLY_REFUNDED", _("Partially refunded")),
    ("CUSTOM_PAYMENT_STATUS_1", _("Custom status 1")),
    ("CUSTOM_PAYMENT_STATUS_2", _("Custom status 2")),
    ("CUSTOM_PAYMENT_STATUS_3", _("Custom status 3")),
]
TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")
ALLOWED_FIELDS = {"order_number", "shop_invoice_number"}


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    shop_url = forms.URLField(label=_("Shop URL"), max_length=200, assume_scheme="https")

    def clean_company_name(self) -> str:
        value = self.cleaned_data["company_name"].strip()
        if any(ord(ch) < 32 for ch in value):
            raise forms.ValidationError(_("The company name contains invisible control characters."))
        return value


class EfKeyForm(forms.Form):
    api_key = forms.CharField(
        label=_("EenvoudigFactureren API key"), max_length=500, widget=forms.PasswordInput(render_value=False)
    )


def _store_country(licence: Licence) -> str:
    return str(((licence.shop_profile or {}).get("company") or {}).get("countryCode") or "BE").upper()


class ConfigurationForm(forms.Form):
    processable_statuses = forms.MultipleChoiceField(
        label=_("Payment statuses that make an order processable"),
        choices=PAYMENT_STATUSES,
        widget=forms.CheckboxSelectMultiple,
    )
    process_from = forms.DateField(
        label=_("Process orders created on or after"),
        # A date input takes ISO dates only, whatever the page's language: a localized value is dropped.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        help_text=_("Orders created before this date are not invoiced; you find them under Ignored."),
    )
    amounts = forms.ChoiceField(
        label=_("Amounts on the invoice"),
        choices=[
            (AmountsMode.SHOP, _("As the shop's prices (recommended)")),
            (AmountsMode.INCL, _("Including VAT")),
            (AmountsMode.EXCL, _("Excluding VAT")),
        ],
    )
    use_order_number = forms.BooleanField(
        label=_("Use the KMO Shops order number as invoice number"), required=False
    )
    reference_template = forms.CharField(
        label=_("Reference"),
        max_length=100,
        help_text=_("Use {order_number} and {shop_invoice_number}, e.g. Order {order_number}"),
    )
    ef_layout_id = forms.TypedChoiceField(
        label=_("EenvoudigFactureren layout"), required=False, coerce=int, empty_value=None
    )
    peppol_be_business = forms.BooleanField(
        label=_("Belgian business customers (with a VAT number): send the invoice via Peppol"),
        required=False,
        help_text=_(
            "Required by Belgian law since 1 January 2026 for invoices between Belgian VAT-registered "
            "businesses. EenvoudigFactureren delivers them."
        ),
    )
    peppol_email_fallback = forms.BooleanField(
        label=_("When a customer cannot be reached via Peppol, e-mail the invoice instead"), required=False
    )
    send_invoice_email = forms.BooleanField(
        label=_("Other customers: send the invoice by e-mail"), required=False
    )
    credit_notes = forms.BooleanField(
        label=_("Create credit notes for refunds and cancellations"),
        required=False,
        help_text=_("Sent the same way as their invoice."),
    )
    # Not required: a form from before these settings keeps what the licence has.
    alert_errors = forms.ChoiceField(
        label=_("E-mail me about orders in Errors"), choices=AlertCadence.choices, required=False
    )
    language = forms.ChoiceField(
        label=_("Language of our e-mails"), choices=settings.LANGUAGES, required=False
    )
    register_payment = forms.BooleanField(
        label=_("Register the payment on the invoice when the order is paid"), required=False
    )
    vies_check = forms.BooleanField(
        label=_("Check VAT numbers of intra-community orders with VIES"), required=False
    )
    oss_registered = forms.BooleanField(
        label=_("I am registered for OSS: consumers in other EU countries pay their own country's VAT"),
        required=False,
        help_text=_(
            "Every such sale then gets the OSS line on its invoice and its evidence kept, also at a rate "
            "Belgium has too (21% to the Netherlands). Without it, only rates Belgium does not have show it."
        ),
    )

    def __init__(self, *args: Any, licence: Licence, **kwargs: Any) -> None:
        self.licence = licence
        if kwargs.get("initial") is None:  # shown on an unbound form, ignored on a bound one
            kwargs["initial"] = {
                "processable_statuses": licence.processable_statuses,
                "process_from": timezone.localdate(licence.process_from)
                if licence.process_from
                else timezone.localdate(),
                "amounts": licence.amounts,
                "use_order_number": licence.use_order_number,
                "reference_template": licence.reference_template,
                "ef_layout_id": licence.ef_layout_id,
                # On for a Belgian store (the Peppol mandate), as saved once configured.
                "peppol_be_business": licence.peppol_be_business
                if licence.configured_at
                else _store_country(licence) == "BE",
                "peppol_email_fallback": licence.peppol_email_fallback,
                "send_invoice_email": licence.send_invoice_email,
                "credit_notes": licence.credit_notes,
                "alert_errors": licence.alert_errors,
                "language": licence.language,
                "register_payment": licence.register_payment,
                "vies_check": licence.vies_check,
                "oss_registered": licence.oss_registered,
            }
        super().__init__(*args, **kwargs)
        layouts = [
            (str(layout["layout_id"]), layout["name"])
            for layout in licence.ef_layouts
            if layout.get("layout_id")
        ]
        self.fields["ef_layout_id"].choices = [("", _("EenvoudigFactureren default"))] + layouts

    def clean_alert_errors(self) -> str:
        return self.cleaned_data["alert_errors"] or self.licence.alert_errors

    def clean_language(self) -> str:
        return self.cleaned_data["language"] or self.licence.language

    def clean_reference_template(self) -> str:
        value = self.cleaned_data["reference_template"].strip()
        unknown = [name for name in TEMPLATE_FIELD.findall(value) if name not in ALLOWED_FIELDS]
        if unknown or value.count("{") != value.count("}"):
            raise forms.ValidationError(_("Only {order_number} and {shop_invoice_number} can be used."))
        return value

    def clean_process_from(self) -> datetime:
        day = self.cleaned_data["process_from"]
        return timezone.make_aware(datetime.combine(day, time.min))

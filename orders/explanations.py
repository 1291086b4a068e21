""" "More info" for every error code: what happened and how the merchant fixes it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

EXPLANATIONS = {
    "TOTAL_MISMATCH": (
        _("The order total does not add up"),
        _(
            "The total the customer paid differs from the sum of the order lines, minus discounts, plus shipping and fees. This happens when an amount was typed into the order total in the shop's admin."
        ),
        _(
            "Correct the order in KMO Shops (use a discount instead of editing the total), or create the invoice by hand in EenvoudigFactureren and press Ignore."
        ),
    ),
    "VAT_NUMBER_MISSING": (
        _("VAT number missing"),
        _(
            "This business order from another EU country has no VAT charged, which is only allowed with the customer's VAT number."
        ),
        _("Add the customer's VAT number to the order in KMO Shops, then press Process."),
    ),
    "VAT_NUMBER_INVALID": (
        _("VAT number not valid"),
        _(
            "The VAT number has the wrong country code, format or check digits, or VIES says it is not registered."
        ),
        _("Ask the customer for the right VAT number, correct it in KMO Shops, then press Process."),
    ),
    "VAT_RATE_UNKNOWN": (
        _("VAT rate not in EenvoudigFactureren"),
        _(
            "An order line or the shipping uses a VAT percentage that your EenvoudigFactureren account does not have."
        ),
        _(
            "Add the VAT rate in EenvoudigFactureren (Settings → VAT), press ReConnect under Connections so we read the rates again, then press Process."
        ),
    ),
    "EMAIL_MISSING": (
        _("No customer e-mail address"),
        _("Customers are matched in EenvoudigFactureren by e-mail address, and this order has none."),
        _(
            "Add the customer's e-mail address to the order in KMO Shops; the order is then processed again by itself."
        ),
    ),
    "CURRENCY_UNSUPPORTED": (
        _("Currency not supported"),
        _("Only orders in euro can be invoiced through this integration."),
        _("Switch the shop's currency to EUR, or invoice this order by hand and press Ignore."),
    ),
    "NO_LINES": (
        _("Order without lines"),
        _("The order contains no products, so there is nothing to invoice."),
        _("Check the order in KMO Shops; press Ignore if it needs no invoice."),
    ),
    "EF_REJECTED": (
        _("EenvoudigFactureren refused the invoice"),
        _(
            "EenvoudigFactureren checked the customer or invoice and refused it. Its own message is shown below."
        ),
        _(
            "Fix what the message names (in KMO Shops or in EenvoudigFactureren), then press Process. Use Report problem if the message is unclear."
        ),
    ),
    "EF_UNREACHABLE": (
        _("EenvoudigFactureren could not be reached"),
        _("EenvoudigFactureren did not answer, or was busy, for every attempt we made over several hours."),
        _("Press Process to try again. If it keeps failing, use Report problem."),
    ),
    "SHOP_UNREACHABLE": (
        _("The order could not be read from KMO Shops"),
        _("KMO Shops did not answer for every attempt we made to read this order."),
        _(
            "Press Process to try again. If it keeps failing, check the KMO Shops connection under Connections."
        ),
    ),
    "VIES_UNREACHABLE": (
        _("The VAT number could not be checked"),
        _(
            "An intra-community invoice (0 % VAT) needs a VAT number that VIES, the EU's VAT number service, "
            "confirms. VIES (or the customer's national tax office behind it) did not answer for every attempt "
            "we made over several hours."
        ),
        _(
            "Press Process to try again later. If VIES stays down and you checked the number yourself, you can "
            "switch off the VIES check under Configuration, then press Process."
        ),
    ),
    "INTERNAL_ERROR": (
        _("Something went wrong on our side"),
        _("The integration ran into an error of its own for every attempt. The details went to our support."),
        _("Press Process to try again. If it keeps failing, use Report problem: we will fix it."),
    ),
    "PEPPOL_REJECTED": (
        _("Peppol refused the invoice"),
        _(
            "The invoice exists in EenvoudigFactureren, but the Peppol network (or the customer's access point) refused it. The rule it names is shown below."
        ),
        _(
            "Fix what the rule names (often the customer's details in EenvoudigFactureren), then press Process: the same invoice is sent again; no new invoice is made."
        ),
    ),
    "SEND_FAILED": (
        _("The invoice could not be sent"),
        _(
            "The invoice exists in EenvoudigFactureren, but sending it to the customer failed: the customer is not on Peppol and e-mail instead is switched off, or EenvoudigFactureren refused the e-mail."
        ),
        _(
            "Check the customer's e-mail address in EenvoudigFactureren, or switch on e-mail when Peppol cannot be used (Configuration), then press Process. The invoice itself is not touched."
        ),
    ),
    "CREDIT_NOTE_REJECTED": (
        _("EenvoudigFactureren refused the credit note"),
        _(
            "The order was refunded or cancelled in the shop, and EenvoudigFactureren refused the credit note we made for it. Its own message is shown below."
        ),
        _(
            "Fix what the message names, then press Process: the credit note is made once. Or make it by hand in EenvoudigFactureren and switch off credit notes."
        ),
    ),
    "REFUND_AMOUNT_MISSING": (
        _("Refunded amount unknown"),
        _(
            "The order was partly refunded in KMO Shops, but the shop does not say how much: it records the "
            "amount only for refunds made through its own payment services. Without the amount no credit note "
            "can be made."
        ),
        _(
            "Type the refunded amount (including VAT) below and press Make the credit note. If you made the "
            "credit note by hand in EenvoudigFactureren, switch off credit notes under Configuration instead."
        ),
    ),
    "PAYMENT_NOT_REGISTERED": (
        _("The payment could not be registered"),
        _("The invoice exists, but EenvoudigFactureren did not accept the payment on it."),
        _("Register the payment by hand in EenvoudigFactureren, or press Process to try again."),
    ),
}


def explanation(code: str) -> dict[str, str] | None:
    entry = EXPLANATIONS.get(code)
    if entry is None:
        return None
    title, meaning, fix = entry
    return {"title": str(title), "meaning": str(meaning), "fix": str(fix)}

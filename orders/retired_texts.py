"""Texts an earlier release stored, shown as today's.

An order keeps its state reason, error and timeline lines as a template and parameters (orders.texts), and
a page translates the template when it shows it. When a release rewords a template, the rows written
before it still hold the old one, which is no longer in the catalogue: a Dutch or French merchant would
read it in English. Each retired template is mapped here to the sentence shown today, with the parameter
that held a counterpart's own words moved to `said` (shown behind Details, as on today's rows).

Rewording a stored template? Add the old one here (a test renders every entry in Dutch and French).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_noop

SAID = "said"  # the parameter that holds a counterpart's own words (orders.texts shows it behind Details)


def _statuses_joined(params: dict[str, Any]) -> dict[str, Any]:
    """The first releases joined the wanted payment statuses with " or "; today's texts with "|"."""
    return {**params, "wanted": str(params.get("wanted", "")).replace(" or ", "|")}


@dataclass(frozen=True)
class Retired:
    template: str  # the sentence shown today
    moved: dict[str, str] = field(default_factory=dict)  # old parameter -> today's name
    adapt: Callable[[dict[str, Any]], dict[str, Any]] | None = None


# Sentences that only old rows still use (today's code words these steps otherwise).
PAYMENT_NOT_REGISTERED = gettext_noop("Could not register the payment.")
INVOICE_NOT_EMAILED = gettext_noop("Could not e-mail the invoice.")
EF_REFUSED = gettext_noop("Refused by EenvoudigFactureren.")
EMAILED_TO = gettext_noop("EF e-mailed the invoice to %(email)s.")

WAITING_FOR_PAYMENT = (  # orders.sync.waiting_for_payment
    "Waiting for payment: the order is “%(status)s”. Orders are processed once they are “%(wanted)s” "
    "(Configuration → payment statuses)."
)
PROBLEM_SAID = {"problem": SAID}
MESSAGE_SAID = {"message": SAID}
RETIRED: dict[str, Retired] = {
    # Until stop 22 (the counterparts' words were part of the sentence).
    "Gave up after %(attempts)s attempts: %(problem)s": Retired(
        "Gave up after %(attempts)s attempts.", PROBLEM_SAID
    ),
    "Retrying at %(time)s, attempt %(attempt)s: %(problem)s": Retired(
        "Retrying at %(time)s (attempt %(attempt)s).", PROBLEM_SAID
    ),
    "%(what)s failed, trying again at %(time)s: %(problem)s": Retired(
        "%(what)s failed, trying again at %(time)s.", PROBLEM_SAID
    ),
    "EenvoudigFactureren refused: %(message)s": Retired(EF_REFUSED, MESSAGE_SAID),
    "Peppol refused the %(document)s: %(message)s": Retired("Peppol refused the %(document)s.", MESSAGE_SAID),
    "The customer cannot be reached through Peppol (%(message)s) and e-mail instead is switched off.": Retired(
        "The customer cannot be reached through Peppol and e-mail instead is switched off.", MESSAGE_SAID
    ),
    "The customer is not on Peppol (%(message)s); e-mailing the %(document)s instead.": Retired(
        "The customer is not on Peppol; e-mailing the %(document)s instead.", MESSAGE_SAID
    ),
    "EF refused the API key: %(problem)s": Retired("EF refused the API key.", PROBLEM_SAID),
    "EF refused: %(problem)s": Retired("EF refused the customer or the invoice.", PROBLEM_SAID),
    "The order could not be read from KMO Shops: %(message)s": Retired(
        "The order could not be read from KMO Shops.", MESSAGE_SAID
    ),
    "The order no longer exists in the shop: %(problem)s": Retired(
        "The order no longer exists in the shop.", PROBLEM_SAID
    ),
    "Could not read the order: %(problem)s": Retired(
        "Could not read the order from KMO Shops.", PROBLEM_SAID
    ),
    # The first releases.
    "Could not register the payment: %(problem)s": Retired(PAYMENT_NOT_REGISTERED, PROBLEM_SAID),
    "Could not e-mail the invoice: %(problem)s": Retired(INVOICE_NOT_EMAILED, PROBLEM_SAID),
    EMAILED_TO: Retired(EMAILED_TO),
    "Waiting for %(wanted)s, now %(status)s.": Retired(WAITING_FOR_PAYMENT, adapt=_statuses_joined),
    # The status labels quoted (were mid-sentence: "the order is Awaiting payment").
    "Waiting for payment: the order is %(status)s. Orders are processed once they are %(wanted)s "
    "(Configuration → payment statuses).": Retired(WAITING_FOR_PAYMENT),
}


def payload_current(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored text as today's release writes it (the payload itself when its template is current)."""
    retired = RETIRED.get(payload.get("t", ""))
    if retired is None:
        return payload
    params = {retired.moved.get(name, name): value for name, value in (payload.get("p") or {}).items()}
    if retired.adapt is not None:
        params = retired.adapt(params)
    return {"t": retired.template, "p": params}
